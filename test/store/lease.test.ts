import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdProcess } from '../../src/store/etcd-process.ts';
import { openStore, type Store } from '../../src/store/client.ts';
import { keepLeaseKey, type LeaseKeyState } from '../../src/store/lease.ts';
import { watchPrefixes, type WatchEvent } from '../../src/store/watch.ts';
import { startProxy } from './helpers/tcp-proxy.ts';
import { spawnHolder } from './helpers/child.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const quiet = () => undefined;

/**
 * The real store, with its first put held until release(), so a test can act while the keeper's
 * write is on its way.
 */
function firstPutHeld(real: Store): {
  store: Store;
  started: Promise<void>;
  release: () => void;
  /** Puts sent so far. */
  puts: () => number;
} {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let putStarted!: () => void;
  const started = new Promise<void>((r) => (putStarted = r));
  let held = false;
  let puts = 0;
  const store: Store = Object.create(real) as Store;
  store.put = async (...args: Parameters<Store['put']>) => {
    puts++;
    if (!held) {
      held = true;
      putStarted();
      await gate;
    }
    return real.put(...args);
  };
  return { store, started, release, puts: () => puts };
}

describe('keepLeaseKey', { concurrency: true }, () => {
  let etcd: EtcdProcess;
  let observer: Store;
  const stores: Store[] = [];
  const open = (endpoints = etcd.endpoints) => {
    const s = openStore({ endpoints, requestTimeoutMs: 1000 });
    stores.push(s);
    return s;
  };

  before(async () => {
    etcd = await startEtcd();
    observer = open();
  });
  after(async () => {
    for (const s of stores) s.close();
    await etcd.destroy();
  });

  it('holds the key with a lease, updates it, and deletes it on close', async () => {
    const s = open();
    const k = keepLeaseKey(s, { key: 'alive/a', value: 'v1', ttlSec: 3, log: quiet });
    await k.ready;
    const { kv } = await observer.get('alive/a');
    assert.equal(kv?.value, 'v1');
    assert.equal(kv?.lease, k.leaseId);
    assert.notEqual(kv?.lease, '0');
    await k.update('v2');
    assert.equal((await observer.get('alive/a')).kv?.value, 'v2');
    await k.close();
    assert.equal(k.state, 'closed');
    assert.equal((await observer.get('alive/a')).kv, undefined);
  });

  it('the key disappears when its holder process is killed', async () => {
    const events: WatchEvent[] = [];
    const w = watchPrefixes(observer, {
      prefixes: ['alive/child'],
      onEvent: (e) => void events.push(e),
      log: quiet,
    });
    await w.ready;
    const child = spawnHolder(['lease', etcd.endpoints[0], 'alive/child', '2']);
    try {
      await child.saw('ready');
      assert.equal((await observer.get('alive/child')).kv?.value, 'child');
      await child.kill();
      await waitFor('lease expiry to delete the key', () => events.some((e) => e.type === 'delete'));
      assert.equal((await observer.get('alive/child')).kv, undefined);
    } finally {
      await child.kill();
      await w.close();
    }
  });

  it('comes back with a new lease after being cut off longer than the TTL', async () => {
    const proxy = await startProxy(etcd.endpoints[0]);
    const states: LeaseKeyState[] = [];
    const k = keepLeaseKey(open([proxy.url]), {
      key: 'alive/cut',
      value: 'v',
      ttlSec: 2,
      log: quiet,
      onState: (s) => states.push(s),
    });
    try {
      await k.ready;
      const first = (await observer.get('alive/cut')).kv?.lease;
      proxy.cut();
      // etcd expires the lease while the holder can't reach it.
      await waitFor('server-side expiry', async () => (await observer.get('alive/cut')).kv === undefined);
      proxy.heal();
      await waitFor('key written again', async () => (await observer.get('alive/cut')).kv !== undefined);
      const again = (await observer.get('alive/cut')).kv;
      assert.equal(again?.value, 'v');
      assert.notEqual(again?.lease, first);
      await waitFor('state alive', () => k.state === 'alive');
      assert.deepEqual(states, ['alive', 'lost', 'alive']);
    } finally {
      await k.close();
      await proxy.close();
    }
  });

  it('comes back after etcd restarts, with or without its data', async (t) => {
    const own = await startEtcd();
    const s = openStore({ endpoints: own.endpoints, requestTimeoutMs: 1000 });
    const k = keepLeaseKey(s, { key: 'alive/r', value: 'v', ttlSec: 2, log: quiet });
    t.after(async () => {
      await k.close();
      s.close();
      await own.destroy();
    });
    await k.ready;
    for (const wipeData of [false, true]) {
      await own.kill();
      await sleep(2500); // an outage longer than the TTL
      await own.restart({ wipeData });
      await waitFor(
        `key back after restart (wipeData=${wipeData})`,
        async () => (await s.get('alive/r')).kv?.value === 'v',
      );
    }
  });

  it('close() while the key is being written ends the keeper: it never comes back to life', async () => {
    // The real store, with its writes held at a gate so close() lands inside the first put.
    const { store: gated, started, release, puts } = firstPutHeld(open());
    const k = keepLeaseKey(gated, {
      key: 'alive/race',
      value: 'v',
      ttlSec: 2,
      checkIntervalMs: 100,
      log: quiet,
    });
    await started;
    const closing = k.close();
    release();
    await Promise.race([
      closing,
      sleep(8000).then(() => assert.fail('close() did not return: the keeper is still running')),
    ]);
    // A keeper still running would grant a new lease and write again within its 100 ms checks.
    await sleep(300);
    assert.equal(puts(), 1, 'no write after the one close() interrupted');
    assert.equal((await observer.get('alive/race')).kv, undefined, 'no key left behind');
  });

  it('update() while etcd is unreachable does not reject; the value lands once etcd is back', async () => {
    const proxy = await startProxy(etcd.endpoints[0]);
    const k = keepLeaseKey(open([proxy.url]), {
      key: 'alive/offline',
      value: 'v1',
      ttlSec: 10,
      checkIntervalMs: 200,
      log: quiet,
    });
    try {
      await k.ready;
      proxy.cut();
      await k.update('v2'); // resolves: callers fire and forget
      proxy.heal();
      await waitFor('v2 in etcd', async () => (await observer.get('alive/offline')).kv?.value === 'v2');
    } finally {
      await k.close();
      await proxy.close();
    }
  });

  it('an update() while the key is first being written is not lost', async () => {
    const { store, started, release } = firstPutHeld(open());
    // A check interval far beyond the test: only the write path can bring the new value.
    const k = keepLeaseKey(store, {
      key: 'alive/upd',
      value: 'v1',
      ttlSec: 5,
      checkIntervalMs: 600_000,
      log: quiet,
    });
    try {
      await started;
      await k.update('v2');
      release();
      await k.ready;
      await waitFor('v2 in etcd', async () => (await observer.get('alive/upd')).kv?.value === 'v2');
    } finally {
      await k.close();
    }
  });

  it('a lease revoked behind its back is replaced by a new one and the key written again', async () => {
    const states: LeaseKeyState[] = [];
    const k = keepLeaseKey(open(), {
      key: 'alive/revoked',
      value: 'v',
      ttlSec: 30,
      checkIntervalMs: 100,
      log: quiet,
      onState: (st) => states.push(st),
    });
    try {
      await k.ready;
      const first = (await observer.get('alive/revoked')).kv?.lease;
      assert.ok(first);
      await observer.etcd.leaseClient.leaseRevoke({ ID: first });
      await waitFor('the key back under another lease', async () => {
        const kv = (await observer.get('alive/revoked')).kv;
        return kv !== undefined && kv.lease !== first;
      });
      await waitFor('lost, then alive again', () => states.length >= 3);
      assert.deepEqual(states, ['alive', 'lost', 'alive']);
    } finally {
      await k.close();
    }
  });
});
