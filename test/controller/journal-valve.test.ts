// The safety valve on journal batches, against a real etcd: a batch that would delete more than the
// configured share of the desired state (and more than the minimum count) is held — nothing written —
// until an operator confirms it; small deletions always go through.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { HeldSync } from '../../src/controller/valve.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { call, ready, startController } from './helpers.ts';
import { portRow, row, SG1, sgDict, sgRule, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

const PORTS = [0, 1, 2, 3, 4, 5].map((n) => uid(800 + n));
const journal = (rows: unknown[]) => call(ctl.url, 'POST', '/v1/journal', { rows });
const deletes = (ids: string[]) => ids.map((id) => row('port', 'delete', null, 3, id));
const bindings = async () => (await store.getPrefix(keys.nodes)).kvs.length;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  // A small minimum so a handful of ports shows both sides of it; the share is the default 50 %.
  ctl = await startController(etcd.endpoints, { id: 'jvalve', journalDeleteMinKeys: 4 });
  await ready(ctl);
  const r = await journal([
    row('security_group', 'create', sgDict(SG1, 1, [sgRule(1)])),
    ...PORTS.map((id) => portRow({ id, revision_number: 2 })),
  ]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await bindings(), 6, 'six bindings, six memberships and the group: 13 keys');
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

test('a batch deleting no more than the minimum count goes through', async () => {
  const r = await journal(deletes([PORTS[5]]));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await bindings(), 5);
});

test('a batch deleting more than the share is held: 409, nothing written, shown with its ports', async () => {
  const before = await store.revision();
  const rows = deletes(PORTS.slice(0, 4));
  const r = await journal(rows);
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.match(String(r.body.error), /journal batch held: it would delete 8 of the 11 desired-state keys/);
  const held = r.body.held as HeldSync;
  assert.equal(held.kind, 'journal');
  assert.deepEqual([...held.ports].sort(), PORTS.slice(0, 4));
  assert.equal(await store.revision(), before, 'not one etcd write');
  assert.equal(await bindings(), 5);
  const shown = await call(ctl.url, 'GET', '/v1/sync/held');
  assert.deepEqual(shown.body.journal, held);
  assert.equal(shown.body.held, null, 'no full sync is held');
  // The driver resending the batch is held again under the same id.
  assert.equal(((await journal(rows)).body.held as HeldSync).id, held.id);
});

test('netvpp sync shows the held batch (exit 3) and --confirm applies it; the resent batch is then done', async () => {
  const rows = deletes(PORTS.slice(0, 4));
  assert.equal((await journal(rows)).status, 409);
  const netvpp = (...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['bin/netvpp.mjs', 'sync', '--url', ctl.url, ...args], (e, stdout, stderr) =>
        resolve({ status: e ? Number(e.code) : 0, stdout, stderr }),
      ),
    );
  const show = await netvpp();
  assert.equal(show.status, 3, show.stderr);
  assert.match(show.stdout, /a journal batch is held \(id [0-9a-f]{16}, .*\): it would delete 8 of the 11/);
  assert.equal(await bindings(), 5, 'looking changes nothing');
  const confirm = await netvpp('--confirm');
  assert.equal(confirm.status, 0, confirm.stderr);
  assert.match(confirm.stdout, /confirmed: .*"done":\[/);
  assert.equal(await bindings(), 1);
  assert.equal((await call(ctl.url, 'GET', '/v1/sync/held')).body.journal, null);
  const again = await journal(rows);
  assert.equal(again.status, 200, 'already applied: the driver can drop the rows');
  assert.deepEqual(
    again.body.done,
    rows.map((r) => r.id),
  );
});

test('a small cloud can still delete its last port (within the minimum, whatever the share)', async () => {
  const r = await journal(deletes([PORTS[4]]));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await bindings(), 0);
});
