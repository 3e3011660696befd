// Applying Neutron rows to the controller's records: each row (or deleted resource) becomes the
// writes that take its record's desired-state keys from the old set to the new one, then the record
// itself; a batch is applied over an Overlay of the records so later rows see earlier ones. The
// translation of each resource into its keys is translate.ts (and translate-*.ts).
import {
  encodeValue,
  type FloatingIpDoc,
  keys,
  type NeutronKind,
  type NeutronRecord,
  neutronRecordSchema,
  parseKey,
  type PortBinding,
} from '../model/keyspace.ts';
import { formatErrors, run, uuid } from '../model/validate.ts';
import { checked, dataOf, RowError } from './rows.ts';
import {
  floatingIpOwns,
  floatingIpsFollow,
  placeRouterPort,
  routerHostsOf,
  routerOwns,
  routerPortsFollow,
} from './translate-l3.ts';
import {
  neutronTapFlowSchema,
  neutronTapServiceSchema,
  tapFlowOwns,
  tapServiceOwns,
} from './translate-taas.ts';
import {
  networkQosOf,
  neutronQosPolicySchema,
  portsFollowingNetwork,
  qosPolicyOwns,
  withQos,
} from './translate-qos.ts';
import {
  type JournalRow,
  journalRowSchema,
  type NeutronNetwork,
  neutronNetworkSchema,
  neutronPortSchema,
  neutronSecurityGroupSchema,
  neutronFloatingIpSchema,
  neutronRouterSchema,
} from './neutron.ts';

import { canonical, diffOwns, portOwns, securityGroup } from './translate.ts';

/** A write; the same shape as the store's WriteOp. Values are JSON text. */
export type WriteOp =
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string };

/** The records a translation may consult (the stored ones, overlaid with this batch's changes). */
export interface RecordView {
  get(kind: NeutronKind, id: string): NeutronRecord | null;
  /** Live port records that own a binding on network `networkId`. */
  portsOnNetwork(networkId: string): NeutronRecord[];
  /** Live floating IP records that own a FloatingIpDoc of router `routerId`. */
  floatingIpsOfRouter(routerId: string): NeutronRecord[];
  /** Live port records that own a router port binding of router `routerId`. */
  portsOfRouter(routerId: string): NeutronRecord[];
}

export type Outcome =
  /** `ops` to write (records last); `records` are the new records (already among the ops). */
  | { status: 'applied'; ops: WriteOp[]; records: NeutronRecord[] }
  /** Nothing to write: the row was already applied. */
  | { status: 'unchanged' }
  /** Older than (or deleted before) what is stored; ignored. */
  | { status: 'stale'; reason: string }
  /** A resource netvpp accepts but has nothing to write for (subnets). */
  | { status: 'ignored' }
  | { status: 'rejected'; error: string };

const KIND_OF: Record<string, NeutronKind | 'subnet' | undefined> = {
  port: 'port',
  network: 'network',
  security_group: 'security_group',
  subnet: 'subnet',
  router: 'router',
  floatingip: 'floatingip',
  qos_policy: 'qos_policy',
  tap_service: 'tap_service',
  tap_flow: 'tap_flow',
};

// ---- ports -----------------------------------------------------------------------------------------

/** Whether netvpp bound the port: the driver says so, or (without a hint) a vif_type netvpp uses. */
export function recordOp(r: NeutronRecord): WriteOp {
  const key = keys.neutronRecord(r.kind, r.id);
  return { op: 'put', key, value: encodeValue(key, r) };
}

function sameRecord(a: NeutronRecord | null, b: NeutronRecord): boolean {
  return a !== null && canonical(a) === canonical(b);
}

/** Builds the outcome of replacing record `old` by `next` with the writes `ops` (record put last). */
function outcome(old: NeutronRecord | null, next: NeutronRecord, ops: WriteOp[]): Outcome {
  if (ops.length === 0 && sameRecord(old, next)) return { status: 'unchanged' };
  checked(neutronRecordSchema, next, keys.neutronRecord(next.kind, next.id));
  return { status: 'applied', ops: [...ops, recordOp(next)], records: [next] };
}

// ---- rows ------------------------------------------------------------------------------------------

export interface ApplyOptions {
  /** ISO time used for tombstones. */
  now: string;
  /** Full sync: Neutron says the resource exists, so a tombstone doesn't stop it. */
  revive?: boolean;
}

/** The new state of a resource after a create/update with `revision`. */
function upsert(
  kind: NeutronKind,
  id: string,
  revision: number,
  data: unknown,
  view: RecordView,
  opts: ApplyOptions,
): Outcome {
  const old = view.get(kind, id);
  if (old && old.deleted_at !== null && !opts.revive)
    return { status: 'stale', reason: `${kind} ${id} was deleted (at revision ${old.revision})` };
  if (old && old.deleted_at === null && revision < old.revision)
    return { status: 'stale', reason: `revision ${revision} is older than the applied ${old.revision}` };
  const before = old && old.deleted_at === null ? old.owns : {};

  switch (kind) {
    case 'router': {
      const router = dataOf(neutronRouterSchema, data, 'router');
      if (router.id !== id) throw new RowError(`data.id ${router.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, routerOwns(router, revision));
      const last = outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
      // A router moved to other hosts takes its floating IPs and its ports' bindings with it.
      const hosts = routerHostsOf(owns);
      const moved = [
        ...floatingIpsFollow(view, id, hosts).map((r) => ({
          rec: r,
          ops: diffOwns(view.get('floatingip', r.id)?.owns ?? {}, r.owns).ops,
        })),
        ...routerPortsFollow(view, id, hosts).map((r) => ({
          rec: r,
          ops: diffOwns(view.get('port', r.id)?.owns ?? {}, r.owns).ops,
        })),
      ];
      if (moved.length === 0) return last;
      const followOps = moved.flatMap((m) => [...m.ops, recordOp(m.rec)]);
      const followRecs = moved.map((m) => m.rec);
      if (last.status !== 'applied') return { status: 'applied', ops: followOps, records: followRecs };
      return {
        status: 'applied',
        ops: [...followOps, ...last.ops],
        records: [...followRecs, ...last.records],
      };
    }
    case 'floatingip': {
      const fip = dataOf(neutronFloatingIpSchema, data, 'floatingip');
      if (fip.id !== id) throw new RowError(`data.id ${fip.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, floatingIpOwns(fip, revision, view));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'tap_service': {
      const ts = dataOf(neutronTapServiceSchema, data, 'tap service');
      if (ts.id !== id) throw new RowError(`data.id ${ts.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, tapServiceOwns(before, id));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'tap_flow': {
      const tf = dataOf(neutronTapFlowSchema, data, 'tap flow');
      if (tf.id !== id) throw new RowError(`data.id ${tf.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, tapFlowOwns(tf, revision, view));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'port': {
      const port = dataOf(neutronPortSchema, data, 'port');
      if (port.id !== id) throw new RowError(`data.id ${port.id} differs from resource_id ${id}`);
      const net = view.get('network', port.network_id);
      const mtu = net && net.deleted_at === null ? net.mtu : null;
      const netQos = networkQosOf(net, port.qos_network_policy_id);
      const after = withQos(portOwns(port, revision, mtu), port.qos_policy_id, netQos);
      const { ops, owns } = diffOwns(before, placeRouterPort(after, view));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'qos_policy': {
      const policy = dataOf(neutronQosPolicySchema, data, 'QoS policy');
      if (policy.id !== id) throw new RowError(`data.id ${policy.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, qosPolicyOwns(policy, revision));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'security_group': {
      const sg = dataOf(neutronSecurityGroupSchema, data, 'security_group');
      if (sg.id !== id) throw new RowError(`data.id ${sg.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, { [keys.secGroup(id)]: securityGroup(sg, revision) });
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'network': {
      const net: NeutronNetwork = dataOf(neutronNetworkSchema, data, 'network');
      if (net.id !== id) throw new RowError(`data.id ${net.id} differs from resource_id ${id}`);
      if (net.mtu !== null && net.mtu < 68) throw new RowError(`invalid network: mtu ${net.mtu} is below 68`);
      const qos = net.qos_policy_id;
      const next: NeutronRecord = {
        kind,
        id,
        revision,
        deleted_at: null,
        owns: {},
        mtu: net.mtu,
        ...(qos !== null ? { qos_policy_id: qos } : {}),
      };
      const live = old && old.deleted_at === null ? old : null;
      const mtuChanged = net.mtu !== null && net.mtu !== (live?.mtu ?? null);
      if (!mtuChanged && qos === (live?.qos_policy_id ?? null)) return outcome(old, next, []);
      // An MTU or QoS change reaches every bound port of the network (translate-qos.ts).
      const ops: WriteOp[] = [];
      const records = portsFollowingNetwork(view, id, mtuChanged ? net.mtu : null, qos);
      for (const r of records) {
        const before = view.get('port', r.id)?.owns ?? {};
        for (const [key, value] of Object.entries(r.owns))
          if (before[key] !== value) ops.push({ op: 'put', key, value: JSON.stringify(value) });
        ops.push(recordOp(r));
      }
      const last = outcome(old, next, []);
      if (last.status !== 'applied') return { status: 'applied', ops, records };
      return { status: 'applied', ops: [...ops, ...last.ops], records: [...records, ...last.records] };
    }
  }
}

function remove(
  kind: NeutronKind,
  id: string,
  revision: number | null,
  view: RecordView,
  opts: ApplyOptions,
): Outcome {
  const old = view.get(kind, id);
  if (old && old.deleted_at !== null) return { status: 'unchanged' };
  // A delete is final whatever its revision: Neutron never reuses an id.
  const ops = diffOwns(old?.owns ?? {}, {}).ops;
  if (kind === 'security_group') ops.push({ op: 'deletePrefix', prefix: keys.remoteGroup(id) });
  const tomb: NeutronRecord = {
    kind,
    id,
    revision: Math.max(old?.revision ?? 0, revision ?? 0),
    deleted_at: opts.now,
    owns: {},
    mtu: null,
  };
  return outcome(old, tomb, ops);
}

/** Translates one journal row (as received) against the records in `view`. Never throws on bad input. */
export function applyRow(raw: unknown, view: RecordView, opts: ApplyOptions): Outcome {
  const env = run(journalRowSchema, raw);
  if (!env.ok) return { status: 'rejected', error: `invalid row: ${formatErrors(env.errors)}` };
  const row: JournalRow = env.value;
  const kind = KIND_OF[row.resource];
  if (!kind) return { status: 'rejected', error: `unsupported resource "${row.resource}"` };
  if (row.op !== 'create' && row.op !== 'update' && row.op !== 'delete')
    return { status: 'rejected', error: `unsupported op "${row.op}" (create, update, delete)` };
  if (kind === 'subnet') return { status: 'ignored' };
  const id = run(uuid, row.resource_id);
  if (!id.ok) return { status: 'rejected', error: `invalid resource_id: ${formatErrors(id.errors)}` };
  try {
    if (row.op === 'delete') return remove(kind, id.value, row.revision, view, opts);
    if (row.revision === null) return { status: 'rejected', error: `a ${row.op} row needs a revision` };
    return upsert(kind, id.value, row.revision, row.data, view, opts);
  } catch (e) {
    if (e instanceof RowError) return { status: 'rejected', error: e.message };
    throw e;
  }
}

/** Applies a full-sync resource (a Neutron dict with revision_number) as an update. */
export function applyResource(
  kind: NeutronKind,
  data: unknown,
  view: RecordView,
  opts: ApplyOptions,
): Outcome {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  return applyRow(
    { id: 0, resource: kind, op: 'update', resource_id: d.id, revision: d.revision_number ?? null, data },
    view,
    { ...opts, revive: true },
  );
}

/** Marks `kind/id` deleted (full sync: Neutron no longer has it). */
export function applyDelete(kind: NeutronKind, id: string, view: RecordView, opts: ApplyOptions): Outcome {
  return remove(kind, id, null, view, opts);
}

/** A RecordView over a map of records that also remembers this batch's changes. */
export class Overlay implements RecordView {
  private readonly map = new Map<string, NeutronRecord>();

  constructor(records: Iterable<NeutronRecord> = []) {
    for (const r of records) this.set(r);
  }

  private static k(kind: NeutronKind, id: string): string {
    return `${kind}/${id}`;
  }

  get(kind: NeutronKind, id: string): NeutronRecord | null {
    return this.map.get(Overlay.k(kind, id)) ?? null;
  }

  set(r: NeutronRecord): void {
    this.map.set(Overlay.k(r.kind, r.id), r);
  }

  all(): NeutronRecord[] {
    return [...this.map.values()];
  }

  floatingIpsOfRouter(routerId: string): NeutronRecord[] {
    return this.all().filter(
      (r) =>
        r.kind === 'floatingip' &&
        r.deleted_at === null &&
        Object.entries(r.owns).some(
          ([k, v]) => parseKey(k)?.kind === 'floatingIp' && (v as FloatingIpDoc).router_id === routerId,
        ),
    );
  }

  portsOfRouter(routerId: string): NeutronRecord[] {
    return this.all().filter(
      (r) =>
        r.kind === 'port' &&
        r.deleted_at === null &&
        Object.entries(r.owns).some(
          ([k, v]) =>
            parseKey(k)?.kind === 'portBinding' && (v as PortBinding).router?.router_id === routerId,
        ),
    );
  }

  portsOnNetwork(networkId: string): NeutronRecord[] {
    return this.all().filter(
      (r) =>
        r.kind === 'port' &&
        r.deleted_at === null &&
        Object.entries(r.owns).some(
          ([k, v]) => parseKey(k)?.kind === 'portBinding' && (v as PortBinding).network_id === networkId,
        ),
    );
  }
}

export interface BatchResult {
  /** All writes of the batch, in row order (each row's record after its keys). */
  ops: WriteOp[];
  /** Row ids that are settled: applied, already applied, stale, ignored or rejected. */
  done: number[];
  rejected: { id: number; error: string }[];
  stale: { id: number; reason: string }[];
  applied: number;
}

/** Journal id of a raw row; rows without one are refused by the caller before translation. */
export function rowId(raw: unknown): number | null {
  const id = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).id : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

/** Translates rows in order; each row sees the records left by the rows before it. */
export function translateBatch(rows: unknown[], view: Overlay, opts: ApplyOptions): BatchResult {
  const res: BatchResult = { ops: [], done: [], rejected: [], stale: [], applied: 0 };
  for (const raw of rows) {
    const id = rowId(raw) ?? -1;
    const out = applyRow(raw, view, opts);
    res.done.push(id);
    if (out.status === 'applied') {
      res.ops.push(...out.ops);
      for (const r of out.records) view.set(r);
      res.applied++;
    } else if (out.status === 'rejected') {
      res.rejected.push({ id, error: out.error });
    } else if (out.status === 'stale') {
      res.stale.push({ id, reason: out.reason });
    }
  }
  return res;
}
