// What an operator watches of the controller's long or queued work, against a real etcd: the
// driver's journal backlog (reported with each batch) in GET /v1/health and /metrics, and a full
// sync's progress while it writes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { Intake } from '../../src/controller/intake.ts';
import { PREFIX } from '../../src/model/keyspace.ts';
import { logger } from '../../src/util/log.ts';
import { call, ready, startController, waitFor } from './helpers.ts';
import { neutronPort, portRow, uid } from './fixtures.ts';
import { parseMetrics } from '../helpers/metrics.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  ctl = await startController(etcd.endpoints, { id: 'progress' });
  await ready(ctl);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

async function gauges(): Promise<Map<string, number>> {
  const text = await (await fetch(`${ctl.url}/metrics`)).text();
  return parseMetrics(text.replace(/,?controller="progress"/g, ''));
}

test("the driver's journal backlog: what is left after each batch, in /v1/health and /metrics", async () => {
  assert.equal((await call(ctl.url, 'GET', '/v1/health')).body.driver_journal, null, 'nothing reported yet');
  // Five rows wait, the oldest committed 12 s ago; this batch takes one of them.
  const first = await call(ctl.url, 'POST', '/v1/journal', {
    rows: [portRow({ id: uid(601), revision_number: 1 })],
    backlog: { rows: 5, oldest_age_seconds: 12 },
  });
  assert.equal(first.status, 200);
  const h = (await call(ctl.url, 'GET', '/v1/health')).body.driver_journal as {
    rows: number;
    oldest_age_seconds: number;
  };
  assert.equal(h.rows, 4);
  assert.ok(h.oldest_age_seconds >= 12, `oldest ${h.oldest_age_seconds} s keeps ageing`);
  let m = await gauges();
  assert.equal(m.get('netvpp_controller_driver_journal_backlog_rows'), 4);
  assert.ok((m.get('netvpp_controller_driver_journal_oldest_row_age_seconds') ?? 0) >= 12);

  // The last batch: nothing is left, and nothing is old.
  await call(ctl.url, 'POST', '/v1/journal', {
    rows: [portRow({ id: uid(602), revision_number: 1 })],
    backlog: { rows: 1, oldest_age_seconds: 3 },
  });
  m = await gauges();
  assert.equal(m.get('netvpp_controller_driver_journal_backlog_rows'), 0);
  assert.equal(m.get('netvpp_controller_driver_journal_oldest_row_age_seconds'), 0);

  // A malformed backlog is ignored; the rows still go through.
  const bad = await call(ctl.url, 'POST', '/v1/journal', {
    rows: [portRow({ id: uid(603), revision_number: 1 })],
    backlog: { rows: -1, oldest_age_seconds: 'old' },
  });
  assert.equal(bad.status, 200);
  assert.equal((bad.body.done as unknown[]).length, 1);
  assert.equal((await gauges()).get('netvpp_controller_driver_journal_backlog_rows'), 0);
});

test('store.txnBatch reports its progress after every transaction', async () => {
  const ops = Array.from({ length: 300 }, (_, i) => ({
    op: 'put' as const,
    key: `test/progress/${i}`,
    value: '{}',
  }));
  const seen: number[] = [];
  const r = await store.txnBatch(ops, { onProgress: (n) => seen.push(n) });
  assert.equal(r.txns, 3);
  assert.deepEqual(seen, [128, 256, 300]);
});

test("a full sync's progress: phase and keys to write while it writes, gone when done", async () => {
  // An intake of its own, leading by a key of the test's, whose writes wait for the test to let
  // them go: the progress is then looked at mid-sync.
  await store.put('test/guard', 'x');
  const guardKv = (await store.get('test/guard')).kv;
  assert.ok(guardKv);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const gated = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'txnBatch')
        return async (...args: Parameters<Store['txnBatch']>) => {
          await gate;
          return target.txnBatch(...args);
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const intake = new Intake({
    store: gated,
    guard: () => ({ key: 'test/guard', createRevision: guardKv.createRevision }),
    log: logger('sync-progress'),
    controllerId: 'progress-test',
    // the earlier test's ports are not in this sync: their deletion is not the point here
    syncDeleteLimit: 1,
  });
  const ports = Array.from({ length: 200 }, (_, i) => neutronPort({ id: uid(700 + i), revision_number: 1 }));
  const sync = intake.sync({ networks: [], ports, security_groups: [] });
  await waitFor('the sync to reach its writes', () => intake.progress.snapshot()?.phase === 'writing');
  const p = intake.progress.snapshot();
  assert.equal(p?.what, 'full sync');
  assert.equal(p?.done, 0);
  assert.ok((p?.total ?? 0) >= 200, `a key per port at least, got ${p?.total}`);
  release();
  const reply = await sync;
  assert.equal(reply.rejected.length, 0);
  assert.equal(intake.progress.snapshot(), null, 'nothing in progress once done');
});
