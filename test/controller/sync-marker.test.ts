// The sync marker (meta/synced) and "sync needed": a controller on an etcd without the marker (new,
// wiped, or restored from an older backup) asks the driver for a full sync through health, GET
// /v1/sync and journal replies; a full sync writes the marker and clears the request. Also the sync
// token, which keeps a snapshot older than some journal rows from undoing them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { keys, PREFIX, type PortBinding, type SyncMarker } from '../../src/model/keyspace.ts';
import { call, ready, startController, waitFor, type Reply } from './helpers.ts';
import { NET, networkDict, neutronPort, portRow, row, SG1, sgDict, sgRule, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;
let follower: Controller | undefined;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  // Syncs here delete freely: the safety valve has its own tests (valve.test.ts).
  ctl = await startController(etcd.endpoints, { id: 'marker-leader', syncDeleteLimit: 1 });
  await ready(ctl);
});

after(async () => {
  await follower?.stop();
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

async function marker(): Promise<SyncMarker | undefined> {
  const { kv } = await store.get(keys.syncMarker);
  return kv ? (JSON.parse(kv.value) as SyncMarker) : undefined;
}

const health = async (c: Controller = ctl): Promise<Reply['body']> =>
  (await call(c.url, 'GET', '/v1/health')).body;
const journal = (rows: unknown[]) => call(ctl.url, 'POST', '/v1/journal', { rows });
const sync = (body: Record<string, unknown>) => call(ctl.url, 'POST', '/v1/sync', body);

/** What Neutron holds in these tests: one network, one group, one bound port. */
const PORT_A = uid(501);
const neutronState = () => ({
  networks: [networkDict(NET, 1, 1500)],
  ports: [neutronPort({ id: PORT_A, revision_number: 2 })],
  security_groups: [sgDict(SG1, 1, [sgRule(1)])],
});

test('on a fresh etcd the controller asks for a full sync: health, GET /v1/sync and journal replies', async () => {
  assert.equal(await marker(), undefined);
  assert.equal((await health()).sync_needed, true);
  const status = await call(ctl.url, 'GET', '/v1/sync');
  assert.equal(status.status, 200);
  assert.equal(status.body.sync_needed, true);
  assert.match(String(status.body.token), /^\d+$/);
  const r = await journal([portRow({ id: uid(500), revision_number: 1 })]);
  assert.equal(r.status, 200);
  assert.equal(r.body.sync_needed, true, 'journal replies carry the request too');
});

test('a full sync writes the marker and clears the request; an identical sync writes nothing', async () => {
  follower = await startController(etcd.endpoints, { id: 'marker-follower', syncDeleteLimit: 1 });
  await waitFor('the follower to see no marker', async () => (await health(follower)).sync_needed === true);

  const r = await sync(neutronState());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const m = await marker();
  assert.ok(m, 'the marker is in etcd');
  assert.equal(m.neutron_rows, 3);
  assert.equal(m.controller_id, 'marker-leader');
  assert.ok(!Number.isNaN(Date.parse(m.at)));
  // Its own, later revision: a watcher applies every key of the sync before it sees the marker.
  const markerRev = (await store.get(keys.syncMarker)).kv?.modRevision ?? 0;
  const written = await store.getPrefixes(['nodes/', 'global/']);
  assert.ok(written.kvs.length > 0);
  for (const kv of written.kvs) assert.ok(kv.modRevision < markerRev, `${kv.key} written before the marker`);
  assert.equal((await health()).sync_needed, false);
  assert.equal((await call(ctl.url, 'GET', '/v1/sync')).body.sync_needed, false);
  const j = await journal([portRow({ id: PORT_A, revision_number: 3 })]);
  assert.equal(j.body.sync_needed, false);
  await waitFor('the follower to see the marker', async () => (await health(follower)).sync_needed === false);

  // The port moved on to revision 3 meanwhile; an identical sync from the same snapshot changes nothing.
  const before = await store.revision();
  const again = await sync({ ...neutronState(), ports: [neutronPort({ id: PORT_A, revision_number: 3 })] });
  assert.deepEqual(again.body, { rejected: [], written: 0, deleted: 0, kept: 0 });
  assert.equal(await store.revision(), before, 'not even the marker is rewritten');
  await follower.stop();
  follower = undefined;
});

test('the marker deleted behind its back makes the leader ask again', async () => {
  await store.delete(keys.syncMarker);
  await waitFor('health to ask for a sync', async () => (await health()).sync_needed === true);
  const j = await journal([portRow({ id: PORT_A, revision_number: 3 })]);
  assert.equal(j.body.sync_needed, true);
  assert.equal(
    (await sync({ ...neutronState(), ports: [neutronPort({ id: PORT_A, revision_number: 3 })] })).status,
    200,
  );
  assert.ok(await marker());
  assert.equal((await health()).sync_needed, false);
});

test('sync token: rows applied after it are neither deleted nor revived by the older snapshot', async () => {
  const created = uid(510); // created in Neutron after the snapshot was read
  const deleted = uid(511); // deleted in Neutron after the snapshot was read
  const gone = uid(512); // deleted before the snapshot: the sync removes it
  await journal([portRow({ id: deleted, revision_number: 1 }), portRow({ id: gone, revision_number: 1 })]);
  const token = String((await call(ctl.url, 'GET', '/v1/sync')).body.token);
  // The driver reads its snapshot now (`deleted` still exists, `created` not yet, `gone` is gone) …
  const snapshot = {
    ...neutronState(),
    ports: [
      neutronPort({ id: PORT_A, revision_number: 3 }),
      neutronPort({ id: deleted, revision_number: 1 }),
    ],
  };
  // … while rows written after it reach the controller first (another forwarder, a hand-over).
  await journal([portRow({ id: created, revision_number: 1 }), row('port', 'delete', null, 2, deleted)]);

  const r = await sync({ ...snapshot, token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.kept, 2);
  assert.ok(await store.get(keys.portBinding('compute1', created)).then((x) => x.kv), 'newer create kept');
  assert.equal((await store.get(keys.portBinding('compute1', deleted))).kv, undefined, 'newer delete kept');
  assert.equal((await store.get(keys.portBinding('compute1', gone))).kv, undefined, 'older port removed');

  // Without the token the same snapshot is taken at its word: that is what the token is for.
  const plain = await sync(snapshot);
  assert.equal(plain.body.kept, 0);
  assert.equal((await store.get(keys.portBinding('compute1', created))).kv, undefined);
  assert.ok((await store.get(keys.portBinding('compute1', deleted))).kv);

  assert.equal((await sync({ ...snapshot, token: 'yesterday' })).status, 400);
  // A token from a longer history than etcd now has (it went back in time since): take a new one.
  const future = await sync({ ...snapshot, token: String((await store.revision()) + 1000) });
  assert.equal(future.status, 503);
  assert.match(future.body.error ?? '', /token/);
});

test('etcd wiped: the re-elected leader asks for a sync, and the sync puts the desired state back', async () => {
  await sync(neutronState());
  assert.ok(await marker());
  await etcd.restart({ wipeData: true });
  await waitFor('the leader to ask for a sync on the empty etcd', async () => {
    const h = await call(ctl.url, 'GET', '/v1/health').catch(() => undefined);
    return h?.status === 200 && h.body.leader === true && h.body.sync_needed === true;
  });
  assert.equal(await marker(), undefined);
  const j = await journal([portRow({ id: uid(520), revision_number: 1 })]);
  assert.equal(j.status, 200);
  assert.equal(j.body.sync_needed, true);

  assert.equal((await sync(neutronState())).status, 200);
  const b = await store.get(keys.portBinding('compute1', PORT_A));
  assert.equal((JSON.parse(b.kv?.value ?? '{}') as PortBinding).port_id, PORT_A);
  assert.equal((await store.get(keys.portBinding('compute1', uid(520)))).kv, undefined, 'not in Neutron');
  assert.ok(await marker());
  assert.equal((await health()).sync_needed, false);
});

test('etcd restored from an older backup: its marker is dropped and a sync is asked for', async () => {
  await ready(ctl);
  assert.ok(await marker());
  const backup = mkdtempSync(join(tmpdir(), 'netvpp-backup-'));
  const data = join(etcd.dataDir, 'etcd');
  try {
    // A disk-level backup (a copy of the stopped member's data directory) …
    await etcd.stop();
    cpSync(data, backup, { recursive: true });
    await etcd.restart();
    await ready(ctl);
    // … life goes on after it …
    for (let i = 0; i < 5; i++) await journal([portRow({ id: uid(530 + i), revision_number: 1 })]);
    // … then the member is restored from it: data (marker included) and revision go back in time.
    await etcd.stop();
    rmSync(data, { recursive: true, force: true });
    cpSync(backup, data, { recursive: true });
    await etcd.restart();
  } finally {
    rmSync(backup, { recursive: true, force: true });
  }
  await waitFor('the leader to ask for a sync after the restore', async () => {
    const h = await call(ctl.url, 'GET', '/v1/health').catch(() => undefined);
    return h?.status === 200 && h.body.leader === true && h.body.sync_needed === true;
  });
  await waitFor('the restored (stale) marker to be removed', async () => (await marker()) === undefined);
  assert.equal((await sync(neutronState())).status, 200);
  assert.ok(await marker());
  assert.equal((await health()).sync_needed, false);
});
