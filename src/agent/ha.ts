// HA routers: the agents of an HA router's two hosts elect the active one on the router's etcd key
// (`election/routers/<router_id>`, lease-backed: the store's election). The winner's interfaces are
// up; the standby keeps the router plumbed with its interfaces admin down (compile-l3.ts). A dead
// active host's lease expires after the TTL, the standby's campaign wins and it takes over.
//
// Active here means: this agent holds the key, or the key names this host (held by the lease of
// this agent's previous process: a restarted agent keeps its router up instead of flapping it
// while that lease runs out; when it expires, whoever wins the campaign is active).
import { encodeValue, keys, type RouterActive } from '../model/keyspace.ts';
import { createElection, type Election, type Store } from '../store/index.ts';
import type { Logger } from '../util/log.ts';

interface Candidate {
  election: Election;
  active: boolean;
  timer: NodeJS.Timeout;
  stopped: boolean;
}

export class RouterElections {
  private readonly routers = new Map<string, Candidate>();

  constructor(
    private readonly store: Store,
    private readonly host: string,
    private readonly ttlSec: number,
    /**
     * Called when this host becomes (true) or stops being (false) an HA router's active host;
     * `takeover`: it won the election from the standby side (announce the addresses), not found its
     * own previous process holding the key (nothing moved).
     */
    private readonly onChange: (routerId: string, active: boolean, takeover: boolean) => void,
    private readonly log: Logger,
  ) {}

  /** Campaigns for every HA router carried here, and stops for those no longer carried. */
  update(routerIds: Iterable<string>): void {
    const want = new Set(routerIds);
    for (const id of want) if (!this.routers.has(id)) this.join(id);
    for (const id of [...this.routers.keys()]) if (!want.has(id)) void this.leave(id);
  }

  private join(id: string): void {
    const key = keys.routerActive(id);
    const value: RouterActive = { host: this.host, since: new Date().toISOString() };
    const election = createElection(this.store, {
      key,
      value: encodeValue(key, value),
      ttlSec: this.ttlSec,
      onLost: (reason) => {
        this.log.warn('lost the HA router election', { router: id, reason });
        void this.check(id);
        void this.campaign(id);
      },
      log: (msg, err) => this.log.debug(msg, { err: err instanceof Error ? err.message : undefined }),
    });
    const c: Candidate = {
      election,
      active: false,
      stopped: false,
      // Who holds the key, now and then: a peer that won while this agent waited.
      timer: setInterval(() => void this.check(id), Math.max(250, (this.ttlSec * 1000) / 4)),
    };
    this.routers.set(id, c);
    void this.check(id);
    void this.campaign(id);
  }

  private async campaign(id: string): Promise<void> {
    const c = this.routers.get(id);
    if (!c || c.stopped) return;
    try {
      await c.election.campaign();
      this.log.info('won the HA router election: active here', { router: id });
      this.set(id, true, true);
    } catch {
      // resign(): the router left this host
    }
  }

  private async check(id: string): Promise<void> {
    const c = this.routers.get(id);
    if (!c || c.stopped) return;
    if (c.election.isLeader) return this.set(id, true, false);
    let holder: string | undefined;
    try {
      holder = await c.election.leader();
    } catch {
      return; // etcd unreachable: keep the last word (the election steps down on its own)
    }
    let host: string | undefined;
    try {
      host = holder ? (JSON.parse(holder) as RouterActive).host : undefined;
    } catch {
      host = undefined;
    }
    this.set(id, c.election.isLeader || host === this.host, false);
  }

  private set(id: string, active: boolean, takeover: boolean): void {
    const c = this.routers.get(id);
    if (!c || c.stopped || c.active === active) return;
    c.active = active;
    this.onChange(id, active, takeover);
  }

  private async leave(id: string): Promise<void> {
    const c = this.routers.get(id);
    if (!c) return;
    c.stopped = true;
    clearInterval(c.timer);
    this.routers.delete(id);
    if (c.active) this.onChange(id, false, false);
    await c.election.resign().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.routers.keys()].map((id) => this.leave(id)));
  }
}
