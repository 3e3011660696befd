// A full sync applied page by page (docs/controller-api.md, "POST /v1/sync/session"), so that no
// step holds Neutron's whole state or etcd's whole keyspace in memory (1,000,000 ports is several
// GiB of parsed dicts and values):
//
// - each page is translated against the records it names (and those its resources refer to: a
//   port's network, its router; a floating IP's router; a tap flow's service), read from etcd, and
//   its creates and updates are written at once, fenced by the leader's guard. A page writes only:
//   a key its new record no longer owns (a port moved to another host) is left for the commit.
// - the session keeps which resources it saw (a 12-byte hash per id) and the rejected ones;
// - the commit streams etcd's records, kind by kind, and removes those Neutron no longer has (not
//   seen, and not changed by a journal row after the token), then streams the desired-state keys:
//   a key no live record owns is deleted (a removed resource's, a moved port's old binding, a key
//   nobody owns); one whose value differs from its owner's, or is missing, is rewritten. Only the
//   owned keys are held then, as a hash of the key and of its value.
//
// The valve judges the commit's deletions as it judges one POST /v1/sync (held: nothing deleted,
// the pages' creates and updates stay), and the token keeps its meaning: a tombstone newer than it
// is not revived by a page, a record newer than it is not deleted by the commit.
import { createHash } from 'node:crypto';
import { keys, type NeutronKind, type NeutronRecord, NEUTRON_KINDS, parseKey } from '../model/keyspace.ts';
import { kidOf, payloadOf } from '../model/signing.ts';
import type { KeyValue, Store } from '../store/index.ts';
import type { Logger } from '../util/log.ts';
import { Slicer } from '../util/slice.ts';
import { applyDelete, applyResource, Overlay, recordOp, type WriteOp } from './apply-records.ts';
import type { SyncReply } from './intake.ts';
import { decodeRecord, MANAGED, type SyncBody } from './sync-plan.ts';
import { canonical } from './translate.ts';

/** The kind each list of a sync body carries. */
export const LIST_KIND = {
  networks: 'network',
  security_groups: 'security_group',
  qos_policies: 'qos_policy',
  routers: 'router',
  ports: 'port',
  floatingips: 'floatingip',
  tap_services: 'tap_service',
  tap_flows: 'tap_flow',
} as const satisfies Record<string, keyof SyncBody>;
export type SyncList = keyof typeof LIST_KIND;

/** Fields of a resource naming another one whose record its translation reads. */
const REFERS: Record<string, NeutronKind> = {
  network_id: 'network',
  device_id: 'router',
  router_id: 'router',
  tap_service_id: 'tap_service',
};

/** The prefixes holding the desired-state keys a full sync owns (as POST /v1/sync reads them). */
const DESIRED_PREFIXES = [keys.nodes, keys.secGroups, keys.remoteGroups, keys.erspanConfigs];

/** 96 bits of SHA-1: ids and keys kept for a session, compactly; a collision only keeps a key. */
const idHash = (s: string): string => createHash('sha1').update(s).digest('base64').slice(0, 16);
/** 32 bits of a value's canonical form: a collision leaves one changed value unrepaired. */
const valueHash = (s: string): number => createHash('sha1').update(s).digest().readInt32BE(0);

/** What a paged sync remembers between its pages. */
export class PagedSyncState {
  private readonly seen = new Map<NeutronKind, Set<string>>();
  readonly rejected: SyncReply['rejected'] = [];
  /** Desired-state keys the pages wrote. */
  written = 0;
  kept = 0;
  rows = 0;
  /** Lists and the resources of each, for the log. */
  readonly counts = new Map<NeutronKind, number>();

  /** `kinds`: the lists the session sends (a kind not among them is left as it is). */
  constructor(
    readonly token: number | null,
    readonly kinds: ReadonlySet<NeutronKind>,
  ) {
    for (const k of kinds) this.seen.set(k, new Set());
  }

  see(kind: NeutronKind, id: string): void {
    this.seen.get(kind)?.add(idHash(id));
  }

  saw(kind: NeutronKind, id: string): boolean {
    return this.seen.get(kind)?.has(idHash(id)) ?? false;
  }
}

export interface PagedContext {
  store: Store;
  log: Logger;
  now: string;
  kid: string | null;
  /** Fenced (and signed) writes. */
  write(ops: WriteOp[], onWritten?: (n: number) => void): Promise<void>;
  read<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

const lower = (v: unknown): string | null => (typeof v === 'string' ? v.toLowerCase() : null);

/** One page: its lists in the order of SYNC_LISTS; writes its creates and updates. */
export async function applyPage(
  ctx: PagedContext,
  st: PagedSyncState,
  lists: [SyncList, unknown[]][],
): Promise<{ writes: number }> {
  const slice = new Slicer();
  const wanted: string[] = [];
  for (const [list, items] of lists) {
    for (const item of items) {
      const d = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      const id = lower(d.id);
      if (id) wanted.push(keys.neutronRecord(LIST_KIND[list], id));
      for (const [field, kind] of Object.entries(REFERS)) {
        const ref = lower(d[field]);
        if (ref && /^[0-9a-f-]{36}$/.test(ref)) wanted.push(keys.neutronRecord(kind, ref));
      }
    }
  }
  const got = await ctx.read('controller records', () => ctx.store.getMany(wanted));
  const view = new Overlay();
  for (const kv of got.values()) {
    await slice.tick();
    const r = decodeRecord(kv, ctx.log);
    if (r) view.set(r);
  }
  const ops: WriteOp[] = [];
  for (const [list, items] of lists) {
    const kind = LIST_KIND[list];
    st.counts.set(kind, (st.counts.get(kind) ?? 0) + items.length);
    for (const item of items) {
      await slice.tick();
      st.rows++;
      const id = lower((item as { id?: unknown } | null)?.id);
      if (id) {
        st.see(kind, id);
        const kv = got.get(keys.neutronRecord(kind, id));
        if (st.token !== null && kv && kv.modRevision > st.token && view.get(kind, id)?.deleted_at) {
          // Deleted by a row newer than the snapshot: the snapshot must not bring it back.
          st.kept++;
          continue;
        }
      }
      const out = applyResource(kind, item, view, { now: ctx.now });
      if (out.status === 'rejected') st.rejected.push({ resource: kind, id, error: out.error });
      if (out.status !== 'applied') continue;
      for (const r of out.records) view.set(r);
      // Deletions wait for the commit (and its valve).
      for (const op of out.ops) {
        if (op.op !== 'put') continue;
        ops.push(op);
        if (parseKey(op.key)?.kind !== 'neutronRecord') st.written++;
      }
    }
  }
  await ctx.write(ops);
  return { writes: ops.length };
}

export interface PagedCommitPlan {
  ops: WriteOp[];
  deletions: string[];
  /** Desired-state keys netvpp holds now (the valve's measure). */
  managed: number;
  marker: KeyValue | undefined;
  reply: SyncReply;
}

/** The commit: what removes the resources Neutron no longer has and repairs the desired state. */
export async function planPagedCommit(
  ctx: PagedContext,
  st: PagedSyncState,
  revision: number,
): Promise<PagedCommitPlan> {
  const slice = new Slicer();
  const { store } = ctx;
  /** Owned desired-state keys: key hash → value hash. */
  const owned = new Map<string, number>();
  const removed: NeutronRecord[] = [];
  const removedKeys = new Set<string>();
  let kept = 0;
  const records = (each: (r: NeutronRecord, kv: KeyValue) => void) =>
    ctx.read('controller records', async () => {
      for (const kind of NEUTRON_KINDS)
        await store.scanPrefix(keys.neutronKind(kind), revision, async (kvs) => {
          for (const kv of kvs) {
            await slice.tick();
            const r = decodeRecord(kv, ctx.log);
            if (r && r.deleted_at === null) each(r, kv);
          }
        });
    });
  await records((r, kv) => {
    if (st.kinds.has(r.kind) && !st.saw(r.kind, r.id)) {
      if (st.token !== null && kv.modRevision > st.token) {
        // Created (or changed) by a row newer than the snapshot: not the snapshot's to delete.
        kept++;
      } else {
        const out = applyDelete(r.kind, r.id, new Overlay([r]), { now: ctx.now });
        if (out.status === 'applied') removed.push(...out.records);
        removedKeys.add(kv.key);
        return;
      }
    }
    for (const [key, value] of Object.entries(r.owns)) owned.set(idHash(key), valueHash(canonical(value)));
  });

  const deletions: string[] = [];
  const repair = new Set<string>();
  let managed = 0;
  await ctx.read('the desired state', async () => {
    for (const p of DESIRED_PREFIXES)
      await store.scanPrefix(p, revision, async (kvs) => {
        for (const kv of kvs) {
          await slice.tick();
          const k = parseKey(kv.key);
          if (!k || !MANAGED.has(k.kind)) continue;
          managed++;
          const h = idHash(kv.key);
          const want = owned.get(h);
          if (want === undefined) {
            deletions.push(kv.key);
            continue;
          }
          owned.delete(h);
          if (valueHash(canonical(safeParse(payloadOf(kv.value)))) !== want || kidOf(kv.value) !== ctx.kid)
            repair.add(h);
        }
      });
  });
  // What is left was owned and is missing from etcd.
  for (const h of owned.keys()) repair.add(h);
  owned.clear();
  const repairs: WriteOp[] = [];
  if (repair.size > 0)
    await records((r, kv) => {
      if (removedKeys.has(kv.key)) return;
      for (const [key, value] of Object.entries(r.owns))
        if (repair.has(idHash(key))) repairs.push({ op: 'put', key, value: JSON.stringify(value) });
    });
  const { kv: marker } = await ctx.read('the sync marker', () => store.get(keys.syncMarker));
  const ops: WriteOp[] = [
    ...deletions.map((key): WriteOp => ({ op: 'delete', key })),
    ...repairs,
    ...removed.map(recordOp),
  ];
  return {
    ops,
    deletions,
    managed,
    marker,
    reply: {
      rejected: st.rejected,
      written: st.written + repairs.length,
      deleted: deletions.length,
      kept: st.kept + kept,
    },
  };
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
