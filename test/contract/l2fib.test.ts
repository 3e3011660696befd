// Contract: static L2 FIB entries (l2fib_add_del, l2_fib_table_dump) and ARP termination entries
// (bd_ip_mac_add_del, bd_ip_mac_dump) as VPP 26.06 keeps them, including what outlives the
// interface or the bridge domain an entry belongs to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bd_ip_mac_add_del,
  bd_ip_mac_dump,
  bridge_domain_add_del_v2,
  l2_fib_table_dump,
  l2fib_add_del,
  sw_interface_set_l2_bridge,
  sw_interface_set_mac_address,
  type L2fibAddDel,
} from '../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../src/vpp/client.ts';
import {
  BD_FLAGS,
  bdId,
  bridge,
  Cleanup,
  contractHarness,
  join,
  loopback,
  NO_INDEX,
  NO_SUCH_INDEX,
  rejectsWith,
  testMac,
} from './helpers.ts';

const h = contractHarness();

type FibArgs = Partial<Omit<L2fibAddDel, 'client_index' | 'context'>>;
const fibAdd = (c: VppClient, a: FibArgs) =>
  c.request(l2fib_add_del, { static_mac: true, ...a, is_add: true });
const fibDel = (c: VppClient, a: FibArgs) => c.request(l2fib_add_del, { ...a, is_add: false });

/** The domain's entries for these MACs, as [mac, sw_if_index, static, filter, bvi]. */
async function fib(c: VppClient, bd: number, macs: string[]) {
  return (await c.dump(l2_fib_table_dump, { bd_id: bd }))
    .filter((e) => macs.includes(e.mac))
    .map((e) => [e.mac, e.sw_if_index, e.static_mac, e.filter_mac, e.bvi_mac]);
}

async function ipMacs(c: VppClient, bd: number) {
  return (await c.dump(bd_ip_mac_dump, { bd_id: bd })).map((d) => [d.entry.bd_id, d.entry.ip, d.entry.mac]);
}

test('static entries: added, overwritten, dumped per domain and for all, deleted', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const bd = await bridge(c, cleanup);
  const a = await loopback(c, cleanup);
  const b = await loopback(c, cleanup);
  await join(c, cleanup, a, bd);
  await join(c, cleanup, b, bd);
  const m1 = testMac();
  const m2 = testMac();
  cleanup.add(() => fibDel(c, { bd_id: bd, mac: m1 }));
  cleanup.add(() => fibDel(c, { bd_id: bd, mac: m2 }));
  await fibAdd(c, { bd_id: bd, mac: m1, sw_if_index: a });
  await fibAdd(c, { bd_id: bd, mac: m2, sw_if_index: a, static_mac: false });
  assert.deepEqual(
    (await fib(c, bd, [m1, m2])).sort(),
    [
      [m1, a, true, false, false],
      [m2, a, false, false, false],
    ].sort(),
  );
  // The same MAC again is the same entry, now pointing elsewhere.
  await fibAdd(c, { bd_id: bd, mac: m2, sw_if_index: b });
  assert.deepEqual(await fib(c, bd, [m2]), [[m2, b, true, false, false]]);
  const all = await c.dump(l2_fib_table_dump, { bd_id: NO_INDEX });
  assert.deepEqual(
    all.filter((e) => e.mac === m1).map((e) => e.bd_id),
    [bd],
    'bd_id ~0 dumps every domain',
  );
  await rejectsWith(fibDel(c, { bd_id: bd, mac: m2, sw_if_index: a }), -6, 'another interface');
  await fibDel(c, { bd_id: bd, mac: m2, sw_if_index: b });
  await fibDel(c, { bd_id: bd, mac: m1, sw_if_index: 0 });
  assert.deepEqual(await fib(c, bd, [m1, m2]), [], 'sw_if_index 0 deletes whatever the entry points at');
  await rejectsWith(fibDel(c, { bd_id: bd, mac: m1 }), -6, 'deleting twice');
});

test('entries need a domain and a bridged interface, of any domain', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const bd = await bridge(c, cleanup);
  const other = await bridge(c, cleanup);
  const lo = await loopback(c, cleanup);
  const mac = testMac();
  await rejectsWith(fibAdd(c, { bd_id: 0xfffffe, mac, sw_if_index: lo }), -6, 'a missing domain');
  await rejectsWith(fibAdd(c, { bd_id: bd, mac, sw_if_index: lo }), -2, 'an L3 interface');
  await rejectsWith(fibAdd(c, { bd_id: bd, mac, sw_if_index: NO_SUCH_INDEX }), -2, 'a missing interface');
  await join(c, cleanup, lo, other);
  cleanup.add(() => fibDel(c, { bd_id: bd, mac }));
  await fibAdd(c, { bd_id: bd, mac, sw_if_index: lo });
  assert.deepEqual(await fib(c, bd, [mac]), [[mac, lo, true, false, false]], 'bridged elsewhere is enough');
  assert.deepEqual(
    await c.dump(l2_fib_table_dump, { bd_id: 0xfffffe }),
    [],
    'a missing domain dumps nothing',
  );
  // A filter entry names no interface.
  const drop = testMac();
  cleanup.add(() => fibDel(c, { bd_id: bd, mac: drop }));
  await fibAdd(c, { bd_id: bd, mac: drop, sw_if_index: NO_SUCH_INDEX, filter_mac: true, static_mac: false });
  assert.deepEqual(await fib(c, bd, [drop]), [[drop, NO_INDEX, true, true, false]]);
});

test("a BVI's MAC is an entry of its domain while it is the BVI, and follows a MAC change", async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const bd = await bridge(c, cleanup);
  const mac = testMac();
  const bvi = await loopback(c, cleanup, mac);
  await join(c, cleanup, bvi, bd, 1);
  assert.deepEqual(await fib(c, bd, [mac]), [[mac, bvi, true, false, true]]);
  const moved = testMac();
  await c.request(sw_interface_set_mac_address, { sw_if_index: bvi, mac_address: moved });
  assert.deepEqual(await fib(c, bd, [mac, moved]), [[moved, bvi, true, false, true]]);
  await c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: bvi, bd_id: 0, enable: false });
  assert.deepEqual(await fib(c, bd, [mac, moved]), []);
});

test('entries outlive their bridge domain; its ARP entries go with it', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const id = bdId();
  await c.request(bridge_domain_add_del_v2, { bd_id: id, is_add: true, ...BD_FLAGS, arp_term: true });
  const dropDomain = () => c.request(bridge_domain_add_del_v2, { bd_id: id, is_add: false });
  cleanup.add(dropDomain);
  const port = await loopback(c, cleanup);
  await join(c, cleanup, port, id);
  const mac = testMac();
  await fibAdd(c, { bd_id: id, mac, sw_if_index: port });
  // Run last: if the test stopped half-way, a domain on the freed bd_index takes the entry back.
  cleanup.add(async () => {
    const all = await c.dump(l2_fib_table_dump, { bd_id: NO_INDEX });
    if (!all.some((e) => e.mac === mac && e.bd_id === NO_INDEX)) return;
    const tmp = await bridge(c, new Cleanup());
    await fibDel(c, { bd_id: tmp, mac });
    await c.request(bridge_domain_add_del_v2, { bd_id: tmp, is_add: false });
  });
  await c.request(bd_ip_mac_add_del, { is_add: true, entry: { bd_id: id, ip: '10.77.0.5', mac } });
  await c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: port, bd_id: 0, enable: false });
  await dropDomain();
  const stale = (await c.dump(l2_fib_table_dump, { bd_id: NO_INDEX })).filter((e) => e.mac === mac);
  assert.deepEqual(
    stale.map((e) => [e.bd_id, e.sw_if_index]),
    [[NO_INDEX, port]],
    'a deleted domain leaves its static entries, with bd_id ~0',
  );
  await rejectsWith(fibDel(c, { bd_id: id, mac }), -6, 'nothing names the deleted domain');
  // The next domain gets the lowest free bd_index, the deleted one's, and inherits the entry.
  const next = await bridge(c, cleanup);
  cleanup.add(() => fibDel(c, { bd_id: next, mac }));
  assert.deepEqual(await fib(c, next, [mac]), [[mac, port, true, false, false]]);
  assert.deepEqual(await ipMacs(c, next), [], 'the ARP entries did not survive');
  await fibDel(c, { bd_id: next, mac });
  assert.deepEqual(await fib(c, next, [mac]), []);
});

test('ARP termination entries: per domain, IPv4 before IPv6, an IP is one MAC', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const bd = await bridge(c, cleanup, bdId(), { arp_term: true });
  const m1 = testMac();
  const m2 = testMac();
  const entry = (ip: string, mac: string) => ({ bd_id: bd, ip, mac });
  const addIp = (ip: string, mac: string) =>
    c.request(bd_ip_mac_add_del, { is_add: true, entry: entry(ip, mac) });
  const delIp = (ip: string, mac: string) =>
    c.request(bd_ip_mac_add_del, { is_add: false, entry: entry(ip, mac) });
  await addIp('2001:db8:77::5', m1);
  await addIp('10.77.0.5', m1);
  assert.deepEqual(await ipMacs(c, bd), [
    [bd, '10.77.0.5', m1],
    [bd, '2001:db8:77::5', m1],
  ]);
  assert.equal(
    (await c.dump(bd_ip_mac_dump, { bd_id: NO_INDEX })).filter((d) => d.entry.bd_id === bd).length,
    2,
    'bd_id ~0 dumps every domain',
  );
  await addIp('10.77.0.5', m1);
  await addIp('10.77.0.5', m2);
  assert.deepEqual(
    await ipMacs(c, bd),
    [
      [bd, '10.77.0.5', m2],
      [bd, '2001:db8:77::5', m1],
    ],
    'adding a known IP replaces its MAC',
  );
  await rejectsWith(delIp('10.77.0.5', m1), -1, 'deleting with another MAC');
  await delIp('10.77.0.5', m2);
  await rejectsWith(delIp('10.77.0.5', m2), -1, 'deleting twice');
  await delIp('2001:db8:77::5', m1);
  assert.deepEqual(await ipMacs(c, bd), []);
  await rejectsWith(
    c.request(bd_ip_mac_add_del, { is_add: true, entry: { bd_id: 0, ip: '10.77.0.5', mac: m1 } }),
    -121,
    'bridge domain 0',
  );
  await rejectsWith(
    c.request(bd_ip_mac_add_del, { is_add: true, entry: { bd_id: 0xfffffe, ip: '10.77.0.5', mac: m1 } }),
    -6,
    'a missing domain',
  );
  assert.deepEqual(await c.dump(bd_ip_mac_dump, { bd_id: 0xfffffe }), []);
});
