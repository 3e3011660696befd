// A short run of the agent's value-decoding fuzz (decode-fuzz.ts); `npm run fuzz` runs the long one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzDecode } from './decode-fuzz.ts';

test('malformed values of every watched kind: an error on that object, no exception, neighbours untouched', () => {
  const r = fuzzDecode(
    Number(process.env.NETVPP_FUZZ_RUNS ?? 400),
    Number(process.env.NETVPP_FUZZ_SEED ?? 14),
  );
  assert.deepEqual(r.failures, []);
  assert.equal(Object.keys(r.perKind).length, 8, 'every watched kind was fed');
});
