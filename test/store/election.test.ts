import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdProcess } from '../../src/store/etcd-process.ts';
import { GuardFailedError, openStore, type Store } from '../../src/store/client.ts';
import { createElection, type Election } from '../../src/store/election.ts';
import { startProxy } from './helpers/tcp-proxy.ts';
import { spawnHolder } from './helpers/child.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const quiet = () => undefined;

describe('createElection', { concurrency: true }, () => {
  let etcd: EtcdProcess;
  const stores: Store[] = [];
  const elections: Election[] = [];
  const open = (endpoints = etcd.endpoints) => {
    const s = openStore({ endpoints, requestTimeoutMs: 1000 });
    stores.push(s);
    return s;
  };
  const candidate = (key: string, value: string, store = open(), onLost?: (r: string) => void) => {
    const e = createElection(store, { key, value, ttlSec: 2, log: quiet, ...(onLost ? { onLost } : {}) });
    elections.push(e);
    return e;
  };

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    for (const e of elections) await e.resign();
    for (const s of stores) s.close();
    await etcd.destroy();
  });

  it('one leader at a time; the next takes over on resign', async () => {
    const a = candidate('election/resign', 'A');
    const b = candidate('election/resign', 'B');
    await a.campaign();
    let bLeads = false;
    const bWon = b.campaign().then((g) => {
      bLeads = true;
      return g;
    });
    await sleep(300);
    assert.equal(bLeads, false);
    assert.equal(await a.leader(), 'A');
    await a.resign();
    assert.equal(a.isLeader, false);
    const guard = await bWon;
    assert.equal(await b.leader(), 'B');
    assert.equal(guard.key, 'election/resign');
  });

  it('a waiting candidate takes over when the leader process dies', async () => {
    const child = spawnHolder(['elect', etcd.endpoints[0], 'election/kill', '2', 'child']);
    try {
      await child.saw('leader');
      const b = candidate('election/kill', 'B');
      const bWon = b.campaign();
      assert.equal(await b.leader(), 'child');
      await child.kill();
      const guard = await bWon;
      assert.equal(await b.leader(), 'B');
      // The new leader's guard admits its writes.
      await open().txnBatch([{ op: 'put', key: 'data/kill', value: 'from B' }], { guard });
    } finally {
      await child.kill();
    }
  });

  it('a cut-off leader steps down, and its guard stops its writes', async () => {
    const proxy = await startProxy(etcd.endpoints[0]);
    try {
      const lost: string[] = [];
      const a = candidate('election/cut', 'A', open([proxy.url]), (r) => lost.push(r));
      const b = candidate('election/cut', 'B');
      const aGuard = await a.campaign();
      const bWon = b.campaign();
      proxy.cut();
      await waitFor('A to step down', () => lost.length > 0);
      assert.equal(a.isLeader, false);
      await bWon;
      assert.equal(await b.leader(), 'B');
      // A write that A had prepared under its leadership is refused now (etcd checks the guard).
      await assert.rejects(
        open().txnBatch([{ op: 'put', key: 'data/cut', value: 'stale A' }], { guard: aGuard }),
        GuardFailedError,
      );
      // Healed, A can campaign again and waits behind B.
      proxy.heal();
      let aLeads = false;
      a.campaign().then(
        () => (aLeads = true),
        () => undefined, // rejected by resign() at the end
      );
      await sleep(300);
      assert.equal(aLeads, false);
    } finally {
      await proxy.close();
    }
  });
});
