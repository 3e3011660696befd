// Writes state/<host>/ports/<port_id>: for each port bound here, the binding revision the state is
// about, whether the port is ready, and the error that keeps it from being ready. Only changes are
// written, batched into transactions; what could not be written (etcd down) is retried. Keys of ports no
// longer bound here are deleted — but only once the full desired state has been read.
import { decodeValue, encodeValue, keys, parseKey, type PortState } from '../model/keyspace.ts';
import type { Store, WriteOp } from '../store/index.ts';
import type { Logger } from '../util/log.ts';

type Status = Omit<PortState, 'updated_at'>;

const same = (a: Status, b: Status): boolean =>
  a.revision === b.revision && a.ready === b.ready && a.error === b.error;

export class PortStateReporter {
  /** What etcd holds (as far as we know), by port id. */
  private readonly written = new Map<string, Status>();
  /** What etcd should hold; null = delete. */
  private readonly wanted = new Map<string, Status | null>();
  private loaded = false;
  private flushing: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly store: Store,
    private readonly host: string,
    private readonly log: Logger,
  ) {}

  /** Reads what is stored now, so an unchanged port costs no write after a restart. */
  async load(): Promise<void> {
    const { kvs } = await this.store.getPrefix(keys.hostPortStates(this.host));
    this.written.clear();
    for (const kv of kvs) {
      const k = parseKey(kv.key);
      if (k?.kind !== 'portState') continue;
      const r = decodeValue('portState', kv.value);
      // An unreadable value is remembered as "something else", so it gets rewritten.
      this.written.set(
        k.portId,
        r.ok
          ? { revision: r.value.revision, ready: r.value.ready, error: r.value.error }
          : { revision: -1, ready: false, error: 'unreadable' },
      );
    }
    this.loaded = true;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Sets every port's status; ports absent from `statuses` get their key deleted. */
  setAll(statuses: Map<string, Status>): void {
    this.wanted.clear();
    for (const [id, s] of statuses) this.wanted.set(id, s);
    for (const id of this.written.keys()) if (!statuses.has(id)) this.wanted.set(id, null);
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
    for (const [id, s] of this.wanted) {
      const w = this.written.get(id);
      if (s === null ? w !== undefined : !w || !same(w, s)) n++;
    }
    return n;
  }

  private async doFlush(): Promise<void> {
    if (!this.loaded) {
      try {
        await this.load();
      } catch (e) {
        this.log.warn('cannot read port states from etcd; will retry', { error: (e as Error).message });
        return;
      }
    }
    const ops: WriteOp[] = [];
    const planned = new Map<string, Status | null>();
    const now = new Date().toISOString();
    for (const [id, s] of this.wanted) {
      const w = this.written.get(id);
      if (s === null) {
        if (w !== undefined) {
          ops.push({ op: 'delete', key: keys.portState(this.host, id) });
          planned.set(id, null);
        } else this.wanted.delete(id);
        continue;
      }
      if (w && same(w, s)) continue;
      ops.push({
        op: 'put',
        key: keys.portState(this.host, id),
        value: encodeValue(keys.portState(this.host, id), { ...s, updated_at: now }),
      });
      planned.set(id, s);
    }
    if (ops.length === 0) return;
    try {
      await this.store.txnBatch(ops);
      for (const [id, s] of planned) {
        if (s === null) {
          this.written.delete(id);
          if (this.wanted.get(id) === null) this.wanted.delete(id);
        } else this.written.set(id, s);
      }
    } catch (e) {
      this.log.warn('writing port states to etcd failed; will retry', {
        ports: ops.length,
        error: (e as Error).message,
      });
    }
  }
}
