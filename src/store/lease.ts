// A liveness key (e.g. an agent's `state/<host>/alive`) bound to an etcd lease: it exists while its
// holder runs and reaches etcd, and vanishes ≤ TTL after the holder dies or is cut off.
//
// Unlike a refreshed TTL key, it comes back by itself: when the lease is lost (cut off longer than the
// TTL, or etcd restarted without its data) a new lease is granted and the key written again.

import { EtcdLeaseInvalidError, type Lease } from 'etcd3';
import type { Store } from './client.ts';

/**
 * 'alive': the key is written under a live lease. 'lost': the lease is gone or etcd is unreachable;
 * a new lease is being obtained. 'closed': close() was called.
 */
export type LeaseKeyState = 'alive' | 'lost' | 'closed';

export interface LeaseKeyOptions {
  /** Key relative to the store namespace. */
  key: string;
  value: string;
  /** Lease TTL in seconds (≥ 2). Default 10: the key is gone at most ~10 s after its holder. */
  ttlSec?: number;
  /** How often the key itself is checked (someone deleted or overwrote it). Default ttl / 2. */
  checkIntervalMs?: number;
  /** Called on every state change. */
  onState?: (state: LeaseKeyState, err?: unknown) => void;
  log?: (msg: string, err?: unknown) => void;
}

export interface LeaseKey {
  readonly state: LeaseKeyState;
  /** Current lease id (decimal string), undefined while none is granted. */
  readonly leaseId: string | undefined;
  /** Resolves when the key was first written (or on close()). */
  readonly ready: Promise<void>;
  /** Changes the value; written now if alive, else as soon as a lease is back. Never rejects. */
  update(value: string): Promise<void>;
  /** Revokes the lease, so the key is deleted now rather than after the TTL. */
  close(): Promise<void>;
}

class LeaseKeeper implements LeaseKey {
  state: LeaseKeyState = 'lost';
  leaseId: string | undefined;
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private value: string;
  private lease: Lease | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void>;
  private readonly ttl: number;
  private readonly log: (msg: string, err?: unknown) => void;

  constructor(
    private readonly store: Store,
    private readonly opts: LeaseKeyOptions,
  ) {
    this.ttl = Math.max(2, Math.round(opts.ttlSec ?? 10));
    this.value = opts.value;
    this.log = opts.log ?? ((msg, err) => console.error(`[store/lease] ${msg}`, err ?? ''));
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.loop = this.run();
  }

  private setState(s: LeaseKeyState, err?: unknown): void {
    // close() may land while the loop is inside a call; nothing after it may reopen the keeper.
    if (s === this.state || this.state === 'closed') return;
    this.state = s;
    try {
      this.opts.onState?.(s, err);
    } catch (e) {
      this.log('onState handler failed', e);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = undefined;
    });
  }

  private async run(): Promise<void> {
    let delay = 100;
    const checkMs = this.opts.checkIntervalMs ?? (this.ttl * 1000) / 2;
    while (this.state !== 'closed') {
      const lease = this.store.etcd.lease(this.ttl);
      this.lease = lease;
      let lost: unknown;
      lease.on('lost', (err) => {
        lost = err ?? new Error('lease lost');
        this.wake?.();
      });
      try {
        // etcd3's grant has no deadline of its own; a restarted etcd can leave it hanging.
        const id = await withDeadline(lease.grant(), GRANT_DEADLINE_MS, 'lease grant');
        if (this.isClosed()) break;
        this.leaseId = id;
        // An update() landing while this write is on its way only set the value: write until current.
        let written: string;
        do {
          written = this.value;
          await this.store.put(this.opts.key, written, { lease: id });
        } while (written !== this.value && !this.isClosed());
        if (this.isClosed()) break;
        this.setState('alive');
        this.resolveReady();
        delay = 100;
        while (!this.isClosed() && lost === undefined) {
          await this.pause(checkMs);
          if (this.isClosed() || lost !== undefined) break;
          const gone = await this.check(id);
          if (gone) lost ??= gone;
        }
        if (this.isClosed()) break;
        throw lost;
      } catch (err) {
        lease.release();
        this.leaseId = undefined;
        if (this.isClosed()) break;
        this.log(
          `lease for ${this.opts.key} lost (${err instanceof Error ? err.message : String(err)}); renewing`,
        );
        this.setState('lost', err);
        await this.pause(delay * (0.75 + Math.random() / 2));
        delay = Math.min(2000, delay * 2);
      }
    }
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /**
   * Re-writes the key if it is missing, on another lease, or holds an older value. Returns an error
   * when etcd says the lease itself is gone (expired or revoked while etcd3's keepalive, cut off,
   * did not notice): the caller then grants a new one instead of re-writing under a dead lease.
   */
  private async check(id: string): Promise<Error | undefined> {
    try {
      const { kv } = await this.store.get(this.opts.key);
      if (!kv || kv.lease !== id || kv.value !== this.value) {
        if (!kv) this.log(`${this.opts.key} disappeared while its lease is alive; writing it again`);
        else if (kv.lease !== id)
          this.log(`${this.opts.key} is held under another lease (a second holder?); taking it`);
        await this.store.put(this.opts.key, this.value, { lease: id });
      }
    } catch (err) {
      if (isLeaseNotFound(err)) return new Error(`lease ${id} no longer exists in etcd`);
      // etcd unreachable: the lease's own keepalive decides whether the lease survives.
    }
    return undefined;
  }

  async update(value: string): Promise<void> {
    this.value = value;
    if (this.state === 'alive' && this.leaseId) {
      try {
        await this.store.put(this.opts.key, value, { lease: this.leaseId });
      } catch (err) {
        // Callers fire and forget; the periodic check writes the value once etcd answers again.
        this.log(
          `could not write ${this.opts.key} now (${err instanceof Error ? err.message : String(err)}); later`,
        );
      }
    }
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return this.loop;
    this.setState('closed');
    this.wake?.();
    const lease = this.lease;
    this.leaseId = undefined;
    try {
      if (lease) await withDeadline(lease.revoke(), GRANT_DEADLINE_MS, 'lease revoke');
    } catch (err) {
      this.log(`revoke of the lease for ${this.opts.key} failed; the key expires with its TTL`, err);
    }
    this.resolveReady();
    await this.loop;
  }
}

const GRANT_DEADLINE_MS = 5000;

/** etcd's answer to a write under an expired or revoked lease. */
function isLeaseNotFound(err: unknown): boolean {
  return (
    err instanceof EtcdLeaseInvalidError ||
    (err instanceof Error && /requested lease not found|expired or revoked/i.test(err.message))
  );
}

/** Rejects when `p` has not settled within `ms` (the underlying call is left to finish or fail). */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no answer from etcd within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Writes `key` under a lease and keeps it there until close(). */
export function keepLeaseKey(store: Store, opts: LeaseKeyOptions): LeaseKey {
  return new LeaseKeeper(store, opts);
}
