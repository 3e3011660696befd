// The ML2 driver's forwarder (neutron/networking_netvpp/forwarder.py) as the chaos run plays it:
// journal rows sent in order, in batches, to whichever controller leads; a row leaves the journal
// only when a controller lists it in `done`; a full sync (token first, then the snapshot) when the
// forwarder starts and whenever a reply asks for one. A sync that fails (no leader, held by the
// valve, cut off) is retried on its own back-off while the rows go on, as the forwarder does: with
// the token, their order relative to the sync does not matter, and a journal stopped behind a
// failing sync would leave etcd further behind Neutron at every try (the seed-1 CI flake: a first
// sync held for deleting 2 of the 3 keys etcd held, retried forever while the rows that would have
// caught etcd up waited behind it). A 503 names the leader (or none): the driver follows it, else
// tries the other controllers, with a short back-off.
import type { NeutronTruth, Row } from './neutron-truth.ts';

const BATCH = 20;

export interface DriverStats {
  requests: number;
  failed: number;
  syncs: number;
  /** Full syncs the controller's valve held (409), each retried. */
  heldSyncs: number;
  duplicated: number;
  /** Requests given up after the driver's timeout (a controller stopped or cut off mid-request). */
  timedOut: number;
}

/** The driver's HTTP timeout: a SIGSTOPped controller holds a request past it. */
const REQUEST_TIMEOUT_MS = 3000;

/**
 * The back-off between full-sync attempts (forwarder.py: 1 s, doubling up to retry_max_backoff,
 * 30 s by default; capped lower here so a run's quiet period stays short).
 */
const SYNC_RETRY_MS = { first: 1000, max: 4000 };

export class Driver {
  readonly journal: Row[] = [];
  readonly stats: DriverStats = {
    requests: 0,
    failed: 0,
    syncs: 0,
    heldSyncs: 0,
    duplicated: 0,
    timedOut: 0,
  };
  private urls: string[] = [];
  private preferred = 0;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** A forwarder that starts (or leads again) begins with a full sync. */
  private syncWanted = true;
  private syncNotBefore = 0;
  private syncRetryMs = SYNC_RETRY_MS.first;
  /** Why the last full sync failed ('' when the last one was applied). */
  lastSyncError = '';
  /** Set by the sync-marker fault: full syncs fail until then (ms), as when Neutron's snapshot read does. */
  private syncFailsUntil = 0;
  /** Set by the duplicated-request fault: the next batch goes out twice at once. */
  duplicateNext = false;
  lastError = '';

  constructor(private readonly truth: NeutronTruth) {}

  setControllers(urls: string[]): void {
    this.urls = [...urls];
    this.preferred = 0;
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loopDone;
  }

  get idle(): boolean {
    return this.journal.length === 0 && !this.syncWanted;
  }

  /** A full sync is wanted and not applied yet. */
  get syncPending(): boolean {
    return this.syncWanted;
  }

  private async post(
    path: string,
    body: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = this.urls[this.preferred % Math.max(1, this.urls.length)];
    this.stats.requests++;
    try {
      const res = await fetch(url + path, {
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (res.status !== 200) {
        this.stats.failed++;
        this.lastError = `${path}: ${res.status} ${String(parsed.error)}`;
        // Not the leader (503): follow the one it names, else try the next. Anything else (409 held,
        // 429 busy) is this controller's answer: ask it again.
        if (res.status === 503) {
          const leader = parsed.leader;
          const at = typeof leader === 'string' ? this.urls.indexOf(leader) : -1;
          this.preferred = at >= 0 ? at : this.preferred + 1;
        }
      }
      return { status: res.status, body: parsed };
    } catch (e) {
      this.stats.failed++;
      if ((e as Error).name === 'TimeoutError') this.stats.timedOut++;
      this.lastError = `${path}: ${(e as Error).message}`;
      this.preferred++;
      return { status: 0, body: {} };
    }
  }

  /** Full syncs fail for `ms` (the journal goes on): the sync-marker fault's slow Neutron. */
  failSyncsFor(ms: number): void {
    this.syncFailsUntil = Date.now() + ms;
  }

  private async fullSync(): Promise<boolean> {
    if (Date.now() < this.syncFailsUntil) {
      this.lastSyncError = "Neutron's snapshot could not be read (a fault)";
      return false;
    }
    const t = await this.post('/v1/sync', undefined);
    if (t.status !== 200) {
      this.lastSyncError = `token: ${this.lastError}`;
      return false;
    }
    // The token is taken before Neutron's state is read, as the driver does.
    const body = { ...this.truth.snapshot(), token: t.body.token };
    const r = await this.post('/v1/sync', body);
    if (r.status !== 200) {
      if (r.status === 409) this.stats.heldSyncs++;
      this.lastSyncError = this.lastError;
      return false;
    }
    this.stats.syncs++;
    this.lastSyncError = '';
    return true;
  }

  /** forwarder.py's sync_if_pending: a wanted sync, unless its back-off is still running. */
  private async syncIfPending(): Promise<void> {
    if (!this.syncWanted || Date.now() < this.syncNotBefore) return;
    if (await this.fullSync()) {
      this.syncWanted = false;
      this.syncRetryMs = SYNC_RETRY_MS.first;
    } else {
      this.syncNotBefore = Date.now() + this.syncRetryMs;
      this.syncRetryMs = Math.min(this.syncRetryMs * 2, SYNC_RETRY_MS.max);
    }
  }

  private async sendBatch(): Promise<boolean> {
    const rows = this.journal.slice(0, BATCH);
    const send = () => this.post('/v1/journal', { rows });
    let replies;
    if (this.duplicateNext) {
      this.duplicateNext = false;
      this.stats.duplicated++;
      replies = await Promise.all([send(), send()]);
    } else replies = [await send()];
    let ok = false;
    for (const r of replies) {
      if (r.status !== 200) continue;
      ok = true;
      const done = new Set((r.body.done as number[] | undefined) ?? []);
      for (let i = this.journal.length - 1; i >= 0; i--)
        if (done.has(this.journal[i].id)) this.journal.splice(i, 1);
      if (r.body.sync_needed === true) this.syncWanted = true;
    }
    return ok;
  }

  private async loop(): Promise<void> {
    let backoff = 50;
    while (this.running) {
      await this.syncIfPending();
      if (this.journal.length === 0) {
        // Idle: ask whether a sync is needed (a wiped or new etcd), as the driver's periodic check does.
        if (!this.syncWanted) {
          const s = await this.post('/v1/sync', undefined);
          if (s.status === 200 && s.body.sync_needed === true) this.syncWanted = true;
        }
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const ok = await this.sendBatch();
      backoff = ok ? 50 : Math.min(backoff * 2, 1000);
      if (!ok) await new Promise((r) => setTimeout(r, backoff));
    }
  }
}
