// `npm run fuzz`: the long fuzz runs (docs/security.md): the controller API against a real
// controller on a real etcd, and the agent's decoding of etcd values (decoder and real etcd).
// Prints per-run counts and every failure; exit status 1 when anything failed.
//   npm run fuzz -- [--runs N] [--seed S] [--only api|decode]
import { setLogLevel } from '../src/util/log.ts';
import { fuzzApi, startFuzzWorld } from '../test/fuzz/api-fuzz.ts';
import { fuzzDecode } from '../test/fuzz/decode-fuzz.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const runs = Number(arg('runs') ?? 10_000);
const seed = arg('seed') === undefined ? Date.now() % 2 ** 31 : Number(arg('seed'));
const only = arg('only');
// Thousands of refused requests would each log a warning.
setLogLevel('error');

let failed = false;
const report = (what: string, r: { failures: string[] }) => {
  failed ||= r.failures.length > 0;
  console.log(`${what}: ${JSON.stringify({ ...r, failures: undefined })}`);
  for (const f of r.failures) console.log(`  FAILURE: ${f}`);
};

console.log(`fuzz: ${runs} inputs per target, seed ${seed}`);
if (!only || only === 'api') {
  const w = await startFuzzWorld();
  try {
    const r = await fuzzApi(w, runs, seed);
    const failures = [...r.failures, ...r.unhandled.map((u) => `unhandled rejection: ${u}`)];
    if (r.changed.length) failures.push(`state written before the fuzz changed: ${r.changed.join(', ')}`);
    report('controller API', { ...r, failures });
  } finally {
    await w.stop();
  }
}
if (!only || only === 'decode') report('agent value decoding', { ...fuzzDecode(runs, seed) });
process.exit(failed ? 1 : 0);
