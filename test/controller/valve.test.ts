// The full sync's safety valve against a real etcd: a sync that would delete more than the
// configured share of the desired state is held — nothing written — until it is confirmed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import type { HeldSync } from '../../src/controller/valve.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { call, ready, startController } from './helpers.ts';
import { NET, networkDict, neutronPort, portRow, row, SG1, sgDict, sgRule, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

const PORTS = [uid(700), uid(701), uid(702), uid(703)];
const neutron = (ports: string[]) => ({
  networks: [networkDict(NET, 1, 1500)],
  ports: ports.map((id) => neutronPort({ id, revision_number: 2 })),
  security_groups: [sgDict(SG1, 1, [sgRule(1)])],
});
const sync = (body: unknown) => call(ctl.url, 'POST', '/v1/sync', body);
const bindings = async () => (await store.getPrefix(keys.nodes)).kvs.length;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  ctl = await startController(etcd.endpoints, { id: 'valve' }); // the default limit: 50 %
  await ready(ctl);
  const rows = [
    row('security_group', 'create', sgDict(SG1, 1, [sgRule(1)])),
    ...PORTS.map((id) => portRow({ id, revision_number: 2 })),
  ];
  assert.equal((await call(ctl.url, 'POST', '/v1/journal', { rows })).status, 200);
  assert.equal((await sync(neutron(PORTS))).status, 200, 'the populated state is in sync');
  assert.equal(await bindings(), 4);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

test('an empty sync against a populated state is held: 409, nothing written, the hold shown', async () => {
  const before = await store.revision();
  const r = await sync({ networks: [], ports: [], security_groups: [] });
  assert.equal(r.status, 409);
  assert.match(String(r.body.error), /full sync held: it would delete 9 of the 9 desired-state keys/);
  const held = r.body.held as HeldSync;
  assert.equal(held.deletes, 9);
  assert.deepEqual([...held.ports].sort(), PORTS);
  assert.deepEqual(held.security_groups, [SG1]);
  assert.equal(await store.revision(), before, 'not one etcd write');
  assert.equal(await bindings(), 4);
  const shown = await call(ctl.url, 'GET', '/v1/sync/held');
  assert.deepEqual(shown.body.held, held);
  // The driver retrying the same sync is held again, under the same id.
  assert.equal(
    ((await sync({ networks: [], ports: [], security_groups: [] })).body.held as HeldSync).id,
    held.id,
  );
});

test('a sync deleting no more than the limit goes through and ends the hold', async () => {
  const r = await sync(neutron(PORTS.slice(0, 3)));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.deleted, 2, 'one binding and its group membership');
  assert.equal(await bindings(), 3);
  assert.equal((await call(ctl.url, 'GET', '/v1/sync/held')).body.held, null);
});

test('a held sync is applied once confirmed by its id, and only by it', async () => {
  const r = await sync({ networks: [], ports: [], security_groups: [] });
  assert.equal(r.status, 409);
  const { id } = r.body.held as HeldSync;
  const wrong = await call(ctl.url, 'POST', '/v1/sync/confirm', { id: '0000000000000000' });
  assert.equal(wrong.status, 404);
  assert.equal(await bindings(), 3);
  const ok = await call(ctl.url, 'POST', '/v1/sync/confirm', { id });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.deleted, 7);
  assert.equal(await bindings(), 0);
  assert.equal((await call(ctl.url, 'GET', '/v1/sync/held')).body.held, null);
  assert.equal((await call(ctl.url, 'POST', '/v1/sync/confirm', { id })).status, 404, 'used up');
});

test('netvpp sync shows the held sync (exit 3) and --confirm applies it', async () => {
  assert.equal((await sync(neutron(PORTS))).status, 200, 'a sync listing them brings them back');
  assert.equal(await bindings(), 4);
  assert.equal((await sync({ networks: [], ports: [], security_groups: [] })).status, 409);
  // Asynchronously: the controller answering it runs in this process.
  const netvpp = (...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['bin/netvpp.mjs', 'sync', '--url', ctl.url, ...args], (e, stdout, stderr) =>
        resolve({ status: e ? Number(e.code) : 0, stdout, stderr }),
      ),
    );
  const show = await netvpp();
  assert.equal(show.status, 3, show.stderr);
  assert.match(show.stdout, /a full sync is held \(id [0-9a-f]{16}, .*\): it would delete 9 of the 9/);
  assert.match(show.stdout, new RegExp(`ports: .*${PORTS[0]}`));
  assert.equal(await bindings(), 4, 'looking changes nothing');
  const confirm = await netvpp('--confirm');
  assert.equal(confirm.status, 0, confirm.stderr);
  assert.match(confirm.stdout, /confirmed: .*"deleted":9/);
  assert.equal(await bindings(), 0);
  assert.equal((await netvpp()).status, 0);
});
