// Router interfaces (L3, east-west): a router port bound here becomes a loopback BVI in its network's
// bridge, with the port's MAC and MTU, in the router's VRF (one IPv4 and one IPv6 table, named by
// netvpp), with its addresses; the VRF stays while one of the router's interfaces does; a restart
// sends no write. On a real VPP, test/dataplane/routers.test.ts pings across the router.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PortBinding } from '../../src/model/keyspace.ts';
import {
  bridge_domain_dump,
  ip_address_dump,
  ip_table_dump,
  sw_interface_dump,
  sw_interface_get_table,
} from '../../src/vpp/binapi/index.ts';
import { synced } from './helpers/faults.ts';
import { uuid, vlanNet, vmPort, type NetworkSpec } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const ALL = 0xffffffff;

function routerPort(net: NetworkSpec, routerId: string, address: string, mac: string): PortBinding {
  return {
    ...vmPort(net, { mac, fixed_ips: [{ subnet_id: uuid(), ip_address: address.split('/')[0] }] }),
    vif_type: 'router',
    vhostuser: null,
    tap: null,
    device_owner: 'network:router_interface',
    port_security_enabled: false,
    security_groups: [],
    router: { router_id: routerId, addresses: [address] },
  };
}

describe('router interfaces', { skip: SIM_ONLY }, () => {
  let w: World;
  const netA = vlanNet(210);
  const netB = vlanNet(211);
  const r1 = uuid();
  const ra = routerPort(netA, r1, '10.10.1.1/24', 'fa:16:3e:aa:00:01');
  const rb = routerPort(netB, r1, '10.10.2.1/24', 'fa:16:3e:aa:00:02');

  before(async () => {
    w = await startWorld();
    w.startAgent(H);
  });
  after(() => w?.stop());

  /** What VPP has of a router interface, found by its tag. */
  const rifOf = async (p: PortBinding) => {
    const ifs = await w.operator.dump(sw_interface_dump, { sw_if_index: ALL });
    const d = ifs.find((x) => x.tag === `netvpp:rif:${p.port_id}`);
    if (!d) return undefined;
    const [v4, v6] = await Promise.all(
      [false, true].map((is_ipv6) =>
        w.operator.request(sw_interface_get_table, { sw_if_index: d.sw_if_index, is_ipv6 }),
      ),
    );
    const addrs = await w.operator.dump(ip_address_dump, { sw_if_index: d.sw_if_index, is_ipv6: false });
    const bd = (await w.operator.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL })).find(
      (b) => b.bd_tag === `netvpp:bd:${p.network_id}`,
    );
    return {
      mac: d.l2_address,
      mtu: d.mtu[0],
      up: (d.flags & 1) === 1,
      tables: [v4.vrf_id, v6.vrf_id],
      addresses: addrs.map((a) => a.prefix),
      bvi: bd?.bvi_sw_if_index === d.sw_if_index,
    };
  };
  const vrfTables = async () =>
    (await w.operator.dump(ip_table_dump, {})).filter((t) => t.table.name === `netvpp:vrf:${r1}`);

  it('two interfaces of one router: BVIs in their bridges, one VRF (IPv4 and IPv6), their addresses in it; ready', async () => {
    // A VM on each network, so the networks exist here as they would on a network node with ports.
    await w.bind(H, ra);
    await w.bind(H, rb);
    await w.waitReady(H, ra.port_id);
    await w.waitReady(H, rb.port_id);
    const tables = await vrfTables();
    assert.deepEqual(
      tables.map((t) => t.table.is_ip6),
      [false, true],
      'one IPv4 and one IPv6 table, named by netvpp',
    );
    const id = tables[0].table.table_id;
    assert.equal(tables[1].table.table_id, id);
    assert.notEqual(id, 0);
    assert.deepEqual(await rifOf(ra), {
      mac: 'fa:16:3e:aa:00:01',
      mtu: 1500,
      up: true,
      tables: [id, id],
      addresses: ['10.10.1.1/24'],
      bvi: true,
    });
    assert.deepEqual((await rifOf(rb))?.addresses, ['10.10.2.1/24']);
  });

  it('a restarted agent finds the router in place and sends no write', async () => {
    const a = w.agents[0];
    await w.stopAgent(a);
    w.vpp.sim?.resetCounters();
    const b = w.startAgent(H);
    const stats = await synced(b);
    assert.equal(stats.writes, 0, `writes: ${JSON.stringify(w.vpp.sim?.counters())}`);
  });

  it('an interface removed goes with its addresses; the last one takes the VRF with it', async () => {
    await w.unbind(H, rb.port_id);
    await waitFor('the second interface gone', async () => (await rifOf(rb)) === undefined);
    assert.equal((await vrfTables()).length, 2, 'the VRF stays while the router has an interface here');
    await w.unbind(H, ra.port_id);
    await waitFor('the VRF gone', async () => (await vrfTables()).length === 0);
    assert.equal(await rifOf(ra), undefined);
  });

  it('a bad address is an error on that port only', async () => {
    const bad = routerPort(netA, r1, '10.10.1.1/24', 'fa:16:3e:aa:00:03');
    const good = routerPort(netB, uuid(), '10.10.3.1/24', 'fa:16:3e:aa:00:04');
    await w.bind(H, { ...bad, router: { router_id: r1, addresses: ['10.10.1.1/0'] } });
    await w.bind(H, good);
    await w.waitReady(H, good.port_id);
    const st = await w.waitState(H, bad.port_id, 'an error', (s) => !!s?.error);
    assert.match(st?.error ?? '', /10\.10\.1\.1\/0/);
    await w.unbind(H, bad.port_id);
    await w.unbind(H, good.port_id);
  });
});
