// Contract: VXLAN tunnels (the vxlan plugin) as VPP 26.06 handles them: creation and its errors,
// the tunnel's interface, instances, the decap key that deletes a tunnel, bridge membership with a
// split horizon group, and what a deleted tunnel leaves behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
  create_loopback,
  create_vlan_subif,
  delete_loopback,
  delete_subif,
  ip_table_add_del,
  l2_fib_table_dump,
  l2fib_add_del,
  sw_interface_dump,
  sw_interface_event,
  sw_interface_tag_add_del,
  vxlan_add_del_tunnel_v3,
  vxlan_tunnel_v2_dump,
  want_interface_events,
  type SwInterfaceEvent,
  type VxlanAddDelTunnelV3,
} from '../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../src/vpp/client.ts';
import {
  bridge,
  Cleanup,
  contractHarness,
  details,
  join,
  loopback,
  NO_INDEX,
  NO_SUCH_INDEX,
  oneBridge,
  rejectsWith,
  roundTrip,
  TAG,
  testMac,
  uniq,
} from './helpers.ts';

const h = contractHarness();

type TunnelArgs = Partial<Omit<VxlanAddDelTunnelV3, 'client_index' | 'context'>>;

const octet = () => randomInt(1, 255);
/** Endpoints from the benchmarking range (198.18.0.0/15), unlikely to be anyone else's. */
function vteps(): { src_address: string; dst_address: string; vni: number } {
  return {
    src_address: `198.18.${octet()}.${octet()}`,
    dst_address: `198.19.${octet()}.${octet()}`,
    vni: randomInt(1, 0xffffff),
  };
}
function vteps6(): { src_address: string; dst_address: string; vni: number } {
  const w = () => randomInt(1, 0xffff).toString(16);
  return {
    src_address: `2001:db8:${w()}::1`,
    dst_address: `2001:db8:${w()}::2`,
    vni: randomInt(1, 0xffffff),
  };
}

/** What the agent sends: l2-input decap (~0), the default ports, table 0, no multicast. */
const BASE = { instance: NO_INDEX, decap_next_index: NO_INDEX, mcast_sw_if_index: NO_INDEX, encap_vrf_id: 0 };

const add = (c: VppClient, args: TunnelArgs) =>
  c.request(vxlan_add_del_tunnel_v3, { ...BASE, ...args, is_add: true });
const del = (c: VppClient, args: TunnelArgs) =>
  c.request(vxlan_add_del_tunnel_v3, { ...BASE, ...args, is_add: false });

/** A tagged tunnel, deleted by `cleanup` with the same arguments. */
async function tunnel(c: VppClient, cleanup: Cleanup, args: TunnelArgs): Promise<number> {
  const { sw_if_index } = await add(c, args);
  cleanup.add(() => del(c, args));
  await c.request(sw_interface_tag_add_del, { is_add: true, sw_if_index, tag: `${TAG}${uniq()}` });
  return sw_if_index;
}

async function tunnelDetails(c: VppClient, sw: number) {
  const d = await c.dump(vxlan_tunnel_v2_dump, { sw_if_index: sw });
  assert.equal(d.length, 1, `one tunnel with sw_if_index ${sw}`);
  return d[0];
}

test('a tunnel: an Ethernet interface named after its instance, created up, dumped as given', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  // The source need not be one of VPP's addresses.
  const ends = vteps();
  const sw = await tunnel(c, cleanup, ends);
  const v = await tunnelDetails(c, sw);
  const { context: _c, instance: _i, ...given } = v;
  assert.deepEqual(
    given,
    {
      sw_if_index: sw,
      ...ends,
      src_port: 4789,
      dst_port: 4789,
      mcast_sw_if_index: NO_INDEX,
      encap_vrf_id: 0,
      decap_next_index: 1,
    },
    'ports 0 are 4789, decap ~0 is l2-input (1)',
  );
  const d = await details(c, sw);
  assert.equal(d.interface_name, `vxlan_tunnel${v.instance}`);
  assert.equal(d.interface_dev_type, 'VXLAN');
  assert.equal(d.flags, 3, 'admin up and link up from the start');
  assert.match(d.l2_address, /^02:fe:/);
  assert.equal(d.sup_sw_if_index, sw);
  assert.equal(d.type, 0);
  assert.equal(d.link_mtu, 9000);
  assert.deepEqual(d.mtu, [9000, 0, 0, 0]);
  assert.ok(d.tag.startsWith(TAG), 'tunnels keep a tag like any interface');
  assert.ok(
    (await c.dump(vxlan_tunnel_v2_dump, { sw_if_index: NO_INDEX })).some((x) => x.sw_if_index === sw),
    '~0 dumps every tunnel',
  );
  await rejectsWith(add(c, ends), -75, 'the same tunnel twice');
  // A loopback is not a tunnel.
  const lo = await loopback(c, cleanup);
  assert.deepEqual(await c.dump(vxlan_tunnel_v2_dump, { sw_if_index: lo }), []);
});

test('deleted by its decap key: addresses, src_port, table and vni; the index is reused', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const ends = vteps();
  const { sw_if_index: sw } = await add(c, { ...ends, src_port: 5000, dst_port: 6000 });
  cleanup.add(() => del(c, { ...ends, src_port: 5000 }));
  await rejectsWith(del(c, ends), -6, 'src_port 0 (4789) is another key');
  await rejectsWith(del(c, { ...ends, src_port: 5000, vni: ends.vni + 1 }), -6, 'another vni');
  await rejectsWith(
    del(c, { ...ends, src_port: 5000, src_address: `198.18.${octet()}.0` }),
    -6,
    'another IPv4 source',
  );
  // A vni is 24 bits in the key: the bits above do not tell tunnels apart.
  await rejectsWith(add(c, { ...ends, src_port: 5000, vni: ends.vni + 0x1000000 }), -75, 'vni + 2^24');
  // dst_port is not part of the key.
  const r = await del(c, { ...ends, src_port: 5000, dst_port: 1 });
  assert.equal(r.sw_if_index, sw, 'the reply names the deleted tunnel');
  assert.deepEqual(await c.dump(vxlan_tunnel_v2_dump, { sw_if_index: sw }), []);
  assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: sw }), []);
  await rejectsWith(del(c, { ...ends, src_port: 5000 }), -6, 'deleting twice');
  const { sw_if_index: next } = await c.request(create_loopback, { mac_address: testMac() });
  cleanup.add(() => c.request(delete_loopback, { sw_if_index: next }));
  assert.equal(next, sw, 'the next interface gets the freed sw_if_index');
});

test('IPv6 tunnels are keyed by destination alone', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const ends = vteps6();
  const sw = await tunnel(c, cleanup, ends);
  const v = await tunnelDetails(c, sw);
  assert.deepEqual(
    [v.src_address, v.dst_address, v.src_port, v.dst_port],
    [ends.src_address, ends.dst_address, 4789, 4789],
  );
  await rejectsWith(
    add(c, { ...ends, src_address: '2001:db8:ffff::9' }),
    -75,
    'another source, same destination and vni',
  );
  const r = await del(c, { ...ends, src_address: '2001:db8:ffff::9' });
  assert.equal(r.sw_if_index, sw, 'a delete naming another source deletes it');
  assert.deepEqual(await c.dump(vxlan_tunnel_v2_dump, { sw_if_index: sw }), []);
});

test('instances: asked for, or the pool slot; a slot someone asked for is in use', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const a = vteps();
  const p = (await tunnelDetails(c, await tunnel(c, cleanup, a))).instance;
  await del(c, a);
  // The freed slot goes to the next tunnel, which asks for a name of its own.
  const want = 40000 + randomInt(0, 20000);
  const q = vteps();
  const qSw = await tunnel(c, cleanup, { ...q, instance: want });
  assert.equal((await details(c, qSw)).interface_name, `vxlan_tunnel${want}`);
  assert.equal((await tunnelDetails(c, qSw)).instance, want);
  await rejectsWith(add(c, { ...vteps(), instance: want }), -147, 'an instance in use');
  // Another tunnel takes the name p while q holds slot p...
  const rSw = await tunnel(c, cleanup, { ...vteps(), instance: p });
  assert.equal((await details(c, rSw)).interface_name, `vxlan_tunnel${p}`);
  await del(c, { ...q, instance: want });
  // ...so the next ~0 tunnel, given slot p again, cannot be named after it.
  await rejectsWith(add(c, vteps()), -147, 'slot p is free, instance p is not');
});

test('creation errors', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const ends = vteps();
  await rejectsWith(add(c, { ...ends, dst_address: ends.src_address }), -82, 'src = dst');
  await rejectsWith(add(c, { ...ends, dst_address: '2001:db8::1' }), -7, 'mixed families');
  await rejectsWith(add(c, { ...ends, encap_vrf_id: 0x7ffffff0 }), -3, 'a missing encap table');
  await rejectsWith(add(c, { ...ends, decap_next_index: 2 }), -76, 'decap next beyond l2-input');
  await rejectsWith(
    add(c, { ...ends, dst_address: '239.1.1.1', mcast_sw_if_index: NO_SUCH_INDEX }),
    -2,
    'a multicast group without an interface',
  );
  await rejectsWith(del(c, ends), -6, 'deleting what is not there');
  // decap_next_index 0 is error-drop: accepted, and the tunnel drops what it receives.
  const drop = await tunnel(c, cleanup, { ...ends, decap_next_index: 0 });
  assert.equal((await tunnelDetails(c, drop)).decap_next_index, 0);
});

test('an encap table other than 0 must exist; the dump names it', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const table = 0x7ffff000 + randomInt(0, 0xfff);
  await c.request(ip_table_add_del, {
    is_add: true,
    table: { table_id: table, is_ip6: false, name: `${TAG}vxlan` },
  });
  cleanup.add(() =>
    c.request(ip_table_add_del, { is_add: false, table: { table_id: table, is_ip6: false, name: '' } }),
  );
  const ends = { ...vteps(), encap_vrf_id: table };
  const sw = await tunnel(c, cleanup, ends);
  assert.equal((await tunnelDetails(c, sw)).encap_vrf_id, table);
  await rejectsWith(del(c, { ...ends, encap_vrf_id: 0 }), -6, 'the same tunnel in table 0');
});

test('in a bridge domain: split horizon group, after the other flooding members; deletion leaves it', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const bd = await bridge(c, cleanup);
  const up = await loopback(c, cleanup);
  const port = (await c.request(create_vlan_subif, { sw_if_index: up, vlan_id: 100 })).sw_if_index;
  cleanup.add(() => c.request(delete_subif, { sw_if_index: port }));
  const port2 = (await c.request(create_vlan_subif, { sw_if_index: up, vlan_id: 101 })).sw_if_index;
  cleanup.add(() => c.request(delete_subif, { sw_if_index: port2 }));
  const ends = vteps();
  const tun = await tunnel(c, cleanup, ends);
  const idle = await loopback(c, cleanup);
  await join(c, cleanup, port, bd);
  await join(c, cleanup, tun, bd, 0, 1);
  await join(c, cleanup, idle, bd);
  await join(c, cleanup, port2, bd);
  assert.deepEqual(
    (await oneBridge(c, bd)).sw_if_details.map((m) => [m.sw_if_index, m.shg]),
    [
      [port, 0],
      [port2, 0],
      [tun, 1],
      [idle, 0],
    ],
    'ports, then unicast tunnels, then what does not flood',
  );
  // A static entry for a remote MAC behind the tunnel.
  const mac = testMac();
  await c.request(l2fib_add_del, { bd_id: bd, mac, sw_if_index: tun, is_add: true, static_mac: true });
  cleanup.add(() => c.request(l2fib_add_del, { bd_id: bd, mac, sw_if_index: 0, is_add: false }));
  await del(c, ends);
  assert.deepEqual(
    (await oneBridge(c, bd)).sw_if_details.map((m) => m.sw_if_index),
    [port, port2, idle],
    'a deleted tunnel leaves its bridge domain',
  );
  const fib = (await c.dump(l2_fib_table_dump, { bd_id: bd })).filter((e) => e.mac === mac);
  assert.deepEqual(
    fib.map((e) => [e.sw_if_index, e.static_mac]),
    [[tun, true]],
    'its L2 FIB entries stay, pointing at the deleted index',
  );
});

test('events: a new tunnel comes up at once; deleting it sends deleted', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const seen: SwInterfaceEvent[] = [];
  const unsubscribe = await c.subscribe(
    want_interface_events,
    { pid: process.pid },
    sw_interface_event,
    (e) => seen.push(e),
  );
  cleanup.add(() => unsubscribe());
  const ends = vteps();
  const sw = await tunnel(c, cleanup, ends);
  await roundTrip(c);
  assert.deepEqual(
    seen.filter((e) => e.sw_if_index === sw).map((e) => [e.flags, e.deleted]),
    [[3, false]],
  );
  seen.length = 0;
  await del(c, ends);
  await roundTrip(c);
  assert.deepEqual(
    seen.filter((e) => e.sw_if_index === sw).map((e) => [e.flags, e.deleted]),
    [[0, true]],
  );
});
