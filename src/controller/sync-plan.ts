// The planning half of a full sync (intake.ts carries it out): from the keyspace as read and the
// driver's complete lists, the records and desired-state writes that make etcd match Neutron.
// Pure apart from logging unreadable records, so the valve can judge it before anything is written.
import type { KeyValue } from '../store/index.ts';
import {
  decodeValue,
  keys,
  type NeutronKind,
  type NeutronRecord,
  parseKey,
  type ParsedKey,
} from '../model/keyspace.ts';
import { kidOf, payloadOf } from '../model/signing.ts';
import type { Logger } from '../util/log.ts';
import { Slicer } from '../util/slice.ts';
import { canonical } from './translate.ts';
import { applyDelete, applyResource, Overlay, recordOp, type WriteOp } from './apply-records.ts';
import type { SyncReply } from './intake.ts';

/** A full sync's resources per kind; null: the driver sent no list (an older driver), kept as is. */
export type SyncBody = Record<'network' | 'security_group' | 'port', unknown[]> &
  Record<'router' | 'floatingip' | 'qos_policy' | 'tap_service' | 'tap_flow', unknown[] | null>;

/** Desired-state key kinds the controller owns; a full sync deletes such keys nobody owns. */
export const MANAGED: ReadonlySet<ParsedKey['kind']> = new Set([
  'portBinding',
  'secGroup',
  'remoteGroupMember',
  'router',
  'floatingIp',
  'qosPolicy',
  'tapFlow',
  'erspanConfig',
]);

export function decodeRecord(kv: KeyValue, log: Logger): NeutronRecord | null {
  const r = decodeValue('neutronRecord', kv.value);
  if (r.ok) return r.value;
  // A damaged record is treated as absent: the next row rewrites it, a full sync removes leftovers.
  log.warn('ignoring an unreadable controller record', { key: kv.key, error: r.errors[0]?.message });
  return null;
}

export interface SyncPlan {
  ops: WriteOp[];
  /** The desired-state keys the sync would delete. */
  deletions: string[];
  reply: SyncReply;
  /** Rows the driver sent. */
  rows: number;
  /** Desired-state keys netvpp holds now (what the valve measures deletions against). */
  managed: number;
  marker: KeyValue | undefined;
}

/**
 * With `token` (etcd's revision before the driver read its snapshot): a record changed after it was
 * written by a journal row the snapshot may not include yet, so the snapshot does not delete it when
 * absent, nor revive it when it is a tombstone; revisions decide everything else as usual.
 */
export async function planSync(
  kvs: KeyValue[],
  body: SyncBody,
  token: number | null,
  at: { now: string; kid: string | null; log: Logger },
): Promise<SyncPlan> {
  const { now, log } = at;
  // Tens of thousands of resources: the loops below yield to the event loop now and then (slice.ts).
  const slice = new Slicer();
  const loaded = new Map<string, string>();
  const actual = new Map<string, string>();
  const view = new Overlay();
  /** Records written after the token: `kind/id`. */
  const newer = new Set<string>();
  let marker: KeyValue | undefined;
  for (const kv of kvs) {
    await slice.tick();
    const k = parseKey(kv.key);
    if (k?.kind === 'neutronRecord') {
      const r = decodeRecord(kv, log);
      if (r) {
        view.set(r);
        loaded.set(kv.key, canonical(r));
        if (token !== null && kv.modRevision > token) newer.add(`${r.kind}/${r.id}`);
      }
    } else if (k?.kind === 'syncMarker') {
      marker = kv;
    } else if (k && MANAGED.has(k.kind)) {
      actual.set(kv.key, kv.value);
    }
  }

  const reply: SyncReply = { rejected: [], written: 0, deleted: 0, kept: 0 };
  const present: Record<NeutronKind, Set<string>> = {
    network: new Set(),
    port: new Set(),
    security_group: new Set(),
    router: new Set(),
    floatingip: new Set(),
    qos_policy: new Set(),
    tap_service: new Set(),
    tap_flow: new Set(),
  };
  // Routers before floating IPs: a floating IP goes to its router's host. Tap services before their
  // flows: a flow reads its service's ERSPAN setting.
  const order: NeutronKind[] = [
    'network',
    'security_group',
    'qos_policy',
    'router',
    'port',
    'floatingip',
    'tap_service',
    'tap_flow',
  ];
  let rows = 0;
  for (const kind of order) {
    const items = body[kind] ?? [];
    rows += items.length;
    for (const item of items) {
      await slice.tick();
      const id = (item as { id?: unknown } | null)?.id;
      if (typeof id === 'string') {
        const lower = id.toLowerCase();
        present[kind].add(lower);
        if (newer.has(`${kind}/${lower}`) && view.get(kind, lower)?.deleted_at) {
          // Deleted by a row newer than the snapshot: the snapshot must not bring it back.
          reply.kept++;
          continue;
        }
      }
      const out = applyResource(kind, item, view, { now });
      if (out.status === 'applied') for (const r of out.records) view.set(r);
      if (out.status === 'rejected')
        reply.rejected.push({ resource: kind, id: typeof id === 'string' ? id : null, error: out.error });
    }
  }
  for (const r of view.all()) {
    await slice.tick();
    if (r.deleted_at !== null || present[r.kind].has(r.id) || body[r.kind] === null) continue;
    if (newer.has(`${r.kind}/${r.id}`)) {
      // Created (or changed) by a row newer than the snapshot: not the snapshot's to delete.
      reply.kept++;
      continue;
    }
    const out = applyDelete(r.kind, r.id, view, { now });
    if (out.status === 'applied') for (const rec of out.records) view.set(rec);
  }

  // Desired = what the live records own; write the difference from what etcd really holds, which
  // also repairs keys changed or removed behind the controller's back.
  const desired = new Map<string, string>();
  for (const r of view.all()) {
    await slice.tick();
    if (r.deleted_at !== null) continue;
    for (const [key, value] of Object.entries(r.owns)) desired.set(key, JSON.stringify(value));
  }
  const ops: WriteOp[] = [];
  const deletions: string[] = [];
  for (const key of actual.keys()) {
    if (!desired.has(key)) {
      ops.push({ op: 'delete', key });
      deletions.push(key);
      reply.deleted++;
    }
  }
  for (const [key, value] of desired) {
    await slice.tick();
    const cur = actual.get(key);
    const signedBy = cur === undefined ? undefined : kidOf(cur);
    if (
      cur === undefined ||
      canonical(safeParse(payloadOf(cur))) !== canonical(JSON.parse(value)) ||
      signedBy !== at.kid
    ) {
      ops.push({ op: 'put', key, value });
      reply.written++;
    }
  }
  for (const r of view.all()) {
    await slice.tick();
    const key = keys.neutronRecord(r.kind, r.id);
    if (loaded.get(key) !== canonical(r)) ops.push(recordOp(r));
  }
  return { ops, deletions, reply, rows, managed: actual.size, marker };
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
