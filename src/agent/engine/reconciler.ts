// The reconcile loop's memory between passes: which objects failed, how often, and when each may be
// tried again (exponential back-off per object), what each pass left blocked, and which keys are out
// of sync (so a pass can look at those and at what changed, rather than at the whole host). Also the
// readiness of each port, computed from the compiled graph and the actual state.
import type { Compiled, PortPlan } from '../compile.ts';
import { compare, descriptorOf, portKey, type OpContext, type VppObject } from '../kinds/index.ts';
import { VppTimeoutError } from '../../vpp/errors.ts';
import type { ActualState } from './actual.ts';
import { execute, type PassResult } from './apply.ts';
import { diff, outOfSync, type Blocked, type Plan, type PlanOp } from './diff.ts';
import type { ProgressTracker } from '../../util/progress.ts';

export interface Failure {
  error: string;
  attempts: number;
  retryAt: number;
}

export interface BackoffOptions {
  /** First retry delay; doubled per failure up to maxMs. */
  minMs: number;
  maxMs: number;
}

export interface PassSummary {
  ops: number;
  done: number;
  failed: number;
  blocked: number;
  aborted: boolean;
  /**
   * Ops whose reply never came (timed out): VPP may have done them, so the agent reads VPP back before
   * anything is retried.
   */
  uncertain: number;
  /** The earliest time a held object may be retried (undefined: nothing to retry). */
  nextRetryAt: number | undefined;
  /** Keys the pass looked at and re-checked after it (null: the whole host). */
  checked: Set<string> | null;
}

/**
 * How a key stands for the readiness of the ports that need it — in place as desired (1/0), its
 * failure, the error that blocks it — as one string, so a change is one comparison.
 */
export type KeyStatus = string;
const KEY_OK: KeyStatus = '1\u0000\u0000';

export class Reconciler {
  readonly failures = new Map<string, Failure>();
  /** What the last pass left blocked (key → why). */
  blocked = new Map<string, Blocked>();
  /**
   * Keys a diff would act on, as of the end of the last pass (failed, blocked, or not reached). With
   * the keys that changed since, they are everything an incremental pass has to look at.
   */
  unsynced = new Set<string>();
  /** Long work in progress (a resync): the pass counts its ops into it while it is active. */
  progress: ProgressTracker | undefined;

  constructor(private readonly backoff: BackoffOptions = { minMs: 200, maxMs: 30_000 }) {}

  /** Forget every failure (after a VPP restart the world is new). */
  reset(): void {
    this.failures.clear();
    this.blocked.clear();
    this.unsynced.clear();
  }

  /**
   * Diffs and applies once. `changed`: the keys whose desired object changed since the last pass;
   * with it the pass looks only at those, at what the last pass left out of sync, and at what changed
   * in VPP since (the plan is the same as a full diff's). Without it: the whole host (resync).
   */
  async pass(
    compiled: Compiled,
    ctx: OpContext,
    changed?: Iterable<string>,
    now = Date.now(),
  ): Promise<PassSummary> {
    const hold = (key: string): Blocked | undefined => {
      const f = this.failures.get(key);
      if (!f || f.retryAt <= now) return undefined;
      return {
        reason: `${f.error} (retry ${f.attempts} in ${Math.ceil((f.retryAt - now) / 1000)} s)`,
        error: true,
      };
    };
    ctx.actual.releaseWaiting();
    const touched = ctx.actual.takeTouched();
    let candidates: Set<string> | undefined;
    if (changed) {
      candidates = ctx.actual.closure(this.unsynced, changed, touched);
    }
    const plan = diff(compiled, ctx.actual, hold, candidates);
    const tracker = this.progress?.active ? this.progress : undefined;
    tracker?.phase('applying', plan.ops.length);
    const res: PassResult = await execute(
      plan,
      tracker ? (op) => runOp(op, ctx).finally(() => tracker.advance()) : (op) => runOp(op, ctx),
    );
    const t = Date.now();
    for (const op of res.done) this.failures.delete(op.key);
    for (const [op, err] of res.failed) {
      const prev = this.failures.get(op.key);
      const attempts = (prev?.attempts ?? 0) + 1;
      const delay = Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** (attempts - 1));
      this.failures.set(op.key, {
        error: `${describe(op)}: ${err.message}`,
        attempts,
        retryAt: t + delay * (0.8 + Math.random() * 0.4),
      });
    }
    this.blocked = new Map([...res.blocked].map(([op, b]) => [op.key, b]));
    // Failures of objects nobody wants any more, or that VPP has as desired after all (a timed-out
    // write that happened, found by a read-back), are moot.
    for (const key of [...this.failures.keys()]) {
      if (!compiled.objects.has(key) && !ctx.actual.get(key)) this.failures.delete(key);
      else if (!outOfSync(key, compiled, ctx.actual)) this.failures.delete(key);
    }
    let nextRetryAt: number | undefined;
    for (const f of this.failures.values())
      if (nextRetryAt === undefined || f.retryAt < nextRetryAt) nextRetryAt = f.retryAt;
    const checked = checkAfterPass(plan, res, ctx.actual, candidates);
    this.unsynced = new Set();
    for (const k of checked) if (outOfSync(k, compiled, ctx.actual)) this.unsynced.add(k);
    return {
      ops: plan.ops.length,
      done: res.done.length,
      failed: res.failed.size,
      blocked: res.blocked.size,
      aborted: res.aborted,
      uncertain: [...res.failed.values()].filter(uncertain).length,
      nextRetryAt,
      checked: candidates ? checked : null,
    };
  }

  /** A key's standing for readiness: its failure, the error blocking it, whether VPP has it as desired. */
  keyStatus(key: string, compiled: Compiled, actual: ActualState): KeyStatus {
    const f = this.failures.get(key);
    const b = this.blocked.get(key);
    const d = compiled.objects.get(key);
    const a = actual.get(key);
    const inPlace = a !== undefined && (!d || compare(d, a) === 'same');
    return `${inPlace ? 1 : 0}\u0000${f?.error ?? ''}\u0000${b?.error && !f ? b.reason : ''}`;
  }

  /**
   * Whether a port is ready, and if not, whether something is wrong (error) or it is on its way.
   * `statusOf` gives each required key's KeyStatus (memoised by the caller: many ports share keys).
   */
  portStatus(
    plan: PortPlan,
    compiled: Compiled,
    actual: ActualState,
    statusOf: (key: string) => KeyStatus = (k) => this.keyStatus(k, compiled, actual),
  ): { ready: boolean; error: string | null } {
    const errors = [...plan.errors];
    let complete =
      plan.errors.length === 0 && plan.waiting.length === 0 && !compiled.frozenPorts.has(plan.portId);
    for (const key of plan.requires) {
      const st = statusOf(key);
      if (st === KEY_OK) continue;
      const [inPlace, failure, blocked] = st.split('\u0000');
      if (failure) errors.push(failure);
      if (blocked) errors.push(blocked);
      if (inPlace !== '1') complete = false;
    }
    if (complete && plan.needsLink) {
      const h = actual.handle(plan.linkOf ?? portKey(plan.portId));
      if (h === undefined || actual.linkUp.get(h) !== true) complete = false;
    }
    const unique = [...new Set(errors)];
    const error = unique.length ? truncate(unique.join('; '), 4000) : null;
    return { ready: complete && error === null, error };
  }
}

/**
 * The keys that may be out of sync after a pass: those the diff looked at (`candidates`, after an
 * incremental diff), the plan's and what changed in VPP during it, with what they reference. After a
 * full pass, the keys whose ops all succeeded are in sync (an op leaves its object as desired, or
 * gone, and the plan orders every op after those that would undo it), which spares re-checking the
 * whole host after a cold resync; `verify` checks that too.
 */
export function checkAfterPass(
  plan: Plan,
  res: Pick<PassResult, 'failed' | 'blocked'>,
  actual: ActualState,
  candidates?: ReadonlySet<string>,
): Set<string> {
  const touched = actual.takeTouched();
  if (candidates)
    return actual.closure(
      candidates,
      plan.ops.map((o) => o.key),
      touched,
    );
  const unfinished = new Set<string>();
  for (const op of plan.ops) if (res.failed.has(op) || res.blocked.has(op)) unfinished.add(op.key);
  const settled = new Set<string>();
  for (const op of plan.ops) if (!unfinished.has(op.key)) settled.add(op.key);
  return actual.closure(
    unfinished,
    [...touched].filter((k) => !settled.has(k)),
  );
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}

function describe(op: PlanOp): string {
  return `${op.type} ${op.key}`;
}

/** Runs one op through its kind's descriptor and records the outcome in the actual state. */
export async function runOp(op: PlanOp, ctx: OpContext): Promise<void> {
  if (op.type === 'create') {
    const d = op.desired as VppObject;
    return descriptorOf(d).create(d, ctx);
  }
  if (op.type === 'update') {
    const d = op.desired as VppObject;
    const desc = descriptorOf(d);
    const a = ctx.actual.get(op.key) ?? (op.actual as VppObject);
    if (!desc.update) throw new Error(`${op.key}: ${d.kind} has no update in place (a netvpp bug)`);
    return desc.update(d, a, ctx);
  }
  // Re-read: an earlier op of this pass may have changed or removed it.
  const a = ctx.actual.get(op.key);
  if (!a) return;
  if (op.withParent === undefined) await descriptorOf(a).delete(a, ctx);
  ctx.actual.removeWithSettings(op.key, false);
}

/** Whether the outcome of a failed op is unknown: VPP may have done it (a reply that never came). */
export function uncertain(err: Error): boolean {
  return err instanceof VppTimeoutError;
}
