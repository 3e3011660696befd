// Progress figures as the CLI shows them: rate and ETA from a snapshot, the bar, netvpp status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStatus } from '../../src/cli/status.ts';
import { formatProgress, progressBar, progressFigures, ProgressTracker } from '../../src/util/progress.ts';

test('rate, ETA and bar from the tracker, on a clock the test moves', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const phases: string[] = [];
  const t = new ProgressTracker(
    (p) => phases.push(`${p.phase}:${p.total}`),
    () => now,
  );
  assert.equal(t.snapshot(), null);
  t.start('resync', 'reading VPP');
  now += 3000;
  const reading = t.snapshot();
  assert.ok(reading);
  assert.deepEqual(progressFigures(reading), { rate: null, etaSeconds: null, fraction: null });
  assert.equal(formatProgress(reading), 'resync reading VPP 0');

  t.phase('applying', 200);
  now += 4000;
  t.advance(50);
  const applying = t.snapshot();
  assert.ok(applying);
  // 50 in 4 s: 12.5/s, 150 left: 12 s.
  assert.deepEqual(progressFigures(applying), { rate: 12.5, etaSeconds: 12, fraction: 0.25 });
  assert.equal(formatProgress(applying), 'resync applying 50/200 (25%), 12.5/s, ETA 12 s');
  assert.equal(progressBar(applying, 8), '[##------] resync applying 50/200 (25%), 12.5/s, ETA 12 s');
  assert.deepEqual(phases, ['reading VPP:null', 'applying:200']);
  t.finish();
  assert.equal(t.snapshot(), null);
});

test('an empty plan is complete; a long one shows minutes', () => {
  const at = '2026-01-01T00:10:00.000Z';
  const base = { what: 'resync', phase: 'applying', started_at: '2026-01-01T00:00:00.000Z', at };
  assert.equal(progressFigures({ ...base, done: 0, total: 0 }).fraction, 1);
  // 600 in 600 s, 150 left.
  assert.match(formatProgress({ ...base, done: 600, total: 750 }), /ETA 2 min 30 s$/);
});

test('netvpp status names a host whose resync is running, with its figures', () => {
  const progress = {
    what: 'resync',
    phase: 'applying',
    done: 30,
    total: 120,
    started_at: '2026-01-01T00:00:00.000Z',
    at: '2026-01-01T00:00:10.000Z',
  };
  const host = (name: string, p: typeof progress | null) => ({
    host: name,
    alive: true,
    error: null,
    agentVersion: '0.1.0',
    startedAt: progress.started_at,
    vpp: { connected: true, version: '26.06' },
    bound: 120,
    reported: { ready: 30, errored: 0, pending: 90 },
    status: {
      ports: { total: 120, ready: 30, errored: 0, pending: 90 },
      failing: 0,
      held: 0,
      ready: false,
      last_resync: null,
      progress: p,
    },
  });
  const lines = renderStatus({
    etcd: '127.0.0.1:2379',
    etcdRevision: 7,
    leader: null,
    controller: null,
    sync: { marker: null, invalid: null },
    hosts: [host('compute1', progress), host('compute2', null)],
    portErrors: [],
  });
  const shown = lines.filter((l) => l.startsWith('in progress'));
  assert.deepEqual(shown, ['in progress on compute1: resync applying 30/120 (25%), 3.0/s, ETA 30 s']);
});
