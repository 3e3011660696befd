// The slice of the VPP client the agent uses, with call counting (for progress logs, the benchmark
// and "a resync of an unchanged host writes nothing").
import type { Args } from '../vpp/client.ts';
import type { MessageDef } from '../vpp/codec/index.ts';
import type { GroupName } from '../vpp/groups.ts';
import { isWriteRequest } from '../vpp/read-only.ts';

export interface VppApi {
  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R>;
  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R[]>;
  /**
   * Whether VPP offers a message group (src/vpp/groups.ts); a VPP without it has none of its
   * objects. Absent: every group is offered.
   */
  offers?(group: GroupName): boolean;
}

export interface CallCounts {
  /** Every request and dump sent. */
  calls: number;
  /** Requests that change VPP state (everything but dumps and read-only requests). */
  writes: number;
  byName: Map<string, number>;
}

export class CountingVpp implements VppApi {
  counts: CallCounts = { calls: 0, writes: 0, byName: new Map() };

  constructor(private readonly inner: VppApi) {}

  /** Returns the counts so far and starts new ones. */
  take(): CallCounts {
    const c = this.counts;
    this.counts = { calls: 0, writes: 0, byName: new Map() };
    return c;
  }

  private count(name: string, write: boolean): void {
    this.counts.calls++;
    if (write) this.counts.writes++;
    this.counts.byName.set(name, (this.counts.byName.get(name) ?? 0) + 1);
  }

  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R> {
    this.count(def.name, isWriteRequest(def.name, args as { cmd?: unknown }));
    return this.inner.request(def, args);
  }

  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R[]> {
    this.count(def.name, false);
    return this.inner.dump(def, args);
  }

  offers(group: GroupName): boolean {
    return this.inner.offers?.(group) ?? true;
  }
}
