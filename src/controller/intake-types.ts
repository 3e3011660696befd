// The shapes of the controller's intake (intake.ts): what the driver gets back from a journal batch
// and a full sync, and how an Intake is set up.
import type { NeutronKind } from '../model/keyspace.ts';
import type { Signer } from '../model/signing.ts';
import type { Guard, Store } from '../store/index.ts';
import type { Logger } from '../util/log.ts';
import type { RevisionTracker } from './marker.ts';

export interface JournalReply {
  done: number[];
  rejected: { id: number; error: string }[];
  /** etcd's desired state may be incomplete: the driver should send a full sync (POST /v1/sync). */
  sync_needed: boolean;
}

export interface SyncReply {
  rejected: { resource: NeutronKind; id: string | null; error: string }[];
  /** Desired-state keys written or deleted to make etcd match Neutron. */
  written: number;
  deleted: number;
  /**
   * Resources whose existence the snapshot did not decide because a journal row changed them in etcd
   * after the sync token was taken (the snapshot may predate that row).
   */
  kept: number;
}

/** GET /v1/sync: whether a full sync is needed, and the token to send with it. */
export interface SyncStatus {
  sync_needed: boolean;
  /** etcd's revision now; take it before reading Neutron's snapshot and send it back with the sync. */
  token: string;
}

export interface IntakeOptions {
  store: Store;
  /** The leader's guard, or undefined when this instance doesn't lead. */
  guard: () => Guard | undefined;
  log: Logger;
  now?: () => Date;
  /** Recorded in the sync marker. */
  controllerId?: string;
  /** Store revisions seen and the marker's trust (marker.ts), to notice a store gone back in time. */
  revisions?: RevisionTracker;
  /** Most journal rows in one request (default 1000). */
  maxRows?: number;
  /** Most journal/sync requests waiting for their turn (default 8); more get BusyError. */
  maxQueued?: number;
  /** Share of the desired-state keys a full sync or journal batch may delete before it is held (default 0.5). */
  syncDeleteLimit?: number;
  /** A journal batch deleting at most this many desired-state keys is never held (default 100). */
  journalDeleteMinKeys?: number;
  /**
   * A full sync deleting at most this many desired-state keys, and not all of them, is never held
   * (default 10).
   */
  syncDeleteMinKeys?: number;
  /** Told of every journal batch and full sync applied (metrics.ts). */
  onApplied?: (a: AppliedStats) => void;
  /** Signs every value written (src/model/signing.ts); absent: values are written unsigned. */
  signer?: Signer | null;
}

/** What one journal batch or full sync did, for metrics. */
export interface AppliedStats {
  kind: 'journal' | 'sync';
  applied: number;
  rejected: number;
  stale: number;
  /** Already applied at that revision: nothing to write. */
  unchanged: number;
  ms: number;
}
