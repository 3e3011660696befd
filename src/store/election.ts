// Leader election on one etcd key: the leader is whoever created `key` (create-if-absent in a txn)
// under its own lease. Others watch the key and try again when it is deleted: by resign(), or by etcd
// when the leader's lease expires (the leader died or was cut off).
//
// Being told "you lead" is only a hint in a distributed system, so the leader gets a Guard: writes made
// with it (txnBatch/update) fail once another candidate holds the key, even if this one hasn't noticed.

import type { Lease } from 'etcd3';
import type { Guard, Store } from './client.ts';
import { watchPrefixes, type PrefixWatcher } from './watch.ts';
import { sleep } from '../util/wait.ts';

export interface ElectionOptions {
  /** The election key, relative to the store namespace, e.g. 'election/controller'. */
  key: string;
  /** This candidate's identity, stored as the key's value (shown by leader()). */
  value: string;
  /** Lease TTL in seconds (≥ 2). Default 10: a dead leader is replaced after ≤ ~10 s. */
  ttlSec?: number;
  /** Called once each time leadership that campaign() gave is lost (not after resign()). */
  onLost?: (reason: string) => void;
  log?: (msg: string, err?: unknown) => void;
}

export interface Election {
  /** Resolves with the leader's Guard once this candidate leads; rejects if resign() is called first. */
  campaign(): Promise<Guard>;
  readonly isLeader: boolean;
  /** Guard for fenced writes while leader. */
  readonly guard: Guard | undefined;
  /** The current leader's value, if any. */
  leader(): Promise<string | undefined>;
  /** Gives up leadership (deletes the key) or stops campaigning. campaign() may be called again. */
  resign(): Promise<void>;
}

class KeyElection implements Election {
  guard: Guard | undefined;
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  /**
   * When the newest keepalive etcd answered was *sent* (or the grant asked for): etcd renews a lease
   * when it receives the keepalive, so the lease lives at least until this + TTL, however late the
   * answer was read here. Timing it by the answer's arrival (as before) took a busy event loop's
   * delay for etcd's silence and stepped down healthy leaders.
   */
  private renewedAt = 0;
  /** Send times of keepalives not answered yet, oldest first (the stream answers in order). */
  private unanswered: number[] = [];
  private probing = false;
  private campaigning: Promise<Guard> | undefined;
  private cancelled = false;
  private wakeWaiter: (() => void) | undefined;
  private leaderWatch: PrefixWatcher | undefined;
  private stepDownTimer: ReturnType<typeof setInterval> | undefined;
  private readonly ttl: number;
  private readonly log: (msg: string, err?: unknown) => void;

  constructor(
    private readonly store: Store,
    private readonly opts: ElectionOptions,
  ) {
    this.ttl = Math.max(2, Math.round(opts.ttlSec ?? 10));
    this.log = opts.log ?? ((msg, err) => console.error(`[store/election] ${msg}`, err ?? ''));
  }

  get isLeader(): boolean {
    return this.guard !== undefined;
  }

  campaign(): Promise<Guard> {
    if (this.guard) return Promise.resolve(this.guard);
    this.cancelled = false;
    this.campaigning ??= this.run().finally(() => (this.campaigning = undefined));
    return this.campaigning;
  }

  async leader(): Promise<string | undefined> {
    return (await this.store.get(this.opts.key)).kv?.value;
  }

  /** A lease that is still being kept alive, or a new one. */
  private async ensureLease(): Promise<string> {
    if (this.lease && this.leaseId && !this.lease.revoked()) return this.leaseId;
    const lease = this.store.etcd.lease(this.ttl);
    this.unanswered = [];
    lease.on('keepaliveEstablished', () => (this.unanswered = []));
    lease.on('keepaliveFired', () => {
      if (this.lease === lease) this.unanswered.push(Date.now());
    });
    lease.on('keepaliveSucceeded', () => {
      const sent = this.unanswered.shift();
      if (this.lease === lease && sent !== undefined) this.renewedAt = Math.max(this.renewedAt, sent);
    });
    lease.on('lost', (err) => {
      if (this.lease !== lease) return;
      this.lease = undefined;
      this.leaseId = undefined;
      this.lose(`lease lost: ${err?.message ?? 'expired'}`);
    });
    this.lease = lease;
    const asked = Date.now();
    const id = await lease.grant();
    this.leaseId = id;
    this.renewedAt = asked;
    return id;
  }

  private async run(): Promise<Guard> {
    let delay = 100;
    while (!this.cancelled) {
      try {
        const id = await this.ensureLease();
        if (this.cancelled) break;
        const key = Buffer.from(this.store.abs(this.opts.key), 'utf8');
        const res = await this.store.etcd.kv.txn({
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key, value: Buffer.from(this.opts.value, 'utf8'), lease: id } }],
          failure: [{ request_range: { key } }],
        });
        delay = 100;
        const holder = res.succeeded ? undefined : res.responses[0].response_range.kvs[0];
        if (res.succeeded || holder?.lease === id) {
          // Either we created the key now, or it is already ours (an earlier attempt's reply was lost).
          const createRevision = holder ? Number(holder.create_revision) : Number(res.header.revision);
          return await this.becomeLeader(createRevision);
        }
        if (holder) await this.waitForVacancy(Number(res.header.revision));
      } catch (err) {
        if (this.cancelled) break;
        this.log(`campaign for ${this.opts.key} failed; retrying`, err);
        await sleep(delay * (0.75 + Math.random() / 2));
        delay = Math.min(2000, delay * 2);
      }
    }
    throw new Error(`campaign for ${this.opts.key} cancelled by resign()`);
  }

  /** Resolves when the key is deleted (or the watch re-listed without it), or on resign(). */
  private async waitForVacancy(readRevision: number): Promise<void> {
    let vacant!: () => void;
    const done = new Promise<void>((r) => (vacant = r));
    this.wakeWaiter = vacant;
    const w = watchPrefixes(this.store, {
      prefixes: [this.opts.key],
      log: this.log,
      onEvent: (ev) => {
        if (ev.type === 'delete' && ev.key === this.opts.key) vacant();
        // The initial list is at or after the failed txn: absent there means it was deleted since.
        if (
          ev.type === 'resync' &&
          ev.revision >= readRevision &&
          !ev.kvs.some((kv) => kv.key === this.opts.key)
        ) {
          vacant();
        }
      },
    });
    try {
      await done;
    } finally {
      this.wakeWaiter = undefined;
      await w.close();
    }
  }

  private async becomeLeader(createRevision: number): Promise<Guard> {
    const guard: Guard = { key: this.opts.key, createRevision };
    this.guard = guard;
    this.log(`${this.opts.value} leads ${this.opts.key}`);
    // Someone deleting or replacing the key ends our leadership.
    this.leaderWatch = watchPrefixes(this.store, {
      prefixes: [this.opts.key],
      log: this.log,
      onEvent: (ev) => {
        if (ev.type === 'delete' && ev.key === this.opts.key) this.lose('leader key deleted');
        if (ev.type === 'put' && ev.key === this.opts.key && ev.createRevision !== createRevision) {
          this.lose('leader key replaced');
        }
        if (ev.type === 'resync') {
          const kv = ev.kvs.find((k) => k.key === this.opts.key);
          if (kv?.createRevision !== createRevision) this.lose('leader key gone after resync');
        }
      },
    });
    // Step down once etcd may have expired the lease (another candidate may lead then): when no
    // keepalive sent within the last TTL has been answered. Damped against a busy event loop: a
    // lease late by half its TTL is first renewed directly (one keepalive, timed by its sending),
    // and the verdict waits for the I/O already received (timers run before it in Node's loop).
    this.stepDownTimer = setInterval(() => this.checkLease(), Math.min(250, (this.ttl * 1000) / 8));
    return guard;
  }

  private checkLease(): void {
    const left = () => this.renewedAt + this.ttl * 1000 - Date.now();
    if (!this.guard || left() > (this.ttl * 1000) / 2) return;
    setImmediate(() => {
      if (!this.guard) return;
      const l = left();
      if (l <= 0) this.lose(`etcd unreachable: no keepalive answered for ${this.ttl} s`);
      else if (l <= (this.ttl * 1000) / 2) this.probe();
    });
  }

  /** One keepalive now, outside the lease's own schedule; a lease etcd no longer has is lost. */
  private probe(): void {
    const lease = this.lease;
    if (this.probing || !lease) return;
    this.probing = true;
    const sent = Date.now();
    lease
      .keepaliveOnce()
      .then(
        () => {
          if (this.lease === lease) this.renewedAt = Math.max(this.renewedAt, sent);
        },
        (err: unknown) => this.log(`keepalive of ${this.opts.key} failed`, err),
      )
      .finally(() => (this.probing = false));
  }

  /** Leaves the leader state; reports it via onLost unless it was a resign(). */
  private lose(reason: string, resigned = false): void {
    if (!this.guard) return;
    this.guard = undefined;
    clearInterval(this.stepDownTimer);
    this.stepDownTimer = undefined;
    this.probing = false;
    const w = this.leaderWatch;
    this.leaderWatch = undefined;
    void w?.close();
    // A fresh lease for the next campaign: the old one may be the reason we lost.
    const lease = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    if (lease) lease.revoke().catch(() => lease.release());
    if (resigned) return;
    this.log(`${this.opts.value} lost leadership of ${this.opts.key}: ${reason}`);
    try {
      this.opts.onLost?.(reason);
    } catch (err) {
      this.log('onLost handler failed', err);
    }
  }

  async resign(): Promise<void> {
    this.cancelled = true;
    this.wakeWaiter?.();
    const guard = this.guard;
    const leaseId = this.leaseId;
    if (guard && leaseId) {
      const key = Buffer.from(this.store.abs(guard.key), 'utf8');
      try {
        // Delete only our own key; revoking the lease (in lose) would delete it too, this is faster.
        await this.store.etcd.kv.txn({
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: guard.createRevision }],
          success: [{ request_delete_range: { key } }],
        });
      } catch (err) {
        this.log(`resign: could not delete ${guard.key}; it expires with the lease`, err);
      }
    }
    this.lose('resigned', true);
    const lease = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    if (lease) await lease.revoke().catch(() => lease.release());
    await this.campaigning?.catch(() => undefined);
  }
}

/** Creates a candidate; nothing happens until campaign(). */
export function createElection(store: Store, opts: ElectionOptions): Election {
  return new KeyElection(store, opts);
}
