// The controller's /metrics and /health/{live,ready} against a real etcd: journal rows applied and
// rejected, batch and sync durations, leadership and live hosts, as Prometheus scrapes them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { call, ready, startController, waitFor } from './helpers.ts';
import { portRow, row, uid } from './fixtures.ts';
import { parseMetrics } from '../helpers/metrics.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  ctl = await startController(etcd.endpoints, { id: 'metrics', syncDeleteLimit: 1 });
  await ready(ctl);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

async function metrics(): Promise<Map<string, number>> {
  const r = await fetch(`${ctl.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await r.text();
  assert.match(text, /controller="metrics"/);
  return parseMetrics(text.replace(/,?controller="metrics"/g, ''));
}

test('liveness and readiness of a connected controller', async () => {
  assert.deepEqual(await call(ctl.url, 'GET', '/health/live'), { status: 200, body: { status: 'alive' } });
  assert.deepEqual(await call(ctl.url, 'GET', '/health/ready'), {
    status: 200,
    body: { ready: true, etcd: 'connected', leader: true },
  });
  // The driver's health is unchanged.
  assert.equal((await call(ctl.url, 'GET', '/v1/health')).status, 200);
});

test('journal rows applied and rejected, a full sync, leadership and live hosts', async () => {
  const before = await metrics();
  assert.equal(before.get('netvpp_controller_leader'), 1);
  assert.equal(before.get('netvpp_controller_etcd_connected'), 1);
  assert.equal(before.get('netvpp_controller_sync_needed'), 1);
  assert.equal(before.get('netvpp_controller_hosts_alive'), 0);
  assert.ok(before.has('nodejs_eventloop_lag_seconds'));

  const good = portRow({ id: uid(501), revision_number: 1 });
  const bad = row('port', 'update', { id: uid(502), revision_number: 1, fixed_ips: 'nonsense' });
  const r = await call(ctl.url, 'POST', '/v1/journal', { rows: [good, bad] });
  assert.equal(r.status, 200);
  assert.equal((r.body.rejected as unknown[]).length, 1);
  // The same row again is stale.
  await call(ctl.url, 'POST', '/v1/journal', { rows: [good] });
  const s = await call(ctl.url, 'POST', '/v1/sync', { networks: [], ports: [], security_groups: [] });
  assert.equal(s.status, 200);
  await store.put(
    keys.hostAlive('hv1'),
    JSON.stringify({
      host: 'hv1',
      physnets: ['physnet1'],
      network_types: ['flat'],
      vif_types: ['tap'],
      agent_version: '0.1.0',
      vpp: { connected: true, version: '26.06' },
      started_at: new Date().toISOString(),
    }),
  );
  await waitFor('the host counted', async () => (await metrics()).get('netvpp_controller_hosts_alive') === 1);

  const m = await metrics();
  assert.equal(m.get('netvpp_controller_journal_rows_total{kind="journal",result="rejected"}'), 1);
  assert.equal(m.get('netvpp_controller_journal_rows_total{kind="journal",result="applied"}'), 1);
  // The row sent again was applied before: nothing to write.
  assert.equal(m.get('netvpp_controller_journal_rows_total{kind="journal",result="unchanged"}'), 1);
  assert.equal(m.get('netvpp_controller_journal_rows_total{kind="journal",result="stale"}'), 0);
  assert.equal(m.get('netvpp_controller_batch_duration_seconds_count{kind="journal"}'), 2);
  assert.equal(m.get('netvpp_controller_batch_duration_seconds_count{kind="sync"}'), 1);
  assert.equal(m.get('netvpp_controller_sync_needed'), 0);
  await store.delete(keys.hostAlive('hv1'));
});

test("journal batches counted by what woke the driver's forwarder", async () => {
  const before = await metrics();
  const batch = (trigger: unknown, n: number) =>
    call(ctl.url, 'POST', '/v1/journal', {
      rows: [portRow({ id: uid(600 + n), revision_number: 1 })],
      ...(trigger === undefined ? {} : { trigger }),
    });
  for (const [trigger, i] of [
    ['wakeup', 1],
    ['wakeup', 2],
    ['poll', 3],
    [undefined, 4],
    ['made-up', 5],
  ] as const)
    assert.equal((await batch(trigger, i)).status, 200);
  const m = await metrics();
  const d = (t: string) =>
    (m.get(`netvpp_controller_journal_batches_total{trigger="${t}"}`) ?? 0) -
    (before.get(`netvpp_controller_journal_batches_total{trigger="${t}"}`) ?? 0);
  assert.deepEqual(
    { wakeup: d('wakeup'), poll: d('poll'), other: d('other') },
    { wakeup: 2, poll: 1, other: 2 },
  );
});
