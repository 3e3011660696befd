// Intake limits against a real etcd: rows and bytes per request, the bounded queue, requests the
// driver gave up on, and request targets that are not paths.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { call, ready, sleep, startController } from './helpers.ts';
import { portRow, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  ctl = await startController(etcd.endpoints, {
    id: 'limits',
    maxRows: 3,
    maxQueued: 2,
    maxBodyBytes: 64 * 1024,
    electionTtlSec: 10,
    etcd: { endpoints: etcd.endpoints, requestTimeoutMs: 5000 },
  });
  await ready(ctl);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

const signal = (sig: NodeJS.Signals) => process.kill(etcd.pid as number, sig);

const bound = async (port: string) => (await store.get(keys.portBinding('compute1', port))).kv !== undefined;

/** Sends a raw request target (fetch and node:http normalise or refuse some of them). */
function raw(target: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(ctl.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), '127.0.0.1');
    let text = '';
    s.on('data', (b) => (text += b.toString()));
    s.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    s.on('error', reject);
    s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}

test('more rows than max_rows is 413 and nothing of the request is applied', async () => {
  const ports = [uid(300), uid(301), uid(302), uid(303)];
  const r = await call(ctl.url, 'POST', '/v1/journal', { rows: ports.map((id) => portRow({ id })) });
  assert.equal(r.status, 413);
  assert.equal(r.body.error, '4 rows in one request; this controller takes at most 3');
  for (const p of ports) assert.equal(await bound(p), false);
  const ok = await call(ctl.url, 'POST', '/v1/journal', {
    rows: ports.slice(0, 3).map((id) => portRow({ id })),
  });
  assert.equal(ok.status, 200);
  assert.equal(await bound(ports[0]), true);
});

test('a body over max_body_mb is 413, whether its size is declared or not', async () => {
  const big = JSON.stringify({ rows: [portRow({ id: uid(310), name: 'x'.repeat(70 * 1024) })] });
  const declared = await call(ctl.url, 'POST', '/v1/journal', big);
  assert.equal(declared.status, 413);
  assert.match(String(declared.body.error), /larger than 65536 bytes/);
  // Chunked: no content-length, the limit is found while reading.
  const chunked = await fetch(`${ctl.url}/v1/journal`, {
    method: 'POST',
    body: new Blob([big]).stream(),
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  assert.equal(await bound(uid(310)), false);
});

test('paths that are not plain paths are 400, not 500', async () => {
  for (const target of ['//', '/v1//journal', '/v1/hosts/%zz', '/v1/hosts/%', '*', '//v1/health']) {
    const r = await raw(target);
    assert.equal(r.status, 400, target);
    assert.match(JSON.parse(r.body).error as string, /malformed path|absolute path/, target);
  }
  // An escaped host name is decoded; one nobody has is 404.
  assert.equal((await raw('/v1/hosts/compute%201')).status, 404);
  assert.equal((await raw('/v1/health/')).status, 200);
});

test('a full queue answers 429; a request abandoned before its turn is not applied', async () => {
  const [first, gone, third, fourth] = [uid(320), uid(321), uid(322), uid(323)];
  signal('SIGSTOP'); // the first request now waits inside the intake
  let resumed = false;
  try {
    const a = call(ctl.url, 'POST', '/v1/journal', { rows: [portRow({ id: first })] });
    await sleep(200);
    const abort = new AbortController();
    const b = fetch(`${ctl.url}/v1/journal`, {
      method: 'POST',
      body: JSON.stringify({ rows: [portRow({ id: gone })] }),
      headers: { 'content-type': 'application/json' },
      signal: abort.signal,
    }).catch((e: unknown) => e);
    await sleep(200);
    const full = await call(ctl.url, 'POST', '/v1/journal', { rows: [portRow({ id: third })] });
    assert.equal(full.status, 429);
    assert.match(String(full.body.error), /retry later/);
    abort.abort(); // the driver gives up on the second request (its HTTP timeout)
    await b;
    await sleep(200);
    signal('SIGCONT');
    resumed = true;
    assert.equal((await a).status, 200);
    const d = await call(ctl.url, 'POST', '/v1/journal', { rows: [portRow({ id: fourth })] });
    assert.equal(d.status, 200, 'the queue has room again');
  } finally {
    if (!resumed) signal('SIGCONT');
  }
  assert.equal(await bound(first), true);
  assert.equal(await bound(gone), false, 'the abandoned request was skipped');
  assert.equal(await bound(third), false, 'the refused request was not applied');
  assert.equal(await bound(fourth), true);
});
