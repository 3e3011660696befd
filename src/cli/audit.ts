// `netvpp audit`: desired (etcd) ⇄ reported (the agent's port states in etcd) ⇄ VPP, per port and
// per object, from the engine's own diff and readiness (src/agent/inspect.ts). Exit status 1 when
// any of them disagree, 0 when all agree (2 when etcd or VPP can't be reached).
import { portKeysShown, type FieldDiff, type HostInspection, type KeyChange } from '../agent/inspect.ts';
import type { PortState } from '../model/keyspace.ts';
import { runInspect, show, type CliIo, type HostArgs, type Rendered } from './inspect-host.ts';

export interface ObjectDiff {
  key: string;
  /** What the agent would do: create (missing from VPP), update/replace (different), delete (unwanted). */
  change: KeyChange['change'];
  fields: FieldDiff[];
  blocked: string | null;
}

export interface PortAudit {
  portId: string;
  desiredRevision: number | null;
  reported: PortState | null;
  reportedInvalid: string | null;
  vpp: {
    /** Everything the port needs is in VPP as desired (and, for vhost-user, the guest connected). */
    ready: boolean;
    error: string | null;
    linkUp: boolean | null;
    /** The keys the port needs or owns that VPP does not have as desired. */
    differences: ObjectDiff[];
  };
  /** Where desired, reported and VPP disagree (empty: they agree). */
  problems: string[];
}

export interface AuditReport {
  host: string;
  etcdRevision: number;
  /** true when desired, reported and VPP agree everywhere. */
  agree: boolean;
  ports: PortAudit[];
  /** Differences no port entry shows (shared objects, objects of ports not bound here). */
  objects: {
    /** In VPP, desired by nobody (the agent would delete them). */
    unwanted: ObjectDiff[];
    /** Desired, not in VPP. */
    missing: ObjectDiff[];
    /** In VPP, but not as desired. */
    different: ObjectDiff[];
  };
  /** In VPP, desired by nobody, and kept only because deletions are held (no meta/synced). */
  held: string[];
  deletions: HostInspection['deletions'];
  /** State keys of ports not bound to this host (the agent deletes them once it has read etcd). */
  staleReports: HostInspection['staleReports'];
  summary: { ports: number; portsDiffering: number; objectsDiffering: number; staleReports: number };
}

const objectDiff = (c: KeyChange): ObjectDiff => ({
  key: c.key,
  change: c.change,
  fields: c.fields,
  blocked: c.blocked?.reason ?? null,
});

export function audit(insp: HostInspection): AuditReport {
  const ports = insp.ports.map((p): PortAudit => {
    const problems: string[] = [];
    const r = p.reported;
    if (p.reportedInvalid !== null) problems.push(`the reported state is unreadable: ${p.reportedInvalid}`);
    else if (!r) problems.push('no state reported (is the agent running?)');
    else {
      if (r.revision !== p.desiredRevision)
        problems.push(`reported revision ${show(r.revision)}, desired ${show(p.desiredRevision)}`);
      if (r.ready && !p.vpp.ready)
        problems.push('reported ready, but VPP does not have everything the port needs');
      if (!r.ready && p.vpp.ready)
        problems.push('VPP has everything the port needs, but it is reported not ready');
    }
    if (p.vpp.changes.length > 0)
      problems.push(
        `VPP differs from desired in ${p.vpp.changes.length} object${p.vpp.changes.length === 1 ? '' : 's'}`,
      );
    return {
      portId: p.portId,
      desiredRevision: p.desiredRevision,
      reported: p.reported,
      reportedInvalid: p.reportedInvalid,
      vpp: {
        ready: p.vpp.ready,
        error: p.vpp.error,
        linkUp: p.vpp.linkUp,
        differences: p.vpp.changes.map(objectDiff),
      },
      problems,
    };
  });
  const shown = portKeysShown(insp);
  const rest = insp.changes.filter((c) => !shown.has(c.key));
  const objects = {
    unwanted: rest.filter((c) => c.change === 'delete').map(objectDiff),
    missing: rest.filter((c) => c.change === 'create').map(objectDiff),
    different: rest.filter((c) => c.change === 'update' || c.change === 'replace').map(objectDiff),
  };
  const portsDiffering = ports.filter((p) => p.problems.length > 0).length;
  const objectsDiffering = rest.length + insp.deletions.held.length;
  return {
    host: insp.host,
    etcdRevision: insp.etcdRevision,
    agree: portsDiffering === 0 && objectsDiffering === 0 && insp.staleReports.length === 0,
    ports,
    objects,
    held: insp.deletions.held,
    deletions: insp.deletions,
    staleReports: insp.staleReports,
    summary: {
      ports: ports.length,
      portsDiffering,
      objectsDiffering,
      staleReports: insp.staleReports.length,
    },
  };
}

function describeReported(p: PortAudit): string {
  if (p.reportedInvalid !== null) return 'unreadable';
  const r = p.reported;
  if (!r) return 'nothing';
  return `revision ${show(r.revision)}, ${r.ready ? 'ready' : 'not ready'}${r.error ? ` (error: ${r.error})` : ''}`;
}

function describeVpp(p: PortAudit): string {
  const v = p.vpp;
  if (v.ready) return 'complete';
  const parts: string[] = [];
  if (v.differences.length > 0)
    parts.push(`${v.differences.length} object${v.differences.length === 1 ? '' : 's'} not as desired`);
  if (v.linkUp === false) parts.push('guest not connected');
  if (v.error) parts.push(`error: ${v.error}`);
  return `not complete${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

const LABEL: Record<KeyChange['change'], string> = {
  create: 'missing  ',
  update: 'different',
  replace: 'different',
  delete: 'unwanted ',
};

function objectLines(label: string, list: ObjectDiff[], lines: string[]): void {
  for (const o of list) {
    lines.push(`  ${label} ${o.key}${o.blocked ? ` (blocked: ${o.blocked})` : ''}`);
    for (const f of o.fields) lines.push(`      ${f.path}: ${show(f.actual)} → ${show(f.desired)}`);
  }
}

export function renderAudit(insp: HostInspection, json: boolean): Rendered {
  const a = audit(insp);
  const exitCode = a.agree ? 0 : 1;
  if (json) return { lines: [JSON.stringify(a, null, 2)], exitCode };
  const lines = [`audit of ${a.host} (etcd revision ${a.etcdRevision}): desired ⇄ reported ⇄ VPP`];
  for (const p of a.ports) {
    if (p.problems.length === 0) {
      lines.push(
        `agree  port ${p.portId}  desired revision ${show(p.desiredRevision)}; reported ${describeReported(p)}; VPP ${describeVpp(p)}`,
      );
      continue;
    }
    lines.push(`DIFFER port ${p.portId}`);
    lines.push(`         desired   revision ${show(p.desiredRevision)}`);
    lines.push(`         reported  ${describeReported(p)}`);
    lines.push(`         VPP       ${describeVpp(p)}`);
    for (const d of p.vpp.differences) {
      lines.push(`           ${LABEL[d.change]} ${d.key}${d.blocked ? ` (blocked: ${d.blocked})` : ''}`);
      for (const f of d.fields)
        lines.push(`               ${f.path}: ${show(f.actual)} → ${show(f.desired)}`);
    }
    for (const why of p.problems) lines.push(`         - ${why}`);
  }
  const o = a.objects;
  if (o.unwanted.length + o.missing.length + o.different.length + a.held.length > 0) {
    lines.push('objects (besides those of the ports above):');
    objectLines('in VPP, desired by nobody:', o.unwanted, lines);
    objectLines('desired, missing from VPP:', o.missing, lines);
    objectLines('in VPP, not as desired:   ', o.different, lines);
    for (const k of a.held) lines.push(`  in VPP, desired by nobody, kept while deletions are held: ${k}`);
  }
  for (const s of a.staleReports)
    lines.push(
      `DIFFER state/${a.host}/ports/${s.portId} is reported, but the port is not bound to ${a.host}${s.reported ? ` (revision ${show(s.reported.revision)}, ${s.reported.ready ? 'ready' : 'not ready'})` : ''}`,
    );
  const s = a.summary;
  lines.push(
    `summary: ${s.ports} port${s.ports === 1 ? '' : 's'}, ${s.portsDiffering} differing; ${s.objectsDiffering} other object${s.objectsDiffering === 1 ? '' : 's'} differing; ${s.staleReports} stale report${s.staleReports === 1 ? '' : 's'} — ${a.agree ? 'all agree' : 'they disagree'} (exit ${exitCode})`,
  );
  return { lines, exitCode };
}

export function runAudit(args: HostArgs, io?: CliIo): Promise<number> {
  return runInspect('audit', args, renderAudit, io);
}
