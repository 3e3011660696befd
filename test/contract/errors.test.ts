// Contract: VPP's return codes for requests naming things that do not exist, and dumps of
// missing objects returning nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acl_del,
  acl_dump,
  acl_interface_list_dump,
  acl_interface_set_acl_list,
  bridge_domain_add_del_v2,
  bridge_domain_dump,
  create_subif,
  create_vlan_subif,
  delete_loopback,
  delete_subif,
  delete_vhost_user_if,
  ip_address_dump,
  l2_interface_vlan_tag_rewrite,
  macip_acl_del,
  macip_acl_dump,
  macip_acl_interface_add_del,
  macip_acl_interface_list_dump,
  sw_interface_add_del_address,
  sw_interface_dump,
  sw_interface_get_mac_address,
  sw_interface_set_flags,
  sw_interface_set_l2_bridge,
  sw_interface_set_mac_address,
  sw_interface_set_mtu,
  sw_interface_set_table,
  sw_interface_tag_add_del,
  sw_interface_tap_v2_dump,
  sw_interface_vhost_user_dump,
  tap_delete_v2,
} from '../../src/vpp/binapi/index.ts';
import { Cleanup, contractHarness, loopback, NO_SUCH_INDEX, rejectsWith } from './helpers.ts';

const h = contractHarness();
const X = NO_SUCH_INDEX;

test('-2 for every request naming an sw_if_index that does not exist', async () => {
  const c = h.c;
  const calls: [string, Promise<unknown>][] = [
    ['set_flags', c.request(sw_interface_set_flags, { sw_if_index: X, flags: 1 })],
    ['set_mtu', c.request(sw_interface_set_mtu, { sw_if_index: X, mtu: [1500, 0, 0, 0] })],
    [
      'set_mac',
      c.request(sw_interface_set_mac_address, { sw_if_index: X, mac_address: '02:fe:00:00:00:01' }),
    ],
    ['get_mac', c.request(sw_interface_get_mac_address, { sw_if_index: X })],
    ['tag', c.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: X, tag: 'x' })],
    [
      'address',
      c.request(sw_interface_add_del_address, { sw_if_index: X, is_add: true, prefix: '10.9.9.9/24' }),
    ],
    ['table', c.request(sw_interface_set_table, { sw_if_index: X, vrf_id: 0 })],
    ['delete_loopback', c.request(delete_loopback, { sw_if_index: X })],
    ['create_vlan_subif', c.request(create_vlan_subif, { sw_if_index: X, vlan_id: 10 })],
    ['create_subif', c.request(create_subif, { sw_if_index: X, sub_id: 10 })],
    ['delete_subif', c.request(delete_subif, { sw_if_index: X })],
    ['tap_delete', c.request(tap_delete_v2, { sw_if_index: X })],
    ['vhost_delete', c.request(delete_vhost_user_if, { sw_if_index: X })],
    ['l2_bridge', c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: X, bd_id: 1, enable: true })],
    ['vtr', c.request(l2_interface_vlan_tag_rewrite, { sw_if_index: X, vtr_op: 3 })],
    ['acl_list', c.request(acl_interface_set_acl_list, { sw_if_index: X, count: 0, n_input: 0, acls: [] })],
    ['macip_bind', c.request(macip_acl_interface_add_del, { is_add: true, sw_if_index: X, acl_index: 0 })],
  ];
  for (const [what, p] of calls) await rejectsWith(p, -2, what);
});

test('-6 for deleting what does not exist', async () => {
  const c = h.c;
  await rejectsWith(c.request(acl_del, { acl_index: X }), -6, 'acl_del');
  await rejectsWith(c.request(macip_acl_del, { acl_index: X }), -6, 'macip_acl_del');
  await rejectsWith(
    c.request(bridge_domain_add_del_v2, { bd_id: 0xfffff0, is_add: false }),
    -6,
    'bridge domain',
  );
});

test('the wrong kind of interface is an invalid sw_if_index to the deleting driver', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const lo = await loopback(c, cleanup);
  await rejectsWith(c.request(tap_delete_v2, { sw_if_index: lo }), -2, 'a loopback is not a tap');
  await rejectsWith(c.request(delete_vhost_user_if, { sw_if_index: lo }), -2, 'a loopback is not vhost-user');
  await rejectsWith(c.request(delete_loopback, { sw_if_index: 0 }), -2, 'local0 is not a loopback');
});

test('dumps of missing objects return nothing', async () => {
  const c = h.c;
  assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: X }), []);
  assert.deepEqual(await c.dump(ip_address_dump, { sw_if_index: X, is_ipv6: false }), []);
  assert.deepEqual(await c.dump(bridge_domain_dump, { bd_id: 0xfffff0 }), []);
  assert.deepEqual(await c.dump(acl_dump, { acl_index: X }), []);
  assert.deepEqual(await c.dump(macip_acl_dump, { acl_index: X }), []);
  assert.deepEqual(await c.dump(acl_interface_list_dump, { sw_if_index: X }), []);
  assert.deepEqual(await c.dump(macip_acl_interface_list_dump, { sw_if_index: X }), []);
  assert.deepEqual(await c.dump(sw_interface_tap_v2_dump, { sw_if_index: X }), []);
  assert.deepEqual(await c.dump(sw_interface_vhost_user_dump, { sw_if_index: X }), []);
});
