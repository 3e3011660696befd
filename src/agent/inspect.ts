// What the agent on a host would do now, without doing it: the host's desired state read from etcd
// as the agent reads it (DesiredFeed: its bindings, the groups they reference, the sync gate), VPP
// read with the agent's own dumps (readActual, behind a guard that refuses every write), compiled and
// diffed by the engine's own functions — no failure held, so the plan is what a fresh agent's first
// pass would send. Per port: the revision etcd wants, the state the agent reported, and whether VPP
// has everything the port needs (the reconciler's readiness). `netvpp plan` and `netvpp audit` print
// it (src/cli/plan.ts, src/cli/audit.ts).
//
// This is the one module of the CLI that imports the engine (objects, actual state, compile, diff,
// apply, reconciler): the CLI takes the engine's types from here.
import { decodeValue, keys, parseKey, PREFIX, type PortState } from '../model/keyspace.ts';
import type { Store } from '../store/index.ts';
import { logger, type Logger } from '../util/log.ts';
import type { Args } from '../vpp/client.ts';
import type { MessageDef } from '../vpp/codec/index.ts';
import { isWriteRequest } from '../vpp/read-only.ts';
import { readActual, type ActualState } from './engine/actual.ts';
import { execute } from './engine/apply.ts';
import { compile, compileOptionsOf, type Compiled, type PortPlan } from './compile.ts';
import { type AgentConfig, vxlanRead } from './config.ts';
import type { Verifier } from '../model/signing.ts';
import { DesiredState } from './desired.ts';
import { diff, heldDeletions, type Blocked, type DiffInput, type Plan, type PlanOp } from './engine/diff.ts';
import { DesiredFeed } from './feed.ts';
import { portKey, portOfKey, type VppObject } from './kinds/index.ts';
import { Reconciler } from './engine/reconciler.ts';
import type { SyncGate } from './sync-gate.ts';
import { CountingVpp, type CallCounts, type VppApi } from './vpp-api.ts';

export type { ActualState, Blocked, Compiled, Plan, PlanOp, PortPlan, VppObject };

/** What the inspection needs of the agent's configuration. */
export type InspectConfig = Pick<
  AgentConfig,
  'host' | 'physnets' | 'bonds' | 'vhostUserDir' | 'tapBackend' | 'gso' | 'rxMode' | 'vxlan' | 'verifier'
>;

export interface InspectOptions {
  /** An open store with namespace PREFIX (as the agent's). */
  store: Store;
  /** A connected VPP; only dumps and read-only requests are sent to it. */
  vpp: VppApi;
  config: InspectConfig;
  /** How long reading the desired state may take before giving up (ms, default 30 s). */
  timeoutMs?: number;
  /** For the etcd address in messages. */
  etcdAddress?: string;
  log?: Logger;
}

/** etcd or VPP could not be reached (the CLI exits with status 2). */
export class UnreachableError extends Error {
  constructor(
    readonly service: 'etcd' | 'VPP',
    readonly address: string,
    cause: string,
  ) {
    super(cause.includes(address) ? cause : `cannot reach ${service} at ${address}: ${cause}`);
    this.name = 'UnreachableError';
  }
}

/** A write the inspection was about to send (a bug: plan and audit only read). */
export class WriteRefusedError extends Error {
  constructor(readonly what: string) {
    super(`refused to send ${what} to VPP: plan and audit only read VPP`);
    this.name = 'WriteRefusedError';
  }
}

/** One field that differs between VPP and the desired object (path like `rules[2].proto`). */
export interface FieldDiff {
  path: string;
  actual: unknown;
  desired: unknown;
}

/**
 * What the plan does to one key, its ops taken together: a delete followed by a create is a
 * `replace` (VPP can't change the object in place).
 */
export interface KeyChange {
  key: string;
  change: 'create' | 'update' | 'replace' | 'delete';
  /** The port the key belongs to (its interface, membership, ACL bindings...), else null. */
  port: string | null;
  /** Why the plan can't do it in this pass (its own reason, or one of what it waits for). */
  blocked: Blocked | null;
  /** update and replace: what differs. */
  fields: FieldDiff[];
  desired: VppObject | null;
  actual: VppObject | null;
}

export interface PortInspection {
  portId: string;
  /** The revision of the binding in etcd (null when the value is unreadable). */
  desiredRevision: number | null;
  /** state/<host>/ports/<id> as etcd has it (null: absent). */
  reported: PortState | null;
  /** Set when the reported state is there but unreadable. */
  reportedInvalid: string | null;
  /** What VPP holds for the port, judged as the agent judges readiness. */
  vpp: {
    ready: boolean;
    error: string | null;
    /** vhost-user: whether the guest is connected (null when the port needs no link). */
    linkUp: boolean | null;
    /** What the plan would change among the keys the port needs or owns. */
    changes: KeyChange[];
  };
}

export interface HostInspection {
  host: string;
  /** The engine's diff (no failure held), and its ops in the order apply would run them. */
  plan: Plan;
  order: PlanOp[];
  /** Ops apply would not run in this pass, with why (a reason of theirs or of an op they wait for). */
  blocked: Map<PlanOp, Blocked>;
  /** The plan's ops per key. */
  changes: KeyChange[];
  compiled: Compiled;
  actual: ActualState;
  deletions: {
    /** false while etcd's desired state may be partial (see SyncGate). */
    allowed: boolean;
    syncMarker: ReturnType<SyncGate['describe']>;
    /** Objects in VPP nobody desires, kept only because deletions are held. */
    held: string[];
  };
  ports: PortInspection[];
  /** Reported states of ports not bound to this host. */
  staleReports: { portId: string; reported: PortState | null; invalid: string | null }[];
  /** etcd revision the reported states were read at. */
  etcdRevision: number;
  /** VPP calls the inspection made (writes is 0). */
  vppCalls: { calls: number; writes: number };
}

/** Passes reads through and refuses writes before they are sent. */
class ReadOnlyVpp implements VppApi {
  constructor(private readonly inner: VppApi) {}

  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R> {
    if (isWriteRequest(def.name, args as { cmd?: unknown }))
      return Promise.reject(new WriteRefusedError(def.name));
    return this.inner.request(def, args);
  }

  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R[]> {
    return this.inner.dump(def, args);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timer = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Reads the host's desired state as the agent does: every key, every group it needs, the sync gate. */
async function loadDesired(
  store: Store,
  host: string,
  timeoutMs: number,
  address: string,
  log: Logger,
  verifier: Verifier | null,
): Promise<{ desired: DesiredState; gate: SyncGate }> {
  // The watchers retry an unreachable etcd forever: ask once first, for a clear error.
  await withTimeout(
    store.revision(keys.syncMarker), // a key a host's etcd user may read
    timeoutMs,
    () => new Error(`no answer in ${Math.round(timeoutMs / 1000)} s`),
  ).catch((e: unknown) => {
    throw new UnreachableError('etcd', address, errText(e));
  });
  const desired = new DesiredState(host, verifier);
  const feed = new DesiredFeed(store, desired, () => {}, log);
  feed.start();
  try {
    await withTimeout(
      feed.whenComplete(),
      timeoutMs,
      () =>
        new UnreachableError(
          'etcd',
          address,
          `the desired state of ${host} was not read in ${Math.round(timeoutMs / 1000)} s`,
        ),
    );
  } finally {
    await feed.close();
  }
  return { desired, gate: feed.gate };
}

/**
 * The fields where `actual` differs from `desired` (at most `limit`). `key` is the same on both, and
 * `after` only orders ops (VPP holds no such thing), so neither is compared.
 */
export function fieldDiff(actual: unknown, desired: unknown, limit = 20): FieldDiff[] {
  const out: FieldDiff[] = [];
  const walk = (a: unknown, d: unknown, path: string): void => {
    if (out.length >= limit || Object.is(a, d)) return;
    if (Array.isArray(a) && Array.isArray(d)) {
      if (a.length !== d.length) out.push({ path: `${path}.length`, actual: a.length, desired: d.length });
      for (let i = 0; i < Math.min(a.length, d.length); i++) walk(a[i], d[i], `${path}[${i}]`);
      return;
    }
    if (a && d && typeof a === 'object' && typeof d === 'object' && !Array.isArray(a) && !Array.isArray(d)) {
      const ao = a as Record<string, unknown>;
      const dobj = d as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ao), ...Object.keys(dobj)])) {
        if (path === '' && (k === 'key' || k === 'after')) continue;
        walk(ao[k], dobj[k], path ? `${path}.${k}` : k);
      }
      return;
    }
    out.push({ path: path || '(value)', actual: a, desired: d });
  };
  walk(actual, desired, '');
  return out;
}

/** The plan's ops per key, in the order apply would run them (a delete + create is one `replace`). */
function keyChanges(order: PlanOp[], blocked: Map<PlanOp, Blocked>): KeyChange[] {
  const byKey = new Map<string, KeyChange>();
  for (const op of order) {
    const b = blocked.get(op) ?? null;
    const had = byKey.get(op.key);
    if (had) {
      // The create after its own delete.
      had.change = 'replace';
      had.desired = op.desired ?? null;
      had.blocked ??= b;
      had.fields = had.actual && had.desired ? fieldDiff(had.actual, had.desired) : [];
      continue;
    }
    const desired = op.desired ?? null;
    const actual = op.actual ?? null;
    byKey.set(op.key, {
      key: op.key,
      change: op.type,
      port: portOfKey(op.key),
      blocked: b,
      fields: op.type === 'update' && actual && desired ? fieldDiff(actual, desired) : [],
      desired,
      actual,
    });
  }
  return [...byKey.values()];
}

/** The plan ops in the order apply would run them, and those it would not run (a dry run of apply). */
async function dryRun(plan: Plan): Promise<{ order: PlanOp[]; blocked: Map<PlanOp, Blocked> }> {
  const order: PlanOp[] = [];
  const res = await execute(plan, (op) => {
    order.push(op);
    return Promise.resolve();
  });
  const blocked = res.blocked;
  // Blocked ops last, in plan order.
  for (const op of plan.ops) if (blocked.has(op)) order.push(op);
  return { order, blocked };
}

async function readReported(
  store: Store,
  host: string,
  address: string,
): Promise<{ states: Map<string, { state: PortState | null; invalid: string | null }>; revision: number }> {
  const r = await store.getPrefix(keys.hostPortStates(host)).catch((e: unknown) => {
    throw new UnreachableError('etcd', address, errText(e));
  });
  const states = new Map<string, { state: PortState | null; invalid: string | null }>();
  for (const kv of r.kvs) {
    const k = parseKey(kv.key);
    if (k?.kind !== 'portState') continue;
    const v = decodeValue('portState', kv.value);
    states.set(
      k.portId,
      v.ok
        ? { state: v.value, invalid: null }
        : { state: null, invalid: v.errors.map((e) => `${e.field} ${e.message}`).join('; ') },
    );
  }
  return { states, revision: r.revision };
}

/** Reads etcd and VPP for one host and diffs them as the agent would; writes nothing anywhere. */
export async function inspectHost(opts: InspectOptions): Promise<HostInspection> {
  const { store, config } = opts;
  if (store.namespace !== PREFIX)
    throw new Error(
      `the store must be opened with namespace ${PREFIX} (got ${JSON.stringify(store.namespace)})`,
    );
  const log = opts.log ?? logger('inspect');
  const address = opts.etcdAddress ?? 'etcd';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const { desired, gate } = await loadDesired(
    store,
    config.host,
    timeoutMs,
    address,
    log,
    config.verifier ?? null,
  );

  const vpp = new CountingVpp(new ReadOnlyVpp(opts.vpp));
  const actual = await readActual(vpp, {
    physnets: config.physnets,
    bonds: config.bonds,
    ...vxlanRead(config),
  });
  const counts: CallCounts = vpp.take();
  if (counts.writes > 0) throw new WriteRefusedError(`${counts.writes} writes`);

  const compiled = compile(desired, compileOptionsOf(config));
  const input: Compiled & DiffInput = gate.holding ? { ...compiled, holdDeletes: true } : compiled;
  const plan = diff(input, actual, () => undefined);
  const { order, blocked } = await dryRun(plan);
  const changes = keyChanges(order, blocked);

  const held: string[] = [];
  if (gate.holding) {
    held.push(...heldDeletions(compiled, actual).sort());
  }

  const { states, revision } = await readReported(store, config.host, address);
  const reconciler = new Reconciler();
  const ports: PortInspection[] = [];
  const portPlans = [...compiled.ports.values()].sort((a, b) => a.portId.localeCompare(b.portId));
  for (const p of portPlans) {
    const mine = new Set(p.requires);
    const status = reconciler.portStatus(p, compiled, actual);
    const h = p.needsLink ? actual.handle(p.linkOf ?? portKey(p.portId)) : undefined;
    const rep = states.get(p.portId);
    ports.push({
      portId: p.portId,
      desiredRevision: p.revision,
      reported: rep?.state ?? null,
      reportedInvalid: rep?.invalid ?? null,
      vpp: {
        ready: status.ready,
        error: status.error,
        linkUp: p.needsLink ? h !== undefined && actual.linkUp.get(h) === true : null,
        changes: changes.filter((c) => c.port === p.portId || mine.has(c.key)),
      },
    });
  }
  const staleReports = [...states]
    .filter(([id]) => !compiled.ports.has(id))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([portId, s]) => ({ portId, reported: s.state, invalid: s.invalid }));

  return {
    host: config.host,
    plan,
    order,
    blocked,
    changes,
    compiled,
    actual,
    deletions: { allowed: !gate.holding, syncMarker: gate.describe(), held },
    ports,
    staleReports,
    etcdRevision: revision,
    vppCalls: { calls: counts.calls, writes: counts.writes },
  };
}

/** The keys a port's entry in an inspection covers (to tell which changes no port shows). */
export function portKeysShown(insp: HostInspection): Set<string> {
  const shown = new Set<string>();
  for (const p of insp.ports) for (const c of p.vpp.changes) shown.add(c.key);
  return shown;
}
