// Typed access to etcd v3 for controller and agent: reads that report the store revision they saw,
// batched transactions split under etcd's per-txn limits, and compare-and-swap updates.
//
// Keys and values are strings (values are JSON text owned by src/model/). All keys given to and returned
// from a Store are relative to its namespace.

import { readFileSync } from 'node:fs';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop } from 'cockatiel';
import {
  Etcd3,
  isRecoverableError,
  type IKeyValue,
  type IOptions,
  type IRequestOp,
  type ICompare,
} from 'etcd3';

export interface StoreOptions {
  /** Client URLs, e.g. ['http://127.0.0.1:2379'] or https://… for TLS. */
  endpoints: string[];
  /** PEM text, or a path to a PEM file, for each of CA, client certificate and client key. */
  tls?: { ca: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  auth?: { username: string; password: string };
  /** Prefix prepended to every key, e.g. '/netvpp/v1/'. Default ''. */
  namespace?: string;
  /** Deadline for each unary request (not watches or keepalives). Default 5000 ms. */
  requestTimeoutMs?: number;
}

/** One stored key. Revisions are etcd store revisions (not Neutron revisions). */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** Number of writes since creation (1 for a new key). */
  version: number;
  /** Lease id ('0' if none). */
  lease: string;
}

/** A write for txnBatch. */
export type WriteOp =
  | { op: 'put'; key: string; value: string; lease?: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string };

/** Makes every txn of a batch conditional on `key` still having this create revision (leader fencing). */
export interface Guard {
  key: string;
  createRevision: number;
}

export interface TxnBatchOptions {
  maxOpsPerTxn?: number;
  maxBytesPerTxn?: number;
  guard?: Guard;
  onProgress?: (applied: number) => void;
}

/** Thrown by txnBatch/update when a Guard no longer holds (e.g. leadership lost). */
export class GuardFailedError extends Error {
  constructor(readonly guard: Guard) {
    super(`guard failed: ${guard.key} is no longer at create revision ${guard.createRevision}`);
    this.name = 'GuardFailedError';
  }
}

/** True for etcd's "required revision has been compacted" error. */
export function isCompactedError(err: unknown): boolean {
  return err instanceof Error && /required revision has been compacted/.test(err.message);
}

export interface UpdateResult {
  /** True if the update wrote (put or delete); false if fn declined or the key was already absent. */
  written: boolean;
  /** The key after the call (undefined if absent). */
  kv: KeyValue | undefined;
  /** Store revision of the write, or of the last read if nothing was written. */
  revision: number;
}

/** What to do in an update(): a new value, `null` to delete, `undefined` to leave the key as it is. */
export type UpdateDecision = string | null | undefined;

export interface Store {
  /** The namespace every key is relative to. */
  readonly namespace: string;
  /** The underlying etcd3 client (root, without namespace) for what this API doesn't cover. */
  readonly etcd: Etcd3;
  /** Maps a relative key to the absolute etcd key. */
  abs(key: string): string;

  get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }>;
  /**
   * All keys under `prefix`, sorted by key, read at one store revision (pages of 1000 keys).
   * `revision` reads the past (fails with a compacted error if it is gone).
   */
  getPrefix(prefix: string, opts?: { revision?: number }): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** Several prefixes read at one consistent store revision. */
  getPrefixes(prefixes: string[]): Promise<{ kvs: KeyValue[]; revision: number }>;
  /**
   * The keys under `prefix` at `revision`, handed to `each` one page (≤ 1000 keys) at a time, in key
   * order, never all held at once (a keyspace too large for memory).
   */
  scanPrefix(
    prefix: string,
    revision: number,
    each: (kvs: KeyValue[]) => Promise<void> | void,
  ): Promise<void>;
  /**
   * Many single keys, read in read-only txns of up to 128 ranges (etcd's --max-txn-ops), a few in
   * flight; absent keys are missing from the result. Each txn is one snapshot, the whole is not.
   */
  getMany(keys: string[]): Promise<Map<string, KeyValue>>;
  /** Returns the store revision of the write. */
  put(key: string, value: string, opts?: { lease?: string }): Promise<number>;
  delete(key: string): Promise<{ deleted: number; revision: number }>;
  deletePrefix(prefix: string): Promise<{ deleted: number; revision: number }>;
  /**
   * Applies ops in order in as few txns as etcd allows (≤ maxOpsPerTxn ops, default 128 = etcd's
   * --max-txn-ops; ≤ maxBytesPerTxn, default 1 MiB; a key is never touched twice in one txn).
   * Each txn is atomic; the batch as a whole is not. With `guard`, every txn checks it and a failed
   * guard throws GuardFailedError (txns before it stay applied). `onProgress`: the ops applied so
   * far, after every txn (a long write's progress).
   */
  txnBatch(ops: WriteOp[], opts?: TxnBatchOptions): Promise<{ revision: number; txns: number }>;
  /**
   * Compare-and-swap loop on one key: `fn` sees the current value and decides; the write happens only
   * if the key was not modified meanwhile, else `fn` is called again with the newer value.
   */
  update(
    key: string,
    fn: (current: KeyValue | undefined) => UpdateDecision,
    opts?: { guard?: Guard; lease?: string },
  ): Promise<UpdateResult>;
  /**
   * Writes `value` unless the stored value is as new or newer: `revisionOf` (e.g. the Neutron
   * revision in the JSON) is compared for the stored and the new value. A stored value whose revision
   * can't be read (malformed, or revisionOf throws) counts as older and is replaced.
   */
  putIfNewer(
    key: string,
    value: string,
    revisionOf: (value: string) => number | undefined,
    opts?: { guard?: Guard },
  ): Promise<UpdateResult>;
  /**
   * Current store revision, from the header of a read of `key` (relative; default the namespace's
   * root). With etcd auth, pass a key these credentials may read: a read outside the user's ranges
   * is refused (PERMISSION_DENIED) even when it would find nothing.
   */
  revision(key?: string): Promise<number>;
  /** Compacts history up to `revision` (for operations and tests). */
  compact(revision: number): Promise<void>;
  close(): void;
}

const enc = (s: string) => Buffer.from(s, 'utf8');

/** The smallest key after every key that starts with `prefix` ("\0" = to the end of the keyspace). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function pem(v: string | Buffer): Buffer {
  if (Buffer.isBuffer(v)) return v;
  return v.includes('-----BEGIN') ? enc(v) : readFileSync(v);
}

/** Options for the etcd3 client: deadlines on unary calls, a quick circuit breaker, gRPC keepalive. */
export function etcd3Options(o: StoreOptions): IOptions {
  const timeout = o.requestTimeoutMs ?? 5000;
  const opts: IOptions = {
    hosts: o.endpoints,
    dialTimeout: timeout,
    // A partitioned etcd must not hang calls forever; streams (watch, keepalive) have no deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    // A breaker lets calls skip a dead host for a while. etcd3's default blocks it for 5 s after 3
    // failures, so a restarted etcd would sit idle; with a single host there is nothing to skip to.
    faultHandling: {
      host: () =>
        o.endpoints.length === 1
          ? noop
          : circuitBreaker(handleWhen(isRecoverableError), {
              halfOpenAfter: 500,
              breaker: new ConsecutiveBreaker(3),
            }),
    },
    // Detect dead connections under a silent watch; etcd's minimum permitted ping interval is 5 s.
    grpcOptions: {
      // A watch catching up or a page of large values can exceed gRPC's 4 MiB default.
      'grpc.max_receive_message_length': -1,
      'grpc.keepalive_time_ms': 10000,
      'grpc.keepalive_timeout_ms': 5000,
      // etcd refuses pings on a connection without a call (GOAWAY too_many_pings); clients here
      // always hold a watch or keepalive stream while they need the check.
      'grpc.keepalive_permit_without_calls': 0,
    },
  };
  if (o.tls) {
    opts.credentials = {
      rootCertificate: pem(o.tls.ca),
      ...(o.tls.key ? { privateKey: pem(o.tls.key) } : {}),
      ...(o.tls.cert ? { certChain: pem(o.tls.cert) } : {}),
    };
  }
  if (o.auth) opts.auth = { username: o.auth.username, password: o.auth.password };
  return opts;
}

const PAGE = 1000;
const DEFAULT_MAX_OPS = 128;
const DEFAULT_MAX_BYTES = 1 << 20;
const MAX_CAS_ATTEMPTS = 50;
const GET_MANY_IN_FLIGHT = 4;

class EtcdStore implements Store {
  readonly etcd: Etcd3;
  readonly namespace: string;

  constructor(opts: StoreOptions) {
    this.namespace = opts.namespace ?? '';
    this.etcd = new Etcd3(etcd3Options(opts));
  }

  abs(key: string): string {
    return this.namespace + key;
  }

  /** Converts an etcd3 key-value to ours, stripping the namespace. */
  toKv(kv: IKeyValue): KeyValue {
    const key = kv.key.toString('utf8');
    return {
      key: key.startsWith(this.namespace) ? key.slice(this.namespace.length) : key,
      value: kv.value.toString('utf8'),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
      lease: kv.lease,
    };
  }

  async get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const res = await this.etcd.kv.range({ key: enc(this.abs(key)) });
    return { kv: res.kvs[0] ? this.toKv(res.kvs[0]) : undefined, revision: Number(res.header.revision) };
  }

  async getPrefix(
    prefix: string,
    opts: { revision?: number } = {},
  ): Promise<{ kvs: KeyValue[]; revision: number }> {
    const start = enc(this.abs(prefix));
    const end = prefixEnd(start);
    const kvs: KeyValue[] = [];
    let from = start;
    let revision = opts.revision ?? 0;
    for (;;) {
      const res = await this.etcd.kv.range({
        key: from,
        range_end: end,
        limit: PAGE,
        ...(revision ? { revision } : {}),
      });
      // The first page fixes the revision; later pages read at it so the result is one snapshot.
      if (!revision) revision = Number(res.header.revision);
      for (const kv of res.kvs) kvs.push(this.toKv(kv));
      if (!res.more || res.kvs.length === 0) break;
      from = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
    }
    return { kvs, revision };
  }

  async getPrefixes(prefixes: string[]): Promise<{ kvs: KeyValue[]; revision: number }> {
    if (prefixes.length === 0) return { kvs: [], revision: await this.revision() };
    const first = await this.getPrefix(prefixes[0]);
    const kvs = [...first.kvs];
    for (const p of prefixes.slice(1)) {
      kvs.push(...(await this.getPrefix(p, { revision: first.revision })).kvs);
    }
    return { kvs, revision: first.revision };
  }

  async scanPrefix(
    prefix: string,
    revision: number,
    each: (kvs: KeyValue[]) => Promise<void> | void,
  ): Promise<void> {
    const start = enc(this.abs(prefix));
    const end = prefixEnd(start);
    let from = start;
    for (;;) {
      const res = await this.etcd.kv.range({ key: from, range_end: end, limit: PAGE, revision });
      if (res.kvs.length > 0) await each(res.kvs.map((kv) => this.toKv(kv)));
      if (!res.more || res.kvs.length === 0) break;
      from = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
    }
  }

  async getMany(list: string[]): Promise<Map<string, KeyValue>> {
    const out = new Map<string, KeyValue>();
    const unique = [...new Set(list)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += DEFAULT_MAX_OPS)
      chunks.push(unique.slice(i, i + DEFAULT_MAX_OPS));
    const one = async (chunk: string[]) => {
      const res = await this.etcd.kv.txn({
        compare: [],
        success: chunk.map((k) => ({ request_range: { key: enc(this.abs(k)) } })),
      });
      for (const r of res.responses)
        for (const kv of r.response_range.kvs) {
          const v = this.toKv(kv);
          out.set(v.key, v);
        }
    };
    for (let i = 0; i < chunks.length; i += GET_MANY_IN_FLIGHT)
      await Promise.all(chunks.slice(i, i + GET_MANY_IN_FLIGHT).map(one));
    return out;
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    const res = await this.etcd.kv.put({
      key: enc(this.abs(key)),
      value: enc(value),
      lease: opts.lease ?? 0,
    });
    return Number(res.header.revision);
  }

  async delete(key: string): Promise<{ deleted: number; revision: number }> {
    const res = await this.etcd.kv.deleteRange({ key: enc(this.abs(key)) });
    return { deleted: Number(res.deleted), revision: Number(res.header.revision) };
  }

  async deletePrefix(prefix: string): Promise<{ deleted: number; revision: number }> {
    const key = enc(this.abs(prefix));
    const res = await this.etcd.kv.deleteRange({ key, range_end: prefixEnd(key) });
    return { deleted: Number(res.deleted), revision: Number(res.header.revision) };
  }

  private guardCompare(guard: Guard): ICompare {
    return {
      key: enc(this.abs(guard.key)),
      target: 'Create',
      result: 'Equal',
      create_revision: guard.createRevision,
    };
  }

  private requestOp(op: WriteOp): IRequestOp {
    switch (op.op) {
      case 'put':
        return { request_put: { key: enc(this.abs(op.key)), value: enc(op.value), lease: op.lease ?? 0 } };
      case 'delete':
        return { request_delete_range: { key: enc(this.abs(op.key)) } };
      case 'deletePrefix': {
        const key = enc(this.abs(op.prefix));
        return { request_delete_range: { key, range_end: prefixEnd(key) } };
      }
    }
  }

  async txnBatch(ops: WriteOp[], opts: TxnBatchOptions = {}): Promise<{ revision: number; txns: number }> {
    const chunks = splitOps(
      ops,
      opts.maxOpsPerTxn ?? DEFAULT_MAX_OPS,
      opts.maxBytesPerTxn ?? DEFAULT_MAX_BYTES,
    );
    let revision = 0;
    let applied = 0;
    for (const chunk of chunks) {
      const res = await this.etcd.kv.txn({
        compare: opts.guard ? [this.guardCompare(opts.guard)] : [],
        success: chunk.map((op) => this.requestOp(op)),
      });
      if (!res.succeeded) throw new GuardFailedError(opts.guard as Guard);
      revision = Number(res.header.revision);
      applied += chunk.length;
      opts.onProgress?.(applied);
    }
    if (chunks.length === 0) revision = await this.revision();
    return { revision, txns: chunks.length };
  }

  async update(
    key: string,
    fn: (current: KeyValue | undefined) => UpdateDecision,
    opts: { guard?: Guard; lease?: string } = {},
  ): Promise<UpdateResult> {
    const k = enc(this.abs(key));
    let { kv, revision } = await this.get(key);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const decision = fn(kv);
      if (decision === undefined || (decision === null && kv === undefined)) {
        return { written: false, kv, revision };
      }
      const compare: ICompare[] = [
        // mod_revision 0 compares equal for an absent key, so this also covers create-if-absent.
        { key: k, target: 'Mod', result: 'Equal', mod_revision: kv?.modRevision ?? 0 },
      ];
      if (opts.guard) compare.push(this.guardCompare(opts.guard));
      const write: IRequestOp =
        decision === null
          ? { request_delete_range: { key: k } }
          : { request_put: { key: k, value: enc(decision), lease: opts.lease ?? 0 } };
      const res = await this.etcd.kv.txn({
        compare,
        success: [write, { request_range: { key: k } }],
        failure: [
          { request_range: { key: k } },
          ...(opts.guard ? [{ request_range: { key: enc(this.abs(opts.guard.key)) } }] : []),
        ],
      });
      revision = Number(res.header.revision);
      if (res.succeeded) {
        const after = res.responses[1].response_range.kvs[0];
        return { written: true, kv: after ? this.toKv(after) : undefined, revision };
      }
      if (opts.guard) {
        const g = res.responses[1].response_range.kvs[0];
        if (!g || Number(g.create_revision) !== opts.guard.createRevision)
          throw new GuardFailedError(opts.guard);
      }
      const cur = res.responses[0].response_range.kvs[0];
      kv = cur ? this.toKv(cur) : undefined;
    }
    throw new Error(`update of ${key}: still conflicting after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  putIfNewer(
    key: string,
    value: string,
    revisionOf: (value: string) => number | undefined,
    opts: { guard?: Guard } = {},
  ): Promise<UpdateResult> {
    const mine = revisionOf(value);
    if (mine === undefined || !Number.isFinite(mine)) {
      return Promise.reject(new Error(`putIfNewer(${key}): the new value has no revision`));
    }
    return this.update(
      key,
      (cur) => {
        if (!cur) return value;
        let theirs: number | undefined;
        try {
          theirs = revisionOf(cur.value);
        } catch {
          theirs = undefined;
        }
        return theirs === undefined || !Number.isFinite(theirs) || theirs < mine ? value : undefined;
      },
      opts,
    );
  }

  async revision(key?: string): Promise<number> {
    // Any single-key read returns the store revision in its header. The namespace's root is inside
    // a role granted the namespace as a prefix; without a namespace, "\0" is the smallest key.
    const k = key !== undefined ? this.abs(key) : this.namespace;
    const res = await this.etcd.kv.range({ key: k === '' ? Buffer.from([0]) : enc(k), count_only: true });
    return Number(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    await this.etcd.kv.compact({ revision, physical: true });
  }

  close(): void {
    this.etcd.close();
  }
}

function opBytes(op: WriteOp): number {
  return op.op === 'put'
    ? op.key.length + op.value.length + 32
    : (op.op === 'delete' ? op.key : op.prefix).length + 32;
}

/** Does `op` touch a key already touched by ops in the chunk? (etcd rejects such txns.) */
function overlaps(op: WriteOp, keys: Set<string>, prefixes: string[]): boolean {
  if (op.op === 'deletePrefix') {
    for (const k of keys) if (k.startsWith(op.prefix)) return true;
    return prefixes.some((p) => p.startsWith(op.prefix) || op.prefix.startsWith(p));
  }
  return keys.has(op.key) || prefixes.some((p) => op.key.startsWith(p));
}

/** Splits ops, in order, into txn-sized chunks. Exported for tests. */
export function splitOps(ops: WriteOp[], maxOps: number, maxBytes: number): WriteOp[][] {
  const chunks: WriteOp[][] = [];
  let cur: WriteOp[] = [];
  let bytes = 0;
  let keys = new Set<string>();
  let prefixes: string[] = [];
  for (const op of ops) {
    const b = opBytes(op);
    if (cur.length > 0 && (cur.length >= maxOps || bytes + b > maxBytes || overlaps(op, keys, prefixes))) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
      keys = new Set();
      prefixes = [];
    }
    cur.push(op);
    bytes += b;
    if (op.op === 'deletePrefix') prefixes.push(op.prefix);
    else keys.add(op.key);
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

/** Opens a client. No I/O happens until the first call (etcd may still be down). */
export function openStore(opts: StoreOptions): Store {
  if (opts.endpoints.length === 0) throw new Error('openStore: no etcd endpoints');
  return new EtcdStore(opts);
}
