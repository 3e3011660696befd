// The socket API at the frame level: registrations, unknown and malformed messages, keepalives,
// sockclnt_delete, replies routed by client_index, and where events fall among replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Sim } from '../../src/sim/index.ts';
import { messageCodec } from '../../src/vpp/codec/index.ts';
import { defOf, RawClient } from './raw-client.ts';

async function sim(t: { after(fn: () => Promise<void>): void }): Promise<Sim> {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  const s = await startSimulator({ socket: join(dir, 'api.sock') });
  t.after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

async function raw(t: { after(fn: () => void): void }, s: Sim): Promise<RawClient> {
  const c = await RawClient.connect(s.socket);
  t.after(() => c.close());
  return c;
}

test('each connection gets its own registration handle; handles are reused like VPP pools', async (t) => {
  const s = await sim(t);
  const a = await raw(t, s);
  const b = await raw(t, s);
  assert.equal(a.clientIndex, 0x80000001);
  assert.equal(b.clientIndex, 0x80000002);
  assert.equal(s.clients(), 2);
  a.close();
  while (s.clients() > 1) await new Promise((r) => setTimeout(r, 5));
  const c = await raw(t, s);
  assert.equal(c.clientIndex, 0x80000001, 'the freed registration comes back');
});

test('an unknown message id is ignored and the connection keeps working', async (t) => {
  const s = await sim(t);
  const c = await raw(t, s);
  c.send(Buffer.from([0x7f, 0xf0, 0x80, 0, 0, 1, 0, 0, 0, 9]));
  const got = await c.call('control_ping', {}, 5);
  assert.deepEqual(
    got.map((d) => d.name),
    ['control_ping_reply'],
  );
});

test('a truncated message is dropped without a reply, like VPP', async (t) => {
  const s = await sim(t);
  const c = await raw(t, s);
  const id = c.ids.get('sw_interface_set_flags') as number;
  const p = Buffer.alloc(8);
  p.writeUInt16BE(id, 0);
  p.writeUInt32BE(c.clientIndex, 2);
  c.send(p);
  const got = await c.call('control_ping', {}, 6);
  assert.deepEqual(
    got.map((d) => d.name),
    ['control_ping_reply'],
  );
});

test('memclnt_keepalive from a socket client gets no reply (VPP answers into shared memory)', async (t) => {
  const s = await sim(t);
  const c = await raw(t, s);
  c.request('memclnt_keepalive', { context: 3 });
  const got = await c.call('control_ping', {}, 4);
  assert.deepEqual(
    got.map((d) => d.name),
    ['control_ping_reply'],
  );
  assert.equal(s.calls('memclnt_keepalive'), 1);
});

test('a message naming an unknown client_index is not answered', async (t) => {
  const s = await sim(t);
  const c = await raw(t, s);
  const id = c.ids.get('control_ping') as number;
  c.send(messageCodec(defOf('control_ping')).encode(id, { client_index: 0x80000077, context: 1 }));
  c.send(
    messageCodec(defOf('create_loopback')).encode(c.ids.get('create_loopback') as number, {
      client_index: 5,
      context: 2,
    }),
  );
  const got = await c.call('control_ping', {}, 3);
  assert.deepEqual(
    got.map((d) => [d.name, d.msg.context]),
    [['control_ping_reply', 3]],
  );
});

test('sockclnt_delete answers 1 and VPP closes the connection', async (t) => {
  const s = await sim(t);
  const c = await raw(t, s);
  const got = await c.call('sockclnt_delete', { index: c.clientIndex }, 9);
  assert.equal(got[got.length - 1].msg.response, 1);
  assert.equal(await c.next(1000), null);
  assert.equal(c.isClosed, true);
});

test('a pipelined batch: its events follow all its replies, OR-ed into one per interface', async (t) => {
  const s = await sim(t);
  const c = await raw(t, s);
  const lo = await c.call('create_loopback', {}, 1);
  const sw = lo[lo.length - 1].msg.sw_if_index as number;
  await c.call('want_interface_events', { enable_disable: 1, pid: 99 }, 2);
  // Three requests in one write: VPP's API process handles all three before its link-state process
  // runs (as a real VPP 26.06 does; test/contract/events.test.ts checks it on both).
  const codec = (n: string) => messageCodec(defOf(n));
  const ids = (n: string) => c.ids.get(n) as number;
  c.sendAll([
    codec('sw_interface_set_flags').encode(ids('sw_interface_set_flags'), {
      client_index: c.clientIndex,
      context: 10,
      sw_if_index: sw,
      flags: 1,
    }),
    codec('sw_interface_set_flags').encode(ids('sw_interface_set_flags'), {
      client_index: c.clientIndex,
      context: 11,
      sw_if_index: sw,
      flags: 0,
    }),
    codec('control_ping').encode(ids('control_ping'), { client_index: c.clientIndex, context: 12 }),
  ]);
  const got = await c.until((d) => d.name === 'sw_interface_event');
  assert.deepEqual(
    got.map((d) => (d.name === 'sw_interface_event' ? `event ${d.msg.flags}` : `${d.name} ${d.msg.context}`)),
    // The loopback's ADD event went out before the registration existed: nobody got it. Up then
    // down in one batch: the event says both went up (the bits of a batch are OR-ed).
    [
      'sw_interface_set_flags_reply 10',
      'sw_interface_set_flags_reply 11',
      'control_ping_reply 12',
      'event 3',
    ],
  );
  assert.equal(await c.next(200), null, 'one event for the batch');
});

test('sockclnt_create again on the same connection answers with the same handle', async (t) => {
  const s = await sim(t);
  const c = await raw(t, s);
  assert.equal(c.ids.get('sockclnt_create'), 15);
  assert.equal(c.ids.get('control_ping'), 23);
  c.send(messageCodec(defOf('sockclnt_create')).encode(15, { context: 77, name: 'again' }));
  const [reply] = await c.until((d) => d.name === 'sockclnt_create_reply');
  assert.equal(reply.msg.context, 77);
  assert.equal(reply.msg.index, c.clientIndex);
  assert.equal(reply.msg.response, 0);
});
