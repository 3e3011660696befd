// The election's step-down under a busy event loop (docs/l3.md, HA routers): a leader whose process
// stalls for over half its lease TTL keeps leading — its lease is still alive in etcd, renewed by the
// keepalive it sent before the stall — and only a stall past the TTL (after which etcd may have
// expired the lease) makes it step down. Real etcd; the stalls are busy loops in this process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdProcess } from '../../src/store/etcd-process.ts';
import { openStore, type Store } from '../../src/store/client.ts';
import { createElection, type Election } from '../../src/store/election.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const quiet = () => undefined;
const TTL = 4;

/** Blocks the event loop for `ms`, as a loaded agent's long pass does. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe('election: damped step-down', () => {
  let etcd: EtcdProcess;
  const stores: Store[] = [];
  const elections: Election[] = [];
  const open = () => {
    const s = openStore({ endpoints: etcd.endpoints, requestTimeoutMs: 1000 });
    stores.push(s);
    return s;
  };
  const candidate = (key: string, lost: string[]) => {
    const e = createElection(open(), {
      key,
      value: 'A',
      ttlSec: TTL,
      log: quiet,
      onLost: (r) => lost.push(r),
    });
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

  it('stalls of over half the TTL, at any point of the keepalive cycle: still the leader, the same key', async () => {
    const lost: string[] = [];
    const a = candidate('election/stalls', lost);
    const guard = await a.campaign();
    const observer = open();
    for (let i = 0; i < 8; i++) {
      // A random phase of the keepalive cycle (TTL/3), then a stall of 0.55 TTL: etcd renewed the
      // lease when it got the last keepalive, sent at most TTL/3 before the stall began.
      await sleep(Math.random() * ((TTL * 1000) / 3));
      stall(TTL * 550);
      await sleep(1000); // the step-down check and the keepalives catch up
      assert.deepEqual(lost, [], `stall ${i + 1}`);
      assert.equal(a.isLeader, true);
      const { kv } = await observer.get('election/stalls');
      assert.equal(kv?.createRevision, guard.createRevision, 'the key was never given up or expired');
    }
  });

  it('a stall past the TTL: steps down (etcd may have expired the lease)', async () => {
    const lost: string[] = [];
    const a = candidate('election/long-stall', lost);
    await a.campaign();
    stall(TTL * 1000 + 500);
    await waitFor('the step-down', () => lost.length > 0);
    assert.equal(a.isLeader, false);
  });
});
