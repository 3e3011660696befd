// A short run of the controller API fuzz (api-fuzz.ts) in the normal suite; `npm run fuzz` runs the
// long one. Fixed seed: a failure here reproduces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzApi, rawRequest, startFuzzWorld, type FuzzWorld } from './api-fuzz.ts';

let w: FuzzWorld;
before(async () => {
  w = await startFuzzWorld();
});
after(async () => {
  await w?.stop();
});

test('generated bodies, paths and headers: every reply a clear 4xx (2xx only with the token), state untouched', async () => {
  const r = await fuzzApi(
    w,
    Number(process.env.NETVPP_FUZZ_RUNS ?? 300),
    Number(process.env.NETVPP_FUZZ_SEED ?? 14),
  );
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.unhandled, []);
  assert.deepEqual(r.changed, [], 'keys of the state written before the fuzz changed');
  assert.ok((r.statuses['200'] ?? 0) > 0 && (r.statuses['400'] ?? 0) > 0, JSON.stringify(r.statuses));
});

// Regressions the fuzz found.
const post = (target: string, headers: [string, string][], body: string) =>
  rawRequest(w.port, {
    method: 'POST',
    target,
    headers: [['authorization', `Bearer ${w.ids.token}`], ...headers],
    body: Buffer.from(body),
    authorized: true,
  });

test('a request node cannot parse (content-length "abc") gets a JSON 400, not a bare one', async () => {
  const r = await post('/v1/journal', [['content-length', 'abc']], '{"rows":[]}');
  assert.ok(r !== 'closed');
  assert.equal(r.status, 400);
  assert.match(String((JSON.parse(r.body) as { error: unknown }).error), /malformed HTTP request/);
});

test('bytes beyond the declared content-length do not swallow the reply to the request before them', async () => {
  const body = '{"id":"0000000000000000"}';
  const r = await post('/v1/sync/confirm', [['content-length', String(body.length - 1)]], body);
  assert.ok(r !== 'closed', 'a reply');
  assert.equal(r.status, 400, r.body);
});

test('a body cut short of its content-length: the connection is closed, nothing applied, no server error', async () => {
  const before = await w.store.revision();
  const body = JSON.stringify({ rows: [] });
  const r = await post('/v1/journal', [['content-length', String(body.length + 10)]], body);
  assert.equal(r, 'closed');
  assert.equal(await w.store.revision(), before);
  const health = await post('/v1/health', [], '');
  assert.ok(health !== 'closed' && health.status === 405, 'the controller still answers');
});
