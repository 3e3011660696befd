// L3 phase 2 on the simulator: a router with an external gateway (a pipe patching its gateway BVI's
// bridge into the external network's), SNAT, floating IPs and an ECMP extra route, compiled and
// applied; states per router and floating IP; a restart sends no write; a VPP restart gets all of it
// back; a bad document is its own object's error. On a real VPP: test/dataplane/l3-nat.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeValue,
  keys,
  type FloatingIpDoc,
  type ObjectState,
  type PortBinding,
  type RouterDoc,
} from '../../src/model/keyspace.ts';
import {
  bd_ip_mac_dump,
  bridge_domain_dump,
  l2_flags_get,
  ip_route_dump,
  ip_table_dump,
  nat44_address_dump,
  nat44_ed_add_del_output_interface,
  nat44_ed_output_interface_get,
  nat44_interface_add_del_feature,
  nat44_interface_dump,
  nat44_show_running_config,
  nat44_static_mapping_dump,
  pipe_dump,
  sw_interface_dump,
} from '../../src/vpp/binapi/index.ts';
import type { Sim } from '../../src/sim/index.ts';
import { L2_INPUT_FEAT } from '../../src/vpp/l2-input-features.ts';
import { synced } from './helpers/faults.ts';
import { uuid, vlanNet, vmPort, type NetworkSpec } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const ALL = 0xffffffff;

export function routerPort(
  net: NetworkSpec,
  routerId: string,
  address: string,
  mac: string,
  role: 'interface' | 'gateway' = 'interface',
): PortBinding {
  return {
    ...vmPort(net, { mac, fixed_ips: [{ subnet_id: uuid(), ip_address: address.split('/')[0] }] }),
    vif_type: 'router',
    vhostuser: null,
    tap: null,
    device_owner: role === 'gateway' ? 'network:router_gateway' : 'network:router_interface',
    port_security_enabled: false,
    security_groups: [],
    router: { router_id: routerId, addresses: [address], role },
  };
}

describe('routers: gateway, SNAT, floating IPs, extra routes (simulator)', { skip: SIM_ONLY }, () => {
  let w: World;
  const ext = vlanNet(300);
  const netA = vlanNet(301);
  const netB = vlanNet(302);
  const r1 = uuid();
  const ra = routerPort(netA, r1, '10.1.1.1/24', 'fa:16:3e:bb:00:01');
  const rb = routerPort(netB, r1, '10.1.2.1/24', 'fa:16:3e:bb:00:02');
  const gw = routerPort(ext, r1, '203.0.113.10/24', 'fa:16:3e:bb:00:03', 'gateway');
  const doc: RouterDoc = {
    router_id: r1,
    admin_state_up: true,
    ha: false,
    gateway: {
      port_id: gw.port_id,
      network_id: ext.id,
      next_hops: ['203.0.113.1'],
      snat: true,
      addresses: ['203.0.113.10/24'],
    },
    routes: [{ destination: '172.16.0.0/16', nexthops: ['10.1.1.5', '10.1.1.6'] }],
    revision: 3,
  };
  const f1: FloatingIpDoc = {
    id: uuid(),
    router_id: r1,
    floating_ip: '203.0.113.50',
    fixed_ip: '10.1.1.20',
    port_id: uuid(),
    revision: 1,
  };

  const putRouter = (d: RouterDoc) =>
    w.store.put(keys.router(H, d.router_id), encodeValue(keys.router(H, d.router_id), d));
  const putFip = (f: FloatingIpDoc) =>
    w.store.put(keys.floatingIp(H, f.id), encodeValue(keys.floatingIp(H, f.id), f));
  const state = async (key: string): Promise<ObjectState | undefined> => {
    const { kv } = await w.store.get(key);
    return kv ? (JSON.parse(kv.value) as ObjectState) : undefined;
  };
  const waitObject = (key: string, what: string, pred: (s: ObjectState | undefined) => boolean) =>
    waitFor(what, async () => {
      const s = await state(key);
      return pred(s) ? (s ?? true) : undefined;
    });
  const ready = (key: string, revision: number) =>
    waitObject(key, `${key} ready at ${revision}`, (s) => s?.ready === true && s.revision === revision);

  /** What VPP has of the router's NAT and routes. */
  const vppView = async () => {
    const o = w.operator;
    const table = (await o.dump(ip_table_dump, {})).find(
      (t) => t.table.name === `netvpp:vrf:${r1}` && !t.table.is_ip6,
    );
    const vrf = table?.table.table_id ?? -1;
    const ifs = await o.dump(sw_interface_dump, { sw_if_index: ALL });
    const nameOf = (i: number) => ifs.find((d) => d.sw_if_index === i)?.tag ?? `#${i}`;
    // Routes through next hops (netvpp's): not VPP's own entries of the VRF (specials, connected,
    // local, the next hops' host entries), whose paths are drops or via an interface.
    const routes = table
      ? (await o.dump(ip_route_dump, { table: { table_id: vrf, is_ip6: false, name: '' } }))
          .filter((r) => r.route.paths.every((p) => p.type === 0 && p.sw_if_index === ALL))
          .map((r) => `${r.route.prefix} via ${r.route.paths.map((p) => p.nh.address.ip4).join(',')}`)
      : [];
    const pipes = await o.dump(pipe_dump, {});
    const gwBd = (await o.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL })).find(
      (b) => b.bd_tag === `netvpp:bd:gw-${gw.port_id}`,
    );
    return {
      nat: (await o.request(nat44_show_running_config, {})).sessions > 0,
      natIfs: [
        ...(await o.dump(nat44_interface_dump, {})).map((i) => `${nameOf(i.sw_if_index)} ${i.flags}`),
        ...(await o.dump(nat44_ed_output_interface_get, { cursor: 0 })).map(
          (i) => `${nameOf(i.sw_if_index)} output`,
        ),
      ].sort(),
      pool: (await o.dump(nat44_address_dump, {})).map((a) => `${a.ip_address} vrf=${a.vrf_id === vrf}`),
      sms: (await o.dump(nat44_static_mapping_dump, {})).map(
        (s) => `${s.tag} ${s.local_ip_address}->${s.external_ip_address} vrf=${s.vrf_id === vrf}`,
      ),
      routes: routes.sort(),
      pipes: pipes.length,
      // ARP termination in the gateway's bridge, flooding and learning off where the external
      // network enters it: only this router answers ARP for its addresses.
      gwBridge: gwBd && {
        arpTerm: gwBd.arp_term,
        arp: (await o.dump(bd_ip_mac_dump, { bd_id: gwBd.bd_id }))
          .map((e) => `${e.entry.ip} ${e.entry.mac}`)
          .sort(),
        end1: await Promise.all(
          pipes.map(async (p) => {
            const r = await o.request(l2_flags_get, { sw_if_index: p.pipe_sw_if_index[1] });
            return `flood=${(r.input_feature_bitmap & L2_INPUT_FEAT.FLOOD) !== 0} learn=${(r.input_feature_bitmap & L2_INPUT_FEAT.LEARN) !== 0}`;
          }),
        ),
      },
    };
  };

  before(async () => {
    w = await startWorld();
    w.startAgent(H);
  });
  after(() => w?.stop());

  it('gateway, SNAT, a floating IP and an ECMP route: in VPP, router and floating IP ready', async () => {
    for (const p of [ra, rb, gw]) await w.bind(H, p);
    await putRouter(doc);
    await putFip(f1);
    for (const p of [ra, rb, gw]) await w.waitReady(H, p.port_id);
    await ready(keys.routerState(H, r1), 3);
    await ready(keys.floatingIpState(H, f1.id), 1);
    const v = await vppView();
    assert.deepEqual(v, {
      nat: true,
      // Only the gateway: the output feature (kinds/natout.ts), no inside/outside features.
      natIfs: [`netvpp:rif:${gw.port_id} output`],
      pool: ['203.0.113.10 vrf=true'],
      sms: [`netvpp:natsm:${f1.id} 10.1.1.20->203.0.113.50 vrf=true`],
      routes: ['0.0.0.0/0 via 203.0.113.1', '172.16.0.0/16 via 10.1.1.5,10.1.1.6'],
      pipes: 1,
      gwBridge: {
        arpTerm: true,
        arp: ['203.0.113.10 fa:16:3e:bb:00:03', '203.0.113.50 fa:16:3e:bb:00:03'],
        end1: ['flood=false learn=false'],
      },
    });
    // The pipe: end 0 in the external network's bridge, end 1 in the gateway's, whose BVI is the gateway.
    const [p] = await w.operator.dump(pipe_dump, {});
    const bds = await w.operator.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL });
    const extBd = bds.find((b) => b.bd_tag === `netvpp:bd:${ext.id}`);
    const gwBd = bds.find((b) => b.bd_tag === `netvpp:bd:gw-${gw.port_id}`);
    assert.ok(extBd?.sw_if_details.some((m) => m.sw_if_index === p.pipe_sw_if_index[0]));
    assert.ok(gwBd?.sw_if_details.some((m) => m.sw_if_index === p.pipe_sw_if_index[1]));
    const ifs = await w.operator.dump(sw_interface_dump, { sw_if_index: ALL });
    assert.equal(ifs.find((d) => d.sw_if_index === gwBd?.bvi_sw_if_index)?.tag, `netvpp:rif:${gw.port_id}`);
  });

  it('a restarted agent finds all of it in place and sends no write', async () => {
    await w.stopAgent(w.agents[0]);
    w.vpp.sim?.resetCounters();
    const b = w.startAgent(H);
    const stats = await synced(b);
    assert.equal(stats.writes, 0, `writes: ${JSON.stringify(w.vpp.sim?.counters())}`);
  });

  it('an older agent’s inside/outside NAT features: replaced by the output feature on the gateway', async () => {
    const before = await vppView();
    await w.stopAgent(w.agents[w.agents.length - 1]);
    // What agents before kinds/natout.ts left: inside on the interfaces, outside on the gateway.
    const ifs = await w.operator.dump(sw_interface_dump, { sw_if_index: ALL });
    const sw = (p: PortBinding) =>
      ifs.find((d) => d.tag === `netvpp:rif:${p.port_id}`)?.sw_if_index as number;
    await w.operator.request(nat44_ed_add_del_output_interface, { is_add: false, sw_if_index: sw(gw) });
    for (const [p, flags] of [
      [gw, 16],
      [ra, 32],
      [rb, 32],
    ] as const)
      await w.operator.request(nat44_interface_add_del_feature, { is_add: true, flags, sw_if_index: sw(p) });
    w.startAgent(H);
    await waitFor(
      'only the output feature',
      async () => JSON.stringify(await vppView()) === JSON.stringify(before),
    );
  });

  it('a VPP restart: everything comes back', async () => {
    const before = await vppView();
    const sim = w.vpp.sim as Sim;
    await sim.crash();
    await w.makeUplink();
    await waitFor('VPP rebuilt', async () => {
      try {
        return JSON.stringify(await vppView()) === JSON.stringify(before);
      } catch {
        return false;
      }
    });
    await ready(keys.floatingIpState(H, f1.id), 1);
  });

  it('the extra route changes next hops in place; the floating IP moves to another fixed IP', async () => {
    await putRouter({
      ...doc,
      routes: [{ destination: '172.16.0.0/16', nexthops: ['10.1.1.5', '10.1.1.7'] }],
      revision: 4,
    });
    await ready(keys.routerState(H, r1), 4);
    assert.ok((await vppView()).routes.includes('172.16.0.0/16 via 10.1.1.5,10.1.1.7'));
    await putFip({ ...f1, fixed_ip: '10.1.1.21', revision: 2 });
    await ready(keys.floatingIpState(H, f1.id), 2);
    assert.deepEqual((await vppView()).sms, [`netvpp:natsm:${f1.id} 10.1.1.21->203.0.113.50 vrf=true`]);
  });

  it('bad documents: each is its own error, the rest goes on; a bad floating IP is left as it is', async () => {
    const f2: FloatingIpDoc = {
      ...f1,
      id: uuid(),
      floating_ip: '203.0.113.51',
      fixed_ip: '10.1.2.30',
      revision: 1,
    };
    await w.store.put(keys.floatingIp(H, f1.id), '{"id": "oops"');
    await putFip(f2);
    await ready(keys.floatingIpState(H, f2.id), 1);
    const bad = await waitObject(keys.floatingIpState(H, f1.id), 'an error', (s) => !!s?.error);
    assert.match((bad as ObjectState).error ?? '', /invalid floating IP/);
    assert.equal((await vppView()).sms.length, 2, "the bad one's mapping stays as it was");
    // Two floating IPs with one address: one of them (the later by id) is an error.
    const dup: FloatingIpDoc = { ...f2, id: uuid(), fixed_ip: '10.1.2.31' };
    await putFip(dup);
    const later = dup.id > f2.id ? dup.id : f2.id;
    const st = await waitObject(keys.floatingIpState(H, later), 'a duplicate error', (s) => !!s?.error);
    assert.match((st as ObjectState).error ?? '', /also used by/);
    await w.store.delete(keys.floatingIp(H, dup.id));
    await ready(keys.floatingIpState(H, f2.id), 1);
    await putFip({ ...f1, fixed_ip: '10.1.1.21', revision: 3 });
    await ready(keys.floatingIpState(H, f1.id), 3);
  });

  it('a floating IP removed: its mapping and its state go', async () => {
    await w.store.delete(keys.floatingIp(H, f1.id));
    await waitFor('the mapping gone', async () => (await vppView()).sms.every((s) => !s.includes(f1.id)));
    assert.deepEqual((await vppView()).gwBridge?.arp, [
      '203.0.113.10 fa:16:3e:bb:00:03',
      '203.0.113.51 fa:16:3e:bb:00:03',
    ]);
    await waitObject(keys.floatingIpState(H, f1.id), 'the state gone', (s) => s === undefined);
  });

  it('a second router on the external network, same tenant CIDR: each gateway bridge answers only its own addresses', async () => {
    const netC = vlanNet(303);
    const r2 = uuid();
    const rc = routerPort(netC, r2, '10.1.1.1/24', 'fa:16:3e:cc:00:01');
    const gw2 = routerPort(ext, r2, '203.0.113.20/24', 'fa:16:3e:cc:00:02', 'gateway');
    const doc2: RouterDoc = {
      ...doc,
      router_id: r2,
      gateway: {
        ...(doc.gateway as NonNullable<RouterDoc['gateway']>),
        port_id: gw2.port_id,
        addresses: ['203.0.113.20/24'],
      },
      routes: [],
      revision: 1,
    };
    const f3: FloatingIpDoc = {
      ...f1,
      id: uuid(),
      router_id: r2,
      floating_ip: '203.0.113.60',
      fixed_ip: '10.1.1.20',
    };
    for (const p of [rc, gw2]) await w.bind(H, p);
    await putRouter(doc2);
    await putFip(f3);
    await ready(keys.routerState(H, r2), 1);
    await ready(keys.floatingIpState(H, f3.id), 1);
    const bds = await w.operator.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL });
    const arpOf = async (port: string) => {
      const bd = bds.find((b) => b.bd_tag === `netvpp:bd:gw-${port}`);
      assert.equal(bd?.arp_term, true);
      return (await w.operator.dump(bd_ip_mac_dump, { bd_id: bd.bd_id })).map((e) => e.entry.ip).sort();
    };
    assert.deepEqual(await arpOf(gw.port_id), ['203.0.113.10', '203.0.113.51']);
    assert.deepEqual(await arpOf(gw2.port_id), ['203.0.113.20', '203.0.113.60']);
    const pipes = await w.operator.dump(pipe_dump, {});
    assert.equal(pipes.length, 2);
    for (const p of pipes) {
      const r = await w.operator.request(l2_flags_get, { sw_if_index: p.pipe_sw_if_index[1] });
      assert.equal(r.input_feature_bitmap & (L2_INPUT_FEAT.FLOOD | L2_INPUT_FEAT.LEARN), 0);
    }
    await w.store.delete(keys.floatingIp(H, f3.id));
    await w.store.delete(keys.router(H, r2));
    for (const p of [rc, gw2]) await w.unbind(H, p.port_id);
    await waitFor('the second router gone', async () => (await w.operator.dump(pipe_dump, {})).length === 1);
  });

  it('the gateway removed: default route, NAT of the router and the pipe go', async () => {
    await putRouter({ ...doc, gateway: null, revision: 5 });
    await w.unbind(H, gw.port_id);
    await ready(keys.routerState(H, r1), 5);
    await waitFor('gateway objects gone', async () => {
      const v = await vppView();
      return (
        v.pipes === 0 &&
        v.pool.length === 0 &&
        v.natIfs.length === 0 &&
        !v.routes.some((r) => r.startsWith('0.0.0.0/0'))
      );
    });
  });
});
