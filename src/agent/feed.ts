// Keeps DesiredState fed from etcd. One watcher on nodes/<host>/ (this host's bindings) and the sync
// marker meta/synced (one stream, so a reset of etcd is seen once for both), and one per security group this host needs (its definition and its remote-group membership), started when a
// local port (or a rule of a group in use) first names the group and stopped a while after the last
// reference goes. So the agent receives its own host's keys and only the global objects its ports
// reference — never every change in the cloud.
import { keys } from '../model/keyspace.ts';
import { watchPrefixes, type PrefixWatcher, type Store, type WatchEvent } from '../store/index.ts';
import type { Logger } from '../util/log.ts';
import type { DesiredState } from './desired.ts';
import { SyncGate, type SyncGateState } from './sync-gate.ts';

export interface FeedOptions {
  /** How long a group nobody references is still watched (a port re-bind should not churn). */
  dropAfterMs?: number;
  /** Called when deletions become held or allowed (see SyncGate). */
  onGate?: (state: SyncGateState, why: string) => void;
}

export class DesiredFeed {
  private host: PrefixWatcher | undefined;
  private readonly groups = new Map<string, PrefixWatcher>();
  private readonly unusedSince = new Map<string, number>();
  private hostLoaded = false;
  private hostConnected = false;
  private closed = false;
  /** Counts marker updates, so a deferred one that a newer one overtook is dropped. */
  private markerSeq = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private readonly dropAfterMs: number;
  readonly gate: SyncGate;

  constructor(
    private readonly store: Store,
    private readonly desired: DesiredState,
    private readonly onChange: () => void,
    private readonly log: Logger,
    opts: FeedOptions = {},
  ) {
    this.dropAfterMs = opts.dropAfterMs ?? 10_000;
    this.gate = new SyncGate((state, why) => opts.onGate?.(state, why));
  }

  start(): void {
    this.host = watchPrefixes(this.store, {
      prefixes: [keys.hostNodes(this.desired.host), keys.syncMarker],
      onEvent: (ev) => this.onHostEvent(ev),
      log: (msg, err) =>
        this.log.warn(`etcd watch of this host's keys: ${msg}`, err ? { error: String(err) } : undefined),
    });
  }

  /** True once this host's keys and every group they need have been read. */
  get complete(): boolean {
    if (!this.hostLoaded) return false;
    for (const g of this.desired.interest()) if (!this.desired.loadedGroups.has(g)) return false;
    return true;
  }

  get connected(): boolean {
    return this.hostConnected;
  }

  get watchedGroups(): number {
    return this.groups.size;
  }

  /** Resolves once `complete` (the full desired state has been read). */
  whenComplete(): Promise<void> {
    if (this.complete) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private changed(): void {
    this.updateInterest();
    if (this.complete && this.waiters.length) {
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    }
    this.onChange();
  }

  private onHostEvent(ev: WatchEvent): void {
    switch (ev.type) {
      case 'resync': {
        if (ev.reason !== 'initial')
          this.log.info(`re-read this host's keys from etcd (${ev.reason})`, { keys: ev.kvs.length });
        if (ev.reason === 'reset') this.gate.reset('etcd lost data or went back in time');
        const marker = ev.kvs.find((kv) => kv.key === keys.syncMarker);
        this.markerSeq++; // a marker event still pending is older than this read
        this.desired.resetHost(ev.kvs.filter((kv) => kv !== marker));
        this.gate.set(marker?.value, `etcd read (${ev.reason})`);
        this.hostLoaded = true;
        break;
      }
      case 'put':
      case 'delete':
        if (ev.key === keys.syncMarker) {
          const why = `${keys.syncMarker} ${ev.type}`;
          if (ev.type === 'delete') {
            this.markerSeq++; // holding sooner is always safe
            this.gate.set(undefined, why);
            this.onChange();
            return;
          }
          // A marker written in the same transaction as bindings arrives before them (etcd orders a
          // revision's events by key): let the events already received be applied first.
          const seq = ++this.markerSeq;
          const value = ev.value;
          setImmediate(() => {
            if (this.closed || seq !== this.markerSeq) return;
            this.gate.set(value, why);
            this.onChange();
          });
          return;
        }
        if (ev.prefix !== keys.syncMarker) this.desired.hostEvent(ev);
        break;
      case 'connection':
        this.hostConnected = ev.state === 'connected';
        if (ev.state === 'disconnected')
          this.log.warn('etcd connection lost; VPP keeps its state meanwhile', { error: ev.error });
        else this.log.info('etcd connected');
        return;
    }
    this.changed();
  }

  private onGroupEvent(sgId: string, ev: WatchEvent): void {
    if (!this.groups.has(sgId)) return;
    switch (ev.type) {
      case 'resync':
        this.desired.resetGroup(sgId, ev.kvs);
        // A re-read after a compaction or an etcd reset: recompile everything (the safety net).
        if (ev.reason !== 'initial') this.desired.markFull();
        break;
      case 'put':
      case 'delete':
        this.desired.groupEvent(sgId, ev);
        break;
      case 'connection':
        return;
    }
    this.changed();
  }

  private updateInterest(): void {
    if (this.closed) return;
    const want = this.desired.interest();
    const now = Date.now();
    for (const id of want) {
      this.unusedSince.delete(id);
      if (this.groups.has(id)) continue;
      const w = watchPrefixes(this.store, {
        prefixes: [keys.secGroup(id), keys.remoteGroup(id)],
        onEvent: (ev) => this.onGroupEvent(id, ev),
        log: (msg, err) =>
          this.log.warn(
            `etcd watch of security group ${id}: ${msg}`,
            err ? { error: String(err) } : undefined,
          ),
      });
      this.groups.set(id, w);
    }
    for (const id of this.groups.keys()) {
      if (!want.has(id) && !this.unusedSince.has(id)) this.unusedSince.set(id, now);
    }
    if (this.unusedSince.size > 0 && !this.sweepTimer) {
      this.sweepTimer = setTimeout(() => {
        this.sweepTimer = undefined;
        this.sweep();
      }, this.dropAfterMs);
      this.sweepTimer.unref();
    }
  }

  private sweep(): void {
    if (this.closed) return;
    const want = this.desired.interest();
    const now = Date.now();
    let dropped = false;
    for (const [id, since] of [...this.unusedSince]) {
      if (want.has(id)) {
        this.unusedSince.delete(id);
        continue;
      }
      if (now - since < this.dropAfterMs) continue;
      this.unusedSince.delete(id);
      const w = this.groups.get(id);
      this.groups.delete(id);
      void w?.close();
      this.desired.dropGroup(id);
      dropped = true;
    }
    if (this.unusedSince.size > 0) this.updateInterest();
    if (dropped) this.onChange();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    const all = [this.host, ...this.groups.values()];
    this.groups.clear();
    await Promise.all(all.map((w) => w?.close()));
    for (const r of this.waiters) r();
    this.waiters = [];
  }
}
