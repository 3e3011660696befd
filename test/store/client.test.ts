import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdProcess } from '../../src/store/etcd-process.ts';
import { GuardFailedError, openStore, splitOps, type Store, type WriteOp } from '../../src/store/client.ts';
import { watchPrefixes } from '../../src/store/watch.ts';
import { waitFor } from './helpers/wait.ts';

/** A Neutron-style value: JSON with a `revision` field. */
const doc = (revision: number, writer = 'w') => JSON.stringify({ revision, writer });
const revisionOf = (v: string): number | undefined => {
  const r = (JSON.parse(v) as { revision?: unknown }).revision;
  return typeof r === 'number' ? r : undefined;
};

describe('Store', () => {
  let etcd: EtcdProcess;
  const stores: Store[] = [];
  const open = (namespace: string) => {
    const s = openStore({ endpoints: etcd.endpoints, namespace });
    stores.push(s);
    return s;
  };

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    for (const s of stores) s.close();
    await etcd.destroy();
  });

  it('reads report mod revisions and the store revision; namespaces are isolated', async () => {
    const a = open('/ns-a/');
    const b = open('/ns-b/');
    const r1 = await a.put('k/1', 'one');
    const r2 = await a.put('k/2', 'two');
    await b.put('k/1', 'other namespace');
    const one = await a.get('k/1');
    assert.equal(one.kv?.value, 'one');
    assert.equal(one.kv?.modRevision, r1);
    assert.ok(one.revision > r2, 'read revision is the store revision, after all three writes');
    const all = await a.getPrefix('k/');
    assert.deepEqual(
      all.kvs.map((kv) => [kv.key, kv.value, kv.modRevision]),
      [
        ['k/1', 'one', r1],
        ['k/2', 'two', r2],
      ],
    );
    assert.equal((await a.get('missing')).kv, undefined);
    assert.equal((await a.delete('k/1')).deleted, 1);
    assert.equal((await a.deletePrefix('k/')).deleted, 1);
    assert.equal((await b.get('k/1')).kv?.value, 'other namespace');
  });

  it('reads a large prefix in pages as one snapshot, and the past at a given revision', async () => {
    const s = open('/pages/');
    await s.txnBatch(
      Array.from({ length: 2500 }, (_, i) => ({
        op: 'put',
        key: `p/${String(i).padStart(5, '0')}`,
        value: 'v1',
      })),
    );
    const before = await s.getPrefix('p/');
    assert.equal(before.kvs.length, 2500);
    assert.equal(new Set(before.kvs.map((kv) => kv.key)).size, 2500);
    await s.put('p/00000', 'v2');
    await s.delete('p/02499');
    const past = await s.getPrefix('p/', { revision: before.revision });
    assert.equal(past.kvs.length, 2500);
    assert.equal(past.kvs[0].value, 'v1');
  });

  it('txnBatch splits more than 128 ops into txns etcd accepts', async () => {
    const s = open('/batch/');
    const ops: WriteOp[] = Array.from({ length: 300 }, (_, i) => ({
      op: 'put',
      key: `b/${i}`,
      value: String(i),
    }));
    // etcd itself refuses one txn this large:
    await assert.rejects(s.txnBatch(ops, { maxOpsPerTxn: 300 }), /too many operations/);
    const res = await s.txnBatch(ops);
    assert.equal(res.txns, 3);
    const { kvs } = await s.getPrefix('b/');
    assert.equal(kvs.length, 300);
    assert.equal(kvs.find((kv) => kv.key === 'b/299')?.value, '299');
  });

  it('txnBatch applies repeated keys in order (etcd rejects a key twice in one txn)', async () => {
    const s = open('/dups/');
    await s.txnBatch([
      { op: 'put', key: 'a', value: '1' },
      { op: 'put', key: 'x/1', value: 'gone soon' },
      { op: 'put', key: 'a', value: '2' },
      { op: 'deletePrefix', prefix: 'x/' },
      { op: 'put', key: 'x/2', value: 'stays' },
    ]);
    assert.equal((await s.get('a')).kv?.value, '2');
    assert.deepEqual(
      (await s.getPrefix('x/')).kvs.map((kv) => kv.key),
      ['x/2'],
    );
    assert.deepEqual(
      splitOps(
        [
          { op: 'put', key: 'a', value: '1' },
          { op: 'put', key: 'b', value: '1' },
          { op: 'put', key: 'a', value: '2' },
        ],
        128,
        1 << 20,
      ).map((c) => c.length),
      [2, 1],
    );
  });

  it('txnBatch and update refuse to write when the guard no longer holds', async () => {
    const s = open('/guard/');
    await s.put('leader', 'me');
    const { kv } = await s.get('leader');
    const guard = { key: 'leader', createRevision: kv?.createRevision ?? 0 };
    await s.txnBatch([{ op: 'put', key: 'data', value: 'ok' }], { guard });
    await s.delete('leader');
    await s.put('leader', 'someone else');
    await assert.rejects(
      s.txnBatch([{ op: 'put', key: 'data', value: 'stale' }], { guard }),
      GuardFailedError,
    );
    await assert.rejects(
      s.update('data', () => 'stale', { guard }),
      GuardFailedError,
    );
    assert.equal((await s.get('data')).kv?.value, 'ok');
  });

  it('update is a compare-and-swap that can create, change and delete', async () => {
    const s = open('/cas/');
    const created = await s.update('k', (cur) => (cur ? undefined : 'first'));
    assert.equal(created.written, true);
    assert.equal(created.kv?.value, 'first');
    const unchanged = await s.update('k', () => undefined);
    assert.equal(unchanged.written, false);
    assert.equal(unchanged.kv?.value, 'first');
    // Concurrent increments through separate clients: none is lost.
    const clients = [open('/cas/'), open('/cas/'), open('/cas/')];
    await s.put('n', '0');
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: 10 }, () => c.update('n', (cur) => String(Number(cur?.value) + 1))),
      ),
    );
    assert.equal((await s.get('n')).kv?.value, '30');
    const removed = await s.update('k', () => null);
    assert.equal(removed.written, true);
    assert.equal((await s.get('k')).kv, undefined);
  });

  it('putIfNewer never lets an older revision overwrite a newer one, under concurrent writers', async () => {
    const writers = Array.from({ length: 5 }, () => open('/newer/'));
    const s = writers[0];
    const stored: number[] = [];
    const w = watchPrefixes(s, {
      prefixes: ['port'],
      onEvent: (ev) => {
        if (ev.type === 'put') stored.push(revisionOf(ev.value) ?? -1);
      },
    });
    await w.ready;
    // Each writer replays a shuffled slice of revisions 1..100, like journal rows sent out of order.
    const revisions = Array.from({ length: 100 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    await Promise.all(
      writers.map(async (c, wi) => {
        for (const rev of revisions.filter((_, i) => i % writers.length === wi)) {
          await c.putIfNewer('port', doc(rev, `w${wi}`), revisionOf);
        }
      }),
    );
    assert.equal(revisionOf((await s.get('port')).kv?.value ?? '{}'), 100);
    await waitFor('the write of revision 100', () => stored.includes(100));
    await w.close();
    for (let i = 1; i < stored.length; i++)
      assert.ok(stored[i] > stored[i - 1], `stored ${stored.join(',')}`);
    // Equal revision: a replay is not written again.
    const replay = await s.putIfNewer('port', doc(100, 'replay'), revisionOf);
    assert.equal(replay.written, false);
    // A malformed stored value counts as older.
    await s.put('bad', 'not json{');
    const fixed = await s.putIfNewer('bad', doc(1), (v) => revisionOf(v));
    assert.equal(fixed.written, true);
  });
});
