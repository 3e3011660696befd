// Contract: interface events. VPP's link-state process sends them a main-loop turn after the
// call that caused them: after that call's reply, and before the reply to the client's next call
// (the recorded VPP 26.06 session shows exactly this), batched per interface. Calls that arrive in
// one write are all answered first: their events follow the last reply. A deleted interface (or
// sub-interface) gives an event with deleted=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  create_subif,
  create_vhost_user_if_v2,
  create_vlan_subif,
  delete_loopback,
  delete_subif,
  delete_vhost_user_if,
  SubIfFlags,
  sw_interface_event,
  sw_interface_set_flags,
  want_interface_events,
  type SwInterfaceEvent,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messageCodec } from '../../src/vpp/codec/index.ts';
import { defOf, RawClient } from '../sim/raw-client.ts';
import { Cleanup, contractHarness, loopback, rejectsWith, roundTrip, TAG } from './helpers.ts';

const h = contractHarness();

test('admin up/down events arrive in order, no later than the next reply', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const lo = await loopback(c, cleanup);
  const seen: SwInterfaceEvent[] = [];
  const unsubscribe = await c.subscribe(
    want_interface_events,
    { pid: process.pid },
    sw_interface_event,
    (ev) => {
      if (ev.sw_if_index === lo) seen.push(ev);
    },
  );
  cleanup.add(() => unsubscribe());
  await roundTrip(c);
  seen.length = 0;

  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 1 });
  await roundTrip(c);
  assert.deepEqual(
    seen.map((e) => [e.flags, e.deleted]),
    [[3, false]],
    'one event: admin up and (loopback) link up',
  );
  assert.equal(seen[0].pid, process.pid, 'the pid given at registration');

  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 0 });
  await roundTrip(c);
  assert.deepEqual(
    seen.map((e) => e.flags),
    [3, 0],
  );
  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 0 });
  await roundTrip(c);
  assert.equal(seen.length, 2, 'no change, no event');
});

test('registrations are per client: each gets events, a second registration is refused', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const other = await VppClient.connect({ socket: h.target.socket, name: 'netvpp-contract-2' });
  t.after(() => other.close());
  const lo = await loopback(c, cleanup);
  const mine: number[] = [];
  const theirs: number[] = [];
  const u1 = await c.subscribe(want_interface_events, { pid: 1 }, sw_interface_event, (e) => {
    if (e.sw_if_index === lo) mine.push(e.flags);
  });
  cleanup.add(() => u1());
  await rejectsWith(c.request(want_interface_events, { enable_disable: 1, pid: 1 }), -31, 'registered twice');
  const u2 = await other.subscribe(want_interface_events, { pid: 2 }, sw_interface_event, (e) => {
    if (e.sw_if_index === lo) theirs.push(e.flags);
  });
  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 1 });
  await roundTrip(c);
  await roundTrip(other);
  assert.deepEqual(mine, [3]);
  assert.deepEqual(theirs, [3]);
  await u2();
  await rejectsWith(
    other.request(want_interface_events, { enable_disable: 0, pid: 2 }),
    -31,
    'not registered',
  );
  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 0 });
  await roundTrip(c);
  await roundTrip(other);
  assert.deepEqual(mine, [3, 0]);
  assert.deepEqual(theirs, [3], 'unsubscribed');
});

test('vhost-user: the link event comes when a guest connects to an admin-up interface', async (t) => {
  if (!h.target.sim) return t.skip('needs the simulator to play the guest');
  const sim = h.target.sim;
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-vhost-'));
  cleanup.add(async () => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'vm.sock');
  const vu = (await c.request(create_vhost_user_if_v2, { sock_filename: sock, tag: `${TAG}vhost` }))
    .sw_if_index;
  cleanup.add(() => c.request(delete_vhost_user_if, { sw_if_index: vu }));
  const seen: number[] = [];
  const unsubscribe = await c.subscribe(want_interface_events, { pid: 7 }, sw_interface_event, (e) => {
    if (e.sw_if_index === vu) seen.push(e.flags);
  });
  cleanup.add(() => unsubscribe());
  await c.request(sw_interface_set_flags, { sw_if_index: vu, flags: 1 });
  await roundTrip(c);
  assert.deepEqual(seen, [1], 'admin up, link still down');
  const linked = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (seen.length === 2) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  sim.connectGuest(sock);
  // Nothing else is sent: the event is not waiting for another API call.
  await linked;
  // An event carries what changed, not the whole state: this one is the link alone.
  assert.deepEqual(seen, [1, 2]);
});

test('deleted interfaces: one event with deleted=true each, a deleted parent’s sub-interfaces included, by index', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const lo = await loopback(c, cleanup);
  await c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 1 });
  const vlan = (await c.request(create_vlan_subif, { sw_if_index: lo, vlan_id: 10 })).sw_if_index;
  const dflt = (
    await c.request(create_subif, {
      sw_if_index: lo,
      sub_id: 4095,
      sub_if_flags: SubIfFlags.SUB_IF_API_FLAG_DEFAULT,
    })
  ).sw_if_index;
  const mine = new Set([lo, vlan, dflt]);
  const seen: [number, number, boolean][] = [];
  const unsubscribe = await c.subscribe(
    want_interface_events,
    { pid: process.pid },
    sw_interface_event,
    (e) => {
      if (mine.has(e.sw_if_index)) seen.push([e.sw_if_index, e.flags, e.deleted]);
    },
  );
  cleanup.add(() => unsubscribe());
  await roundTrip(c);
  seen.length = 0;

  await c.request(delete_subif, { sw_if_index: dflt });
  await roundTrip(c);
  assert.deepEqual(seen, [[dflt, 0, true]], 'delete_subif');
  seen.length = 0;
  // The loopback was admin up: its admin-down, link-down and delete are one event.
  await c.request(delete_loopback, { sw_if_index: lo });
  await roundTrip(c);
  assert.deepEqual(
    seen,
    [vlan, lo].sort((x, y) => x - y).map((i) => [i, 0, true]),
    'delete_loopback',
  );
});

/** A raw client registered for events, and an encoder of requests for it. */
async function rawEvents(t: { after: (fn: () => void) => void }) {
  const raw = await RawClient.connect(h.target.socket, 'netvpp-contract-raw');
  t.after(() => raw.close());
  await raw.call('want_interface_events', { enable_disable: 1, pid: 99 }, 1);
  const enc = (name: string, args: Record<string, unknown>) =>
    messageCodec(defOf(name)).encode(raw.ids.get(name) as number, { client_index: raw.clientIndex, ...args });
  return { raw, enc };
}

test('calls sent in one write are all answered before their events, which are OR-ed per interface', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const lo = await loopback(h.c, cleanup);
  const { raw, enc } = await rawEvents(t);
  await raw.call('control_ping', {}, 2);
  raw.sendAll([
    enc('sw_interface_set_flags', { context: 10, sw_if_index: lo, flags: 1 }),
    enc('sw_interface_set_flags', { context: 11, sw_if_index: lo, flags: 0 }),
    enc('control_ping', { context: 12 }),
  ]);
  const got = await raw.until((d) => d.name === 'sw_interface_event' && d.msg.sw_if_index === lo);
  assert.deepEqual(
    got
      .filter((d) => d.name !== 'sw_interface_event' || d.msg.sw_if_index === lo)
      .map((d) => (d.name === 'sw_interface_event' ? `event ${d.msg.flags}` : `${d.name} ${d.msg.context}`)),
    // Up, then down, in one batch: the event says what went up.
    [
      'sw_interface_set_flags_reply 10',
      'sw_interface_set_flags_reply 11',
      'control_ping_reply 12',
      'event 3',
    ],
  );
  await raw.call('control_ping', {}, 13);
});

test('events stopped in the same write as a delete: no deleted event (one sent after the reply does get it)', async (t) => {
  const { raw, enc } = await rawEvents(t);
  const created = async (ctx: number) => {
    const r = await raw.call('create_loopback', {}, ctx);
    await raw.call('control_ping', {}, ctx + 1);
    return r[r.length - 1].msg.sw_if_index as number;
  };
  // One by one: the deleted event comes before the reply to the next call.
  const a = await created(20);
  await raw.call('delete_loopback', { sw_if_index: a }, 22);
  const next = await raw.call('control_ping', {}, 23);
  assert.ok(
    next.some((d) => d.name === 'sw_interface_event' && d.msg.sw_if_index === a && d.msg.deleted === true),
    'deleted event',
  );
  // Delete and disable in one write: VPP handles both before its link-state process runs.
  const b = await created(30);
  raw.sendAll([
    enc('delete_loopback', { context: 32, sw_if_index: b }),
    enc('want_interface_events', { context: 33, enable_disable: 0, pid: 99 }),
  ]);
  const got = await raw.until((d) => d.name === 'want_interface_events_reply' && d.msg.context === 33);
  await raw.call('control_ping', {}, 34);
  assert.equal(got.find((d) => d.name === 'want_interface_events_reply')?.msg.retval, 0);
  assert.deepEqual(
    got.filter((d) => d.name === 'sw_interface_event' && d.msg.sw_if_index === b),
    [],
    'no event once unregistered',
  );
  assert.equal(await raw.next(200), null, 'nothing later either');
});
