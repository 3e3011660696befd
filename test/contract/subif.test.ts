// Contract: sub-interfaces with VPP's "default" match (SUB_IF_API_FLAG_DEFAULT), as netvpp's VLAN-tag
// guard uses them (an admin-down default sub-interface, sub id 4095, on every port interface), and
// what VPP does with a create it refuses: which index it took and gave back, and which events follow.
// Checked on a real VPP 26.06: loopback, af_packet and vhost-user parents
// (../shared/vpp-traces/subif_default.json records the same calls).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  af_packet_create_v3,
  af_packet_delete,
  create_subif,
  create_vhost_user_if_v2,
  delete_loopback,
  delete_subif,
  delete_vhost_user_if,
  SubIfFlags,
  sw_interface_dump,
  sw_interface_set_flags,
} from '../../src/vpp/binapi/index.ts';
import { RawClient, type Decoded } from '../sim/raw-client.ts';
import {
  Cleanup,
  contractHarness,
  details,
  hostInterface,
  loopback,
  NO_INDEX,
  rejectsWith,
  TAG,
  testMac,
} from './helpers.ts';

const h = contractHarness();

const DEFAULT = SubIfFlags.SUB_IF_API_FLAG_DEFAULT;
const ONE_TAG = SubIfFlags.SUB_IF_API_FLAG_ONE_TAG;
const TWO_TAGS = SubIfFlags.SUB_IF_API_FLAG_TWO_TAGS;
const EXACT = SubIfFlags.SUB_IF_API_FLAG_EXACT_MATCH;
const NO_TAGS = SubIfFlags.SUB_IF_API_FLAG_NO_TAGS;
const OUTER_ANY = SubIfFlags.SUB_IF_API_FLAG_OUTER_VLAN_ID_ANY;
const INNER_ANY = SubIfFlags.SUB_IF_API_FLAG_INNER_VLAN_ID_ANY;

test('a default sub-interface (sub id 4095) on a loopback, an af_packet and a vhost-user interface: its details, one per parent, gone with the parent', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-subif-'));
  cleanup.add(async () => rmSync(dir, { recursive: true, force: true }));
  const parents: { kind: string; idx: number; remove: () => Promise<unknown> }[] = [];
  const lo = await loopback(c, cleanup);
  parents.push({ kind: 'loopback', idx: lo, remove: () => c.request(delete_loopback, { sw_if_index: lo }) });
  const host = hostInterface(h, cleanup);
  if (host) {
    const afp = (
      await c.request(af_packet_create_v3, {
        mode: 1,
        hw_addr: testMac(),
        use_random_hw_addr: false,
        host_if_name: host,
        rx_frame_size: 2048,
        tx_frame_size: 2048,
        rx_frames_per_block: 32,
        tx_frames_per_block: 32,
      })
    ).sw_if_index;
    const remove = () => c.request(af_packet_delete, { host_if_name: host });
    cleanup.add(remove);
    parents.push({ kind: 'af_packet', idx: afp, remove });
  } else t.diagnostic('af_packet parent skipped: no host interface (NETVPP_TEST_HOST_IF, or root)');
  const vu = (
    await c.request(create_vhost_user_if_v2, {
      is_server: false,
      sock_filename: join(dir, 'vm.sock'),
      use_custom_mac: true,
      mac_address: testMac(),
      tag: `${TAG}vhost`,
    })
  ).sw_if_index;
  const removeVu = () => c.request(delete_vhost_user_if, { sw_if_index: vu });
  cleanup.add(removeVu);
  parents.push({ kind: 'vhost-user', idx: vu, remove: removeVu });

  for (const p of parents) {
    const parent = await details(c, p.idx);
    const sub = (
      await c.request(create_subif, {
        sw_if_index: p.idx,
        sub_id: 4095,
        sub_if_flags: DEFAULT,
        outer_vlan_id: 0,
        inner_vlan_id: 0,
      })
    ).sw_if_index;
    cleanup.add(() => c.request(delete_subif, { sw_if_index: sub }));
    const d = await details(c, sub);
    const what = `${p.kind}: `;
    assert.equal(d.interface_name, `${parent.interface_name}.4095`, `${what}name`);
    assert.equal(d.interface_dev_type, parent.interface_dev_type, `${what}dev type`);
    assert.equal(d.sup_sw_if_index, p.idx);
    assert.equal(d.type, 1, `${what}a sub-interface`);
    assert.equal(d.sub_id, 4095);
    assert.equal(d.sub_if_flags, DEFAULT, `${what}sub_if_flags`);
    assert.equal(d.sub_number_of_tags, 0, `${what}no tag count for a default match`);
    assert.equal(d.sub_outer_vlan_id, 0);
    assert.equal(d.sub_inner_vlan_id, 0);
    // Admin down as created; the link bit is the parent's (af_packet's link is up from the start).
    assert.equal(d.flags, parent.flags & 2, `${what}flags`);
    assert.equal(d.l2_address, '00:00:00:00:00:00');
    assert.deepEqual(d.mtu, [0, 0, 0, 0]);
    assert.equal(d.link_mtu, parent.link_mtu);
    assert.equal(d.tag, '');
    await rejectsWith(
      c.request(sw_interface_set_flags, { sw_if_index: sub, flags: 1 }),
      -1,
      `${what}up under a down parent`,
    );

    const again = (sub_id: number, sub_if_flags: number, outer_vlan_id = 0) =>
      c.request(create_subif, { sw_if_index: p.idx, sub_id, sub_if_flags, outer_vlan_id, inner_vlan_id: 0 });
    await rejectsWith(again(4094, DEFAULT), -1, `${what}a second default sub-interface`);
    await rejectsWith(again(4095, DEFAULT), -56, `${what}the same sub id`);
    await rejectsWith(again(77, ONE_TAG | OUTER_ANY), -1, `${what}one tag, any VLAN`);
    // The refusal cleared the parent's one default match (the first no longer matches anything):
    // so a third default sub-interface is accepted.
    const third = (await again(4093, DEFAULT)).sw_if_index;
    cleanup.add(() => c.request(delete_subif, { sw_if_index: third }));
    assert.equal((await details(c, third)).sub_if_flags, DEFAULT);

    await p.remove();
    for (const s of [sub, third])
      assert.deepEqual(
        await c.dump(sw_interface_dump, { sw_if_index: s }),
        [],
        `${what}gone with its parent`,
      );
  }
});

test('refused sub-interface creates: the index VPP took and gave back, and the event that says so', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const raw = await RawClient.connect(h.target.socket, 'netvpp-contract-raw');
  t.after(() => raw.close());
  let ctx = 100;
  const mine = new Set<number>();
  /** One call, then a control_ping: its reply and the events of the indexes this test got. */
  const call = async (name: string, args: Record<string, unknown>) => {
    const frames: Decoded[] = [...(await raw.call(name, args, ++ctx))];
    const reply = frames[frames.length - 1].msg;
    if (typeof reply.sw_if_index === 'number' && reply.sw_if_index !== NO_INDEX) mine.add(reply.sw_if_index);
    frames.push(...(await raw.call('control_ping', {}, ++ctx)));
    const events = frames
      .filter((d) => d.name === 'sw_interface_event' && mine.has(d.msg.sw_if_index as number))
      .map((d) => [d.msg.sw_if_index, d.msg.flags, d.msg.deleted]);
    return { rv: reply.retval as number, idx: reply.sw_if_index as number, events };
  };
  await raw.call('want_interface_events', { enable_disable: 1, pid: process.pid }, ++ctx);
  const lo = await call('create_loopback', { mac_address: testMac() });
  cleanup.add(() => c.request(delete_loopback, { sw_if_index: lo.idx }));
  const sub = (sub_id: number, sub_if_flags: number, outer_vlan_id = 0, inner_vlan_id = 0) =>
    call('create_subif', { sw_if_index: lo.idx, sub_id, sub_if_flags, outer_vlan_id, inner_vlan_id });

  const first = await sub(4095, DEFAULT);
  assert.deepEqual([first.rv, first.events], [0, [[first.idx, 0, false]]], 'created: an event');
  // "vlan is already in use": VPP allocated an index, ran the delete callbacks and freed it.
  const second = await sub(4094, DEFAULT);
  assert.equal(second.rv, -1, 'a second default');
  assert.notEqual(second.idx, NO_INDEX, 'the reply names the index VPP took');
  assert.deepEqual(second.events, [[second.idx, 0, true]], 'and a deleted event for it');
  const third = await sub(4093, DEFAULT);
  assert.deepEqual([third.rv, third.idx], [0, second.idx], 'freed first, handed out first');

  // "Any" matches VPP does not implement: an index taken and freed, no event at all.
  const nyi = await sub(77, ONE_TAG | OUTER_ANY);
  assert.equal(nyi.rv, -1, 'one tag, any VLAN');
  assert.notEqual(nyi.idx, NO_INDEX);
  assert.deepEqual(nyi.events, []);
  const nyi2 = await sub(78, TWO_TAGS | OUTER_ANY | INNER_ANY);
  assert.deepEqual([nyi2.rv, nyi2.idx, nyi2.events], [-1, nyi.idx, []]);
  // Exact match with "any" is refused before an index is taken.
  const early = await sub(79, TWO_TAGS | EXACT | INNER_ANY, 5);
  assert.deepEqual([early.rv, early.idx, early.events], [-1, NO_INDEX, []]);
  assert.equal((await sub(80, TWO_TAGS | EXACT | OUTER_ANY, 0, 5)).rv, -1);

  // One VLAN, two sub ids: the second is refused (-31 from create_vlan_subif) and clears the first's
  // match, so the next one on that VLAN is accepted.
  assert.equal((await sub(5, ONE_TAG | EXACT, 200)).rv, 0, 'VLAN 200 on sub id 5');
  const vlanTaken = await call('create_vlan_subif', { sw_if_index: lo.idx, vlan_id: 200 });
  assert.equal(vlanTaken.rv, -31, 'create_vlan_subif on a VLAN in use');
  assert.deepEqual(vlanTaken.events, [[vlanTaken.idx, 0, true]]);
  const vlanAgain = await call('create_vlan_subif', { sw_if_index: lo.idx, vlan_id: 200 });
  assert.deepEqual([vlanAgain.rv, vlanAgain.idx], [0, vlanTaken.idx]);
  assert.equal((await sub(6, ONE_TAG | EXACT, 201)).rv, 0, 'VLAN 201 on sub id 6');
  assert.equal((await sub(7, ONE_TAG | EXACT, 201)).rv, -1, 'create_subif says -1');
  // No tags (or no flags) is the main interface's own match: refused once, then free.
  assert.equal((await sub(20, 0)).rv, -1, 'no flags');
  assert.equal((await sub(21, NO_TAGS)).rv, 0, 'no tags, after the refusal');

  // Deleting the parent: one deleted event per sub-interface and for the parent, by index.
  const live = (await c.dump(sw_interface_dump, {}))
    .filter((d) => d.sup_sw_if_index === lo.idx)
    .map((d) => d.sw_if_index)
    .sort((x, y) => x - y);
  assert.equal(live.length, 7, 'the loopback and its six sub-interfaces');
  const gone = await call('delete_loopback', { sw_if_index: lo.idx });
  assert.deepEqual(
    gone.events,
    live.map((i) => [i, 0, true]),
  );
  assert.deepEqual(
    (await c.dump(sw_interface_dump, {})).filter((d) => live.includes(d.sw_if_index)),
    [],
  );
});
