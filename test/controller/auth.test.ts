// The controller's API over HTTPS with driver tokens, against a real etcd: who gets in, and that a
// refused request changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { makeCerts, type TestCerts } from '../store/helpers/certs.ts';
import { startController, sleep, waitFor } from './helpers.ts';
import { portRow, uid } from './fixtures.ts';

const TOKEN = 'a'.repeat(20) + '-driver-token-1';
const TOKEN2 = 'b'.repeat(20) + '-driver-token-2';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;
let certs: TestCerts;
let dir: string;
let tokenFile: string;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One HTTPS request that trusts only the test CA. */
function call(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Reply> {
  const url = new URL(path, ctl.url);
  const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: readFileSync(certs.ca),
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(data ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

before(async () => {
  certs = makeCerts();
  dir = mkdtempSync(join(tmpdir(), 'netvpp-auth-'));
  tokenFile = join(dir, 'tokens');
  writeFileSync(tokenFile, `# driver tokens\n${TOKEN}\n`);
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  ctl = await startController(etcd.endpoints, {
    id: 'auth',
    authTokenFile: tokenFile,
    tls: { certFile: certs.serverCert, keyFile: certs.serverKey },
  });
  await waitFor('controller to lead', async () => (await call('GET', '/v1/health')).body.leader === true);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
  rmSync(certs.dir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

test('the controller serves HTTPS and advertises an https URL', async () => {
  assert.match(ctl.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  // Health needs no token: it says whether this instance leads and reaches etcd, and counts (the
  // driver's backlog, a full sync's progress) that name no resource.
  const h = await call('GET', '/v1/health');
  assert.equal(h.status, 200);
  assert.deepEqual(Object.keys(h.body).sort(), [
    'driver_journal',
    'etcd',
    'full_sync',
    'leader',
    'status',
    'sync_needed',
  ]);
  // An untrusting client refuses the self-signed chain.
  await assert.rejects(fetch(`${ctl.url}/v1/health`));
});

test('without a token every other endpoint answers 401 and nothing is written', async () => {
  const before = await store.revision();
  const port = uid(900);
  for (const [method, path, body] of [
    ['POST', '/v1/journal', { rows: [portRow({ id: port })] }],
    ['POST', '/v1/sync', { networks: [], ports: [], security_groups: [] }],
    ['GET', '/v1/sync', undefined],
    ['GET', '/v1/hosts', undefined],
    ['GET', '/v1/ports/events', undefined],
    ['GET', '/v1/nonexistent', undefined],
  ] as const) {
    const r = await call(method, path, { body });
    assert.equal(r.status, 401, `${method} ${path}`);
    assert.match(String(r.body.error), /authentication required/);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="netvpp"');
  }
  assert.equal(await store.revision(), before, 'no etcd write');
  assert.equal((await store.get(keys.portBinding('compute1', port))).kv, undefined);
});

test('a wrong token (of any length) is 403 and changes nothing; the right one is served', async () => {
  const before = await store.revision();
  const port = uid(901);
  const rows = [portRow({ id: port })];
  for (const token of ['x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN2]) {
    const r = await call('POST', '/v1/journal', { token, body: { rows } });
    assert.equal(r.status, 403, token);
    assert.equal(r.body.error, 'the token is not valid');
  }
  assert.equal(await store.revision(), before, 'no etcd write');
  const ok = await call('POST', '/v1/journal', { token: TOKEN, body: { rows } });
  assert.equal(ok.status, 200);
  assert.ok((await store.get(keys.portBinding('compute1', port))).kv, 'the binding is written');
});

test('tokens rotate by editing the file, without a restart', async () => {
  writeFileSync(tokenFile, `${TOKEN}\n${TOKEN2}\n`);
  await waitFor(
    'the second token to be accepted',
    async () => (await call('GET', '/v1/hosts', { token: TOKEN2 })).status === 200,
  );
  assert.equal((await call('GET', '/v1/hosts', { token: TOKEN })).status, 200, 'both during the rollover');
  writeFileSync(tokenFile, `${TOKEN2}\n`);
  await waitFor(
    'the first token to be refused',
    async () => (await call('GET', '/v1/hosts', { token: TOKEN })).status === 403,
  );
  // A broken file (no token at all) keeps the tokens read before instead of locking everyone out.
  writeFileSync(tokenFile, '# emptied by mistake\n');
  await sleep(1200);
  assert.equal((await call('GET', '/v1/hosts', { token: TOKEN2 })).status, 200);
});

test('a token file without a usable token stops the controller from starting', async () => {
  const weak = join(dir, 'weak');
  writeFileSync(weak, 'short\n');
  await assert.rejects(
    startController(etcd.endpoints, { id: 'weak', authTokenFile: weak }),
    /at least 16 characters/,
  );
});
