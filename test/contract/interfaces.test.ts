// Contract: interfaces as VPP 26.06 handles them. Runs against the simulator, or unchanged
// against a real VPP when NETVPP_TEST_VPP_SOCKET names its API socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  af_packet_create_v3,
  af_packet_delete,
  af_packet_dump,
  create_loopback,
  create_loopback_instance,
  create_subif,
  create_vhost_user_if_v2,
  create_vlan_subif,
  delete_loopback,
  delete_subif,
  delete_vhost_user_if,
  ip_address_dump,
  ip_table_add_del,
  sw_interface_add_del_address,
  sw_interface_dump,
  sw_interface_get_mac_address,
  sw_interface_set_flags,
  sw_interface_set_mac_address,
  sw_interface_set_mtu,
  sw_interface_set_table,
  sw_interface_tag_add_del,
  sw_interface_tap_v2_dump,
  sw_interface_vhost_user_dump,
  tap_create_v3,
  tap_delete_v2,
} from '../../src/vpp/binapi/index.ts';
import { VppApiError } from '../../src/vpp/errors.ts';
import {
  Cleanup,
  contractHarness,
  details,
  loopback,
  NO_INDEX,
  rejectsWith,
  TAG,
  testMac,
  uniq,
  hostInterface,
} from './helpers.ts';

const h = contractHarness();

test('a loopback: name, type, MAC, flags, MTU, tag, addresses, and gone after delete', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const mac = testMac();
  const lo = await loopback(c, cleanup, mac);
  let d = await details(c, lo);
  assert.match(d.interface_name, /^loop\d+$/);
  assert.equal(d.interface_dev_type, 'Loopback');
  assert.equal(d.sup_sw_if_index, lo);
  assert.equal(d.type, 0);
  assert.equal(d.l2_address, mac);
  assert.equal(d.flags, 0, 'admin down, link down');
  assert.equal(d.link_mtu, 9000);
  assert.deepEqual(d.mtu, [9000, 0, 0, 0]);
  assert.ok(d.tag.startsWith(TAG));

  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 1 });
  await c.request(sw_interface_set_mtu, { sw_if_index: lo, mtu: [1450, 0, 0, 0] });
  const mac2 = testMac();
  await c.request(sw_interface_set_mac_address, { sw_if_index: lo, mac_address: mac2 });
  await c.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: lo, tag: `${TAG}renamed` });
  d = await details(c, lo);
  assert.equal(d.flags, 3, 'a loopback link follows admin state');
  assert.deepEqual(d.mtu, [1450, 0, 0, 0]);
  assert.equal(d.l2_address, mac2);
  assert.equal((await c.request(sw_interface_get_mac_address, { sw_if_index: lo })).mac_address, mac2);
  assert.equal(d.tag, `${TAG}renamed`);
  await c.request(sw_interface_tag_add_del, { is_add: false, sw_if_index: lo });
  assert.equal((await details(c, lo)).tag, '');
  await rejectsWith(c.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: lo, tag: '' }), -7);

  await c.request(sw_interface_add_del_address, { sw_if_index: lo, is_add: true, prefix: '10.213.0.1/24' });
  await c.request(sw_interface_add_del_address, { sw_if_index: lo, is_add: true, prefix: '10.213.0.2/24' });
  await c.request(sw_interface_add_del_address, { sw_if_index: lo, is_add: true, prefix: 'fd00:213::1/64' });
  assert.deepEqual(
    (await c.dump(ip_address_dump, { sw_if_index: lo, is_ipv6: false })).map((a) => a.prefix),
    ['10.213.0.1/24', '10.213.0.2/24'],
    'addresses in the order added',
  );
  assert.deepEqual(
    (await c.dump(ip_address_dump, { sw_if_index: lo, is_ipv6: true })).map((a) => a.prefix),
    ['fd00:213::1/64'],
  );
  await c.request(sw_interface_add_del_address, { sw_if_index: lo, is_add: false, prefix: '10.213.0.1/24' });
  await rejectsWith(
    c.request(sw_interface_add_del_address, { sw_if_index: lo, is_add: false, prefix: '10.213.0.1/24' }),
    -60,
    'deleting an address the interface does not have',
  );

  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 0 });
  assert.equal((await details(c, lo)).flags, 0);
  await c.request(delete_loopback, { sw_if_index: lo });
  assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: lo }), []);
  assert.deepEqual(await c.dump(ip_address_dump, { sw_if_index: lo, is_ipv6: false }), []);
});

test('freed sw_if_index values are reused, most recently freed first', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const a = (await c.request(create_loopback, { mac_address: testMac() })).sw_if_index;
  const b = (await c.request(create_loopback, { mac_address: testMac() })).sw_if_index;
  await c.request(delete_loopback, { sw_if_index: a });
  await c.request(delete_loopback, { sw_if_index: b });
  const first = await loopback(c, cleanup);
  const second = await loopback(c, cleanup);
  assert.deepEqual([first, second], [b, a]);
});

test('loopback instances: lowest free number, a chosen number once, default MAC from it', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const taken = new Set(
    (await c.dump(sw_interface_dump, {}))
      .map((d) => /^loop(\d+)$/.exec(d.interface_name)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number),
  );
  let lowest = 0;
  while (taken.has(lowest)) lowest++;
  const lo = (await c.request(create_loopback, {})).sw_if_index;
  cleanup.add(() => c.request(delete_loopback, { sw_if_index: lo }));
  const d = await details(c, lo);
  assert.equal(d.interface_name, `loop${lowest}`);
  assert.equal(d.l2_address, `de:ad:00:00:00:${(lowest & 0xff).toString(16).padStart(2, '0')}`);

  let inst = 9000 + Math.floor(Math.random() * 5000);
  while (taken.has(inst)) inst++;
  const mine = await c.request(create_loopback_instance, {
    is_specified: true,
    user_instance: inst,
    mac_address: testMac(),
  });
  cleanup.add(() => c.request(delete_loopback, { sw_if_index: mine.sw_if_index }));
  assert.equal((await details(c, mine.sw_if_index)).interface_name, `loop${inst}`);
  await rejectsWith(
    c.request(create_loopback_instance, { is_specified: true, user_instance: inst }),
    -31,
    'an instance in use',
  );
  await c.request(delete_loopback, { sw_if_index: mine.sw_if_index });
  const again = await c.request(create_loopback_instance, { is_specified: true, user_instance: inst });
  cleanup.add(() => c.request(delete_loopback, { sw_if_index: again.sw_if_index }));
  assert.equal(
    (await details(c, again.sw_if_index)).interface_name,
    `loop${inst}`,
    'the instance is free again',
  );
});

test('VLAN sub-interfaces: naming, sub fields, admin rules, and deleted with their parent', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const lo = await loopback(c, cleanup);
  const parentName = (await details(c, lo)).interface_name;
  const sub = (await c.request(create_vlan_subif, { sw_if_index: lo, vlan_id: 100 })).sw_if_index;
  cleanup.add(() => c.request(delete_subif, { sw_if_index: sub }));
  let d = await details(c, sub);
  assert.equal(d.interface_name, `${parentName}.100`);
  assert.equal(d.interface_dev_type, 'Loopback');
  assert.equal(d.sup_sw_if_index, lo);
  assert.equal(d.type, 1);
  assert.equal(d.sub_id, 100);
  assert.equal(d.sub_number_of_tags, 1);
  assert.equal(d.sub_outer_vlan_id, 100);
  assert.equal(d.sub_if_flags, 2 | 16, 'one tag, exact match');
  assert.equal(d.l2_address, '00:00:00:00:00:00');
  assert.deepEqual(d.mtu, [0, 0, 0, 0]);

  await rejectsWith(c.request(create_vlan_subif, { sw_if_index: lo, vlan_id: 100 }), -56, 'same VLAN twice');
  await rejectsWith(c.request(create_vlan_subif, { sw_if_index: lo, vlan_id: 0 }), -55, 'VLAN 0');
  await rejectsWith(c.request(create_vlan_subif, { sw_if_index: lo, vlan_id: 4096 }), -55, 'VLAN 4096');
  await rejectsWith(
    c.request(sw_interface_set_flags, { sw_if_index: sub, flags: 1 }),
    -1,
    'a sub-interface cannot go up under a down parent',
  );
  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 1 });
  await c.request(sw_interface_set_flags, { sw_if_index: sub, flags: 1 });
  d = await details(c, sub);
  assert.equal(d.flags, 3, 'admin up, link of the parent');
  await rejectsWith(c.request(delete_subif, { sw_if_index: lo }), -98, 'delete_subif on a main interface');

  const qinq = await c.request(create_subif, {
    sw_if_index: lo,
    sub_id: 7,
    sub_if_flags: 4 | 16,
    outer_vlan_id: 200,
    inner_vlan_id: 300,
  });
  cleanup.add(() => c.request(delete_subif, { sw_if_index: qinq.sw_if_index }));
  d = await details(c, qinq.sw_if_index);
  assert.equal(d.interface_name, `${parentName}.7`);
  assert.equal(d.sub_number_of_tags, 2);
  assert.equal(d.sub_outer_vlan_id, 200);
  assert.equal(d.sub_inner_vlan_id, 300);

  await c.request(delete_loopback, { sw_if_index: lo });
  assert.deepEqual(
    await c.dump(sw_interface_dump, { sw_if_index: sub }),
    [],
    'sub-interfaces go with the parent',
  );
  assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: qinq.sw_if_index }), []);
});

test('IP addressing: overlapping subnets, VRF binding, local0', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const a = await loopback(c, cleanup);
  const b = await loopback(c, cleanup);
  await c.request(sw_interface_add_del_address, { sw_if_index: a, is_add: true, prefix: '10.214.0.1/24' });
  await rejectsWith(
    c.request(sw_interface_add_del_address, { sw_if_index: b, is_add: true, prefix: '10.214.0.9/24' }),
    -105,
    'IPv4 subnet already on another interface',
  );
  await rejectsWith(
    c.request(sw_interface_add_del_address, { sw_if_index: a, is_add: true, prefix: '10.214.0.1/24' }),
    -105,
    'the same address twice',
  );
  await c.request(sw_interface_add_del_address, { sw_if_index: a, is_add: true, prefix: 'fd00:214::1/64' });
  await rejectsWith(
    c.request(sw_interface_add_del_address, { sw_if_index: b, is_add: true, prefix: 'fd00:214::2/64' }),
    -127,
    'IPv6 subnet already on another interface',
  );
  await rejectsWith(
    c.request(sw_interface_add_del_address, { sw_if_index: 0, is_add: true, prefix: '10.214.9.1/24' }),
    -126,
    'local0 takes no address',
  );

  const table = 2_000_000 + Math.floor(Math.random() * 1_000_000);
  await rejectsWith(
    c.request(sw_interface_set_table, { sw_if_index: b, vrf_id: table }),
    -3,
    'no such table',
  );
  await c.request(ip_table_add_del, { is_add: true, table: { table_id: table, is_ip6: false, name: '' } });
  cleanup.add(() =>
    c.request(ip_table_add_del, { is_add: false, table: { table_id: table, is_ip6: false, name: '' } }),
  );
  await c.request(sw_interface_set_table, { sw_if_index: b, vrf_id: table });
  cleanup.add(() => c.request(sw_interface_set_table, { sw_if_index: b, vrf_id: 0 }));
  // Another table: the same subnet is fine.
  await c.request(sw_interface_add_del_address, { sw_if_index: b, is_add: true, prefix: '10.214.0.9/24' });
  await rejectsWith(
    c.request(sw_interface_set_table, { sw_if_index: b, vrf_id: 0 }),
    -114,
    'no table change while addressed',
  );
  await c.request(sw_interface_add_del_address, { sw_if_index: b, is_add: false, del_all: true });
  assert.deepEqual(await c.dump(ip_address_dump, { sw_if_index: b, is_ipv6: false }), []);
  await c.request(sw_interface_set_table, { sw_if_index: b, vrf_id: 0 });
});

test('tap v3 with a host-side name (skipped where the host has no vhost-net)', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const host = `nvt${uniq()}`;
  const mac = testMac();
  let tap: number;
  try {
    tap = (
      await c.request(tap_create_v3, {
        use_random_mac: false,
        mac_address: mac,
        host_if_name_set: true,
        host_if_name: host,
        tag: `${TAG}tap`,
      })
    ).sw_if_index;
  } catch (e) {
    if (e instanceof VppApiError && e.retval === -11) return t.skip('no /dev/vhost-net on this VPP host');
    throw e;
  }
  cleanup.add(() => c.request(tap_delete_v2, { sw_if_index: tap }));
  const d = await details(c, tap);
  assert.match(d.interface_name, /^tap\d+$/);
  assert.equal(d.interface_dev_type, 'tap');
  assert.equal(d.l2_address, mac);
  assert.equal(d.tag, `${TAG}tap`);
  assert.equal(d.flags, 2, 'link up before admin up');
  const taps = await c.dump(sw_interface_tap_v2_dump, { sw_if_index: tap });
  assert.equal(taps.length, 1);
  assert.equal(taps[0].host_if_name, host);
  assert.equal(taps[0].dev_name, d.interface_name);
  assert.equal(taps[0].id, Number(d.interface_name.slice(3)));
  await c.request(sw_interface_set_flags, { sw_if_index: tap, flags: 1 });
  assert.equal((await details(c, tap)).flags, 3);
  await c.request(sw_interface_set_flags, { sw_if_index: tap, flags: 0 });
  assert.equal((await details(c, tap)).flags, 0, 'admin down takes the link down');
  await rejectsWith(
    c.request(tap_create_v3, { id: taps[0].id, host_if_name_set: true, host_if_name: `${host}b` }),
    -71,
    'a tap id in use',
  );
  await c.request(tap_delete_v2, { sw_if_index: tap });
  assert.deepEqual(await c.dump(sw_interface_tap_v2_dump, { sw_if_index: tap }), []);
  await rejectsWith(c.request(tap_delete_v2, { sw_if_index: tap }), -2);
});

test('vhost-user in client mode: named VirtualEthernet0/0/N, no link until a guest connects', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-vhost-'));
  cleanup.add(async () => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'guest.sock');
  const mac = testMac();
  const vu = (
    await c.request(create_vhost_user_if_v2, {
      is_server: false,
      sock_filename: sock,
      use_custom_mac: true,
      mac_address: mac,
      tag: `${TAG}vhost`,
    })
  ).sw_if_index;
  cleanup.add(() => c.request(delete_vhost_user_if, { sw_if_index: vu }));
  const d = await details(c, vu);
  assert.match(d.interface_name, /^VirtualEthernet0\/0\/\d+$/);
  assert.equal(d.interface_dev_type, 'vhost-user');
  assert.equal(d.l2_address, mac);
  assert.equal(d.tag, `${TAG}vhost`);
  await c.request(sw_interface_set_flags, { sw_if_index: vu, flags: 1 });
  assert.equal((await details(c, vu)).flags, 1, 'admin up, but no guest: no link');
  const vd = await c.dump(sw_interface_vhost_user_dump, { sw_if_index: vu });
  assert.equal(vd.length, 1);
  assert.equal(vd[0].interface_name, d.interface_name);
  assert.equal(vd[0].sock_filename, sock);
  assert.equal(vd[0].is_server, false);
  assert.equal(vd[0].sock_errno, 2, 'nobody serves the socket');
  await rejectsWith(
    c.request(create_vhost_user_if_v2, { sock_filename: sock }),
    -79,
    'a second interface on the same socket',
  );
  if (h.target.sim) {
    assert.equal(h.target.sim.connectGuest(sock), true);
    assert.equal((await details(c, vu)).flags, 3, 'a guest brings the link up');
    h.target.sim.disconnectGuest(sock);
    assert.equal((await details(c, vu)).flags, 1);
  }
  await c.request(delete_vhost_user_if, { sw_if_index: vu });
  assert.deepEqual(await c.dump(sw_interface_vhost_user_dump, { sw_if_index: vu }), []);
  await rejectsWith(c.request(delete_vhost_user_if, { sw_if_index: vu }), -2);
});

test('af_packet host interfaces are named host-<ifname>', async (t) => {
  const c = h.c;
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  // A real VPP needs a real host interface: NETVPP_TEST_HOST_IF, or a veth made here as root.
  const host = hostInterface(h, cleanup);
  if (!host) return t.skip('set NETVPP_TEST_HOST_IF to a host interface VPP may take, or run as root');
  const mac = testMac();
  const r = await c.request(af_packet_create_v3, {
    mode: 1,
    hw_addr: mac,
    use_random_hw_addr: false,
    host_if_name: host,
    rx_frame_size: 2048,
    tx_frame_size: 2048,
    rx_frames_per_block: 32,
    tx_frames_per_block: 32,
  });
  cleanup.add(() => c.request(af_packet_delete, { host_if_name: host }));
  const d = await details(c, r.sw_if_index);
  assert.equal(d.interface_name, `host-${host}`);
  assert.equal(d.interface_dev_type, 'af-packet');
  assert.equal(d.l2_address, mac);
  assert.equal(d.flags, 2, 'link up as created');
  assert.ok(
    (await c.dump(af_packet_dump, {})).some(
      (x) => x.sw_if_index === r.sw_if_index && x.host_if_name === host,
    ),
  );
  await rejectsWith(
    c.request(af_packet_create_v3, { mode: 1, host_if_name: host }),
    -79,
    'the same host interface twice',
  );
  await c.request(af_packet_delete, { host_if_name: host });
  assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: r.sw_if_index }), []);
  await rejectsWith(c.request(af_packet_delete, { host_if_name: host }), -11);
});

test('interface dumps: all, one, by name (case-insensitive substring), and missing', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const lo = await loopback(c, cleanup);
  const name = (await details(c, lo)).interface_name;
  const all = await c.dump(sw_interface_dump, {});
  assert.ok(all.some((d) => d.sw_if_index === 0 && d.interface_name === 'local0'));
  assert.ok(all.some((d) => d.sw_if_index === lo));
  assert.deepEqual(
    all.map((d) => d.sw_if_index),
    [...all.map((d) => d.sw_if_index)].sort((x, y) => x - y),
    'in sw_if_index order',
  );
  const byName = await c.dump(sw_interface_dump, {
    name_filter_valid: true,
    name_filter: name.toUpperCase(),
  });
  assert.ok(byName.some((d) => d.sw_if_index === lo));
  assert.ok(byName.every((d) => d.interface_name.toLowerCase().includes(name)));
  assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: NO_INDEX - 1 }), []);
});
