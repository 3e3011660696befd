// `npm run chaos -- --seed N --faults K [--changes C] [--hosts H] [--marker-loss]`: one seeded chaos run
// (test/chaos/run.ts, docs/chaos.md). Exit status 1 when the oracle finds a violation.
import { Command, InvalidArgumentError } from 'commander';
import { EXTRA_FAULT_KINDS, FAULT_KINDS } from '../test/chaos/faults.ts';
import { formatReport, runChaos } from '../test/chaos/run.ts';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};

const opts = new Command('chaos')
  .option('--seed <n>', 'seed of the run (default: from the clock, printed)', int)
  .option('--faults <k>', 'faults to inject', int, 16)
  .option('--changes <c>', 'Neutron changes (default 8 per fault)', int)
  .option('--hosts <h>', 'agents, each on its own simulator', int, 3)
  .option('--converge-limit <s>', 'seconds the quiet period may take', int, 120)
  .option('--marker-loss', "add the 'sync marker lost' fault (meta/synced deleted, agents hold deletions)")
  .option('--held-check', 'check during the run that no held object is deleted (on with --marker-loss)')
  .parse()
  .opts<{
    seed?: number;
    faults: number;
    changes?: number;
    hosts: number;
    convergeLimit: number;
    markerLoss?: boolean;
    heldCheck?: boolean;
  }>();

const seed = opts.seed ?? Date.now() % 1_000_000;
console.log(`seed ${seed}`);
const report = await runChaos({
  seed,
  faults: opts.faults,
  ...(opts.changes !== undefined ? { changes: opts.changes } : {}),
  hosts: Math.max(3, opts.hosts),
  convergeLimitMs: opts.convergeLimit * 1000,
  ...(opts.markerLoss ? { kinds: [...FAULT_KINDS, ...EXTRA_FAULT_KINDS] } : {}),
  heldCheck: opts.heldCheck === true || opts.markerLoss === true,
  log: (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`),
});
for (const l of formatReport(report)) console.log(l);
process.exit(report.violations.length === 0 ? 0 : 1);
