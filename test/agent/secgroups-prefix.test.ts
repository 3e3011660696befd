// Prefix arithmetic behind remote-group expansion: aggregation must cover exactly the given addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregate,
  formatPrefix,
  normalize,
  parsePrefix,
  type Prefix,
} from '../../src/agent/secgroups/prefix.ts';

const p = (s: string): Prefix => {
  const x = parsePrefix(s);
  assert.ok(x, s);
  return x;
};
const agg = (...xs: string[]): string[] => aggregate(xs.map(p)).map(formatPrefix);

test('parse and print: plain addresses are host prefixes, text is canonical, junk is refused', () => {
  assert.equal(formatPrefix(p('10.0.0.1')), '10.0.0.1/32');
  assert.equal(formatPrefix(p('2001:DB8:0:0::1')), '2001:db8::1/128');
  assert.equal(formatPrefix(p('::ffff:10.0.0.1/128')), '::ffff:a00:1/128');
  assert.equal(formatPrefix(normalize(p('10.1.2.3/16'))), '10.1.0.0/16');
  assert.equal(formatPrefix(normalize(p('2001:db8::5/0'))), '::/0');
  for (const bad of ['10.0.0.1/33', '10.0.0/8', 'fe80::1%eth0', '::/129', '10.0.0.1/', 'x', '10.0.0.1/08x'])
    assert.equal(parsePrefix(bad), null, bad);
});

test('aggregation merges siblings, drops covered prefixes, keeps gaps', () => {
  assert.deepEqual(agg('10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3'), ['10.0.0.0/30']);
  assert.deepEqual(agg('10.0.0.1', '10.0.0.2'), ['10.0.0.1/32', '10.0.0.2/32']);
  assert.deepEqual(agg('10.0.0.0/24', '10.0.0.77', '10.0.1.0/24'), ['10.0.0.0/23']);
  assert.deepEqual(agg('0.0.0.0/0', '10.0.0.1', '::1'), ['0.0.0.0/0', '::1/128']);
  assert.deepEqual(agg('255.255.255.255', '255.255.255.254'), ['255.255.255.254/31']);
  assert.deepEqual(agg('::', '::1', '::2'), ['::/127', '::2/128']);
  assert.deepEqual(agg(), []);
});

test('aggregation is exact and minimal for random prefix sets', () => {
  // A small deterministic generator, so a failure reproduces.
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const input: Prefix[] = [];
    for (let i = 0, n = 1 + rand(12); i < n; i++)
      input.push(normalize({ family: 4, addr: 0x0a000000n + BigInt(rand(256)), len: 24 + rand(9) }));
    const out = aggregate(input);
    const covers = (ps: Prefix[], a: bigint): boolean =>
      ps.some((x) => a >> BigInt(32 - x.len) === x.addr >> BigInt(32 - x.len));
    for (let a = 0x0a000000n - 256n; a < 0x0a000000n + 512n; a++)
      assert.equal(covers(out, a), covers(input, a), `round ${round}, address ${a}`);
    // Minimal: sorted, disjoint, and no two neighbours could be one prefix.
    for (let i = 1; i < out.length; i++) {
      const [x, y] = [out[i - 1], out[i]];
      const xEnd = x.addr + (1n << BigInt(32 - x.len));
      assert.ok(xEnd <= y.addr, 'overlap');
      const merged =
        x.len === y.len &&
        xEnd === y.addr &&
        (x.addr >> BigInt(33 - x.len)) << 1n === x.addr >> BigInt(32 - x.len);
      assert.ok(!merged, `${formatPrefix(x)} and ${formatPrefix(y)} should have merged`);
    }
  }
});
