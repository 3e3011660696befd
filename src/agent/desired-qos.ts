// What etcd says of the QoS policies this host's ports use (global/qos/<id>, docs/qos.md): one
// entry per policy a valid binding names (its own, else its network's), read by a watcher started
// when the first port needs it (feed.ts), like a security group. A bad value is kept as an error on
// the policy (never thrown): the ports that use it report it.
import type { KeyValue, PutEvent, DeleteEvent } from '../store/index.ts';
import { formatErrors } from '../model/validate.ts';
import { decodeValue, parseKey, type QosPolicy } from '../model/keyspace.ts';
import type { Opener } from '../model/signing.ts';
import type { Entry } from './desired.ts';

export class QosState {
  readonly policies = new Map<string, Entry<QosPolicy>>();
  /** Policies whose watcher has delivered its initial content. */
  readonly loaded = new Set<string>();
  /** Policy id → how many valid bindings use it. */
  private readonly named = new Map<string, number>();
  private changed = new Set<string>();

  constructor(
    private readonly bump: () => void,
    private readonly open: Opener,
  ) {}

  /** The policies whose value (or whether it is loaded) changed since the last call. */
  takeChanged(): Set<string> {
    const c = this.changed;
    this.changed = new Set();
    return c;
  }

  /** A valid binding using `policyId` came (+1) or went (-1). */
  name(policyId: string | null, d: 1 | -1): void {
    if (policyId === null) return;
    const n = (this.named.get(policyId) ?? 0) + d;
    if (n <= 0) this.named.delete(policyId);
    else this.named.set(policyId, n);
  }

  /** Every binding is read anew (resetHost): the counts start again. */
  clearNames(): void {
    this.named.clear();
  }

  /** The policies this host's ports use (only these are watched). */
  interest(): ReadonlySet<string> {
    return new Set(this.named.keys());
  }

  reset(policyId: string, kvs: KeyValue[]): void {
    this.policies.delete(policyId);
    for (const kv of kvs) this.put(policyId, kv.key, kv.value);
    this.loaded.add(policyId);
    this.changed.add(policyId);
    this.bump();
  }

  event(policyId: string, ev: PutEvent | DeleteEvent): void {
    if (ev.type === 'put') this.put(policyId, ev.key, ev.value);
    else if (this.isOf(policyId, ev.key)) {
      this.policies.delete(policyId);
      this.changed.add(policyId);
    }
    this.bump();
  }

  /** Forgets a policy no port here uses any more. */
  drop(policyId: string): void {
    this.policies.delete(policyId);
    this.loaded.delete(policyId);
    this.changed.add(policyId);
    this.bump();
  }

  private isOf(policyId: string, key: string): boolean {
    const k = parseKey(key);
    return k?.kind === 'qosPolicy' && k.policyId === policyId;
  }

  private put(policyId: string, key: string, value: string): void {
    if (!this.isOf(policyId, key)) return;
    this.changed.add(policyId);
    this.policies.set(policyId, this.decode(policyId, key, value));
  }

  private decode(policyId: string, key: string, value: string): Entry<QosPolicy> {
    const opened = this.open(key, value);
    if (!opened.ok) return { ok: false, error: opened.error, revision: null };
    const r = decodeValue('qosPolicy', opened.payload);
    if (!r.ok) return { ok: false, error: formatErrors(r.errors), revision: null };
    if (r.value.id !== policyId)
      return { ok: false, error: 'id does not match its key', revision: r.value.revision };
    return { ok: true, value: r.value };
  }
}
