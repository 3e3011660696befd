// Contract: L2 bridge domains, membership, BVI, flags and VLAN tag rewrite as VPP 26.06 does them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bridge_domain_add_del_v2,
  bridge_domain_dump,
  bridge_flags,
  create_vlan_subif,
  delete_subif,
  l2_interface_vlan_tag_rewrite,
  sw_interface_set_l2_bridge,
} from '../../src/vpp/binapi/index.ts';
import {
  BD_FLAGS,
  bdId,
  bridge,
  Cleanup,
  contractHarness,
  details,
  join,
  loopback,
  NO_INDEX,
  oneBridge,
  rejectsWith,
  TAG,
  uniq,
} from './helpers.ts';

const h = contractHarness();

test('a bridge domain: flags, tag, members with the BVI first, split horizon, delete rules', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const id = bdId();
  const tag = `${TAG}${uniq()}`;
  const r = await c.request(bridge_domain_add_del_v2, {
    bd_id: id,
    is_add: true,
    ...BD_FLAGS,
    mac_age: 5,
    bd_tag: tag,
  });
  cleanup.add(() => c.request(bridge_domain_add_del_v2, { bd_id: id, is_add: false }));
  assert.equal(r.bd_id, id);
  await rejectsWith(
    c.request(bridge_domain_add_del_v2, { bd_id: id, is_add: true, ...BD_FLAGS, bd_tag: 'dup' }),
    -119,
    'the same bd_id twice',
  );
  let d = await oneBridge(c, id);
  assert.deepEqual(
    { flood: d.flood, uu_flood: d.uu_flood, forward: d.forward, learn: d.learn, arp_term: d.arp_term },
    { flood: true, uu_flood: true, forward: true, learn: true, arp_term: false },
  );
  assert.equal(d.mac_age, 5);
  assert.equal(d.bd_tag, tag);
  assert.equal(d.bvi_sw_if_index, NO_INDEX);
  assert.equal(d.n_sw_ifs, 0);

  const uplink = await loopback(c, cleanup);
  const sub = (await c.request(create_vlan_subif, { sw_if_index: uplink, vlan_id: 313 })).sw_if_index;
  cleanup.add(() => c.request(delete_subif, { sw_if_index: sub }));
  const bvi = await loopback(c, cleanup);
  await join(c, cleanup, sub, id, 0, 3);
  await join(c, cleanup, bvi, id, 1);
  d = await oneBridge(c, id);
  assert.equal(d.bvi_sw_if_index, bvi);
  assert.deepEqual(
    d.sw_if_details.map((m) => [m.sw_if_index, m.shg]),
    [
      [bvi, 0],
      [sub, 3],
    ],
    'the BVI leads the member list',
  );
  const other = await loopback(c, cleanup);
  await rejectsWith(
    c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: other, bd_id: id, port_type: 1, enable: true }),
    -152,
    'a second BVI',
  );
  await rejectsWith(
    c.request(bridge_domain_add_del_v2, { bd_id: id, is_add: false }),
    -120,
    'delete with members',
  );

  const f = await c.request(bridge_flags, { bd_id: id, is_set: false, flags: 2 });
  assert.equal(f.resulting_feature_bitmap & 0x80, 0, 'forwarding bit cleared');
  assert.equal((await oneBridge(c, id)).forward, false);
  await c.request(bridge_flags, { bd_id: id, is_set: true, flags: 16 });
  assert.equal((await oneBridge(c, id)).arp_term, true);

  await c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: bvi, bd_id: 0, enable: false });
  d = await oneBridge(c, id);
  assert.equal(d.bvi_sw_if_index, NO_INDEX);
  assert.deepEqual(
    d.sw_if_details.map((m) => m.sw_if_index),
    [sub],
  );
  await c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: sub, bd_id: 0, enable: false });
  await c.request(bridge_domain_add_del_v2, { bd_id: id, is_add: false });
  assert.deepEqual(await c.dump(bridge_domain_dump, { bd_id: id }), []);
  await rejectsWith(c.request(bridge_domain_add_del_v2, { bd_id: id, is_add: false }), -6, 'delete twice');
});

test('members move between domains; a member joining a missing domain creates it', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const a = await bridge(c, cleanup);
  const b = bdId();
  cleanup.add(() => c.request(bridge_domain_add_del_v2, { bd_id: b, is_add: false }));
  const lo = await loopback(c, cleanup);
  const up = await loopback(c, cleanup);
  const sub = (await c.request(create_vlan_subif, { sw_if_index: up, vlan_id: 99 })).sw_if_index;
  cleanup.add(() => c.request(delete_subif, { sw_if_index: sub }));
  await join(c, cleanup, lo, a);
  await join(c, cleanup, sub, a);
  // A loopback never floods unless it is the BVI, so it sorts after the other members.
  assert.deepEqual(
    (await oneBridge(c, a)).sw_if_details.map((m) => m.sw_if_index),
    [sub, lo],
  );
  await join(c, cleanup, lo, b);
  assert.deepEqual(
    (await oneBridge(c, a)).sw_if_details.map((m) => m.sw_if_index),
    [sub],
  );
  const created = await oneBridge(c, b);
  assert.deepEqual(
    created.sw_if_details.map((m) => m.sw_if_index),
    [lo],
  );
  assert.deepEqual(
    [created.flood, created.uu_flood, created.forward, created.learn, created.arp_term, created.bd_tag],
    [true, true, true, true, false, ''],
    "VPP's defaults",
  );
});

test('bd_id ~0 lets VPP choose an unused id', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const r = await c.request(bridge_domain_add_del_v2, {
    bd_id: NO_INDEX,
    is_add: true,
    ...BD_FLAGS,
    bd_tag: `${TAG}auto`,
  });
  cleanup.add(() => c.request(bridge_domain_add_del_v2, { bd_id: r.bd_id, is_add: false }));
  assert.ok(r.bd_id >= 1 && r.bd_id <= 0xffffff, `chosen id ${r.bd_id}`);
  assert.equal((await oneBridge(c, r.bd_id)).bd_tag, `${TAG}auto`);
});

test('bridge-domain errors: bd 0, ids over 24 bits, flags on a missing domain', async () => {
  const c = h.c;
  await rejectsWith(c.request(bridge_domain_add_del_v2, { bd_id: 0, is_add: false }), -121, 'deleting bd 0');
  await rejectsWith(
    c.request(bridge_domain_add_del_v2, { bd_id: 0, is_add: true, ...BD_FLAGS }),
    -119,
    'adding bd 0',
  );
  await rejectsWith(
    c.request(bridge_domain_add_del_v2, { bd_id: 0x1000000, is_add: true, ...BD_FLAGS }),
    -122,
    'a 25-bit id',
  );
  await rejectsWith(c.request(bridge_flags, { bd_id: 0, is_set: true, flags: 1 }), -121);
  await rejectsWith(c.request(bridge_flags, { bd_id: 0xfffffe, is_set: true, flags: 1 }), -6);
  assert.deepEqual(await c.dump(bridge_domain_dump, { bd_id: 0 }), []);
});

test('VLAN tag rewrite on a sub-interface shows in its details; L3 mode clears it', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const up = await loopback(c, cleanup);
  const sub = (await c.request(create_vlan_subif, { sw_if_index: up, vlan_id: 42 })).sw_if_index;
  cleanup.add(() => c.request(delete_subif, { sw_if_index: sub }));
  const bd = await bridge(c, cleanup);
  await join(c, cleanup, sub, bd);
  await c.request(l2_interface_vlan_tag_rewrite, { sw_if_index: sub, vtr_op: 3, push_dot1q: 1 });
  let d = await details(c, sub);
  assert.deepEqual([d.vtr_op, d.vtr_push_dot1q, d.vtr_tag1, d.vtr_tag2], [3, 0, 0, 0], 'pop 1');
  await c.request(l2_interface_vlan_tag_rewrite, { sw_if_index: sub, vtr_op: 5, push_dot1q: 1, tag1: 77 });
  d = await details(c, sub);
  assert.deepEqual([d.vtr_op, d.vtr_push_dot1q, d.vtr_tag1, d.vtr_tag2], [5, 1, 77, 0], 'translate 1:1');
  await rejectsWith(
    c.request(l2_interface_vlan_tag_rewrite, { sw_if_index: sub, vtr_op: 4 }),
    -72,
    'pop 2 on a one-tag sub-interface',
  );
  await rejectsWith(
    c.request(l2_interface_vlan_tag_rewrite, { sw_if_index: up, vtr_op: 3 }),
    -72,
    'pop 1 on an untagged interface',
  );
  await rejectsWith(c.request(l2_interface_vlan_tag_rewrite, { sw_if_index: sub, vtr_op: 9 }), -7);
  await c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: sub, bd_id: 0, enable: false });
  d = await details(c, sub);
  assert.equal(d.vtr_op, 0, 'back to L3, the rewrite is gone');
});
