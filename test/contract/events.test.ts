// Contract: interface events. VPP's link-state process sends them a main-loop turn after the
// call that caused them: after that call's reply, and before the reply to the client's next call
// (the recorded VPP 26.06 session shows exactly this), batched per interface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  create_vhost_user_if_v2,
  delete_vhost_user_if,
  sw_interface_event,
  sw_interface_set_flags,
  want_interface_events,
  type SwInterfaceEvent,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
