// A check the chaos run makes while it runs: no deletion while deletions are held. While an agent
// holds its deletions (etcd's desired state may be partial: no sync marker, docs/agent.md) it still
// re-creates objects (a replace deletes the object first), so the name of a VPP delete message
// proves nothing. What must not happen is narrower and visible from outside: an object VPP holds that
// nothing desires — kept only because of the hold — must stay until the hold ends.
//
// So, per host, while the agent says it holds (its own GET /health, `deletions.allowed` false), the
// host is inspected as `netvpp plan` does (inspectHost: VPP read back by the engine's own dumps, the
// desired state compiled from etcd): `held` are the objects in VPP nothing desires. A held object
// missing at the next inspection, the agent holding throughout and VPP not restarted in between, is
// a finding; it is a violation when the object is still missing at the inspection after that (a
// replace brings it back: the agent may have been a little behind etcd and still desired it). A
// finding within GRACE_MS of the hold's start is excused and printed: a pass the agent began before
// it heard of the hold may still be running.
import { inspectHost } from '../../src/agent/inspect.ts';
import type { ChaosStack, Host } from './stack.ts';

/** What one inspection of a host saw. */
export interface HeldTick {
  at: number;
  /** The agent process (its log file): a new one starts over. */
  agent: string;
  /** Whether the agent said it holds deletions, just before and just after the inspection. */
  holding: boolean;
  /** Since when (ms) this agent process has been seen holding. */
  holdingSince: number;
  /** The keys of every object in VPP, and those of the objects nothing desires. */
  actual: ReadonlySet<string>;
  held: ReadonlySet<string>;
}

/** A pass the agent began before it heard of the hold may still delete for this long (ms). */
export const GRACE_MS = 2000;

export interface HeldFinding {
  key: string;
  /** The inspections between which it went missing. */
  from: number;
  to: number;
  excused: string | null;
}

/**
 * Held objects of `prev` missing from `next`. `restarted`: VPP restarted between them (it lost
 * everything, the agent deleted nothing).
 */
export function heldVanished(prev: HeldTick, next: HeldTick, restarted: boolean): HeldFinding[] {
  if (!prev.holding || !next.holding || restarted) return [];
  const out: HeldFinding[] = [];
  for (const key of prev.held) {
    if (next.actual.has(key)) continue;
    const early = prev.agent === next.agent && prev.at - next.holdingSince < GRACE_MS;
    out.push({
      key,
      from: prev.at,
      to: next.at,
      excused: early ? `within ${GRACE_MS} ms of the hold's start (a pass begun before it)` : null,
    });
  }
  return out;
}

/** Between inspections of a host (ms); only while its agent holds deletions. */
const TICK_MS = 300;

export class HeldDeletionCheck {
  /** Inspections made while an agent held its deletions, and held objects seen in them. */
  inspections = 0;
  heldSeen = 0;
  readonly violations: string[] = [];
  readonly excused: string[] = [];
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly last = new Map<string, HeldTick>();
  /** Findings waiting for one more inspection (a replace brings the object back). */
  private readonly pending = new Map<string, { f: HeldFinding; host: string }>();
  private readonly since = new Map<string, number>();
  /** VPP crashes counted on each host at its last inspection. */
  private readonly crashes = new Map<string, number>();

  constructor(private readonly stack: ChaosStack) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      for (const h of this.stack.hosts) {
        if (!this.running) break;
        try {
          await this.tick(h);
        } catch {
          // etcd or VPP not answering (a fault): this inspection is skipped, the next starts over.
          this.last.delete(h.name);
        }
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  }

  private async holds(h: Host): Promise<boolean> {
    const health = await h.agent.health();
    return health?.deletions.allowed === false;
  }

  private async tick(h: Host): Promise<void> {
    const agent = h.agent.logFile;
    const before = await this.holds(h);
    if (!before) {
      this.last.delete(h.name);
      this.since.delete(agent);
      this.dropPending(h.name);
      return;
    }
    const at = Date.now();
    if (!this.since.has(agent)) this.since.set(agent, at);
    const crashes = h.timeline.filter((e) => e.what.startsWith('VPP crashed')).length;
    const insp = await inspectHost({
      store: this.stack.store,
      vpp: h.operator,
      config: this.stack.config(h),
      timeoutMs: 5000,
    });
    const after = await this.holds(h);
    const tick: HeldTick = {
      at,
      agent,
      holding: before && after,
      holdingSince: this.since.get(agent) ?? at,
      actual: new Set(insp.actual.objects.keys()),
      held: new Set(insp.deletions.held),
    };
    this.inspections++;
    this.heldSeen += tick.held.size;
    const prev = this.last.get(h.name);
    const restarted = crashes !== (this.crashes.get(h.name) ?? crashes);
    this.crashes.set(h.name, crashes);
    // A finding from the inspection before: a violation if the object is still missing now.
    for (const [id, p] of [...this.pending]) {
      if (p.host !== h.name) continue;
      this.pending.delete(id);
      if (!tick.holding || restarted || tick.actual.has(p.f.key)) continue;
      this.violations.push(
        `${h.name}: ${p.f.key}, held (nothing desires it, kept while deletions are held), was deleted ` +
          `between ${new Date(p.f.from).toISOString()} and ${new Date(p.f.to).toISOString()} while the ` +
          `agent held deletions (${agent})`,
      );
    }
    if (prev && tick.holding) {
      for (const f of heldVanished(prev, tick, restarted)) {
        if (f.excused) this.excused.push(`${h.name}: ${f.key} ${f.excused}`);
        else this.pending.set(`${h.name} ${f.key}`, { f, host: h.name });
      }
    }
    if (tick.holding) this.last.set(h.name, tick);
    else this.last.delete(h.name);
  }

  private dropPending(host: string): void {
    for (const [id, p] of [...this.pending]) if (p.host === host) this.pending.delete(id);
  }
}
