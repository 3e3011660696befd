// A prefix watcher that survives etcd: list at revision R, watch from R+1, resume from the last
// delivered revision after a disconnect, and re-list (a `resync` event with a diff) when history was
// compacted or the store was reset. Never crashes on etcd trouble or on a failing handler.
//
// We drive etcd's watch stream directly rather than etcd3's Watcher: that one resumes from the
// stream header revision rather than the last *delivered* event, and gives up on compaction.

import type { ICallable, IDuplexStream, IWatchRequest, IWatchResponse } from 'etcd3';
import { prefixEnd, type KeyValue, type Store } from './client.ts';

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * A watch stream that etcd ends when the member serving it has no leader: the `hasleader` metadata
 * etcd's own client sends for WithRequireLeader. Without it, a member cut off from the quorum keeps
 * the stream open and silent (it applies nothing new), and the watcher would never hear of a change
 * again while the rest of the cluster goes on. With it, etcd cancels the stream ("no leader") after
 * a few election timeouts, and the watcher resumes on another member.
 * etcd3's WatchClient sends the connection's metadata as it is; this is that call with the key added.
 */
function leaderWatch(store: Store): Promise<WatchStream> {
  const pool = (store.etcd.watchClient as unknown as { client: ICallable<unknown> }).client;
  return pool.withConnection('Watch', ({ resource, client, metadata }) => {
    const md = metadata.clone();
    md.set('hasleader', 'true');
    const stream = (client as unknown as { watch(md: typeof metadata): WatchStream }).watch(md);
    stream.on('error', (err: Error) => {
      if ((stream as unknown as { writable: boolean }).writable) pool.markFailed(resource, err);
    });
    return stream;
  });
}

/** Key put (created or changed). */
export interface PutEvent extends KeyValue {
  type: 'put';
  /** Which of the watcher's prefixes the key is under. */
  prefix: string;
}

/** Key deleted (explicitly or by lease expiry). */
export interface DeleteEvent {
  type: 'delete';
  key: string;
  prefix: string;
  /** Store revision of the delete. */
  modRevision: number;
}

/**
 * The full content of all prefixes at `revision`, delivered at start and whenever the watcher had to
 * re-list. `changed`/`removed` are relative to what this watcher delivered before, so a consumer may
 * apply either the snapshot or the diff.
 */
export interface ResyncEvent {
  type: 'resync';
  reason: 'initial' | 'compacted' | 'reset';
  revision: number;
  kvs: KeyValue[];
  /** New keys and keys whose modRevision differs from the last delivered one. */
  changed: KeyValue[];
  /** Keys delivered before that no longer exist. */
  removed: string[];
}

/** Connection state changes of the watch stream. */
export interface ConnectionEvent {
  type: 'connection';
  state: 'connected' | 'disconnected';
  error?: string;
}

export type WatchEvent = PutEvent | DeleteEvent | ResyncEvent | ConnectionEvent;

export interface WatchOptions {
  /** Key prefixes (relative to the store namespace). Must not overlap. */
  prefixes: string[];
  /**
   * Called once per event, in order (per key and per prefix, events come in revision order). A returned
   * promise is awaited before the next event. A throw/rejection is logged and the next event follows.
   */
  onEvent(event: WatchEvent): void | Promise<void>;
  /** Where handler and etcd errors are logged. Default: console.error. */
  log?: (msg: string, err?: unknown) => void;
  /** Reconnect back-off bounds. Default 100 ms … 3000 ms. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface PrefixWatcher {
  /** Resolves once the initial resync event has been handled (or on close()). */
  readonly ready: Promise<void>;
  /** Highest store revision up to which every event has been queued for delivery. */
  readonly revision: number;
  readonly connected: boolean;
  /** Stops watching; resolves when no handler runs any more. Undelivered events are dropped. */
  close(): Promise<void>;
}

type SessionEnd = { kind: 'error'; error: unknown } | { kind: 'compacted' } | { kind: 'closed' };

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class Watcher implements PrefixWatcher {
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private closed = false;
  private isConnected = false;
  private reportedDisconnect = false;
  /** Last revision queued per prefix: the resume point. */
  private revs = new Map<string, number>();
  /** Last delivered modRevision per key, for resync diffs. */
  private known = new Map<string, number>();
  private queue: WatchEvent[] = [];
  private draining: Promise<void> | undefined;
  private stream: WatchStream | undefined;
  private endSession: ((end: SessionEnd) => void) | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void>;
  private readonly log: (msg: string, err?: unknown) => void;

  constructor(
    private readonly store: Store,
    private readonly opts: WatchOptions,
  ) {
    const ps = opts.prefixes;
    if (ps.length === 0) throw new Error('watchPrefixes: no prefixes');
    for (const a of ps) {
      for (const b of ps) {
        if (a !== b && b.startsWith(a)) throw new Error(`watchPrefixes: prefixes overlap: '${a}' and '${b}'`);
      }
    }
    this.log = opts.log ?? ((msg, err) => console.error(`[store/watch] ${msg}`, err ?? ''));
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.loop = this.run();
  }

  get revision(): number {
    return Math.min(...this.opts.prefixes.map((p) => this.revs.get(p) ?? 0));
  }

  get connected(): boolean {
    return this.isConnected;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    this.endSession?.({ kind: 'closed' });
    this.wake?.();
    await this.loop;
    await this.draining;
    this.resolveReady();
  }

  private prefixOf(key: string): string {
    return this.opts.prefixes.find((p) => key.startsWith(p)) ?? '';
  }

  // ---- delivery ---------------------------------------------------------------------------------

  private enqueue(ev: WatchEvent): void {
    if (this.closed) return;
    this.queue.push(ev);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const ev = this.queue.shift() as WatchEvent;
      try {
        await this.opts.onEvent(ev);
      } catch (err) {
        const what =
          ev.type === 'put' || ev.type === 'delete' ? `${ev.type} ${ev.key}@${ev.modRevision}` : ev.type;
        this.log(`handler failed on ${what}; continuing`, err);
      }
      if (ev.type === 'resync' && ev.reason === 'initial') this.resolveReady();
    }
    this.draining = undefined;
  }

  private setConnected(up: boolean, err?: unknown): void {
    if (up && !this.isConnected) {
      this.isConnected = true;
      this.reportedDisconnect = false;
      this.enqueue({ type: 'connection', state: 'connected' });
    } else if (!up && (this.isConnected || !this.reportedDisconnect)) {
      this.isConnected = false;
      this.reportedDisconnect = true;
      this.enqueue({ type: 'connection', state: 'disconnected', ...(err ? { error: describe(err) } : {}) });
    }
  }

  // ---- main loop --------------------------------------------------------------------------------

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    const min = this.opts.retryMinMs ?? 100;
    const max = this.opts.retryMaxMs ?? 3000;
    let delay = min;
    let relist: ResyncEvent['reason'] | undefined = 'initial';
    while (!this.closed) {
      try {
        if (relist) {
          await this.list(relist);
          relist = undefined;
        } else {
          // A cheap unary call first: fails fast while etcd is down (no stream churn), refreshes an
          // expired auth token, and shows a store that went back in time (restarted without its data).
          // Read inside the first prefix: the one place these credentials are sure to be let in.
          const current = await this.store.revision(this.opts.prefixes[0]);
          if (current < Math.max(...this.revs.values())) {
            this.log(`store revision went back to ${current}: etcd lost its data; re-listing`);
            relist = 'reset';
            continue;
          }
        }
        if (this.closed) break;
        const end = await this.session(() => {
          delay = min;
        });
        if (end.kind === 'closed') break;
        if (end.kind === 'compacted') {
          this.log('watch history compacted; re-listing');
          relist = 'compacted';
          continue;
        }
        throw end.error;
      } catch (err) {
        if (this.closed) break;
        this.setConnected(false, err);
        this.log(`etcd unavailable (${describe(err)}); retrying in ${delay} ms`);
        await this.pause(delay * (0.75 + Math.random() / 2));
        delay = Math.min(max, delay * 2);
      }
    }
    this.stream?.cancel();
  }

  /** Reads all prefixes at one revision and queues a resync event with the diff. */
  private async list(reason: ResyncEvent['reason']): Promise<void> {
    const { kvs, revision } = await this.store.getPrefixes(this.opts.prefixes);
    if (this.closed) return;
    const changed: KeyValue[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key);
      if (this.known.get(kv.key) !== kv.modRevision) changed.push(kv);
      this.known.set(kv.key, kv.modRevision);
    }
    const removed = [...this.known.keys()].filter((k) => !seen.has(k));
    for (const k of removed) this.known.delete(k);
    for (const p of this.opts.prefixes) this.revs.set(p, revision);
    this.enqueue({ type: 'resync', reason, revision, kvs, changed, removed });
  }

  /** One watch stream carrying one etcd watch per prefix; resolves when it ends. */
  private async session(onConnected: () => void): Promise<SessionEnd> {
    const stream = await leaderWatch(this.store);
    this.stream = stream;
    const prefixes = this.opts.prefixes;
    // etcd answers create requests in order; map ids by that order rather than trusting watch_id support.
    const prefixById = new Map<string, string>();
    let created = 0;
    return new Promise<SessionEnd>((resolve) => {
      let done = false;
      const finish = (end: SessionEnd) => {
        if (done) return;
        done = true;
        this.endSession = undefined;
        this.stream = undefined;
        stream.cancel();
        resolve(end);
      };
      this.endSession = finish;
      if (this.closed) return finish({ kind: 'closed' });

      stream.on('error', (error) => finish({ kind: 'error', error }));
      stream.on('end', () => finish({ kind: 'error', error: new Error('watch stream ended') }));
      stream.on('data', (res) => {
        if (done) return;
        if (Number(res.compact_revision) > 0) return finish({ kind: 'compacted' });
        if (res.canceled) {
          return finish({ kind: 'error', error: new Error(`watch canceled by etcd: ${res.cancel_reason}`) });
        }
        if (res.created) {
          prefixById.set(String(res.watch_id), prefixes[created]);
          if (++created === prefixes.length) {
            onConnected();
            this.setConnected(true);
          }
          return;
        }
        const prefix = prefixById.get(String(res.watch_id));
        if (prefix === undefined) return;
        if (res.events.length === 0) {
          // Progress notification: everything up to header.revision was sent.
          this.bump(prefix, Number(res.header.revision));
          return;
        }
        for (const ev of res.events) {
          const kv = ev.kv;
          const abs = kv.key.toString('utf8');
          const key = abs.slice(this.store.namespace.length);
          const modRevision = Number(kv.mod_revision);
          if (ev.type === 'Delete') {
            this.known.delete(key);
            this.enqueue({ type: 'delete', key, prefix: this.prefixOf(key), modRevision });
          } else {
            this.known.set(key, modRevision);
            this.enqueue({
              type: 'put',
              prefix: this.prefixOf(key),
              key,
              value: kv.value.toString('utf8'),
              createRevision: Number(kv.create_revision),
              modRevision,
              version: Number(kv.version),
              lease: kv.lease,
            });
          }
          this.bump(prefix, modRevision);
        }
      });

      prefixes.forEach((p, i) => {
        const key = Buffer.from(this.store.abs(p), 'utf8');
        stream.write({
          create_request: {
            key,
            range_end: prefixEnd(key),
            start_revision: (this.revs.get(p) ?? 0) + 1,
            progress_notify: true,
            watch_id: i + 1,
          },
        });
      });
    });
  }

  private bump(prefix: string, rev: number): void {
    if (rev > (this.revs.get(prefix) ?? 0)) this.revs.set(prefix, rev);
  }
}

/**
 * Watches `prefixes` until close(): first a `resync` (reason 'initial') with their content, then
 * put/delete events; after a disconnect it resumes where it left off (no event lost or repeated);
 * when etcd compacted the needed history, or lost its data, it re-lists and sends another `resync`.
 */
export function watchPrefixes(store: Store, opts: WatchOptions): PrefixWatcher {
  return new Watcher(store, opts);
}
