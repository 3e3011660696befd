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

/** Every call since the agent started and the ones that failed, by message (for /metrics). */
export class VppCallTotals {
  readonly byName = new Map<string, { calls: number; failures: number }>();

  private entry(name: string): { calls: number; failures: number } {
    let e = this.byName.get(name);
    if (!e) this.byName.set(name, (e = { calls: 0, failures: 0 }));
    return e;
  }

  call(name: string): void {
    this.entry(name).calls++;
  }

  fail(name: string): void {
    this.entry(name).failures++;
  }
}

export class CountingVpp implements VppApi {
  counts: CallCounts = { calls: 0, writes: 0, byName: new Map() };

  constructor(
    private readonly inner: VppApi,
    private readonly totals?: VppCallTotals,
  ) {}

  /** Counts a failure (a VPP error or a timeout) in the totals; the caller still gets the rejection. */
  private watch<T>(name: string, p: Promise<T>): Promise<T> {
    const t = this.totals;
    if (t) {
      t.call(name);
      p.then(undefined, () => t.fail(name));
    }
    return p;
  }

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
    return this.watch(def.name, this.inner.request(def, args));
  }

  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R[]> {
    this.count(def.name, false);
    return this.watch(def.name, this.inner.dump(def, args));
  }

  offers(group: GroupName): boolean {
    return this.inner.offers?.(group) ?? true;
  }
}
