// The ML2 driver's forwarder as the chaos run plays it: journal rows sent in order, in batches, to
// whichever controller leads; a row leaves the journal only when a controller lists it in `done`;
// a full sync (token first, then the snapshot) whenever a reply asks for one. A 503 names the leader
// (or none): the driver follows it, else tries the other controllers, with a short back-off.
import type { NeutronTruth, Row } from './neutron-truth.ts';

const BATCH = 20;

export interface DriverStats {
  requests: number;
  failed: number;
  syncs: number;
  duplicated: number;
  /** Requests given up after the driver's timeout (a controller stopped or cut off mid-request). */
  timedOut: number;
}

/** The driver's HTTP timeout: a SIGSTOPped controller holds a request past it. */
const REQUEST_TIMEOUT_MS = 3000;

export class Driver {
  readonly journal: Row[] = [];
  readonly stats: DriverStats = { requests: 0, failed: 0, syncs: 0, duplicated: 0, timedOut: 0 };
  private urls: string[] = [];
  private preferred = 0;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private syncWanted = false;
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
        const leader = parsed.leader;
        const at = typeof leader === 'string' ? this.urls.indexOf(leader) : -1;
        this.preferred = at >= 0 ? at : this.preferred + 1;
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

  private async fullSync(): Promise<boolean> {
    const t = await this.post('/v1/sync', undefined);
    if (t.status !== 200) return false;
    // The token is taken before Neutron's state is read, as the driver does.
    const body = { ...this.truth.snapshot(), token: t.body.token };
    const r = await this.post('/v1/sync', body);
    if (r.status !== 200) return false;
    this.stats.syncs++;
    return true;
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
      let ok = true;
      if (this.syncWanted) {
        ok = await this.fullSync();
        if (ok) this.syncWanted = false;
      } else if (this.journal.length > 0) ok = await this.sendBatch();
      else {
        // Idle: ask whether a sync is needed (a wiped or new etcd), as the driver's periodic check does.
        const s = await this.post('/v1/sync', undefined);
        if (s.status === 200 && s.body.sync_needed === true) this.syncWanted = true;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      backoff = ok ? 50 : Math.min(backoff * 2, 1000);
      if (!ok) await new Promise((r) => setTimeout(r, backoff));
    }
  }
}
