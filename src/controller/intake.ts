// Journal and full-sync intake: loads the records the rows need, translates (translate.ts), and
// writes the result in batched etcd transactions fenced by the leader's guard. One batch at a time:
// rows are ordered, and the records a batch reads must not change under it.
import { GuardFailedError, type Guard, type KeyValue, type Store } from '../store/index.ts';
import {
  decodeValue,
  keys,
  type NeutronKind,
  NEUTRON_KINDS,
  type NeutronRecord,
  parseKey,
  type ParsedKey,
} from '../model/keyspace.ts';
import type { Logger } from '../util/log.ts';
import {
  applyDelete,
  applyResource,
  canonical,
  Overlay,
  recordOp,
  rowId,
  translateBatch,
  type WriteOp,
} from './translate.ts';

/** The request can't be served by this instance now; the driver should retry (HTTP 503). */
export class UnavailableError extends Error {
  constructor(
    message: string,
    readonly leaderUrl: string | null = null,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** The request itself is malformed (HTTP 400). */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

export interface JournalReply {
  done: number[];
  rejected: { id: number; error: string }[];
}

export interface SyncReply {
  rejected: { resource: NeutronKind; id: string | null; error: string }[];
  /** Desired-state keys written or deleted to make etcd match Neutron. */
  written: number;
  deleted: number;
}

export interface IntakeOptions {
  store: Store;
  /** The leader's guard, or undefined when this instance doesn't lead. */
  guard: () => Guard | undefined;
  log: Logger;
  now?: () => Date;
}

/** Desired-state key kinds the controller owns; a full sync deletes such keys nobody owns. */
const MANAGED: ReadonlySet<ParsedKey['kind']> = new Set(['portBinding', 'secGroup', 'remoteGroupMember']);

const PARALLEL_READS = 64;

function decodeRecord(kv: KeyValue, log: Logger): NeutronRecord | null {
  const r = decodeValue('neutronRecord', kv.value);
  if (r.ok) return r.value;
  // A damaged record is treated as absent: the next row rewrites it, a full sync removes leftovers.
  log.warn('ignoring an unreadable controller record', { key: kv.key, error: r.errors[0]?.message });
  return null;
}

export class Intake {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly now: () => Date;

  constructor(private readonly o: IntakeOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** Runs `fn` after every earlier call has finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private leaderGuard(): Guard {
    const g = this.o.guard();
    if (!g) throw new UnavailableError('this controller is not the leader');
    return g;
  }

  private async write(ops: WriteOp[], guard: Guard): Promise<void> {
    if (ops.length === 0) return;
    try {
      await this.o.store.txnBatch(ops, { guard });
    } catch (e) {
      if (e instanceof GuardFailedError) throw new UnavailableError('leadership lost while writing; retry');
      throw new UnavailableError(`etcd write failed: ${(e as Error).message}`);
    }
  }

  private async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new UnavailableError(`etcd read of ${what} failed: ${(e as Error).message}`);
    }
  }

  /** Loads the given records (absent ones are simply missing from the result). */
  private async loadRecords(recordKeys: string[]): Promise<NeutronRecord[]> {
    const out: NeutronRecord[] = [];
    const list = [...new Set(recordKeys)];
    for (let i = 0; i < list.length; i += PARALLEL_READS) {
      const got = await this.read('controller records', () =>
        Promise.all(list.slice(i, i + PARALLEL_READS).map((k) => this.o.store.get(k))),
      );
      for (const { kv } of got) {
        const r = kv && decodeRecord(kv, this.o.log);
        if (r) out.push(r);
      }
    }
    return out;
  }

  private async loadKind(kind: NeutronKind): Promise<NeutronRecord[]> {
    const { kvs } = await this.read(`${kind} records`, () => this.o.store.getPrefix(keys.neutronKind(kind)));
    return kvs.flatMap((kv) => decodeRecord(kv, this.o.log) ?? []);
  }

  /** POST /v1/journal: applies rows in order; replies once every write is in etcd. */
  journal(body: unknown): Promise<JournalReply> {
    const rows = (body as { rows?: unknown } | null)?.rows;
    if (!Array.isArray(rows)) return Promise.reject(new BadRequestError('body must be {"rows": [...]}'));
    const noId = rows.findIndex((r) => rowId(r) === null);
    if (noId >= 0) return Promise.reject(new BadRequestError(`rows[${noId}] has no numeric "id"`));
    return this.serial(() => this.journalNow(rows));
  }

  private async journalNow(rows: unknown[]): Promise<JournalReply> {
    const guard = this.leaderGuard();
    const started = Date.now();
    const wanted: string[] = [];
    let networkRows = false;
    // The records the rows will consult (ids as translate.ts normalises them: lower case).
    const recordKey = (kind: NeutronKind, id: unknown): string | null => {
      if (typeof id !== 'string') return null;
      const key = `${keys.neutronKind(kind)}${id.toLowerCase()}`;
      return parseKey(key) ? key : null;
    };
    for (const raw of rows) {
      const r = raw as { resource?: unknown; resource_id?: unknown; data?: unknown };
      if (!(NEUTRON_KINDS as string[]).includes(r.resource as string)) continue;
      const kind = r.resource as NeutronKind;
      const own = recordKey(kind, r.resource_id);
      if (own) wanted.push(own);
      if (kind === 'network') networkRows = true;
      const net =
        kind === 'port' && recordKey('network', (r.data as { network_id?: unknown } | null)?.network_id);
      if (net) wanted.push(net);
    }
    const records = await this.loadRecords(wanted);
    // An MTU change on a network touches the bindings of all its ports.
    if (networkRows) records.push(...(await this.loadKind('port')));
    const view = new Overlay(records);
    const res = translateBatch(rows, view, { now: this.now().toISOString() });
    await this.write(res.ops, guard);
    for (const r of res.rejected) this.o.log.warn('journal row rejected', { row: r.id, error: r.error });
    for (const s of res.stale) this.o.log.debug('journal row ignored', { row: s.id, reason: s.reason });
    this.o.log.info('journal batch applied', {
      rows: rows.length,
      applied: res.applied,
      rejected: res.rejected.length,
      stale: res.stale.length,
      writes: res.ops.length,
      ms: Date.now() - started,
    });
    return { done: res.done, rejected: res.rejected };
  }

  /** POST /v1/sync: makes etcd match the complete Neutron state given. */
  sync(body: unknown): Promise<SyncReply> {
    const b = (body ?? {}) as Record<string, unknown>;
    for (const f of ['networks', 'ports', 'security_groups']) {
      if (!Array.isArray(b[f]))
        return Promise.reject(new BadRequestError(`body needs "${f}": a list (send [] for none)`));
    }
    return this.serial(() =>
      this.syncNow(b.networks as unknown[], b.ports as unknown[], b.security_groups as unknown[]),
    );
  }

  private async syncNow(networks: unknown[], ports: unknown[], sgs: unknown[]): Promise<SyncReply> {
    const guard = this.leaderGuard();
    const started = Date.now();
    const now = this.now().toISOString();
    const { kvs } = await this.read('the keyspace', () =>
      this.o.store.getPrefixes([keys.neutron, keys.nodes, keys.secGroups, keys.remoteGroups]),
    );
    const loaded = new Map<string, string>();
    const actual = new Map<string, string>();
    const view = new Overlay();
    for (const kv of kvs) {
      const k = parseKey(kv.key);
      if (k?.kind === 'neutronRecord') {
        const r = decodeRecord(kv, this.o.log);
        if (r) {
          view.set(r);
          loaded.set(kv.key, canonical(r));
        }
      } else if (k && MANAGED.has(k.kind)) {
        actual.set(kv.key, kv.value);
      }
    }

    const reply: SyncReply = { rejected: [], written: 0, deleted: 0 };
    const present: Record<NeutronKind, Set<string>> = {
      network: new Set(),
      port: new Set(),
      security_group: new Set(),
    };
    const batches: [NeutronKind, unknown[]][] = [
      ['network', networks],
      ['security_group', sgs],
      ['port', ports],
    ];
    for (const [kind, items] of batches) {
      for (const item of items) {
        const id = (item as { id?: unknown } | null)?.id;
        if (typeof id === 'string') present[kind].add(id.toLowerCase());
        const out = applyResource(kind, item, view, { now });
        if (out.status === 'applied') for (const r of out.records) view.set(r);
        if (out.status === 'rejected')
          reply.rejected.push({ resource: kind, id: typeof id === 'string' ? id : null, error: out.error });
      }
    }
    for (const r of view.all()) {
      if (r.deleted_at !== null || present[r.kind].has(r.id)) continue;
      const out = applyDelete(r.kind, r.id, view, { now });
      if (out.status === 'applied') for (const rec of out.records) view.set(rec);
    }

    // Desired = what the live records own; write the difference from what etcd really holds, which
    // also repairs keys changed or removed behind the controller's back.
    const desired = new Map<string, string>();
    for (const r of view.all()) {
      if (r.deleted_at !== null) continue;
      for (const [key, value] of Object.entries(r.owns)) desired.set(key, JSON.stringify(value));
    }
    const ops: WriteOp[] = [];
    for (const key of actual.keys()) {
      if (!desired.has(key)) {
        ops.push({ op: 'delete', key });
        reply.deleted++;
      }
    }
    for (const [key, value] of desired) {
      const cur = actual.get(key);
      if (cur === undefined || canonical(safeParse(cur)) !== canonical(JSON.parse(value))) {
        ops.push({ op: 'put', key, value });
        reply.written++;
      }
    }
    for (const r of view.all()) {
      const key = keys.neutronRecord(r.kind, r.id);
      if (loaded.get(key) !== canonical(r)) ops.push(recordOp(r));
    }
    await this.write(ops, guard);
    this.o.log.info('full sync applied', {
      networks: networks.length,
      ports: ports.length,
      security_groups: sgs.length,
      rejected: reply.rejected.length,
      written: reply.written,
      deleted: reply.deleted,
      ms: Date.now() - started,
    });
    return reply;
  }

  /** Drops tombstones older than `ttlMs`; returns how many. */
  gcTombstones(ttlMs: number): Promise<number> {
    return this.serial(async () => {
      const guard = this.leaderGuard();
      const cutoff = this.now().getTime() - ttlMs;
      const ops: WriteOp[] = [];
      for (const kind of NEUTRON_KINDS) {
        for (const r of await this.loadKind(kind)) {
          if (r.deleted_at !== null && Date.parse(r.deleted_at) < cutoff)
            ops.push({ op: 'delete', key: keys.neutronRecord(r.kind, r.id) });
        }
      }
      await this.write(ops, guard);
      if (ops.length) this.o.log.info('old tombstones removed', { count: ops.length });
      return ops.length;
    });
  }
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
