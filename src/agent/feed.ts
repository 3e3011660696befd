// Keeps DesiredState fed from etcd. One watcher on nodes/<host>/ (this host's bindings) and the sync
// marker meta/synced (one stream, so a reset of etcd is seen once for both); then, each started when
// a local port first needs it and stopped a while after the last need goes: one per security group
// (its definition and remote-group membership), one per overlay network (its ports on every host)
// and one per peer host of those networks (its alive key, for its VTEP), one per QoS policy (its
// global/qos/<id> object). So the agent receives its
// own host's keys and only the global objects its ports reference — never every change in the cloud.
import { keys } from '../model/keyspace.ts';
import { watchPrefixes, type PrefixWatcher, type Store, type WatchEvent } from '../store/index.ts';
import { WatchSet } from './watch-set.ts';
import type { Logger } from '../util/log.ts';
import type { DesiredState } from './desired.ts';
import { SyncGate, type SyncGateState } from './sync-gate.ts';

export interface FeedOptions {
  /** How long a group nobody references is still watched (a port re-bind should not churn). */
  dropAfterMs?: number;
  /** Called when deletions become held or allowed (see SyncGate). */
  onGate?: (state: SyncGateState, why: string) => void;
}

export class DesiredFeed {
  private host: PrefixWatcher | undefined;
  private readonly groups: WatchSet;
  private readonly overlays: WatchSet;
  private readonly peers: WatchSet;
  private readonly qos: WatchSet;
  private hostLoaded = false;
  private hostConnected = false;
  private closed = false;
  /** Counts marker updates, so a deferred one that a newer one overtook is dropped. */
  private markerSeq = 0;
  private waiters: (() => void)[] = [];
  readonly gate: SyncGate;
  /** etcd events received (puts, deletes and re-reads), by watch: what this agent is woken for. */
  readonly events = { host: 0, groups: 0, overlays: 0, peers: 0, qos: 0 };

  constructor(
    private readonly store: Store,
    private readonly desired: DesiredState,
    private readonly onChange: () => void,
    private readonly log: Logger,
    opts: FeedOptions = {},
  ) {
    const dropAfterMs = opts.dropAfterMs ?? 10_000;
    this.gate = new SyncGate((state, why) => opts.onGate?.(state, why), desired.open);
    this.groups = new WatchSet(store, log, {
      what: 'security group',
      prefixes: (id) => [keys.secGroup(id), keys.remoteGroup(id)],
      onEvent: (id, ev) => {
        if (ev.type !== 'connection') this.events.groups++;
        this.onGroupEvent(id, ev);
      },
      onDrop: (id) => {
        this.desired.dropGroup(id);
        this.onChange();
      },
      dropAfterMs,
    });
    const overlay = desired.overlay;
    this.overlays = new WatchSet(store, log, {
      what: 'overlay network',
      prefixes: (id) => [keys.overlay(id)],
      onEvent: (id, ev) => {
        if (ev.type === 'connection') return;
        this.events.overlays++;
        if (ev.type === 'resync') {
          overlay.resetNetwork(id, ev.kvs);
          if (ev.reason !== 'initial') this.desired.markFull();
        } else overlay.networkEvent(id, ev);
        this.changed();
      },
      onDrop: (id) => {
        overlay.dropNetwork(id);
        this.changed();
      },
      dropAfterMs,
    });
    this.peers = new WatchSet(store, log, {
      what: 'peer host',
      prefixes: (host) => [keys.hostAlive(host)],
      onEvent: (host, ev) => {
        if (ev.type === 'connection') return;
        this.events.peers++;
        if (ev.type === 'resync') overlay.resetPeer(host, ev.kvs);
        else overlay.peerEvent(host, ev);
        this.desired.peerChanged(host);
        this.changed();
      },
      onDrop: (host) => {
        overlay.dropPeer(host);
        this.desired.peerChanged(host);
        this.changed();
      },
      dropAfterMs,
    });
    const qos = desired.qos;
    this.qos = new WatchSet(store, log, {
      what: 'QoS policy',
      prefixes: (id) => [keys.qosPolicy(id)],
      onEvent: (id, ev) => {
        if (ev.type === 'connection') return;
        this.events.qos++;
        if (ev.type === 'resync') {
          qos.reset(id, ev.kvs);
          if (ev.reason !== 'initial') this.desired.markFull();
        } else qos.event(id, ev);
        this.changed();
      },
      onDrop: (id) => {
        qos.drop(id);
        this.changed();
      },
      dropAfterMs,
    });
  }

  start(): void {
    this.host = watchPrefixes(this.store, {
      prefixes: [keys.hostNodes(this.desired.host), keys.syncMarker],
      onEvent: (ev) => {
        if (ev.type !== 'connection') this.events.host++;
        this.onHostEvent(ev);
      },
      log: (msg, err) =>
        this.log.warn(`etcd watch of this host's keys: ${msg}`, err ? { error: String(err) } : undefined),
    });
  }

  /** True once this host's keys and every group, overlay network and peer they need have been read. */
  get complete(): boolean {
    if (!this.hostLoaded) return false;
    for (const g of this.desired.interest()) if (!this.desired.loadedGroups.has(g)) return false;
    const nets = this.desired.overlayInterest();
    for (const n of nets) if (!this.desired.overlay.loaded.has(n)) return false;
    for (const h of this.desired.overlay.peersOf(nets))
      if (!this.desired.overlay.loadedPeers.has(h)) return false;
    for (const p of this.desired.qos.interest()) if (!this.desired.qos.loaded.has(p)) return false;
    return true;
  }

  get connected(): boolean {
    return this.hostConnected;
  }

  get watchedGroups(): number {
    return this.groups.size;
  }

  /** Overlay networks and peer hosts watched now. */
  get watchedOverlay(): { networks: number; peers: number } {
    return { networks: this.overlays.size, peers: this.peers.size };
  }

  /** Resolves once `complete` (the full desired state has been read). */
  whenComplete(): Promise<void> {
    if (this.complete) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private changed(): void {
    this.updateInterest();
    if (this.complete && this.waiters.length) {
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    }
    this.onChange();
  }

  private onHostEvent(ev: WatchEvent): void {
    switch (ev.type) {
      case 'resync': {
        if (ev.reason !== 'initial')
          this.log.info(`re-read this host's keys from etcd (${ev.reason})`, { keys: ev.kvs.length });
        if (ev.reason === 'reset') this.gate.reset('etcd lost data or went back in time');
        const marker = ev.kvs.find((kv) => kv.key === keys.syncMarker);
        this.markerSeq++; // a marker event still pending is older than this read
        this.desired.resetHost(ev.kvs.filter((kv) => kv !== marker));
        this.gate.set(marker?.value, `etcd read (${ev.reason})`);
        this.hostLoaded = true;
        break;
      }
      case 'put':
      case 'delete':
        if (ev.key === keys.syncMarker) {
          const why = `${keys.syncMarker} ${ev.type}`;
          if (ev.type === 'delete') {
            this.markerSeq++; // holding sooner is always safe
            this.gate.set(undefined, why);
            this.onChange();
            return;
          }
          // A marker written in the same transaction as bindings arrives before them (etcd orders a
          // revision's events by key): let the events already received be applied first.
          const seq = ++this.markerSeq;
          const value = ev.value;
          setImmediate(() => {
            if (this.closed || seq !== this.markerSeq) return;
            this.gate.set(value, why);
            this.onChange();
          });
          return;
        }
        if (ev.prefix !== keys.syncMarker) this.desired.hostEvent(ev);
        break;
      case 'connection':
        this.hostConnected = ev.state === 'connected';
        if (ev.state === 'disconnected')
          this.log.warn('etcd connection lost; VPP keeps its state meanwhile', { error: ev.error });
        else this.log.info('etcd connected');
        return;
    }
    this.changed();
  }

  private onGroupEvent(sgId: string, ev: WatchEvent): void {
    switch (ev.type) {
      case 'resync':
        this.desired.resetGroup(sgId, ev.kvs);
        // A re-read after a compaction or an etcd reset: recompile everything (the safety net).
        if (ev.reason !== 'initial') this.desired.markFull();
        break;
      case 'put':
      case 'delete':
        this.desired.groupEvent(sgId, ev);
        break;
      case 'connection':
        return;
    }
    this.changed();
  }

  private updateInterest(): void {
    if (this.closed) return;
    this.groups.update(() => this.desired.interest());
    this.overlays.update(() => this.desired.overlayInterest());
    this.peers.update(() => this.desired.peerInterest());
    this.qos.update(() => this.desired.qos.interest());
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([
      this.host?.close(),
      this.groups.close(),
      this.overlays.close(),
      this.peers.close(),
      this.qos.close(),
    ]);
    for (const r of this.waiters) r();
    this.waiters = [];
  }
}
