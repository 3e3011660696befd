// What the agent tells operators through etcd, beside its port states: a short summary on its
// liveness key (HostState.status, read by `netvpp status`), and the operator's resync requests
// (`nodes/<host>/resync`, written by `netvpp resync --host`). Both run next to the agent, not in
// its loop: the summary is recomputed after passes and written only when it changed, at most every
// `minIntervalMs`.
import { decodeValue, type HostStatus, keys } from '../model/keyspace.ts';
import { type Store, watchPrefixes, type PrefixWatcher } from '../store/index.ts';
import type { Logger } from '../util/log.ts';
import type { Agent, ResyncStats } from './agent.ts';
import { isReady } from './metrics.ts';

export interface AgentStatusOptions {
  /** Fewest ms between two summary writes (default 2000). */
  minIntervalMs?: number;
}

export function hostStatus(agent: Agent, lastResync: HostStatus['last_resync']): HostStatus {
  const h = agent.health();
  return {
    ports: { ...h.ports },
    failing: agent.reconciler.failures.size,
    held: h.deletions.held,
    ready: isReady(h),
    last_resync: lastResync,
    progress: agent.progress.snapshot(),
    ...(agent.bondStates ? { bonds: agent.bondStates } : {}),
  };
}

export class AgentStatus {
  private last = '';
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = 0;
  private readonly watcher: PrefixWatcher;
  private seen: string | undefined;
  private closed = false;
  private lastResync: HostStatus['last_resync'] = null;
  /** Port states also change without a pass (a guest connecting): look again now and then. */
  private readonly every: NodeJS.Timeout;

  constructor(
    private readonly agent: Agent,
    store: Store,
    private readonly publish: (s: HostStatus) => void,
    private readonly log: Logger,
    private readonly opts: AgentStatusOptions = {},
  ) {
    const key = keys.resyncRequest(agent.config.host);
    this.watcher = watchPrefixes(store, {
      prefixes: [key],
      onEvent: (ev) => {
        if (ev.type === 'resync') {
          this.seen = ev.kvs.find((kv) => kv.key === key)?.value;
          return;
        }
        if (ev.type !== 'put' || ev.key !== key || ev.value === this.seen) return;
        this.seen = ev.value;
        const r = decodeValue('resyncRequest', ev.value);
        this.log.info('resync requested', r.ok ? { by: r.value.by, at: r.value.at } : { value: ev.value });
        agent.requestResync();
      },
      log: (msg, err) => this.log.warn(msg, err ? { error: err } : {}),
    });
    agent.on('synced', (r: ResyncStats) => {
      this.lastResync = { reason: r.reason, at: new Date().toISOString(), ms: r.ms };
    });
    agent.on('worked', () => this.note());
    agent.on('progress', () => this.note());
    this.every = setInterval(() => this.note(), 5000);
    this.every.unref();
  }

  /** Recomputes the summary; writes it now, or when the interval since the last write is over. */
  note(): void {
    if (this.closed || this.timer) return;
    const wait = (this.opts.minIntervalMs ?? 2000) - (Date.now() - this.lastWrite);
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.note();
      }, wait);
      this.timer.unref?.();
      return;
    }
    const s = hostStatus(this.agent, this.lastResync);
    const text = JSON.stringify(s);
    if (text === this.last) return;
    this.last = text;
    this.lastWrite = Date.now();
    this.publish(s);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.every);
    await this.watcher.close();
  }
}
