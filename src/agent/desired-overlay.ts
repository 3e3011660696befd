// What etcd says about the overlay networks this host has ports on: every port of such a network
// (global/overlay/<network>/ports/, written by the controller) and the tunnel endpoint of each other
// host those ports live on (their agents' state/<host>/alive). Bad values are kept as errors by key
// and never thrown; a peer without a live agent (or without a VTEP) has no tunnel.
import type { DeleteEvent, KeyValue, PutEvent } from '../store/index.ts';
import { formatErrors } from '../model/validate.ts';
import { decodeValue, keys, parseKey, type OverlayPort } from '../model/keyspace.ts';
import { type Opener, opener } from '../model/signing.ts';

export class OverlayState {
  /** network id → port id → the port as the controller published it (valid values only). */
  readonly ports = new Map<string, Map<string, OverlayPort>>();
  /** Networks whose watcher has delivered its initial content. */
  readonly loaded = new Set<string>();
  /** host → its VTEP while its agent is alive and advertises one. */
  readonly vteps = new Map<string, string>();
  /** Peers whose alive key has been read (present or not). */
  readonly loadedPeers = new Set<string>();
  /** Bad values by key (logged and shown by health). */
  readonly errors = new Map<string, string>();
  /** Networks whose overlay objects may have changed since the last takeChanged(). */
  private changed = new Set<string>();
  /** host → networks (of interest) with a port on it, to tell which networks a peer's change touches. */
  private readonly hostNets = new Map<string, Map<string, number>>();

  /** `touch` is called on every change (the owner's version counter); `open` checks signatures. */
  constructor(
    readonly host: string,
    private readonly touch: () => void = () => {},
    private readonly open: Opener = opener(null),
  ) {}

  takeChanged(): Set<string> {
    const c = this.changed;
    this.changed = new Set();
    return c;
  }

  private mark(networkId: string): void {
    this.changed.add(networkId);
    this.touch();
  }

  // ---- networks (global/overlay/<network>/) --------------------------------------------------------

  resetNetwork(networkId: string, kvs: KeyValue[]): void {
    for (const p of this.ports.get(networkId)?.values() ?? []) this.count(p.host, networkId, -1);
    this.ports.delete(networkId);
    this.clearErrors(keys.overlay(networkId));
    for (const kv of kvs) this.put(networkId, kv.key, kv.value);
    this.loaded.add(networkId);
    this.mark(networkId);
  }

  networkEvent(networkId: string, ev: PutEvent | DeleteEvent): void {
    if (ev.type === 'put') this.put(networkId, ev.key, ev.value);
    else {
      const k = parseKey(ev.key);
      if (k?.kind !== 'overlayPort' || k.networkId !== networkId) return;
      this.errors.delete(ev.key);
      const old = this.ports.get(networkId)?.get(k.portId);
      if (old) this.count(old.host, networkId, -1);
      this.ports.get(networkId)?.delete(k.portId);
    }
    this.mark(networkId);
  }

  dropNetwork(networkId: string): void {
    for (const p of this.ports.get(networkId)?.values() ?? []) this.count(p.host, networkId, -1);
    this.ports.delete(networkId);
    this.loaded.delete(networkId);
    this.clearErrors(keys.overlay(networkId));
    this.mark(networkId);
  }

  private put(networkId: string, key: string, value: string): void {
    const k = parseKey(key);
    if (k?.kind !== 'overlayPort' || k.networkId !== networkId) return;
    let m = this.ports.get(networkId);
    const old = m?.get(k.portId);
    if (old) this.count(old.host, networkId, -1);
    m?.delete(k.portId);
    const opened = this.open(key, value);
    const r = opened.ok
      ? decodeValue('overlayPort', opened.payload)
      : { ok: false as const, errors: [{ field: '', message: opened.error }] };
    if (!r.ok) {
      this.errors.set(key, formatErrors(r.errors));
      return;
    }
    this.errors.delete(key);
    if (!m) this.ports.set(networkId, (m = new Map()));
    m.set(k.portId, r.value);
    this.count(r.value.host, networkId, 1);
  }

  private count(host: string, networkId: string, d: number): void {
    let nets = this.hostNets.get(host);
    if (!nets) this.hostNets.set(host, (nets = new Map()));
    const n = (nets.get(networkId) ?? 0) + d;
    if (n <= 0) nets.delete(networkId);
    else nets.set(networkId, n);
    if (nets.size === 0) this.hostNets.delete(host);
  }

  private clearErrors(prefix: string): void {
    for (const key of [...this.errors.keys()]) if (key.startsWith(prefix)) this.errors.delete(key);
  }

  // ---- peers (state/<host>/alive) -------------------------------------------------------------------

  resetPeer(host: string, kvs: KeyValue[]): void {
    const before = this.vteps.get(host);
    this.vteps.delete(host);
    this.errors.delete(keys.hostAlive(host));
    for (const kv of kvs) if (kv.key === keys.hostAlive(host)) this.putPeer(host, kv.value);
    this.loadedPeers.add(host);
    this.peerChanged(host, before);
  }

  peerEvent(host: string, ev: PutEvent | DeleteEvent): void {
    if (ev.key !== keys.hostAlive(host)) return;
    const before = this.vteps.get(host);
    if (ev.type === 'put') this.putPeer(host, ev.value);
    else {
      this.vteps.delete(host);
      this.errors.delete(ev.key);
    }
    this.peerChanged(host, before);
  }

  dropPeer(host: string): void {
    const before = this.vteps.get(host);
    this.vteps.delete(host);
    this.loadedPeers.delete(host);
    this.errors.delete(keys.hostAlive(host));
    this.peerChanged(host, before);
  }

  private putPeer(host: string, value: string): void {
    this.vteps.delete(host);
    const r = decodeValue('hostAlive', value);
    if (!r.ok) {
      this.errors.set(keys.hostAlive(host), formatErrors(r.errors));
      return;
    }
    this.errors.delete(keys.hostAlive(host));
    if (r.value.vtep !== undefined) this.vteps.set(host, r.value.vtep);
  }

  private peerChanged(host: string, before: string | undefined): void {
    if (this.vteps.get(host) === before) return;
    for (const n of this.hostNets.get(host)?.keys() ?? []) this.mark(n);
    this.touch();
  }

  // ---- what to watch --------------------------------------------------------------------------------

  /** The other hosts with ports on any of `networks` (whose VTEPs this host needs). */
  peersOf(networks: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    for (const [host, nets] of this.hostNets) {
      if (host === this.host) continue;
      for (const n of nets.keys()) {
        if (networks.has(n)) {
          out.add(host);
          break;
        }
      }
    }
    return out;
  }
}
