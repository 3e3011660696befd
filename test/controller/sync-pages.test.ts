// A full sync in pages (POST /v1/sync/session …): a Neutron state larger than the controller's body
// cap, refused as one body, arrives page by page and ends exactly as one POST /v1/sync would; retried,
// out-of-order and replaced sessions are answered so the driver knows to begin again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, startEtcd, type EtcdProcess, type Guard, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { SyncPages } from '../../src/controller/sync-pages.ts';
import { NotFoundError, TooLargeError } from '../../src/controller/errors.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { call, ready, startController } from './helpers.ts';
import { neutronPort, NET, SG1, sgDict, sgRule, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;
/** The body cap of this controller: a few dozen ports per body. */
const CAP = 32 * 1024;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  // Generous etcd timeouts: a loaded machine must not depose the only controller mid-test.
  ctl = await startController(etcd.endpoints, {
    id: 'pages',
    syncDeleteLimit: 1,
    maxBodyBytes: CAP,
    electionTtlSec: 10,
    etcd: { endpoints: etcd.endpoints, requestTimeoutMs: 10_000 },
  });
  await ready(ctl);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

const ports = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => neutronPort({ id: uid(from + i), revision_number: 1 }));
const networks = [{ id: NET, mtu: 1500, revision_number: 1 }];
const groups = [sgDict(SG1, 1, [sgRule(1)])];

async function bindings(): Promise<string[]> {
  const { kvs } = await store.getPrefixes([keys.hostNodes('compute1')]);
  return kvs.map((kv) => kv.key).filter((k) => k.includes('/ports/'));
}

async function begin(lists = ['networks', 'security_groups', 'ports']): Promise<string> {
  const token = (await call(ctl.url, 'GET', '/v1/sync')).body.token;
  const r = await call(ctl.url, 'POST', '/v1/sync/session', { token, lists });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.session as string;
}

const page = (s: string, body: Record<string, unknown>) =>
  call(ctl.url, 'POST', `/v1/sync/session/${s}/page`, body);
const commit = (s: string, pages: number) => call(ctl.url, 'POST', `/v1/sync/session/${s}/commit`, { pages });

test('a sync too large for one body is applied page by page, as one body would be', async () => {
  // A port Neutron no longer has, from an earlier sync: the paged sync must delete it.
  let first = { status: 503 };
  for (let i = 0; i < 5 && first.status === 503; i++) {
    await ready(ctl);
    first = await call(ctl.url, 'POST', '/v1/sync', {
      networks,
      security_groups: groups,
      ports: ports(900, 1),
    });
  }
  assert.equal(first.status, 200);
  const all = ports(1, 300);
  const one = await call(ctl.url, 'POST', '/v1/sync', { networks, security_groups: groups, ports: all });
  assert.equal(one.status, 413, 'one body of 300 ports is over the cap');

  // As the driver does: a 503 (etcd slow, leadership lost on a loaded machine) begins again.
  let done: Awaited<ReturnType<typeof call>> | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    await ready(ctl);
    const s = await begin();
    let seq = 0;
    assert.equal((await page(s, { seq: seq++, networks, security_groups: groups })).status, 200);
    for (let i = 0; i < all.length; i += 25) {
      const r = await page(s, { seq: seq++, ports: all.slice(i, i + 25) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    // The last page again (its reply lost): answered, nothing added twice.
    const again = await page(s, { seq: seq - 1, ports: all.slice(275) });
    assert.deepEqual(again.body, { session: s, pages: seq, items: 302 });
    done = await commit(s, seq);
    // A failed commit is sent again as it is, while the session stands (the same leader).
    for (let i = 0; i < 5 && done.status === 503; i++) {
      await ready(ctl);
      done = await commit(s, seq);
    }
    if (done.status === 503 || done.status === 404) continue;
    // The session ended with its commit.
    assert.equal((await commit(s, seq)).status, 404);
    break;
  }
  assert.equal(done?.status, 200, JSON.stringify(done?.body));
  assert.deepEqual(done.body.rejected, []);
  const have = await bindings();
  assert.equal(have.length, 300);
  assert.ok(!have.includes(keys.portBinding('compute1', uid(900))), 'the port Neutron lacks is deleted');
  assert.equal((await call(ctl.url, 'GET', '/v1/sync')).body.sync_needed, false);
});

test('a page out of order, an unknown list, a wrong page count: refused, nothing applied', async () => {
  const s = await begin(['networks', 'security_groups', 'ports']);
  assert.equal((await page(s, { seq: 1, ports: [] })).status, 400, 'page 0 comes first');
  const bad = await page(s, { seq: 0, routers: [] });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error ?? '', /"routers" is not a list this session sends/);
  assert.equal((await page(s, { seq: 0, networks, security_groups: groups })).status, 200);
  const count = await commit(s, 2);
  assert.equal(count.status, 400);
  assert.match(count.body.error ?? '', /sent 2 pages, 1 arrived/);
  // A session without one of the lists a sync always sends is not begun.
  const token = (await call(ctl.url, 'GET', '/v1/sync')).body.token;
  const noPorts = await call(ctl.url, 'POST', '/v1/sync/session', { token, lists: ['networks'] });
  assert.equal(noPorts.status, 400);
  assert.equal((await bindings()).length, 300, 'what the first test synced is untouched');
});

test('a new session replaces the one in progress: the old one’s pages are refused', async () => {
  const a = await begin();
  const b = await begin();
  const r = await page(a, { seq: 0, networks });
  assert.equal(r.status, 404);
  assert.match(r.body.error ?? '', /begin again/);
  assert.equal((await page(b, { seq: 0, networks })).status, 200);
});

test('a session belongs to its leader term and to a size limit', () => {
  let term: Guard | undefined = {} as Guard;
  const pages = new SyncPages({ guard: () => term, maxItems: 3 });
  const lists = ['networks', 'security_groups', 'ports'];
  const { session } = pages.begin({ token: '1', lists });
  const t = pages.take(session, { seq: 0, ports: [{}, {}] });
  assert.ok(t.apply);
  pages.applied(t);
  term = {} as Guard; // another term: this leader lost and won again
  assert.throws(() => pages.take(session, { seq: 1, ports: [] }), NotFoundError);
  const next = pages.begin({ token: '1', lists }).session;
  assert.throws(() => pages.take(next, { seq: 0, ports: [{}, {}, {}, {}] }), TooLargeError);
  assert.equal(pages.heldItems, 0, 'a session over the limit is dropped');
  // A commit whose sync failed (etcd slow: 503) is sent again as it is; an applied one ends it.
  const third = pages.begin({ token: '2', lists }).session;
  const p = pages.take(third, { seq: 0, ports: [{ id: 'p' }] });
  assert.ok(p.apply);
  // A page not applied (its apply failed) is taken again under the same seq.
  assert.ok(pages.take(third, { seq: 0, ports: [{ id: 'p' }] }).apply);
  assert.deepEqual(pages.applied(p), { session: third, pages: 1, items: 1 });
  assert.deepEqual(pages.applied(p), { session: third, pages: 1, items: 1 }, 'counted once');
  assert.equal(pages.commit(third, { pages: 1 }).id, third);
  assert.equal(pages.commit(third, { pages: 1 }).id, third, 'the same commit again');
  pages.end(third);
  assert.throws(() => pages.commit(third, { pages: 1 }), NotFoundError);
  // Lists come in order: networks after ports is refused.
  const fourth = pages.begin({ token: '2', lists }).session;
  const q = pages.take(fourth, { seq: 0, ports: [{ id: 'p' }] });
  assert.ok(q.apply);
  pages.applied(q);
  assert.throws(() => pages.take(fourth, { seq: 1, networks: [{ id: 'n' }] }), /the lists come in the order/);
});
