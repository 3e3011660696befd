// `verify` (tests run agents with it): the incremental path must give what a full compile, diff and
// readiness give. Returns what differs, empty when they agree.
import { isDeepStrictEqual } from 'node:util';
import type { Compiled } from '../compile.ts';
import type { ActualState } from './actual.ts';
import { outOfSync, type DiffInput } from './diff.ts';
import type { Reconciler } from './reconciler.ts';

export interface VerifyInput {
  incremental: Compiled;
  full: Compiled;
  /** The full compile as diff sees it (deletions held or not, as the agent's). */
  fullInput: Compiled & DiffInput;
  actual: ActualState;
  reconciler: Reconciler;
  /** The port states the agent reported. */
  statuses: ReadonlyMap<string, { revision: number | null; ready: boolean; error: string | null }>;
}

export function compareWithFull(v: VerifyInput): string[] {
  const { incremental: mine, full: fullCompiled, fullInput: full, actual } = v;
  const problems: string[] = [];
  if (!isDeepStrictEqual(mine, fullCompiled)) {
    const keys = new Set([...mine.objects.keys(), ...full.objects.keys()]);
    const differing = [...keys].filter((k) => !isDeepStrictEqual(mine.objects.get(k), full.objects.get(k)));
    problems.push(`compiled state differs (objects: ${differing.slice(0, 5).join(', ') || 'none'})`);
  }
  const unsynced = new Set<string>();
  for (const k of new Set([...full.objects.keys(), ...actual.objects.keys()])) {
    if (outOfSync(k, full, actual)) unsynced.add(k);
  }
  const tracked = v.reconciler.unsynced;
  const missed = [...unsynced].filter((k) => !tracked.has(k));
  const extra = [...tracked].filter((k) => !unsynced.has(k));
  if (missed.length || extra.length) {
    problems.push(
      `out-of-sync keys differ (not tracked: ${missed.slice(0, 5).join(', ') || 'none'}; ` +
        `tracked but in sync: ${extra.slice(0, 5).join(', ') || 'none'})`,
    );
  }
  const wrong: string[] = [];
  for (const plan of full.ports.values()) {
    const s = v.reconciler.portStatus(plan, full, actual);
    const had = v.statuses.get(plan.portId);
    if (!had || had.ready !== s.ready || had.error !== s.error || had.revision !== plan.revision)
      wrong.push(`${plan.portId} (${JSON.stringify(had)} vs ready=${s.ready} error=${s.error})`);
  }
  for (const id of v.statuses.keys()) if (!full.ports.has(id)) wrong.push(`${id} (not bound)`);
  if (wrong.length) problems.push(`port states differ: ${wrong.slice(0, 3).join('; ')}`);
  return problems;
}
