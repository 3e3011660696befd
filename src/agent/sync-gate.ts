// Whether the agent may delete: only while etcd's desired state is known to be complete. The leading
// controller writes `meta/synced` as the last write of a full sync from Neutron; it is absent on a new
// or wiped etcd and deleted by the controller when etcd went back in time. Without it, a missing
// binding may just not have been re-written yet, so deleting its port would cut a running VM off.
// After this agent saw etcd lose data (its watch reported a reset), a marker only counts when it is
// newer than the last one seen before: one restored with a backup predates the loss.
import { decodeValue, keys, type SyncMarker } from '../model/keyspace.ts';
import { type Opener, opener } from '../model/signing.ts';
import { formatErrors } from '../model/validate.ts';

export type SyncGateState =
  /** Not read yet: hold (nothing is known). */
  | 'loading'
  /** A marker is present (and newer than any reset): deletions go ahead. */
  | 'synced'
  /** No marker in etcd: hold until the driver's full sync writes one. */
  | 'absent'
  /** etcd lost data since the last marker: hold until a newer one. */
  | 'reset';

export class SyncGate {
  private marker: SyncMarker | undefined;
  private loaded = false;
  /** `at` (ms) a marker must exceed after a reset; undefined when no reset is pending. */
  private barrier: number | undefined;
  /** The newest `at` (ms) seen, the barrier for the next reset. */
  private lastSeen = -Infinity;
  private bad: string | undefined;

  /** `open` checks the marker's signature: a forged one is taken as absent (deletions held). */
  constructor(
    private readonly onChange: (state: SyncGateState, why: string) => void,
    private readonly open: Opener = opener(null),
  ) {}

  get state(): SyncGateState {
    if (!this.loaded) return 'loading';
    if (this.barrier !== undefined) return 'reset';
    return this.marker ? 'synced' : 'absent';
  }

  /** Whether deletions must wait. */
  get holding(): boolean {
    return this.state !== 'synced';
  }

  /** The marker in force (for health), or why the one in etcd is not taken. */
  describe(): { state: SyncGateState; at: string | null; error?: string } {
    return {
      state: this.state,
      at: this.marker?.at ?? null,
      ...(this.bad ? { error: this.bad } : {}),
    };
  }

  /** The marker's value as etcd now has it (undefined: absent), from a list or a watch event. */
  set(raw: string | undefined, why: string): void {
    const before = this.state;
    this.loaded = true;
    this.bad = undefined;
    this.marker = undefined;
    if (raw !== undefined) {
      const opened = this.open(keys.syncMarker, raw);
      const r = opened.ok
        ? decodeValue('syncMarker', opened.payload)
        : { ok: false as const, errors: [{ field: '', message: opened.error }] };
      const at = r.ok ? Date.parse(r.value.at) : NaN;
      if (!r.ok) this.bad = `meta/synced is invalid: ${formatErrors(r.errors)}`;
      else if (Number.isNaN(at))
        this.bad = `meta/synced has an unreadable time ${JSON.stringify(r.value.at)}`;
      else {
        this.marker = r.value;
        if (this.barrier !== undefined && at <= this.barrier) {
          // Still the pre-reset marker (or one restored from before it): not proof of completeness.
          this.marker = undefined;
          this.bad = `meta/synced (at ${r.value.at}) is not newer than the last one seen before etcd lost data`;
        } else {
          this.barrier = undefined;
          this.lastSeen = Math.max(this.lastSeen, at);
        }
      }
    }
    this.changed(before, why);
  }

  /** etcd lost data or went back in time (seen by any of the agent's watches). */
  reset(why: string): void {
    const before = this.state;
    this.barrier = this.lastSeen;
    this.marker = undefined;
    this.changed(before, why);
  }

  private changed(before: SyncGateState, why: string): void {
    const now = this.state;
    if (now !== before) this.onChange(now, this.bad ? `${why}: ${this.bad}` : why);
  }
}
