// The rules of the deletion gate on their own: which markers count, and when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncGate, type SyncGateState } from '../../src/agent/sync-gate.ts';

const marker = (at: string): string => JSON.stringify({ at, neutron_rows: 3, controller_id: 'c1' });

function gate(): { g: SyncGate; seen: SyncGateState[] } {
  const seen: SyncGateState[] = [];
  return { g: new SyncGate((s) => seen.push(s)), seen };
}

test('holds until etcd was read; then a marker allows deletions and its absence holds them', () => {
  const { g, seen } = gate();
  assert.equal(g.holding, true);
  assert.equal(g.state, 'loading');
  g.set(undefined, 'initial');
  assert.equal(g.state, 'absent');
  g.set(marker('2026-11-24T01:00:00Z'), 'put');
  assert.equal(g.holding, false);
  g.set(undefined, 'delete');
  assert.equal(g.holding, true);
  assert.deepEqual(seen, ['absent', 'synced', 'absent']);
});

test('after a reset only a marker newer than the last one seen counts', () => {
  const { g } = gate();
  g.set(marker('2026-11-24T01:00:00Z'), 'initial');
  g.reset('etcd lost data');
  assert.equal(g.state, 'reset');
  g.set(marker('2026-11-24T01:00:00Z'), 'restored from a backup');
  assert.equal(g.holding, true);
  assert.match(g.describe().error ?? '', /not newer/);
  g.set(undefined, 'deleted by the controller');
  assert.equal(g.state, 'reset');
  g.set(marker('2026-11-24T01:00:01Z'), 'a new full sync');
  assert.equal(g.state, 'synced');
  assert.deepEqual(g.describe(), { state: 'synced', at: '2026-11-24T01:00:01Z' });
});

test('a reset before any marker was seen is lifted by any marker', () => {
  const { g } = gate();
  g.set(undefined, 'initial');
  g.reset('etcd lost data');
  g.set(marker('2020-01-01T00:00:00Z'), 'put');
  assert.equal(g.state, 'synced');
});

test('an invalid marker holds deletions and says why', () => {
  const { g } = gate();
  g.set('{"at": 5}', 'put');
  assert.equal(g.holding, true);
  assert.match(g.describe().error ?? '', /meta\/synced is invalid/);
  g.set(marker('yesterday'), 'put');
  assert.equal(g.holding, true);
  assert.match(g.describe().error ?? '', /not an ISO 8601 time/);
  g.set('not json', 'put');
  assert.equal(g.holding, true);
});
