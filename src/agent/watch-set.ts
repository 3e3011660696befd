// A set of etcd watchers that follows what the agent currently needs: one watcher per wanted id
// (a security group, an overlay network, a peer host), started when the id is first wanted and
// stopped a while after it is no longer wanted (a port re-bind should not churn watchers).
import { watchPrefixes, type PrefixWatcher, type Store, type WatchEvent } from '../store/index.ts';
import type { Logger } from '../util/log.ts';

export interface WatchSetOptions {
  /** What the ids are, for log messages ("security group"). */
  what: string;
  /** The prefixes (or exact keys) to watch for one id. */
  prefixes(id: string): string[];
  /** An event of one id's watcher (only while the id is watched). */
  onEvent(id: string, ev: WatchEvent): void;
  /** Called when an id is dropped (its watcher closed): forget what it delivered. */
  onDrop(id: string): void;
  /** How long an id nobody wants is still watched. */
  dropAfterMs: number;
}

export class WatchSet {
  private readonly watchers = new Map<string, PrefixWatcher>();
  private readonly unusedSince = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private want: () => ReadonlySet<string> = () => new Set();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: WatchSetOptions,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  has(id: string): boolean {
    return this.watchers.has(id);
  }

  /** Starts watchers for newly wanted ids and schedules unwanted ones to be dropped. */
  update(want: () => ReadonlySet<string>): void {
    if (this.closed) return;
    this.want = want;
    const wanted = want();
    const now = Date.now();
    for (const id of wanted) {
      this.unusedSince.delete(id);
      if (this.watchers.has(id)) continue;
      const w = watchPrefixes(this.store, {
        prefixes: this.opts.prefixes(id),
        onEvent: (ev) => {
          if (this.watchers.has(id)) this.opts.onEvent(id, ev);
        },
        log: (msg, err) =>
          this.log.warn(
            `etcd watch of ${this.opts.what} ${id}: ${msg}`,
            err ? { error: String(err) } : undefined,
          ),
      });
      this.watchers.set(id, w);
    }
    for (const id of this.watchers.keys()) {
      if (!wanted.has(id) && !this.unusedSince.has(id)) this.unusedSince.set(id, now);
    }
    if (this.unusedSince.size > 0 && !this.sweepTimer) {
      this.sweepTimer = setTimeout(() => {
        this.sweepTimer = undefined;
        this.sweep();
      }, this.opts.dropAfterMs);
      this.sweepTimer.unref();
    }
  }

  /** Drops the watchers unwanted for long enough (telling onDrop of each). */
  private sweep(): void {
    if (this.closed) return;
    const wanted = this.want();
    const now = Date.now();
    for (const [id, since] of [...this.unusedSince]) {
      if (wanted.has(id)) {
        this.unusedSince.delete(id);
        continue;
      }
      if (now - since < this.opts.dropAfterMs) continue;
      this.unusedSince.delete(id);
      const w = this.watchers.get(id);
      this.watchers.delete(id);
      void w?.close();
      this.opts.onDrop(id);
    }
    if (this.unusedSince.size > 0) this.update(this.want);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    const all = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(all.map((w) => w.close()));
  }
}
