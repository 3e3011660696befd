// What the agents report, as the driver sees it: live hosts (state/<host>/alive) and the states of
// ports, routers and floating IPs (state/<host>/{ports,routers,floatingips}/<id>). One resilient
// watch over state/ keeps a cache and a log of changes; GET /v1/hosts reads the cache, GET
// /v1/ports/events (alias /v1/events) long-polls the log (cursor = etcd revision).
import { decodeValue, type HostState, keys, parseKey } from '../model/keyspace.ts';
import { formatErrors } from '../model/validate.ts';
import {
  type KeyValue,
  type PrefixWatcher,
  type Store,
  watchPrefixes,
  type WatchEvent,
} from '../store/index.ts';
import type { Logger } from '../util/log.ts';

export interface HostInfo extends Partial<HostState> {
  host: string;
  alive: true;
  /** Set when the agent's liveness value is malformed; such a host offers nothing to bind to. */
  error?: string;
}

interface StateFields {
  host: string;
  /** Neutron revision the agent applied (null if none yet or unknown). */
  revision: number | null;
  ready: boolean;
  error: string | null;
  /** Present (true) when the agent removed the state (the object left that host). */
  deleted?: true;
}

/** state/<host>/ports/<port>: the port's binding applied (or failed). */
export interface PortEvent extends StateFields {
  kind: 'port';
  port_id: string;
}

/** state/<host>/routers/<router>: the router's gateway, SNAT and routes applied (or failed). */
export interface RouterEvent extends StateFields {
  kind: 'router';
  router_id: string;
}

/** state/<host>/floatingips/<fip>: the floating IP's static mapping applied (or failed). */
export interface FloatingIpEvent extends StateFields {
  kind: 'floatingip';
  floatingip_id: string;
}

/** state/<host>/tapflows/<flow>: the host's part of a tap flow (its mirror) in place (or failed). */
export interface TapFlowEvent extends StateFields {
  kind: 'tap_flow';
  tap_flow_id: string;
}

export type StateEvent = PortEvent | RouterEvent | FloatingIpEvent | TapFlowEvent;

/** The state key kinds that become events, and how each names its object. */
const EVENT_KINDS = {
  portState: { kind: 'port', idField: 'port_id', what: 'port' },
  routerState: { kind: 'router', idField: 'router_id', what: 'router' },
  floatingIpState: { kind: 'floatingip', idField: 'floatingip_id', what: 'floating IP' },
  tapFlowState: { kind: 'tap_flow', idField: 'tap_flow_id', what: 'tap flow' },
} as const;

function eventOf(kind: StateEvent['kind'], id: string, fields: StateFields): StateEvent {
  switch (kind) {
    case 'port':
      return { kind, port_id: id, ...fields };
    case 'router':
      return { kind, router_id: id, ...fields };
    case 'floatingip':
      return { kind, floatingip_id: id, ...fields };
    case 'tap_flow':
      return { kind, tap_flow_id: id, ...fields };
  }
}

/** The id of the object an event is about. */
export function eventId(e: StateEvent): string {
  switch (e.kind) {
    case 'port':
      return e.port_id;
    case 'router':
      return e.router_id;
    case 'floatingip':
      return e.floatingip_id;
    case 'tap_flow':
      return e.tap_flow_id;
  }
}

/** `kind/host/id`: one object's state on one host. */
function eventKey(e: StateEvent): string {
  return `${e.kind}/${e.host}/${eventId(e)}`;
}

export interface EventsReply {
  cursor: string;
  events: StateEvent[];
  /** true: `events` is the full current state (no cursor, or one older than the change log). */
  resync: boolean;
}

interface Logged {
  rev: number;
  event: StateEvent;
}

/** How many changes are kept for long-polling clients; older cursors get the full state. */
const DEFAULT_LOG_LIMIT = 20000;

export class StateView {
  private watcher: PrefixWatcher | undefined;
  private readonly hostMap = new Map<string, HostInfo>();
  /** Current state per `kind/host/id` (ports, routers, floating IPs). */
  private readonly objMap = new Map<string, StateEvent>();
  private changes: Logged[] = [];
  /** Changes after this revision are all in `changes`. */
  private base = 0;
  /** Highest revision reflected in the cache. */
  private rev = 0;
  /**
   * Highest revision whose changes are all in the cache: the only revision handed out as a cursor.
   * The changes of one etcd transaction (an agent reports every port a pass made ready in one) share a
   * revision and are applied one at a time; a cursor at that revision handed out between two of them
   * would make the client skip the rest, and those ports would never be reported to it.
   */
  private complete = 0;
  private settling: ReturnType<typeof setImmediate> | undefined;
  private synced = false;
  private waiters = new Set<() => void>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly logLimit = DEFAULT_LOG_LIMIT,
  ) {}

  /** Starts watching; resolves once the initial state is loaded. */
  async start(): Promise<void> {
    this.watcher = watchPrefixes(this.store, {
      prefixes: [keys.state],
      onEvent: (ev) => this.onEvent(ev),
      log: (msg, err) =>
        this.log.warn(msg, err ? { error: err instanceof Error ? err.message : String(err) } : {}),
    });
    await this.watcher.ready;
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    clearImmediate(this.settling);
    this.settling = undefined;
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  /** Calls `fn` after each whole change of what agents report (hosts included); returns its remover. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Every port, router and floating IP state the agents report now. */
  objects(): StateEvent[] {
    return [...this.objMap.values()];
  }

  /** Loaded and currently connected to etcd. */
  get connected(): boolean {
    return this.synced && (this.watcher?.connected ?? false);
  }

  hosts(): HostInfo[] {
    return [...this.hostMap.values()].sort((a, b) => (a.host < b.host ? -1 : 1));
  }

  host(name: string): HostInfo | undefined {
    return this.hostMap.get(name);
  }

  // ---- watch events --------------------------------------------------------------------------------

  private onEvent(ev: WatchEvent): void {
    switch (ev.type) {
      case 'resync': {
        if (ev.reason === 'initial') {
          this.hostMap.clear();
          this.objMap.clear();
          for (const kv of ev.kvs) this.apply(kv.key, kv, 0);
          this.base = ev.revision;
          this.synced = true;
        } else {
          // History was lost (compaction, etcd reset): log the differences so pollers see them.
          for (const kv of ev.changed) this.apply(kv.key, kv, ev.revision);
          for (const key of ev.removed) this.apply(key, undefined, ev.revision);
          this.log.info('port state re-read after a watch gap', { reason: ev.reason, revision: ev.revision });
        }
        // A re-list is one event holding everything up to its revision.
        this.rev = Math.max(this.rev, ev.revision);
        this.complete = this.rev;
        break;
      }
      case 'put':
        this.advance(ev.modRevision);
        this.apply(ev.key, ev, ev.modRevision);
        break;
      case 'delete':
        this.advance(ev.modRevision);
        this.apply(ev.key, undefined, ev.modRevision);
        break;
      case 'connection':
        this.log.info(`etcd watch ${ev.state}`, ev.error ? { error: ev.error } : {});
        return;
    }
    // Pollers are answered once the revision is whole, not in the middle of a transaction's changes.
    this.settling ??= setImmediate(() => this.settle());
  }

  /** A change at `rev`: events come in revision order, so every change before it has been applied. */
  private advance(rev: number): void {
    if (rev > this.rev) {
      this.complete = this.rev;
      this.rev = rev;
    }
  }

  /**
   * Runs in the macrotask after changes were applied. The watcher hands over the events of one etcd
   * watch response (etcd never splits a revision across responses) in one go, through microtasks
   * only, so by now every revision applied is whole.
   */
  private settle(): void {
    this.settling = undefined;
    this.complete = this.rev;
    this.trim();
    for (const w of this.waiters) w();
    this.waiters.clear();
    for (const l of this.listeners) l();
  }

  /** Updates the cache from one key; logs a port event when `rev` > 0. */
  private apply(key: string, kv: KeyValue | undefined, rev: number): void {
    const k = parseKey(key);
    if (k?.kind === 'hostAlive') {
      if (!kv) {
        if (this.hostMap.delete(k.host)) this.log.info('host is gone', { host: k.host });
        return;
      }
      const r = decodeValue('hostAlive', kv.value);
      const known = this.hostMap.has(k.host);
      if (r.ok) {
        this.hostMap.set(k.host, { ...r.value, host: k.host, alive: true });
      } else {
        const error = `invalid liveness value: ${formatErrors(r.errors)}`;
        this.hostMap.set(k.host, {
          host: k.host,
          alive: true,
          error,
          physnets: [],
          network_types: [],
          vif_types: [],
        });
        this.log.warn('agent liveness value is malformed', { host: k.host, error });
      }
      if (!known) this.log.info('host is alive', { host: k.host });
      return;
    }
    if (
      k?.kind !== 'portState' &&
      k?.kind !== 'routerState' &&
      k?.kind !== 'floatingIpState' &&
      k?.kind !== 'tapFlowState'
    )
      return;
    const { kind, what } = EVENT_KINDS[k.kind];
    const id =
      k.kind === 'portState'
        ? k.portId
        : k.kind === 'routerState'
          ? k.routerId
          : k.kind === 'tapFlowState'
            ? k.flowId
            : k.fipId;
    let event: StateEvent;
    if (!kv) {
      event = eventOf(kind, id, { host: k.host, revision: null, ready: false, error: null, deleted: true });
      this.objMap.delete(eventKey(event));
    } else {
      const r = decodeValue(k.kind, kv.value);
      event = eventOf(
        kind,
        id,
        r.ok
          ? { host: k.host, revision: r.value.revision, ready: r.value.ready, error: r.value.error }
          : {
              host: k.host,
              revision: null,
              ready: false,
              error: `invalid ${what} state value: ${formatErrors(r.errors)}`,
            },
      );
      this.objMap.set(eventKey(event), event);
    }
    if (rev > 0) this.changes.push({ rev, event });
  }

  /** Keeps the log at most 1.5 × its limit long (trimming in steps keeps appends cheap). */
  private trim(): void {
    if (this.changes.length <= this.logLimit * 1.5) return;
    const drop = this.changes.length - this.logLimit;
    this.base = this.changes[drop - 1].rev;
    this.changes = this.changes.slice(drop);
  }

  // ---- long poll -----------------------------------------------------------------------------------

  /**
   * The current state. It may already hold some changes of a revision still being applied; the cursor
   * stays before that revision, so the next poll gets them again, with the rest of it.
   */
  private snapshot(): EventsReply {
    return { cursor: String(this.complete), events: [...this.objMap.values()], resync: true };
  }

  /** Changes after `since` up to the last whole revision, the latest per object, in the order they happened. */
  private since(since: number): StateEvent[] {
    // The log is in revision order: find the first change after `since` by bisection.
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.changes[mid].rev > since) hi = mid;
      else lo = mid + 1;
    }
    const latest = new Map<string, Logged>();
    for (let i = lo; i < this.changes.length && this.changes[i].rev <= this.complete; i++) {
      const c = this.changes[i];
      latest.set(eventKey(c.event), c);
    }
    return [...latest.values()].sort((a, b) => a.rev - b.rev).map((c) => c.event);
  }

  /**
   * State events (ports, routers, floating IPs) after cursor `since` (null: the full current state). Waits up to `timeoutMs` for
   * one when there is none yet; `abort` ends the wait early (client went away).
   */
  async events(since: number | null, timeoutMs: number, abort?: AbortSignal): Promise<EventsReply> {
    if (since === null || since < this.base) return this.snapshot();
    if (since > this.complete) {
      // A cursor from the future: another controller saw more, or etcd lost its data since.
      const current = await this.store.revision();
      if (since > current) return this.snapshot();
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (since < this.base) return this.snapshot();
      const events = this.since(since);
      if (events.length > 0) return { cursor: String(this.complete), events, resync: false };
      const left = deadline - Date.now();
      if (left <= 0 || abort?.aborted)
        return { cursor: String(Math.max(since, this.complete)), events, resync: false };
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          abort?.removeEventListener('abort', done);
          resolve();
        };
        const t = setTimeout(done, left);
        this.waiters.add(done);
        abort?.addEventListener('abort', done);
      });
    }
  }
}
