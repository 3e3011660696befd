// apply: runs a plan with many requests in flight. Every op starts as soon as the ops it waits for have
// succeeded; independent objects go concurrently (the VPP client pipelines them). A failed op blocks
// only what depends on it. A lost VPP connection stops the pass: nothing new starts, and the caller
// re-reads VPP after reconnecting.
import { VppDisconnectedError } from '../../vpp/errors.ts';
import type { Blocked, Plan, PlanOp } from './diff.ts';

export interface PassResult {
  done: PlanOp[];
  failed: Map<PlanOp, Error>;
  blocked: Map<PlanOp, Blocked>;
  /** The VPP connection went away during the pass. */
  aborted: boolean;
}

/**
 * Most ops running at once. Enough to keep VPP's queue full (the client pipelines up to its window);
 * more would only grow queues in memory.
 */
export const MAX_CONCURRENT_OPS = 1024;

export async function execute(
  plan: Plan,
  run: (op: PlanOp) => Promise<void>,
  maxConcurrent = MAX_CONCURRENT_OPS,
): Promise<PassResult> {
  const result: PassResult = { done: [], failed: new Map(), blocked: new Map(), aborted: false };
  const pending = new Map<PlanOp, number>();
  const dependents = new Map<PlanOp, PlanOp[]>();
  for (const op of plan.ops) {
    pending.set(op, op.waitsFor.length);
    for (const w of op.waitsFor) {
      let list = dependents.get(w);
      if (!list) dependents.set(w, (list = []));
      list.push(op);
    }
  }
  const settled = new Set<PlanOp>();
  let inFlight = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));

  const block = (op: PlanOp, why: Blocked): void => {
    const stack: [PlanOp, Blocked][] = [[op, why]];
    while (stack.length > 0) {
      const [o, b] = stack.pop() as [PlanOp, Blocked];
      if (settled.has(o)) continue;
      settled.add(o);
      result.blocked.set(o, b);
      for (const d of dependents.get(o) ?? []) {
        stack.push([d, { reason: `needs ${o.key}: ${b.reason}`, error: b.error }]);
      }
    }
  };

  // Ops whose prerequisites are done, waiting for a free slot (FIFO, read from `head`).
  const ready: PlanOp[] = [];
  let head = 0;
  let running = 0;
  const launch = (op: PlanOp): void => {
    if (settled.has(op)) return;
    if (result.aborted) {
      block(op, { reason: 'VPP connection lost', error: false });
      return;
    }
    if (op.blocked) {
      block(op, op.blocked);
      return;
    }
    ready.push(op);
    pump();
  };
  const pump = (): void => {
    while (running < maxConcurrent && head < ready.length) {
      const op = ready[head++];
      if (head > 4096 && head * 2 > ready.length) {
        ready.splice(0, head);
        head = 0;
      }
      if (settled.has(op)) continue;
      if (result.aborted) {
        block(op, { reason: 'VPP connection lost', error: false });
        continue;
      }
      start(op);
    }
  };
  const start = (op: PlanOp): void => {
    running++;
    inFlight++;
    run(op).then(
      () => {
        settled.add(op);
        result.done.push(op);
        for (const d of dependents.get(op) ?? []) {
          const n = (pending.get(d) as number) - 1;
          pending.set(d, n);
          if (n === 0) launch(d);
        }
        land();
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        if (e instanceof VppDisconnectedError) {
          result.aborted = true;
          block(op, { reason: 'VPP connection lost', error: false });
        } else {
          settled.add(op);
          result.failed.set(op, e);
          for (const d of dependents.get(op) ?? [])
            block(d, { reason: `needs ${op.key}, which failed: ${e.message}`, error: true });
        }
        land();
      },
    );
  };
  const land = (): void => {
    running--;
    inFlight--;
    pump();
    if (inFlight === 0 && head >= ready.length) finish();
  };

  inFlight++; // hold the pass open while the first ops launch
  running++;
  for (const op of plan.ops) if (op.waitsFor.length === 0) launch(op);
  land();
  await finished;
  // Ops still unsettled wait on each other: a cycle, which a correct plan never has.
  for (const op of plan.ops) {
    if (!settled.has(op)) block(op, { reason: 'dependency cycle in the plan (a netvpp bug)', error: true });
  }
  return result;
}
