// The dashboard's data without a browser (test/e2e/dashboard.test.ts drives the page in Chromium):
// GET /v1/overview from what agents report in etcd, a port's chain, the live Server-Sent Events feed,
// and who may read them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Controller } from '../../src/controller/controller.ts';
import type { Overview } from '../../src/controller/overview.ts';
import { keys, PREFIX, type HostState, type PortState } from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { uid } from './fixtures.ts';
import { startController, waitFor } from './helpers.ts';

let etcd: EtcdProcess;
let store: Store;
let open: Controller;
let guarded: Controller;
let dir: string;
const VIEW_TOKEN = 'view-token-0123456789abcdef';

const host: HostState = {
  host: 'compute1',
  physnets: ['physnet1'],
  network_types: ['flat', 'vlan'],
  vif_types: ['vhostuser', 'tap'],
  agent_version: '0.1.0',
  vpp: { connected: true, version: '26.06-release' },
  started_at: '2026-12-03T06:00:00.000Z',
};
const state = (s: Partial<PortState>): string =>
  JSON.stringify({ revision: 1, ready: false, error: null, updated_at: '2026-12-03T06:00:01.000Z', ...s });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netvpp-dash-'));
  writeFileSync(join(dir, 'driver'), 'driver-token-0123456789abcdef\n');
  writeFileSync(join(dir, 'view'), `${VIEW_TOKEN}\n`);
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  await store.put(keys.hostAlive('compute1'), JSON.stringify(host));
  await store.put(keys.portState('compute1', uid(1)), state({ ready: true }));
  await store.put(
    keys.portState('compute1', uid(2)),
    state({ error: 'tap_create_v3 failed: VPP returned -12' }),
  );
  await store.put(keys.portState('compute1', uid(3)), state({}));
  open = await startController(etcd.endpoints, { id: 'open' });
  guarded = await startController(etcd.endpoints, {
    id: 'guarded',
    authTokenFile: join(dir, 'driver'),
    dashboardTokenFile: join(dir, 'view'),
  });
  // Reads need no leader (either may win the election): only the agents' state loaded.
  for (const c of [open, guarded])
    await waitFor('the controller ready', async () => (await fetch(`${c.url}/health/ready`)).ok);
});

after(async () => {
  await open?.stop();
  await guarded?.stop();
  store?.close();
  await etcd?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const overview = async (c: Controller): Promise<Overview> =>
  (await fetch(`${c.url}/v1/overview`)).json() as Promise<Overview>;

test('the overview counts ports by state and lists what fails, with its error', async () => {
  await waitFor('the agent state loaded', async () => (await overview(open)).ports.total === 3);
  const o = await overview(open);
  assert.deepEqual(o.ports, { total: 3, ACTIVE: 1, ERROR: 1, DOWN: 1 });
  assert.deepEqual(
    o.failing.map((f) => [f.kind, f.id, f.host, f.error]),
    [['port', uid(2), 'compute1', 'tap_create_v3 failed: VPP returned -12']],
  );
  assert.deepEqual(
    o.hosts.map((h) => [h.host, h.vpp.version, h.physnets]),
    [['compute1', '26.06-release', ['physnet1']]],
  );
  assert.deepEqual([o.controller.id, o.controller.etcd], ['open', 'connected']);
});

test("a port's chain is the one netvpp port show prints", async () => {
  const r = (await (await fetch(`${open.url}/v1/ports/${uid(2)}`)).json()) as { lines: string[] };
  // The controller never received this port from Neutron (state only): the first broken link.
  assert.match(r.lines[0], new RegExp(`^port ${uid(2)}: DOWN — unknown to netvpp`));
});

test('the live feed sends the overview again when an agent reports a change', async () => {
  const abort = new AbortController();
  const res = await fetch(`${open.url}/dashboard/events`, { signal: abort.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const next = async (re: RegExp) => {
    while (!re.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${re}`);
      text += Buffer.from(value).toString('utf8');
    }
  };
  await next(/"ACTIVE":1/);
  await store.put(keys.portState('compute1', uid(3)), state({ ready: true }));
  await next(/"ACTIVE":2/);
  abort.abort();
});

test('with tokens: nothing without one, a read-only token or session reads, and writes nothing', async () => {
  assert.equal((await fetch(`${guarded.url}/v1/overview`)).status, 401);
  const page = await (await fetch(`${guarded.url}/dashboard`)).text();
  assert.match(page, /<form method="post" action="\/dashboard\/login">/, 'the login form, no data');
  const auth = { authorization: `Bearer ${VIEW_TOKEN}` };
  assert.equal((await fetch(`${guarded.url}/v1/overview`, { headers: auth })).status, 200);
  const login = await fetch(`${guarded.url}/dashboard/login`, {
    method: 'POST',
    body: new URLSearchParams({ token: VIEW_TOKEN }),
    redirect: 'manual',
  });
  assert.equal(login.status, 303);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  assert.match(login.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
  assert.equal((await fetch(`${guarded.url}/v1/overview`, { headers: { cookie } })).status, 200);
  assert.equal(
    (await fetch(`${guarded.url}/v1/hosts`, { headers: { cookie } })).status,
    401,
    'only the dashboard',
  );
  assert.equal((await fetch(`${guarded.url}/v1/hosts`, { headers: auth })).status, 403, 'no driver token');
  const wrong = await fetch(`${guarded.url}/dashboard/login`, {
    method: 'POST',
    body: new URLSearchParams({ token: 'guess-guess-guess-guess' }),
  });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.headers.get('set-cookie'), null);
});
