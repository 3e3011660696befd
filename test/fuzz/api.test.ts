// A short run of the controller API fuzz (api-fuzz.ts) in the normal suite; `npm run fuzz` runs the
// long one. Fixed seed: a failure here reproduces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzApi, startFuzzWorld, type FuzzWorld } from './api-fuzz.ts';

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
