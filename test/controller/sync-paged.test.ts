// A full sync in pages applied page by page (sync-paged.ts): each page's creates and updates are in
// etcd when its reply comes, every deletion waits for the commit and its safety valve, the token
// keeps rows journaled after it to the journal, the commit repairs what was changed behind the
// controller's back, and a session lost with its leader leaves the applied pages, which a new
// session applies again without writing anything. Real etcd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { call, ready, startController, type Reply } from './helpers.ts';
import { neutronPort, NET, row, SG1, sgDict, sgRule, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

const start = () =>
  startController(etcd.endpoints, {
    id: 'paged',
    syncDeleteLimit: 0.5,
    // No floor: these few-port syncs must meet the valve as a big one would.
    syncDeleteMinKeys: 0,
    // Generous: a loaded machine must not depose the only controller mid-test.
    electionTtlSec: 10,
    etcd: { endpoints: etcd.endpoints, requestTimeoutMs: 10_000 },
  });

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  ctl = await start();
  await ready(ctl);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

const networks = [{ id: NET, mtu: 1500, revision_number: 1 }];
const groups = [sgDict(SG1, 1, [sgRule(1)])];
const port = (n: number, host = 'compute1', revision = 1) =>
  neutronPort({ id: uid(n), 'binding:host_id': host, revision_number: revision });

/** A request, sent again while the controller can't serve it now (503 under load: it waits to lead). */
async function retried(method: string, path: string, body?: unknown): Promise<Reply> {
  for (let i = 0; ; i++) {
    await ready(ctl);
    const r = await call(ctl.url, method, path, body);
    if (r.status !== 503 || i >= 5) return r;
  }
}

/** One-body full sync to `ports` (deletions confirmed if held): the state a test starts from. */
async function reset(ports: Record<string, unknown>[]): Promise<void> {
  let r = await retried('POST', '/v1/sync', { networks, security_groups: groups, ports });
  if (r.status === 409) {
    const id = (r.body.held as { id: string }).id;
    r = await retried('POST', '/v1/sync/confirm', { id });
  }
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

async function begin(token?: string): Promise<string> {
  const t = token ?? (await retried('GET', '/v1/sync')).body.token;
  const r = await retried('POST', '/v1/sync/session', {
    token: t,
    lists: ['networks', 'security_groups', 'ports'],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.session as string;
}

async function page(s: string, seq: number, body: Record<string, unknown>): Promise<void> {
  const r = await call(ctl.url, 'POST', `/v1/sync/session/${s}/page`, { seq, ...body });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

const commit = (s: string, pages: number) => call(ctl.url, 'POST', `/v1/sync/session/${s}/commit`, { pages });

/**
 * The sync in `pages`, `between` run after they are applied and before the commit; the commit's
 * reply. Begun again when the controller lost its term on the way (404/503 on a loaded machine).
 */
async function paged(
  pages: Record<string, unknown>[],
  o: { token?: () => Promise<string>; between?: () => Promise<void> } = {},
): Promise<Reply> {
  for (let attempt = 0; ; attempt++) {
    await ready(ctl);
    const s = await begin(await o.token?.());
    let lost = false;
    for (const [seq, p] of pages.entries()) {
      const r = await call(ctl.url, 'POST', `/v1/sync/session/${s}/page`, { seq, ...p });
      if (r.status === 404 || r.status === 503) lost = true;
      else assert.equal(r.status, 200, JSON.stringify(r.body));
      if (lost) break;
    }
    if (!lost) {
      await o.between?.();
      const r = await commit(s, pages.length);
      if ((r.status !== 404 && r.status !== 503) || attempt >= 4) return r;
    }
    assert.ok(attempt < 4, 'the paged sync kept losing its session');
  }
}

const value = async (key: string) => (await store.get(key)).kv;

test('each page is in etcd once answered; what Neutron dropped, and a moved port’s old key, wait for the commit', async () => {
  await reset([port(1), port(2), port(3), port(4)]);
  const s = await begin();
  await page(s, 0, { networks, security_groups: groups });
  // Port 3 moved to compute2, port 4 is gone, port 5 is new.
  await page(s, 1, { ports: [port(1), port(2), port(3, 'compute2', 2), port(5)] });
  assert.ok(await value(keys.portBinding('compute1', uid(5))), 'the new port is bound before the commit');
  assert.ok(await value(keys.portBinding('compute2', uid(3))), 'the moved port is on its new host');
  assert.ok(await value(keys.portBinding('compute1', uid(3))), 'its old binding waits for the commit');
  assert.ok(await value(keys.portBinding('compute1', uid(4))), 'the dropped port waits for the commit');
  let r = await commit(s, 2);
  for (let i = 0; i < 5 && r.status === 503; i++) r = await commit(s, 2);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await value(keys.portBinding('compute1', uid(3))), undefined);
  assert.equal(await value(keys.portBinding('compute1', uid(4))), undefined);
  assert.equal(await value(keys.remoteGroupMember(SG1, uid(4))), undefined, 'its group membership too');
  assert.ok(await value(keys.portBinding('compute2', uid(3))));
  assert.ok(await value(keys.remoteGroupMember(SG1, uid(5))));
  assert.equal(r.body.deleted, 3, 'port 3’s old binding, port 4’s binding and membership');
  assert.deepEqual(r.body.rejected, []);
  assert.equal((await retried('GET', '/v1/sync')).body.sync_needed, false);
});

test('a commit that would delete most of the desired state is held: nothing deleted until confirmed', async () => {
  await reset([port(11), port(12), port(13), port(14)]);
  const r = await paged([{ networks, security_groups: groups, ports: [port(11)] }]);
  assert.equal(r.status, 409, JSON.stringify(r.body));
  const held = r.body.held as { id: string; deletes: number; ports: string[] };
  assert.equal(held.deletes, 6, '3 bindings and 3 memberships');
  assert.deepEqual([...held.ports].sort(), [uid(12), uid(13), uid(14)]);
  for (const n of [12, 13, 14])
    assert.ok(await value(keys.portBinding('compute1', uid(n))), `port ${n} kept`);
  assert.equal(((await retried('GET', '/v1/sync/held')).body.held as { id: string }).id, held.id);
  const ok = await retried('POST', '/v1/sync/confirm', { id: held.id });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.deleted, 6);
  for (const n of [12, 13, 14]) assert.equal(await value(keys.portBinding('compute1', uid(n))), undefined);
  assert.ok(await value(keys.portBinding('compute1', uid(11))));
});

test('rows journaled after the token are the journal’s: not revived, not deleted by the paged sync', async () => {
  await reset([port(21), port(22), port(23)]);
  let token = '';
  const r = await paged(
    // The snapshot was read before the rows: it still has port 1 and lacks port 7.
    [{ networks, security_groups: groups }, { ports: [port(21), port(22), port(23)] }],
    {
      token: async () => {
        token = (await retried('GET', '/v1/sync')).body.token as string;
        const j = await retried('POST', '/v1/journal', {
          rows: [row('port', 'delete', null, null, uid(21)), row('port', 'create', port(27))],
        });
        assert.equal(j.status, 200, JSON.stringify(j.body));
        return token;
      },
    },
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(
    await value(keys.portBinding('compute1', uid(21))),
    undefined,
    'the deleted port stays deleted',
  );
  assert.ok(await value(keys.portBinding('compute1', uid(27))), 'the port created after the token stays');
  assert.equal(r.body.kept, 2);
});

test('the commit rewrites keys changed behind the controller’s back and removes keys nobody owns', async () => {
  await reset([port(31), port(32)]);
  const good = (await value(keys.portBinding('compute1', uid(32))))?.value;
  const pages = [{ networks, security_groups: groups, ports: [port(31), port(32)] }];
  const r = await paged(pages, {
    between: async () => {
      await store.put(keys.portBinding('compute1', uid(32)), '{"not": "a binding"}');
      await store.delete(keys.remoteGroupMember(SG1, uid(31)));
      await store.put(keys.portBinding('compute9', uid(39)), good ?? '{}');
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await value(keys.portBinding('compute1', uid(32))))?.value, good);
  assert.ok(await value(keys.remoteGroupMember(SG1, uid(31))), 'the membership removed is back');
  assert.equal(await value(keys.portBinding('compute9', uid(39))), undefined, 'the key nobody owns is gone');
  assert.equal(r.body.written, 2);
  assert.equal(r.body.deleted, 1);
});

test('a leader change between pages: the session is gone, its pages stay, and applied again they write nothing', async () => {
  await reset([port(41)]);
  const s = await begin();
  await page(s, 0, { networks, security_groups: groups, ports: [port(41), port(48)] });
  const before = await value(keys.portBinding('compute1', uid(48)));
  assert.ok(before, 'the page is applied');
  // The controller restarts: a new term, which knows no session.
  await ctl.stop();
  ctl = await start();
  await ready(ctl);
  const gone = await call(ctl.url, 'POST', `/v1/sync/session/${s}/page`, { seq: 1, ports: [] });
  assert.equal(gone.status, 404);
  assert.match(gone.body.error ?? '', /begin again/);
  const r = await paged([{ networks, security_groups: groups, ports: [port(41), port(48)] }]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.written, 0);
  assert.equal((await value(keys.portBinding('compute1', uid(48))))?.modRevision, before.modRevision);
});
