// The sync marker (meta/synced) as this controller sees it through a watch: present or not, and
// whether it can be trusted. A marker that survived a store reset (etcd's revision went backwards:
// rebuilt or restored from a backup) describes a state etcd may no longer hold, so it is "stale"
// until a new full sync rewrites it. The leader turns changes here into "a full sync is needed".
//
// The watch notices a store that went back in time only below the revision it saw itself, and meta/
// is quiet; so the view also keeps the highest revision this controller wrote or read anywhere, and
// compares etcd's revision with it whenever the watch reconnects (a restore always restarts etcd) and
// when a new leader term starts (intake.ts: a wipe always costs the leader its lease).
import { decodeValue, keys, type SyncMarker } from '../model/keyspace.ts';
import { type PrefixWatcher, type Store, watchPrefixes, type WatchEvent } from '../store/index.ts';
import type { Logger } from '../util/log.ts';

export type MarkerChange =
  /** The marker is absent (deleted, or not there after a re-read). */
  | 'missing'
  /** etcd lost data or was restored: whatever marker is there now can't be trusted. */
  | 'reset';

/** What the intake needs from the view: the revision high-water mark and the marker's trust. */
export interface RevisionTracker {
  /** Highest store revision seen so far (0: none). */
  readonly highWater: number;
  /** True when the marker present in etcd predates a store reset. */
  readonly stale: boolean;
  /** Records a revision written or read. */
  noteRevision(revision: number): void;
  /**
   * Records etcd's current revision, read by a request issued when the high-water mark was `before`;
   * returns true (and marks the marker stale) when it is lower: the store went back in time.
   */
  observe(revision: number, before: number): boolean;
}

export class MarkerView implements RevisionTracker {
  private watcher: PrefixWatcher | undefined;
  private marker: SyncMarker | null = null;
  private loaded = false;
  private isStale = false;
  /** Highest store revision this controller has seen. */
  private high = 0;
  /** The (new) store's revision when this view last found that etcd went back in time. */
  private resetAt: number | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly onChange: (change: MarkerChange) => void,
  ) {}

  start(): Promise<void> {
    this.watcher = watchPrefixes(this.store, {
      prefixes: [keys.meta],
      onEvent: (ev) => this.onEvent(ev),
      log: (msg, err) =>
        this.log.warn(msg, err ? { error: err instanceof Error ? err.message : String(err) } : {}),
    });
    return this.watcher.ready;
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
  }

  get highWater(): number {
    return this.high;
  }

  noteRevision(revision: number): void {
    if (revision > this.high) this.high = revision;
  }

  observe(revision: number, before: number): boolean {
    if (revision >= before) {
      this.noteRevision(revision);
      return false;
    }
    // From now on this store's history is the one to compare with.
    this.high = revision;
    this.resetAt = revision;
    this.isStale = true;
    this.log.warn('etcd went back in time (wiped, rebuilt or restored from a backup)', {
      revision,
      seen: before,
      marker: this.marker ? this.marker.at : null,
    });
    return true;
  }

  /** True when a marker is present but predates a reset of the store. */
  get stale(): boolean {
    return this.isStale && this.marker !== null;
  }

  /** This instance's view: absent, stale, or not known yet (not read from etcd so far). */
  get syncNeeded(): boolean {
    return !this.loaded || this.marker === null || this.isStale;
  }

  private read(value: string | undefined): SyncMarker | null {
    if (value === undefined) return null;
    const r = decodeValue('syncMarker', value);
    if (r.ok) return r.value;
    this.log.warn('the sync marker is unreadable; treating it as absent', { key: keys.syncMarker });
    return null;
  }

  private async checkTimeTravel(): Promise<void> {
    const before = this.high;
    let now: number;
    try {
      now = await this.store.revision();
    } catch {
      return; // disconnected again; the next reconnect checks
    }
    if (this.observe(now, before)) this.onChange('reset');
  }

  private async onEvent(ev: WatchEvent): Promise<void> {
    const before = this.marker;
    switch (ev.type) {
      case 'resync': {
        const kv = ev.kvs.find((k) => k.key === keys.syncMarker);
        this.marker = this.read(kv?.value);
        this.loaded = true;
        // The watch may find a reset this view already saw (at a new term, or on reconnecting) after
        // a sync on the new store rewrote the marker: that marker is trusted.
        const known =
          this.resetAt !== null && ev.revision >= this.resetAt && (!kv || kv.modRevision > this.resetAt);
        if (ev.reason === 'reset' && !known) {
          this.high = ev.revision;
          this.resetAt = ev.revision;
          this.isStale = true;
          this.log.warn('etcd lost data or went back in time; a full sync from Neutron is needed', {
            marker: this.marker ? this.marker.at : null,
          });
          this.onChange('reset');
          return;
        }
        this.noteRevision(ev.revision);
        // After a gap, a marker rewritten meanwhile is a new sync.
        if (ev.changed.some((k) => k.key === keys.syncMarker && (this.resetAt ?? 0) < k.modRevision))
          this.isStale = false;
        break;
      }
      case 'put':
        this.noteRevision(ev.modRevision);
        if (ev.key !== keys.syncMarker) return;
        this.marker = this.read(ev.value);
        this.isStale = false;
        break;
      case 'delete':
        if (ev.key !== keys.syncMarker) return;
        this.marker = null;
        break;
      case 'connection':
        if (ev.state === 'connected' && this.loaded) await this.checkTimeTravel();
        return;
    }
    if (this.loaded && this.marker === null && (before !== null || ev.type === 'resync'))
      this.onChange('missing');
  }
}
