// `netvpp plan`: what the agent on this host would change in VPP now — the engine's own diff of
// etcd's desired state against VPP's dumps, printed in the order apply would run it. Writes nothing
// to VPP or etcd. Exit status 0 (2 when etcd or VPP can't be reached).
import { fieldDiff, type FieldDiff, type HostInspection, type PlanOp } from '../agent/inspect.ts';
import { runInspect, show, type CliIo, type HostArgs, type Rendered } from './inspect-host.ts';

export interface PlanOpJson {
  type: PlanOp['type'];
  key: string;
  /** A create that follows the delete of the same key (VPP can't change it in place, or what it
   * hangs off is re-created). */
  recreate: boolean;
  /** Why it would not run in this pass. */
  blocked: { reason: string; error: boolean } | null;
  /** delete: VPP removes it with this parent (no call of its own). */
  withParent: string | null;
  /** update, and a create that follows the delete of the same key: what differs from VPP. */
  fields: FieldDiff[];
  desired: PlanOp['desired'] | null;
  actual: PlanOp['actual'] | null;
}

export interface PlanJson {
  host: string;
  etcdRevision: number;
  deletions: HostInspection['deletions'];
  ops: PlanOpJson[];
  summary: { ops: number; create: number; update: number; delete: number; blocked: number };
  vppCalls: HostInspection['vppCalls'];
}

/** The plan as data: ops in apply's order, with what differs. */
export function planJson(insp: HostInspection): PlanJson {
  const deleted = new Map<string, PlanOp>();
  for (const op of insp.plan.ops) if (op.type === 'delete') deleted.set(op.key, op);
  const ops = insp.order.map((op): PlanOpJson => {
    const b = insp.blocked.get(op);
    const before =
      op.type === 'update' ? op.actual : op.type === 'create' ? deleted.get(op.key)?.actual : undefined;
    return {
      type: op.type,
      key: op.key,
      recreate: op.type === 'create' && deleted.has(op.key),
      blocked: b ? { reason: b.reason, error: b.error } : null,
      withParent: op.withParent ?? null,
      fields: before && op.desired ? fieldDiff(before, op.desired) : [],
      desired: op.desired ?? null,
      actual: op.actual ?? null,
    };
  });
  const count = (t: PlanOp['type']) => ops.filter((o) => o.type === t).length;
  return {
    host: insp.host,
    etcdRevision: insp.etcdRevision,
    deletions: insp.deletions,
    ops,
    summary: {
      ops: ops.length,
      create: count('create'),
      update: count('update'),
      delete: count('delete'),
      blocked: ops.filter((o) => o.blocked).length,
    },
    vppCalls: insp.vppCalls,
  };
}

export function renderPlan(insp: HostInspection, json: boolean): Rendered {
  const p = planJson(insp);
  if (json) return { lines: [JSON.stringify(p, null, 2)], exitCode: 0 };
  const lines = [
    `plan for ${p.host} (etcd revision ${p.etcdRevision}; VPP read with ${p.vppCalls.calls} calls, ${p.vppCalls.writes} writes)`,
  ];
  for (const op of p.ops) {
    const note = op.recreate
      ? ' (again, after its delete)'
      : op.withParent
        ? ` (goes with ${op.withParent})`
        : '';
    lines.push(`  ${op.type.padEnd(6)} ${op.key}${note}`);
    for (const f of op.fields) lines.push(`           ${f.path}: ${show(f.actual)} → ${show(f.desired)}`);
    if (op.blocked)
      lines.push(`           blocked${op.blocked.error ? ' (error)' : ''}: ${op.blocked.reason}`);
  }
  const d = p.deletions;
  if (!d.allowed) {
    const why = d.syncMarker.error ?? `meta/synced is ${d.syncMarker.state}`;
    lines.push(
      `deletions are held (${why}): ${d.held.length} object${d.held.length === 1 ? '' : 's'} nobody desires stay in VPP`,
    );
    for (const k of d.held) lines.push(`  held   ${k}`);
  }
  const s = p.summary;
  lines.push(
    s.ops === 0
      ? `summary: nothing to do, VPP matches etcd${d.held.length ? ' (apart from the held deletions)' : ''}`
      : `summary: ${s.ops} op${s.ops === 1 ? '' : 's'} (${s.create} create, ${s.update} update, ${s.delete} delete), ${s.blocked} blocked`,
  );
  return { lines, exitCode: 0 };
}

export function runPlan(args: HostArgs, io?: CliIo): Promise<number> {
  return runInspect('plan', args, renderPlan, io);
}
