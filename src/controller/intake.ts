// Journal and full-sync intake: loads the records the rows need, translates (translate.ts), and
// writes the result in batched etcd transactions fenced by the leader's guard. One batch at a time:
// rows are ordered, and the records a batch reads must not change under it.
import { GuardFailedError, type Guard, type KeyValue } from '../store/index.ts';
import {
  decodeValue,
  encodeValue,
  keys,
  type SyncMarker,
  type NeutronKind,
  NEUTRON_KINDS,
  type NeutronRecord,
  parseKey,
} from '../model/keyspace.ts';
import { kidOf } from '../model/signing.ts';
import { ProgressTracker } from '../util/progress.ts';
import { Slicer } from '../util/slice.ts';
import {
  AbandonedError,
  BadRequestError,
  BusyError,
  NotFoundError,
  TooLargeError,
  UnavailableError,
} from './errors.ts';
import { JournalBacklog, parseBacklog } from './journal-backlog.ts';
import { recordsWanted } from './journal-records.ts';
import { RESIGN_PREFIXES, resignOps } from './resign.ts';
import { decodeRecord, MANAGED, planSync, type SyncBody } from './sync-plan.ts';
import {
  applyPage,
  LIST_KIND,
  type PagedContext,
  type PagedSyncState,
  planPagedCommit,
  type SyncList,
} from './sync-paged.ts';
import { DeleteValve, type HeldSync } from './valve.ts';
import { Overlay, rowId, translateBatch, type WriteOp } from './apply-records.ts';
import type { IntakeOptions, JournalReply, SyncReply, SyncStatus } from './intake-types.ts';
export type { AppliedStats, IntakeOptions, JournalReply, SyncReply, SyncStatus } from './intake-types.ts';
import { erspanRequestSchema } from './translate-taas.ts';
import { planErspan } from './taas-erspan.ts';
import { RowError } from './rows.ts';
import { formatErrors, run, uuid } from '../model/validate.ts';
import type { ErspanConfig } from '../model/keyspace.ts';

/** A full sync's content and token, or a paged sync's state, kept while it is held. */
type HeldBody = { lists: SyncBody; token: number | null } | { paged: PagedSyncState };

const PARALLEL_READS = 64;

export class Intake {
  private tail: Promise<unknown> = Promise.resolve();
  /** Requests (journal, sync) accepted and not finished yet. */
  private queued = 0;
  private readonly now: () => Date;
  private readonly valve: DeleteValve<HeldBody>;
  private readonly journalValve: DeleteValve<unknown[]>;
  /** The leader term (its guard) for which the sync marker has been checked. */
  private checkedTerm: Guard | undefined;
  /** Why a full sync is needed in that term; null when it isn't. */
  private needReason: string | null = null;
  /** The driver's journal backlog, as its batches report it (GET /v1/health, metrics). */
  readonly backlog = new JournalBacklog();
  /** A full sync in progress (GET /v1/health, netvpp status). */
  readonly progress = new ProgressTracker();

  constructor(private readonly o: IntakeOptions) {
    this.now = o.now ?? (() => new Date());
    const share = o.syncDeleteLimit ?? 0.5;
    this.valve = new DeleteValve(
      'sync',
      { share, minKeys: o.syncDeleteMinKeys ?? 10, floorSparesNone: true },
      o.log,
    );
    this.journalValve = new DeleteValve('journal', { share, minKeys: o.journalDeleteMinKeys ?? 100 }, o.log);
  }

  /** The full sync held for deleting too much, if any (GET /v1/sync/held). */
  get heldSync(): HeldSync | null {
    return this.valve.held;
  }

  /** The journal batch held for deleting too much, if any (GET /v1/sync/held). */
  get heldJournal(): HeldSync | null {
    return this.journalValve.held;
  }

  /** POST /v1/sync/confirm: applies the held sync or journal batch `id` (its deletions included). */
  confirmSync(id: unknown, signal?: AbortSignal): Promise<SyncReply | JournalReply> {
    if (typeof id !== 'string')
      return Promise.reject(new BadRequestError('body must be {"id": "<held sync id>"}'));
    const b = this.valve.body(id);
    if (b && 'paged' in b) return this.request(() => this.pagedCommitNow(b.paged, null, id), signal);
    if (b) return this.request(() => this.syncNow(b.lists, b.token, id), signal);
    const rows = this.journalValve.body(id);
    if (rows) return this.request(() => this.journalNow(rows, id), signal);
    return Promise.reject(
      new NotFoundError(`nothing held with id "${id}" (GET /v1/sync/held shows what is held now)`),
    );
  }

  /** Runs `fn` after every earlier call has finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Whether a new request would be refused for the queue's length (checked before reading a body). */
  get busy(): boolean {
    return this.queued >= (this.o.maxQueued ?? 8);
  }

  /**
   * A driver request in the queue: bounded, and skipped when its client left before its turn (the
   * driver will resend it; applying it now would only delay the requests still wanted).
   */
  private request<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this.busy)
      return Promise.reject(
        new BusyError(`${this.queued} requests are already waiting for the controller; retry later`),
      );
    this.queued++;
    return this.serial(() => {
      if (signal?.aborted) throw new AbandonedError();
      return fn();
    }).finally(() => this.queued--);
  }

  private leaderGuard(): Guard {
    const g = this.o.guard();
    if (!g) throw new UnavailableError('this controller is not the leader');
    return g;
  }

  /** `onWritten`: the ops each transaction wrote. */
  private async write(ops: WriteOp[], guard: Guard, onWritten?: (n: number) => void): Promise<void> {
    if (ops.length === 0) return;
    const signer = this.o.signer;
    // Every value the controller writes passes here, so every one is signed.
    let sealed = ops;
    if (signer) {
      // ~0.1 ms a value: a full sync's tens of thousands are signed in slices (util/slice.ts).
      const slice = new Slicer();
      sealed = [];
      for (const op of ops) {
        await slice.tick();
        sealed.push(op.op === 'put' ? { ...op, value: signer.seal(op.key, op.value) } : op);
      }
    }
    try {
      let last = 0;
      const onProgress = onWritten
        ? (applied: number) => {
            onWritten(applied - last);
            last = applied;
          }
        : undefined;
      const { revision } = await this.o.store.txnBatch(sealed, { guard, onProgress });
      this.o.revisions?.noteRevision(revision);
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

  /** How many desired-state keys netvpp holds (counted by etcd, not read). */
  private countDesired(): Promise<number> {
    return this.read('the desired-state count', async () => {
      let n = 0;
      for (const p of [keys.nodes, keys.secGroups, keys.remoteGroups])
        n += await this.o.store.etcd.getAll().prefix(this.o.store.abs(p)).count();
      return n;
    });
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

  // ---- "a full sync is needed" ---------------------------------------------------------------------

  /**
   * Whether this leader needs a full sync; undefined until the marker was checked in this term (or
   * when not leading).
   */
  get syncNeeded(): boolean | undefined {
    const g = this.o.guard();
    return g && g === this.checkedTerm ? this.needReason !== null : undefined;
  }

  /** Records that a full sync is needed; the first reason is the one reported. */
  private flag(reason: string): void {
    if (this.needReason !== null) return;
    this.o.log.warn('a full sync from Neutron is needed; asking the driver for one', { reason });
    this.needReason = reason;
  }

  /** Called when this instance starts leading: checks the marker before the term's first batch. */
  leading(): Promise<void> {
    return this.serial(async () => {
      const g = this.o.guard();
      if (g) await this.checkTerm(g);
    });
  }

  /** The marker went away or can't be trusted any more (marker.ts): ask the driver for a sync. */
  requireSync(reason: string, dropStaleMarker: boolean): Promise<void> {
    return this.serial(async () => {
      const g = this.o.guard();
      if (!g) return; // whoever leads next checks for itself
      await this.checkTerm(g);
      this.flag(reason);
      if (dropStaleMarker) await this.dropMarker(g);
    });
  }

  /** Once per leader term, before its first batch: is the marker there and trustworthy? */
  private async checkTerm(guard: Guard): Promise<void> {
    if (this.checkedTerm === guard) return;
    const before = this.o.revisions?.highWater ?? 0;
    const { kv, revision } = await this.read('the sync marker', () => this.o.store.get(keys.syncMarker));
    // A new term after etcd was wiped or restored starts on a store whose revision went back.
    this.o.revisions?.observe(revision, before);
    this.needReason = null;
    if (!kv) {
      this.flag('no sync marker in etcd: it is new, or lost its data');
    } else if (!decodeValue('syncMarker', kv.value).ok) {
      this.flag('the sync marker in etcd is unreadable');
    } else if (this.o.revisions?.stale) {
      this.flag('etcd went back in time (rebuilt, or restored from a backup) after the last sync');
      await this.dropMarker(guard);
    }
    if (this.o.signer) await this.resign(this.o.signer.kid, guard);
    this.checkedTerm = guard;
  }

  /** A new term: values etcd holds signed with another key (a rotation) are signed again. */
  private async resign(kid: string, guard: Guard): Promise<void> {
    const { kvs } = await this.read('the keyspace', () => this.o.store.getPrefixes([...RESIGN_PREFIXES]));
    const records: NeutronRecord[] = [];
    for (const kv of kvs) {
      if (parseKey(kv.key)?.kind !== 'neutronRecord') continue;
      const r = decodeRecord(kv, this.o.log);
      if (r) records.push(r);
    }
    const { ops, markerStale } = resignOps(kvs, records, kid);
    await this.write(ops, guard);
    if (ops.length)
      this.o.log.info('desired state signed again with the current key', { kid, values: ops.length });
    if (markerStale) this.flag(`the sync marker is not signed with the current key ${kid}`);
  }

  /** Deletes a marker that can't be trusted, so agents hold their deletions until the next sync. */
  private async dropMarker(guard: Guard): Promise<void> {
    try {
      await this.write([{ op: 'delete', key: keys.syncMarker }], guard);
      this.o.log.info('stale sync marker removed until the next full sync');
    } catch (e) {
      // The next sync overwrites it anyway.
      this.o.log.warn('could not remove the stale sync marker', { error: (e as Error).message });
    }
  }

  /** GET /v1/sync; `needed` is what the instance knows (the leader's word, else its marker watch). */
  async syncStatus(needed: boolean): Promise<SyncStatus> {
    const token = await this.read('the store revision', () => this.o.store.revision());
    return { sync_needed: needed, token: String(token) };
  }

  /** POST /v1/journal: applies rows in order; replies once every write is in etcd. */
  journal(body: unknown, signal?: AbortSignal): Promise<JournalReply> {
    const rows = (body as { rows?: unknown } | null)?.rows;
    if (!Array.isArray(rows)) return Promise.reject(new BadRequestError('body must be {"rows": [...]}'));
    const maxRows = this.o.maxRows ?? 1000;
    if (rows.length > maxRows)
      return Promise.reject(
        new TooLargeError(`${rows.length} rows in one request; this controller takes at most ${maxRows}`),
      );
    const noId = rows.findIndex((r) => rowId(r) === null);
    if (noId >= 0) return Promise.reject(new BadRequestError(`rows[${noId}] has no numeric "id"`));
    // Figures only: a malformed backlog is logged and never holds the rows up.
    const backlog = parseBacklog((body as { backlog?: unknown }).backlog);
    if (!backlog.ok) this.o.log.warn('journal request: backlog ignored', { error: backlog.error });
    return this.request(async () => {
      const reply = await this.journalNow(rows);
      if (backlog.ok && backlog.value) this.backlog.record(backlog.value, reply.done.length);
      return reply;
    }, signal);
  }

  private async journalNow(rows: unknown[], confirmed: string | null = null): Promise<JournalReply> {
    const guard = this.leaderGuard();
    await this.checkTerm(guard);
    const started = Date.now();
    const { wanted, networkRows, routerRows } = recordsWanted(rows);
    const records = await this.loadRecords(wanted);
    // An MTU change on a network touches the bindings of all its ports.
    if (networkRows) records.push(...(await this.loadKind('port')));
    // A router moved to another host takes its floating IPs along.
    if (routerRows) records.push(...(await this.loadKind('floatingip')));
    const view = new Overlay(records);
    const now = this.now().toISOString();
    const res = translateBatch(rows, view, { now });
    // Too many deletions wait for an operator, as for a full sync; nothing of the batch is written.
    const deletions = res.ops.flatMap((op) =>
      op.op === 'delete' && MANAGED.has(parseKey(op.key)?.kind ?? 'syncMarker') ? [op.key] : [],
    );
    const total = deletions.length > (this.o.journalDeleteMinKeys ?? 100) ? await this.countDesired() : 0;
    this.journalValve.check(deletions, total, rows, confirmed, now);
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
    this.o.onApplied?.({
      kind: 'journal',
      applied: res.applied,
      rejected: res.rejected.length,
      stale: res.stale.length,
      unchanged: rows.length - res.applied - res.rejected.length - res.stale.length,
      ms: Date.now() - started,
    });
    return { done: res.done, rejected: res.rejected, sync_needed: this.needReason !== null };
  }

  /**
   * PUT (body) or DELETE (null) /v1/taas/erspan/<tap_service_id>: the tap service's flows mirror in
   * ERSPAN to a collector, or again to its port (taas-erspan.ts). Replies with the setting now.
   */
  erspan(
    id: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<{ erspan: ErspanConfig | null; flows: number }> {
    const tsId = run(uuid, id);
    if (!tsId.ok) return Promise.reject(new BadRequestError(`not a tap service id: ${id}`));
    let req = null;
    if (body !== null) {
      const r = run(erspanRequestSchema, body);
      if (!r.ok)
        return Promise.reject(new BadRequestError(`invalid ERSPAN setting: ${formatErrors(r.errors)}`));
      req = r.value;
    }
    return this.request(async () => {
      const guard = this.leaderGuard();
      await this.checkTerm(guard);
      const records = [
        ...(await this.loadRecords([keys.neutronRecord('tap_service', tsId.value)])),
        ...(await this.loadKind('tap_flow')),
      ];
      let plan;
      try {
        plan = planErspan(records, tsId.value, req, this.now().toISOString());
      } catch (e) {
        if (e instanceof RowError) throw new NotFoundError(e.message);
        throw e;
      }
      await this.write(plan.ops, guard);
      this.o.log.info('tap service ERSPAN set', {
        tap_service: tsId.value,
        erspan: plan.config,
        flows: plan.flows,
      });
      return { erspan: plan.config, flows: plan.flows };
    }, signal);
  }

  /** GET /v1/taas/erspan/<tap_service_id>. */
  async erspanOf(id: string): Promise<ErspanConfig | null> {
    const tsId = run(uuid, id);
    if (!tsId.ok) throw new BadRequestError(`not a tap service id: ${id}`);
    const [rec] = await this.loadRecords([keys.neutronRecord('tap_service', tsId.value)]);
    if (!rec || rec.deleted_at !== null) throw new NotFoundError(`no tap service ${tsId.value}`);
    return (rec.owns[keys.erspanConfig(tsId.value)] as ErspanConfig | undefined) ?? null;
  }

  /** POST /v1/sync: makes etcd match the complete Neutron state given. */
  sync(body: unknown, signal?: AbortSignal): Promise<SyncReply> {
    const b = (body ?? {}) as Record<string, unknown>;
    for (const f of ['networks', 'ports', 'security_groups']) {
      if (!Array.isArray(b[f]))
        return Promise.reject(new BadRequestError(`body needs "${f}": a list (send [] for none)`));
    }
    let token: number | null = null;
    if (b.token !== undefined && b.token !== null) {
      const t = typeof b.token === 'string' ? b.token : typeof b.token === 'number' ? String(b.token) : '';
      if (!/^\d{1,15}$/.test(t))
        return Promise.reject(new BadRequestError('token must be a token returned by GET /v1/sync'));
      token = Number(t);
    }
    // Routers and floating IPs came later: a driver that sends no list for them leaves them alone.
    for (const f of ['routers', 'floatingips', 'qos_policies', 'tap_services', 'tap_flows']) {
      if (b[f] !== undefined && !Array.isArray(b[f]))
        return Promise.reject(new BadRequestError(`"${f}" must be a list (or absent)`));
    }
    const lists: SyncBody = {
      network: b.networks as unknown[],
      security_group: b.security_groups as unknown[],
      router: (b.routers as unknown[] | undefined) ?? null,
      port: b.ports as unknown[],
      floatingip: (b.floatingips as unknown[] | undefined) ?? null,
      qos_policy: (b.qos_policies as unknown[] | undefined) ?? null,
      tap_service: (b.tap_services as unknown[] | undefined) ?? null,
      tap_flow: (b.tap_flows as unknown[] | undefined) ?? null,
    };
    return this.request(() => this.syncNow(lists, token), signal);
  }

  /** A full sync: planned by planSync (sync-plan.ts, which says what `token` means), then written. */
  private async syncNow(
    body: SyncBody,
    token: number | null,
    confirmed: string | null = null,
  ): Promise<SyncReply> {
    const guard = this.leaderGuard();
    await this.checkTerm(guard);
    this.progress.start('full sync', 'reading etcd');
    try {
      return await this.syncSteps(body, token, confirmed, guard);
    } finally {
      this.progress.finish();
    }
  }

  private async syncSteps(
    body: SyncBody,
    token: number | null,
    confirmed: string | null,
    guard: Guard,
  ): Promise<SyncReply> {
    const started = Date.now();
    const now = this.now().toISOString();
    const { kvs, revision } = await this.read('the keyspace', () =>
      this.o.store.getPrefixes([
        keys.neutron,
        keys.nodes,
        keys.secGroups,
        keys.remoteGroups,
        keys.meta,
        keys.erspanConfigs,
      ]),
    );
    // A token above the store's revision comes from before etcd went back in time: it no longer
    // tells which rows are newer than the snapshot. The driver retries with a new one.
    if (token !== null && token > revision)
      throw new UnavailableError('the sync token predates a reset of etcd; take a new one (GET /v1/sync)');
    this.progress.phase('planning', null);
    const { ops, deletions, reply, rows, managed, marker } = await planSync(kvs, body, token, {
      now,
      kid: this.o.signer?.kid ?? null,
      log: this.o.log,
    });
    // Too many deletions wait for an operator; nothing of the sync is written meanwhile.
    this.valve.check(deletions, managed, { lists: body, token }, confirmed, now);
    const counts: Record<string, number | null> = {};
    for (const [list, kind] of Object.entries(LIST_KIND)) counts[list] = body[kind]?.length ?? null;
    return this.finishSync({ ops, reply, rows, marker, started, now, counts }, guard, false);
  }

  /**
   * The writes of a planned sync, then the marker. It goes last, in a transaction of its own:
   * present means every write before it landed. Sharing a revision with the rest would not do: a
   * watcher gets one revision's events in key order, `meta/synced` before `nodes/...`, and could act
   * on the marker before the bindings. An identical sync against a trusted marker writes nothing.
   */
  private async finishSync(
    p: {
      ops: WriteOp[];
      reply: SyncReply;
      rows: number;
      marker: KeyValue | undefined;
      started: number;
      now: string;
      counts: Record<string, number | null>;
    },
    guard: Guard,
    wroteBefore: boolean,
  ): Promise<SyncReply> {
    const { ops, reply, rows, marker, started, now } = p;
    const trusted =
      marker !== undefined &&
      decodeValue('syncMarker', marker.value).ok &&
      kidOf(marker.value) === (this.o.signer?.kid ?? null) &&
      this.needReason === null;
    const writeMarker = ops.length > 0 || wroteBefore || !trusted;
    this.progress.phase('writing', ops.length);
    await this.write(ops, guard, (n) => this.progress.advance(n));
    if (writeMarker) {
      const value: SyncMarker = {
        at: now,
        neutron_rows: rows,
        controller_id: this.o.controllerId ?? 'netvpp-controller',
      };
      await this.write(
        [{ op: 'put', key: keys.syncMarker, value: encodeValue(keys.syncMarker, value) }],
        guard,
      );
    }
    const wasNeeded = this.needReason;
    this.needReason = null;
    this.o.log.info('full sync applied', {
      ...p.counts,
      rejected: reply.rejected.length,
      written: reply.written,
      deleted: reply.deleted,
      kept: reply.kept,
      ...(wasNeeded ? { because: wasNeeded } : {}),
      ms: Date.now() - started,
    });
    this.o.onApplied?.({
      kind: 'sync',
      applied: rows - reply.rejected.length,
      rejected: reply.rejected.length,
      stale: 0,
      unchanged: 0,
      ms: Date.now() - started,
    });
    return reply;
  }

  // ---- a full sync in pages (sync-pages.ts, sync-paged.ts) -----------------------------------------

  private pagedContext(guard: Guard): PagedContext {
    return {
      store: this.o.store,
      log: this.o.log,
      now: this.now().toISOString(),
      kid: this.o.signer?.kid ?? null,
      write: (ops, onWritten) => this.write(ops, guard, onWritten),
      read: (what, fn) => this.read(what, fn),
    };
  }

  /** A term other than the session's: the driver begins again (a session is one leader's). */
  private sessionGuard(term: Guard | null): Guard {
    const guard = this.leaderGuard();
    if (term !== null && guard !== term)
      throw new NotFoundError('the sync session began under another leader term: begin again');
    return guard;
  }

  /** POST /v1/sync/session/<id>/page: the page is applied now, between journal batches. */
  syncPage(
    st: PagedSyncState,
    term: Guard,
    lists: [SyncList, unknown[]][],
    signal?: AbortSignal,
  ): Promise<void> {
    return this.request(async () => {
      const guard = this.sessionGuard(term);
      await this.checkTerm(guard);
      const started = Date.now();
      const { writes } = await applyPage(this.pagedContext(guard), st, lists);
      this.o.log.info('full sync page applied', {
        resources: lists.reduce((n, [, v]) => n + v.length, 0),
        writes,
        ms: Date.now() - started,
      });
    }, signal);
  }

  /** POST /v1/sync/session/<id>/commit: removes what Neutron no longer has, then the marker. */
  syncCommit(st: PagedSyncState, term: Guard, signal?: AbortSignal): Promise<SyncReply> {
    return this.request(() => this.pagedCommitNow(st, term, null), signal);
  }

  private async pagedCommitNow(
    st: PagedSyncState,
    term: Guard | null,
    confirmed: string | null,
  ): Promise<SyncReply> {
    const guard = this.sessionGuard(term);
    await this.checkTerm(guard);
    this.progress.start('full sync', 'reading etcd');
    try {
      const started = Date.now();
      const ctx = this.pagedContext(guard);
      const revision = await this.read('the store revision', () => this.o.store.revision());
      if (st.token !== null && st.token > revision)
        throw new UnavailableError('the sync token predates a reset of etcd; take a new one (GET /v1/sync)');
      const plan = await planPagedCommit(ctx, st, revision);
      // Too many deletions wait for an operator: nothing is deleted meanwhile (the pages' writes stay).
      this.valve.check(plan.deletions, plan.managed, { paged: st }, confirmed, ctx.now);
      const counts: Record<string, number | null> = {};
      for (const [list, kind] of Object.entries(LIST_KIND))
        counts[list] = st.kinds.has(kind) ? (st.counts.get(kind) ?? 0) : null;
      return await this.finishSync(
        { ...plan, rows: st.rows, started, now: ctx.now, counts },
        guard,
        st.written > 0,
      );
    } finally {
      this.progress.finish();
    }
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
