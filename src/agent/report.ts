// Writes state/<host>/ports/<port_id> (and, with another `StateKind`, state/<host>/routers/<id> and
// state/<host>/floatingips/<id>): for each port bound here, the binding revision the state is
// about, whether the port is ready, and the error that keeps it from being ready. Only changes are
// written, batched into transactions; what could not be written (etcd down) is retried. Keys of ports no
// longer bound here are deleted — but only once the full desired state has been read. A flush looks at
// the ports set since the last one, not at every port.
import { decodeValue, encodeValue, keys, parseKey, type PortState } from '../model/keyspace.ts';
import type { Store, WriteOp } from '../store/index.ts';
import type { Logger } from '../util/log.ts';

type Status = Omit<PortState, 'updated_at'>;

/** Which state keys a reporter writes: ports (default), routers or floating IPs. */
export interface StateKind {
  what: string;
  prefix: (host: string) => string;
  key: (host: string, id: string) => string;
  /** The id a key under the prefix names, or null. */
  idOf: (key: string) => string | null;
}

export const PORT_STATES: StateKind = {
  what: 'port',
  prefix: keys.hostPortStates,
  key: keys.portState,
  idOf: (key) => {
    const k = parseKey(key);
    return k?.kind === 'portState' ? k.portId : null;
  },
};

export const ROUTER_STATES: StateKind = {
  what: 'router',
  prefix: keys.hostRouterStates,
  key: keys.routerState,
  idOf: (key) => {
    const k = parseKey(key);
    return k?.kind === 'routerState' ? k.routerId : null;
  },
};

export const FIP_STATES: StateKind = {
  what: 'floating IP',
  prefix: keys.hostFloatingIpStates,
  key: keys.floatingIpState,
  idOf: (key) => {
    const k = parseKey(key);
    return k?.kind === 'floatingIpState' ? k.fipId : null;
  },
};

export const TAPFLOW_STATES: StateKind = {
  what: 'tap flow',
  prefix: keys.hostTapFlowStates,
  key: keys.tapFlowState,
  idOf: (key) => {
    const k = parseKey(key);
    return k?.kind === 'tapFlowState' ? k.flowId : null;
  },
};

const same = (a: Status, b: Status): boolean =>
  a.revision === b.revision && a.ready === b.ready && a.error === b.error;

export class PortStateReporter {
  /** What etcd holds (as far as we know), by port id. */
  private readonly written = new Map<string, Status>();
  /** What etcd should hold; null = delete. */
  private readonly wanted = new Map<string, Status | null>();
  /** Ports whose wanted state may differ from what etcd holds. */
  private readonly pending = new Set<string>();
  /** Whether `wanted` names every port (setAll was called): keys of other ports may then go. */
  private complete = false;
  private loaded = false;
  private flushing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly store: Store,
    private readonly host: string,
    private readonly log: Logger,
    private readonly kind: StateKind = PORT_STATES,
  ) {}

  /** Reads what is stored now, so an unchanged port costs no write after a restart. */
  async load(): Promise<void> {
    const { kvs } = await this.store.getPrefix(this.kind.prefix(this.host));
    this.written.clear();
    for (const id of this.wanted.keys()) this.pending.add(id);
    for (const kv of kvs) {
      const id = this.kind.idOf(kv.key);
      if (id === null) continue;
      const r = decodeValue('portState', kv.value);
      // An unreadable value is remembered as "something else", so it gets rewritten.
      this.written.set(
        id,
        r.ok
          ? { revision: r.value.revision, ready: r.value.ready, error: r.value.error }
          : { revision: -1, ready: false, error: 'unreadable' },
      );
      if (this.complete && !this.wanted.has(id)) this.wanted.set(id, null);
      this.pending.add(id);
    }
    this.loaded = true;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Sets every port's status; ports absent from `statuses` get their key deleted. */
  setAll(statuses: ReadonlyMap<string, Status>): void {
    this.wanted.clear();
    this.pending.clear();
    this.complete = true;
    for (const [id, s] of statuses) this.set(id, s);
    for (const id of this.written.keys()) if (!statuses.has(id)) this.set(id, null);
  }

  /** Sets one port's status; null: the port is no longer bound here (its key goes). */
  set(id: string, s: Status | null): void {
    this.wanted.set(id, s);
    this.pending.add(id);
  }

  /** Writes what differs. Never rejects: what could not be written stays dirty for the next flush. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = this.doFlush().finally(() => {
      this.flushing = undefined;
      if (this.again) {
        this.again = false;
        void this.flush();
      }
    });
    return this.flushing;
  }

  /** Ports whose state differs from etcd. */
  get dirty(): number {
    let n = 0;
    for (const id of this.pending) if (this.differs(id)) n++;
    return n;
  }

  private differs(id: string): boolean {
    const s = this.wanted.get(id);
    const w = this.written.get(id);
    if (s === undefined) return false;
    return s === null ? w !== undefined : !w || !same(w, s);
  }

  private async doFlush(): Promise<void> {
    if (!this.loaded) {
      try {
        await this.load();
      } catch (e) {
        this.log.warn(`cannot read ${this.kind.what} states from etcd; will retry`, {
          error: (e as Error).message,
        });
        return;
      }
    }
    const ops: WriteOp[] = [];
    const planned = new Map<string, Status | null>();
    const now = new Date().toISOString();
    for (const id of this.pending) {
      const s = this.wanted.get(id);
      if (!this.differs(id)) {
        this.pending.delete(id);
        if (s === null) this.wanted.delete(id);
        continue;
      }
      const key = this.kind.key(this.host, id);
      if (s === null) ops.push({ op: 'delete', key });
      else ops.push({ op: 'put', key, value: encodeValue(key, { ...s, updated_at: now }) });
      planned.set(id, s as Status | null);
    }
    if (ops.length === 0) return;
    try {
      await this.store.txnBatch(ops);
      for (const [id, s] of planned) {
        if (s === null) this.written.delete(id);
        else this.written.set(id, s);
        // Set again while the write was under way: stays pending for the next flush.
        if (this.wanted.get(id) !== s) continue;
        this.pending.delete(id);
        if (s === null) this.wanted.delete(id);
      }
    } catch (e) {
      this.log.warn(`writing ${this.kind.what} states to etcd failed; will retry`, {
        keys: ops.length,
        error: (e as Error).message,
      });
    }
  }
}
