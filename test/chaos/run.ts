// One chaos run: the stack, Neutron's seeded changes journaled to the controllers, faults of every
// kind mixed in, then a quiet period in which the oracle is asked until everything agrees. The seed
// fixes which changes and faults come in which order (and their parameters); timing between them
// is the machine's, so a seed replays the same story, not the same interleaving to the microsecond.
import { setLogLevel } from '../../src/util/log.ts';
import { Driver } from './driver.ts';
import { FAULT_KINDS, inject, repaired, type FaultContext, type FaultKind } from './faults.ts';
import { NeutronTruth } from './neutron-truth.ts';
import { HeldDeletionCheck } from './held-check.ts';
import { ReadyAclCheck } from './invariants.ts';
import { oracle } from './oracle.ts';
import { Prng } from './prng.ts';
import { ChaosStack } from './stack.ts';

export interface ChaosOptions {
  seed: number;
  /** Faults to inject, kinds taken in turn from a seeded shuffle so every kind comes up. */
  faults: number;
  /** Neutron changes (default 8 per fault). */
  changes?: number;
  hosts?: number;
  /** How long the quiet period may take to converge before the oracle's findings are violations. */
  convergeLimitMs?: number;
  kinds?: readonly FaultKind[];
  /**
   * The held-deletion check (held-check.ts); off by default: CI's seed runs without it until the
   * agent's verify difference it ran alongside is understood (docs/chaos.md).
   */
  heldCheck?: boolean;
  log?: (msg: string) => void;
}

export interface ChaosReport {
  seed: number;
  /** Faults that took effect, by kind. */
  faults: Record<string, number>;
  /** Faults drawn that found nothing to act on (no leader answering, no write message yet). */
  skipped: Record<string, number>;
  changes: Record<string, number>;
  totalChanges: number;
  driver: Driver['stats'];
  /** Journal rows sent to a deposed controller (none may land). */
  deposedProbes: number;
  /** Ready reports checked against VPP's ACLs while the run went on, and those left out. */
  readyChecked: number;
  readyLeftOut: number;
  /** Ready findings excused because the binding or VPP changed while they were checked. */
  readyExcused: string[];
  /** Inspections of a host while its agent held deletions, held objects seen in them, findings excused. */
  heldInspections: number;
  heldObjects: number;
  heldExcused: string[];
  /** From the end of the last fault to the first pass of the oracle; null: never converged. */
  convergeMs: number | null;
  runMs: number;
  violations: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The order of steps: `changes` changes and `faults` faults, shuffled by the seed. */
function schedule(
  rng: Prng,
  changes: number,
  faults: number,
  kinds: readonly FaultKind[],
): (FaultKind | null)[] {
  const steps: (FaultKind | null)[] = [];
  for (let i = 0; i < faults; i++) steps.push(kinds[i % kinds.length]);
  for (let i = 0; i < changes; i++) steps.push(null);
  // Fisher–Yates, then a few changes first so faults have something to break.
  for (let i = steps.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [steps[i], steps[j]] = [steps[j], steps[i]];
  }
  return [null, null, null, null, null, ...steps];
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  setLogLevel('error');
  const rng = new Prng(o.seed);
  const kinds = o.kinds ?? FAULT_KINDS;
  const hostNames = Array.from({ length: o.hosts ?? 3 }, (_, i) => `compute${i + 1}`);
  const truth = new NeutronTruth(rng, hostNames);
  const started = Date.now();
  const stack = await ChaosStack.start(hostNames.length);
  const readyCheck = new ReadyAclCheck(stack);
  await readyCheck.start();
  const heldCheck = new HeldDeletionCheck(stack);
  if (o.heldCheck) heldCheck.start();
  const driver = new Driver(truth);
  driver.setControllers(stack.controllerUrls);
  driver.start();
  const garbage = new Set<string>();
  const ctx: FaultContext = {
    stack,
    driver,
    truth,
    deposedProbes: 0,
    rng,
    garbage,
    log,
    busy: new Map(),
    problems: [],
    injected: {},
    skipped: {},
  };
  let convergeMs: number | null = null;
  let violations: string[] = [];
  try {
    const steps = schedule(rng, o.changes ?? o.faults * 8, o.faults, kinds);
    for (const step of steps) {
      if (step === null) driver.journal.push(truth.change());
      else {
        log(`fault: ${step}`);
        try {
          await inject(step, ctx);
        } catch (e) {
          ctx.problems.push(`fault ${step} could not be injected: ${(e as Error).message}`);
        }
      }
      await sleep(rng.int(10, 150));
    }
    log('waiting for the lasting faults to be repaired');
    await repaired(ctx);
    const quietFrom = Date.now();
    const limit = o.convergeLimitMs ?? 90_000;
    log(`quiet period: ${truth.totalChanges} changes made, waiting for convergence`);
    let found: string[] = [];
    for (;;) {
      try {
        found = await oracle(stack, truth, driver, garbage);
      } catch (e) {
        found = [`oracle could not run: ${(e as Error).message}`];
      }
      if (found.length === 0) {
        convergeMs = Date.now() - quietFrom;
        break;
      }
      if (Date.now() - quietFrom > limit) break;
      await sleep(1000);
    }
    // What the checks during the run found stands whether or not the stack converged afterwards.
    violations = [...ctx.problems, ...readyCheck.violations, ...heldCheck.violations, ...found];
  } finally {
    await driver.stop();
    await readyCheck.stop();
    await heldCheck.stop();
    await stack.stop({ keepLogs: violations.length > 0 });
  }
  return {
    seed: o.seed,
    faults: ctx.injected,
    deposedProbes: ctx.deposedProbes,
    readyChecked: readyCheck.checked,
    readyLeftOut: readyCheck.leftOut,
    readyExcused: readyCheck.excused,
    heldInspections: heldCheck.inspections,
    heldObjects: heldCheck.heldSeen,
    heldExcused: heldCheck.excused,
    skipped: ctx.skipped,
    changes: Object.fromEntries(truth.changes),
    totalChanges: truth.totalChanges,
    driver: driver.stats,
    convergeMs,
    runMs: Date.now() - started,
    violations: violations.map((v) => `${v} (seed ${o.seed})`),
  };
}

export function formatReport(r: ChaosReport): string[] {
  const lines = [
    `chaos run, seed ${r.seed}: ${r.totalChanges} changes, ${Object.values(r.faults).reduce((a, b) => a + b, 0)} faults, ${(r.runMs / 1000).toFixed(1)} s`,
  ];
  lines.push('faults injected:');
  for (const [k, n] of Object.entries(r.faults).sort()) lines.push(`  ${k.padEnd(26)} ${n}`);
  if (Object.keys(r.skipped).length > 0)
    lines.push(
      `skipped (nothing to act on): ${Object.entries(r.skipped)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  lines.push('changes applied:');
  for (const [k, n] of Object.entries(r.changes).sort()) lines.push(`  ${k.padEnd(26)} ${n}`);
  lines.push(
    `driver: ${r.driver.requests} requests (${r.driver.failed} failed), ${r.driver.syncs} full syncs (${r.driver.heldSyncs} tries held by the valve), ${r.driver.duplicated} duplicated, ${r.driver.timedOut} timed out`,
  );
  lines.push(
    // A probe is a check, not a finding: one that landed is listed under the violations.
    `in-run checks: ${r.deposedProbes} probe rows sent to a deposed controller (a landed one is a violation below), ${r.readyChecked} ready reports checked against VPP's ACLs (${r.readyLeftOut} left out)`,
  );
  lines.push(
    `  held deletions: ${r.heldInspections} inspections while an agent held deletions, ${r.heldObjects} held objects seen in them (${r.heldExcused.length} findings excused)`,
  );
  for (const e of r.heldExcused.slice(0, 10)) lines.push(`    excused: ${e}`);
  if (r.readyExcused.length > 0) {
    lines.push(`ready findings excused (the binding or VPP changed while checked): ${r.readyExcused.length}`);
    for (const e of r.readyExcused.slice(0, 10)) lines.push(`  ${e}`);
  }
  lines.push(
    r.convergeMs === null
      ? 'did NOT converge after the last fault'
      : `converged ${(r.convergeMs / 1000).toFixed(1)} s after the last fault`,
  );
  if (r.violations.length === 0) lines.push('oracle: no violation');
  else {
    lines.push(`oracle: ${r.violations.length} violations:`);
    for (const v of r.violations.slice(0, 50)) lines.push(`  ${v}`);
  }
  return lines;
}
