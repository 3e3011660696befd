// The simulator's test controls: crash/restart, slow replies, injected errors, call counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Sim } from '../../src/sim/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import {
  acl_dump,
  control_ping,
  create_loopback,
  delete_loopback,
  show_version,
  sw_interface_dump,
  sw_interface_set_flags,
  sw_interface_tag_add_del,
} from '../../src/vpp/binapi/index.ts';
import { VppApiError, VppDisconnectedError } from '../../src/vpp/errors.ts';

const clientsOf = new WeakMap<Sim, VppClient[]>();

/** A fresh simulator; its clients are closed before it stops. */
async function sim(t: { after(fn: () => Promise<void> | void): void }): Promise<Sim> {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  const s = await startSimulator({ socket: join(dir, 'api.sock') });
  clientsOf.set(s, []);
  t.after(async () => {
    for (const c of clientsOf.get(s) ?? []) await c.close();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

async function client(s: Sim): Promise<VppClient> {
  const c = await VppClient.connect({ socket: s.socket, timeoutMs: 5000 });
  clientsOf.get(s)?.push(c);
  return c;
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

test('crash: clients are dropped, state is gone, the restarted VPP has a new pid', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  const lo = await c.request(create_loopback, {});
  const pid = s.vpePid;
  assert.equal(c.vpePid, pid);
  const dropped = new Promise((resolve) => c.once('disconnected', resolve));
  await s.crash();
  assert.ok((await dropped) instanceof VppDisconnectedError);
  assert.equal(s.clients(), 0);
  assert.notEqual(s.vpePid, pid);
  const { restarted } = await c.reconnect();
  assert.equal(restarted, true);
  assert.equal(c.vpePid, s.vpePid);
  assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: lo.sw_if_index }), []);
  const all = await c.dump(sw_interface_dump, {});
  assert.deepEqual(
    all.map((d) => d.interface_name),
    ['local0'],
    'a fresh VPP has only local0',
  );
  // Indexes start over too.
  assert.equal((await c.request(create_loopback, {})).sw_if_index, 1);
});

test('crash with downtime: nobody can connect until VPP is back', async (t) => {
  const s = await sim(t);
  const crashed = s.crash({ downMs: 1000 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await canConnect(s.socket), false, 'the socket is gone while VPP restarts');
  await crashed;
  assert.equal(await canConnect(s.socket), true);
});

test('a delay holds that message and everything the client sent after it, in order', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.setDelay('show_version', 150);
  const order: string[] = [];
  const t0 = Date.now();
  await Promise.all([
    c.request(show_version, {}).then(() => order.push('show_version')),
    c.request(control_ping, {}).then(() => order.push('control_ping')),
  ]);
  assert.deepEqual(order, ['show_version', 'control_ping']);
  assert.ok(Date.now() - t0 >= 140, 'the reply waited');
  s.setDelay('show_version', 0);
  s.setDelay('*', 100);
  const t1 = Date.now();
  await c.request(control_ping, {});
  assert.ok(Date.now() - t1 >= 90, "'*' delays every message");
  s.clearFaults();
});

test('a crash during a delay drops the delayed call: it never happens', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.setDelay('create_loopback', 200);
  const pending = c.request(create_loopback, {});
  await new Promise((r) => setTimeout(r, 30));
  await s.crash();
  await assert.rejects(pending, VppDisconnectedError);
  await new Promise((r) => setTimeout(r, 250));
  await c.reconnect();
  assert.equal((await c.dump(sw_interface_dump, {})).length, 1);
});

test('delayNext: only the next n calls are held (and what the client sent after them)', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.delayNext('show_version', 150);
  const order: string[] = [];
  const t0 = Date.now();
  await Promise.all([
    c.request(show_version, {}).then(() => order.push('show_version')),
    c.request(control_ping, {}).then(() => order.push('control_ping')),
  ]);
  assert.deepEqual(order, ['show_version', 'control_ping']);
  assert.ok(Date.now() - t0 >= 140, 'the first call waited');
  const t1 = Date.now();
  await c.request(show_version, {});
  assert.ok(Date.now() - t1 < 100, 'the next one does not');
  assert.throws(() => s.delayNext('show_version', 10, 0));
});

test('a delayed write still happens after the client gave up waiting for it', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.delayNext('create_loopback', 300);
  await assert.rejects(c.request(create_loopback, {}, { timeoutMs: 50 }), /within the timeout/);
  assert.equal((await c.dump(sw_interface_dump, {})).length, 2, 'the loopback was made anyway');
});

test('onWrite: called after each write with its number; a cut loses the reply and all that follows', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  const other = await client(s);
  s.resetCounters();
  const seen: string[] = [];
  s.onWrite((w) => {
    seen.push(`${w.n}:${w.message}:${w.retval}`);
    return w.n === 2 ? 'cut' : undefined;
  });
  const lo = await c.request(create_loopback, {});
  const dropped = new Promise((resolve) => c.once('disconnected', resolve));
  const results = await Promise.allSettled([
    c.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: lo.sw_if_index, tag: 'netvpp-test:a' }),
    c.request(sw_interface_set_flags, { sw_if_index: lo.sw_if_index, flags: 1 }),
  ]);
  await dropped;
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof VppDisconnectedError));
  s.onWrite(null);
  assert.deepEqual(seen, [`1:create_loopback:0`, `2:sw_interface_tag_add_del:0`]);
  const [d] = await other.dump(sw_interface_dump, { sw_if_index: lo.sw_if_index });
  assert.equal(d.tag, 'netvpp-test:a', 'the cut write was carried out');
  assert.equal(d.flags, 0, 'what the client sent after it was not');
  assert.equal(s.writes(), 2);
});

test('onWrite: a crash started from the hook happens between two writes of a client', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.resetCounters();
  let crashed: Promise<void> | undefined;
  s.onWrite((w) => {
    if (w.n === 1) crashed = s.crash();
  });
  const results = await Promise.allSettled([c.request(create_loopback, {}), c.request(create_loopback, {})]);
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof VppDisconnectedError));
  await crashed;
  s.clearFaults();
  await c.reconnect();
  assert.deepEqual(
    (await c.dump(sw_interface_dump, {})).map((d) => d.interface_name),
    ['local0'],
  );
});

test('failNth: the n-th call fails with the given retval and changes nothing', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.failNth('create_loopback', 2, -11);
  const first = await c.request(create_loopback, {});
  await assert.rejects(
    c.request(create_loopback, {}),
    (e: unknown) => e instanceof VppApiError && e.retval === -11,
  );
  const third = await c.request(create_loopback, {});
  assert.equal(third.sw_if_index, first.sw_if_index + 1, 'the failed call allocated nothing');
  s.failNth('sw_interface_set_flags', 1, -2);
  await assert.rejects(
    c.request(sw_interface_set_flags, { sw_if_index: first.sw_if_index, flags: 1 }),
    VppApiError,
  );
  assert.equal((await c.dump(sw_interface_dump, { sw_if_index: first.sw_if_index }))[0].flags, 0);
  s.failNth('sw_interface_dump', 1, -1);
  assert.deepEqual(await c.dump(sw_interface_dump, {}), [], 'a failed dump returns nothing');
  assert.equal((await c.dump(sw_interface_dump, {})).length, 3);
  s.failNth('control_ping', 1, -5);
  await assert.rejects(
    c.request(control_ping, {}),
    (e: unknown) => e instanceof VppApiError && e.retval === -5,
  );
  assert.throws(() => s.failNth('control_ping', 0, -1));
});

test('failEvery: every call fails until clearFaults, and changes nothing', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.failEvery('create_loopback', -12);
  for (let i = 0; i < 3; i++)
    await assert.rejects(
      c.request(create_loopback, {}),
      (e: unknown) => e instanceof VppApiError && e.retval === -12,
    );
  assert.equal((await c.dump(sw_interface_dump, {})).length, 1, 'only local0: nothing was created');
  s.clearFaults();
  const lo = await c.request(create_loopback, {});
  assert.equal((await c.dump(sw_interface_dump, { sw_if_index: lo.sw_if_index })).length, 1);
});

test('counters: calls per message, writes, reset', async (t) => {
  const s = await sim(t);
  const c = await client(s);
  s.resetCounters();
  const lo = await c.request(create_loopback, {});
  await c.request(sw_interface_tag_add_del, {
    is_add: true,
    sw_if_index: lo.sw_if_index,
    tag: 'netvpp-test:x',
  });
  await c.dump(sw_interface_dump, {});
  await c.dump(acl_dump, { acl_index: 0xffffffff });
  await c.request(control_ping, {});
  assert.equal(s.calls('create_loopback'), 1);
  assert.equal(s.calls('sw_interface_dump'), 1);
  assert.equal(s.calls('control_ping'), 3, 'two dumps closed by a ping, and one ping');
  assert.equal(s.writes(), 2, 'create and tag');
  assert.deepEqual(Object.keys(s.counters()), [
    'acl_dump',
    'control_ping',
    'create_loopback',
    'sw_interface_dump',
    'sw_interface_tag_add_del',
  ]);
  s.resetCounters();
  await c.request(delete_loopback, lo);
  assert.equal(s.writes(), 1);
  assert.equal(s.calls('create_loopback'), 0);
});

test('NICs given at start exist after local0, linked, and come back after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-nic-'));
  const sim = await startSimulator({ socket: join(dir, 'api.sock'), nics: ['GigabitEthernet0/8/0'] });
  try {
    for (let round = 0; round < 2; round++) {
      const c = await VppClient.connect({ socket: sim.socket });
      const ifs = await c.dump(sw_interface_dump, {});
      assert.deepEqual(
        ifs.map((i) => [i.sw_if_index, i.interface_name, i.flags]),
        [
          [0, 'local0', 0],
          [1, 'GigabitEthernet0/8/0', 2],
        ],
      );
      await c.close();
      await sim.crash();
    }
  } finally {
    await sim.stop();
  }
});
