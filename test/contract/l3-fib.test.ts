// Contract: what ip_route_dump lists for a router's VRF besides netvpp's routes, as VPP 26.06 has it
// — the table's special entries (IPv4 and IPv6), an interface address's connected, local, network
// and broadcast entries, the host entries tracking a route's next hops — and that the agent's
// `route` kind reads back only its own routes from such a table (so it never deletes VPP's).
// Runs on the simulator and unchanged on a real VPP (NETVPP_TEST_VPP_SOCKET).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readActual } from '../../src/agent/engine/actual.ts';
import {
  ip_route_add_del,
  ip_route_dump,
  ip_table_add_del,
  sw_interface_add_del_address,
  sw_interface_set_flags,
  sw_interface_set_table,
  type FibPath,
} from '../../src/vpp/binapi/index.ts';
import { Cleanup, contractHarness, loopback, NO_INDEX, uniq } from './helpers.ts';

const h = contractHarness();

/** FIB_API_PATH_TYPE_*. */
const NORMAL = 0;
const LOCAL = 1;
const DROP = 2;

const path = (nh: string, table: number): FibPath => ({
  sw_if_index: NO_INDEX,
  table_id: table,
  rpf_id: 0,
  weight: 1,
  preference: 0,
  type: NORMAL,
  flags: 0,
  proto: nh.includes(':') ? 1 : 0,
  nh: {
    address: nh.includes(':') ? { ip6: nh } : { ip4: nh },
    via_label: 0,
    obj_id: 0,
    classify_table_index: NO_INDEX,
  },
  n_labels: 0,
  label_stack: [],
});

describe("a router VRF's own entries", () => {
  it('are dumped beside the API routes, and the route kind reads only the API routes', async () => {
    const cleanup = new Cleanup();
    const table = 7_100_000 + randomInt(0, 100_000);
    const router = `fibtest-${uniq()}`;
    const dump = async (is_ip6: boolean) =>
      new Map(
        (await h.c.dump(ip_route_dump, { table: { table_id: table, is_ip6, name: '' } })).map((d) => {
          const p = d.route.paths.slice(0, d.route.n_paths);
          const nh = (x: FibPath) => (x.proto === 1 ? x.nh.address.ip6 : x.nh.address.ip4);
          return [d.route.prefix, p.map((x) => `${x.type}:${x.sw_if_index}:${nh(x)}`).join(',')];
        }),
      );
    const route = (prefix: string, hops: string[], is_add = true) =>
      h.c.request(ip_route_add_del, {
        is_add,
        is_multipath: false,
        route: {
          table_id: table,
          stats_index: 0,
          prefix,
          n_paths: hops.length,
          paths: hops.map((nh) => path(nh, table)),
        },
      });
    try {
      for (const is_ip6 of [false, true]) {
        await h.c.request(ip_table_add_del, {
          is_add: true,
          table: { table_id: table, is_ip6, name: `netvpp:vrf:${router}` },
        });
        cleanup.add(() =>
          h.c.request(ip_table_add_del, { is_add: false, table: { table_id: table, is_ip6, name: '' } }),
        );
      }
      const drop4 = `${DROP}:${NO_INDEX}:0.0.0.0`;
      const drop6 = `${DROP}:${NO_INDEX}:::`;
      // A new table: its specials only.
      assert.deepEqual([...(await dump(false))].sort(), [
        ['0.0.0.0/0', drop4],
        ['0.0.0.0/32', drop4],
        ['224.0.0.0/4', drop4],
        ['240.0.0.0/4', drop4],
        ['255.255.255.255/32', drop4],
      ]);
      assert.deepEqual([...(await dump(true))].sort(), [
        ['::/0', drop6],
        ['fe80::/10', `${NORMAL}:${NO_INDEX}:::`],
      ]);
      const lo = await loopback(h.c, cleanup);
      for (const is_ipv6 of [false, true])
        await h.c.request(sw_interface_set_table, { sw_if_index: lo, is_ipv6, vrf_id: table });
      await h.c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 1 });
      for (const prefix of ['10.77.1.1/24', '2001:db8:77::1/64'])
        await h.c.request(sw_interface_add_del_address, {
          sw_if_index: lo,
          is_add: true,
          del_all: false,
          prefix,
        });
      cleanup.add(() =>
        h.c.request(sw_interface_add_del_address, {
          sw_if_index: lo,
          is_add: false,
          del_all: true,
          prefix: '0.0.0.0/0',
        }),
      );
      await route('0.0.0.0/0', ['10.77.1.254']);
      await route('172.31.0.0/16', ['10.77.1.5', '10.77.1.6']);
      await route('::/0', ['2001:db8:77::fe']);
      cleanup.add(() => route('0.0.0.0/0', [], false));
      cleanup.add(() => route('172.31.0.0/16', [], false));
      cleanup.add(() => route('::/0', [], false));
      const v4 = await dump(false);
      const v6 = await dump(true);
      const nh4 = `${NORMAL}:${NO_INDEX}`;
      // The connected entry shows the interface's address with the prefix length (VPP 26.06 gives
      // it to the FIB unmasked); local, network and broadcast entries; each next hop tracked by a
      // host entry via the interface of its connected cover.
      for (const [prefix, paths] of [
        ['0.0.0.0/0', `${nh4}:10.77.1.254`],
        ['172.31.0.0/16', `${nh4}:10.77.1.5,${nh4}:10.77.1.6`],
        ['10.77.1.1/24', `${NORMAL}:${lo}:0.0.0.0`],
        ['10.77.1.1/32', `${LOCAL}:${lo}:10.77.1.1`],
        ['10.77.1.0/32', drop4],
        ['10.77.1.255/32', drop4],
        ['10.77.1.254/32', `${NORMAL}:${lo}:10.77.1.254`],
        ['10.77.1.5/32', `${NORMAL}:${lo}:10.77.1.5`],
        ['224.0.0.0/4', drop4],
      ] as const)
        assert.equal(v4.get(prefix), paths, prefix);
      for (const [prefix, paths] of [
        ['::/0', `${nh4}:2001:db8:77::fe`],
        ['2001:db8:77::/64', `${NORMAL}:${lo}:::`],
        ['2001:db8:77::1/128', `${LOCAL}:${lo}:2001:db8:77::1`],
        ['2001:db8:77::fe/128', `${NORMAL}:${lo}:2001:db8:77::fe`],
        ['fe80::/10', `${NORMAL}:${NO_INDEX}:::`],
      ] as const)
        assert.equal(v6.get(prefix), paths, prefix);
      // The agent's read-back: its VRF and exactly the three routes it would have made.
      const actual = await readActual(h.c, { physnets: new Map(), kinds: ['vrf', 'route'] });
      const routes = [...actual.objects.keys()].filter((k) => k.startsWith(`route:${router}:`)).sort();
      assert.deepEqual(routes, [
        `route:${router}:0.0.0.0/0`,
        `route:${router}:172.31.0.0/16`,
        `route:${router}:::/0`,
      ]);
      // The default routes deleted: the special drops are back, the tracked next hops gone.
      await route('0.0.0.0/0', [], false);
      await route('::/0', [], false);
      const after4 = await dump(false);
      assert.equal(after4.get('0.0.0.0/0'), drop4);
      assert.equal(after4.get('10.77.1.254/32'), undefined);
      assert.equal((await dump(true)).get('::/0'), drop6);
    } finally {
      await cleanup.run();
    }
  });
});
