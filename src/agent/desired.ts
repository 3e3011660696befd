// What etcd says this host should look like: the port bindings under nodes/<host>/, and the security
// groups and remote-group memberships those ports reference. Values are decoded and checked here
// (their signatures first, with [security] verify_keys); a bad value is kept as an error on its port
// or group (never thrown), so one bad key can't stop a watcher or the agent.
import type { KeyValue, PutEvent, DeleteEvent } from '../store/index.ts';
import { formatErrors } from '../model/validate.ts';
import {
  decodeValue,
  keys,
  type NetworkType,
  OVERLAY_NETWORK_TYPES,
  parseKey,
  type FloatingIpDoc,
  type PortBinding,
  type RouterDoc,
  type SecurityGroup,
  effectiveQosPolicy,
  type TapFlowDoc,
} from '../model/keyspace.ts';
import { decodeTapFlow } from './compile-taas.ts';
import { type Opener, opener, type Verifier } from '../model/signing.ts';
import { OverlayState } from './desired-overlay.ts';
import { QosState } from './desired-qos.ts';

/** Network types whose segment spans hosts through etcd (their ports and peers are watched). */
const OVERLAY_TYPES: ReadonlySet<NetworkType> = new Set<NetworkType>(OVERLAY_NETWORK_TYPES);

export type Entry<T> = { ok: true; value: T } | { ok: false; error: string; revision: number | null };

/**
 * What changed since the consumer last asked: which bindings, which groups (definition, or whether it
 * is loaded) and which groups' membership. `full` after a re-read of this host's keys (or of a group
 * after a compaction): the consumer then recompiles everything, its safety net.
 */
export interface DesiredChanges {
  full: boolean;
  ports: Set<string>;
  groups: Set<string>;
  members: Set<string>;
  /** Overlay networks whose ports or peers changed. */
  overlays: Set<string>;
  /** Router documents and floating IPs put or deleted. */
  routers: Set<string>;
  fips: Set<string>;
  /** QoS policies whose value, or whether it is loaded, changed. */
  qos: Set<string>;
  /** Tap flows put or deleted. */
  tapFlows: Set<string>;
}

const noChanges = (full: boolean): DesiredChanges => ({
  full,
  ports: new Set(),
  groups: new Set(),
  members: new Set(),
  overlays: new Set(),
  routers: new Set(),
  fips: new Set(),
  qos: new Set(),
  tapFlows: new Set(),
});

/** Best-effort Neutron revision of a value that failed validation, for the port state. */
function revisionOf(raw: string): number | null {
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v === 'object' && v !== null && 'revision' in v) {
      const r = (v as { revision: unknown }).revision;
      if (typeof r === 'number' && Number.isInteger(r) && r >= 0) return r;
    }
  } catch {
    // not JSON: no revision
  }
  return null;
}

/** A router document or floating IP, checked like a binding: a bad value is that object's error. */
function decodeDoc<K extends 'router' | 'floatingIp'>(
  kind: K,
  opened: ReturnType<Opener>,
  matches: (v: K extends 'router' ? RouterDoc : FloatingIpDoc) => boolean,
  idField: string,
): Entry<K extends 'router' ? RouterDoc : FloatingIpDoc> {
  const what = kind === 'router' ? 'router document' : 'floating IP';
  // Nothing of a value whose signature fails is believed, its revision included.
  if (!opened.ok) return { ok: false, error: `invalid ${what}: ${opened.error}`, revision: null };
  const r = decodeValue(kind, opened.payload);
  if (!r.ok)
    return {
      ok: false,
      error: `invalid ${what}: ${formatErrors(r.errors)}`,
      revision: revisionOf(opened.payload),
    };
  const v = r.value as K extends 'router' ? RouterDoc : FloatingIpDoc;
  if (!matches(v))
    return { ok: false, error: `invalid ${what}: ${idField} does not match its key`, revision: v.revision };
  return { ok: true, value: v };
}

export class DesiredState {
  readonly bindings = new Map<string, Entry<PortBinding>>();
  /** nodes/<host>/routers/<id>: the routers carried here (their gateway and extra routes). */
  readonly routers = new Map<string, Entry<RouterDoc>>();
  /** nodes/<host>/floatingips/<id>: the floating IPs of those routers. */
  readonly fips = new Map<string, Entry<FloatingIpDoc>>();
  /** nodes/<host>/tapflows/<id>: the tap flows this host carries a part of (docs/taas.md). */
  readonly tapFlows = new Map<string, Entry<TapFlowDoc>>();
  readonly groups = new Map<string, Entry<SecurityGroup>>();
  /** sg id → port id → addresses (valid members only). */
  readonly members = new Map<string, Map<string, string[]>>();
  /** Bad membership values, by key: logged and shown by health; they belong to no local port. */
  readonly memberErrors = new Map<string, string>();
  /** Groups whose watcher has delivered its initial content. */
  readonly loadedGroups = new Set<string>();
  /** HA routers whose election this host's agent holds (ha.ts): active here, the rest standby. */
  readonly haActive = new Set<string>();
  /** Bumped on every change, so consumers can tell whether to recompile. */
  version = 0;
  private changes: DesiredChanges = noChanges(true);

  /** This host won (true) or lost an HA router's election: its interfaces go up or down. */
  setHaActive(routerId: string, active: boolean): void {
    if (this.haActive.has(routerId) === active) return;
    if (active) this.haActive.add(routerId);
    else this.haActive.delete(routerId);
    this.changes.routers.add(routerId);
    this.version++;
  }

  /** The overlay networks this host has ports on: their ports everywhere and their peers' VTEPs. */
  readonly overlay: OverlayState;
  /** The QoS policies this host's ports use (global/qos/<id>). */
  readonly qos: QosState;
  /** Checks each desired value's signature before it is decoded (as is when signing is off). */
  readonly open: Opener;

  /**
   * `verifier`: the keys values must be signed with ([security] verify_keys); none: signing off.
   * `onRefused` hears of every value whose signature is refused (the agent logs it).
   */
  constructor(
    readonly host: string,
    verifier: Verifier | null = null,
    onRefused?: (key: string, error: string) => void,
  ) {
    const open = opener(verifier);
    this.open = (key, raw) => {
      const r = open(key, raw);
      if (!r.ok) onRefused?.(key, r.error);
      return r;
    };
    this.overlay = new OverlayState(host, () => this.version++, this.open);
    this.qos = new QosState(() => this.version++, this.open);
  }

  /** The changes since the last call (the first call says `full`). */
  takeChanges(): DesiredChanges {
    const c = this.changes;
    this.changes = noChanges(false);
    c.overlays = this.overlay.takeChanged();
    c.qos = this.qos.takeChanged();
    return c;
  }

  /** The next consumer must recompile everything (an etcd re-read: the safety net). */
  markFull(): void {
    this.changes.full = true;
    this.version++;
  }

  // ---- host keys (nodes/<host>/) ------------------------------------------------------------------

  /** Replaces every binding with a snapshot (a watcher's initial list or re-list). */
  resetHost(kvs: KeyValue[]): void {
    this.bindings.clear();
    this.routers.clear();
    this.fips.clear();
    this.tapFlows.clear();
    this.named.clear();
    this.qos.clearNames();
    this.overlayNets.clear();
    for (const kv of kvs) this.putHost(kv.key, kv.value);
    this.changes.full = true;
    this.version++;
  }

  hostEvent(ev: PutEvent | DeleteEvent): void {
    if (ev.type === 'put') this.putHost(ev.key, ev.value);
    else {
      const k = parseKey(ev.key);
      if (k?.kind === 'portBinding' && k.host === this.host) {
        this.name(this.bindings.get(k.portId), -1);
        this.bindings.delete(k.portId);
        this.changes.ports.add(k.portId);
      } else if (k?.kind === 'router' && k.host === this.host) {
        this.routers.delete(k.routerId);
        this.changes.routers.add(k.routerId);
      } else if (k?.kind === 'floatingIp' && k.host === this.host) {
        this.fips.delete(k.fipId);
        this.changes.fips.add(k.fipId);
      } else if (k?.kind === 'tapFlow' && k.host === this.host) {
        this.tapFlows.delete(k.flowId);
        this.changes.tapFlows.add(k.flowId);
      }
    }
    this.version++;
  }

  private putHost(key: string, value: string): void {
    const k = parseKey(key);
    if (k?.kind === 'router' && k.host === this.host) {
      this.changes.routers.add(k.routerId);
      this.routers.set(
        k.routerId,
        decodeDoc('router', this.open(key, value), (v) => v.router_id === k.routerId, 'router_id'),
      );
      return;
    }
    if (k?.kind === 'floatingIp' && k.host === this.host) {
      this.changes.fips.add(k.fipId);
      this.fips.set(
        k.fipId,
        decodeDoc('floatingIp', this.open(key, value), (v) => v.id === k.fipId, 'id'),
      );
      return;
    }
    if (k?.kind === 'tapFlow' && k.host === this.host) {
      this.changes.tapFlows.add(k.flowId);
      this.tapFlows.set(k.flowId, decodeTapFlow(this.open(key, value), k.flowId));
      return;
    }
    // nodes/<host>/ may hold other kinds of keys in later versions; these are the ones used here.
    if (k?.kind !== 'portBinding' || k.host !== this.host) return;
    this.changes.ports.add(k.portId);
    this.name(this.bindings.get(k.portId), -1);
    const opened = this.open(key, value);
    if (!opened.ok) {
      this.bindings.set(k.portId, {
        ok: false,
        error: `invalid port binding: ${opened.error}`,
        revision: null,
      });
      return;
    }
    const r = decodeValue('portBinding', opened.payload);
    if (!r.ok) {
      this.bindings.set(k.portId, {
        ok: false,
        error: `invalid port binding: ${formatErrors(r.errors)}`,
        revision: revisionOf(opened.payload),
      });
    } else if (r.value.port_id !== k.portId) {
      this.bindings.set(k.portId, {
        ok: false,
        error: `invalid port binding: port_id ${r.value.port_id} does not match its key`,
        revision: r.value.revision,
      });
    } else {
      this.bindings.set(k.portId, { ok: true, value: r.value });
      this.name(this.bindings.get(k.portId), 1);
    }
  }

  /** Counts the groups (and overlay network) a binding names in or out (see interest()). */
  private name(e: Entry<PortBinding> | undefined, d: 1 | -1): void {
    if (!e?.ok) return;
    this.qos.name(effectiveQosPolicy(e.value), d);
    if (OVERLAY_TYPES.has(e.value.network_type)) {
      const net = e.value.network_id;
      const n = (this.overlayNets.get(net) ?? 0) + d;
      if (n === 0) this.overlayNets.delete(net);
      else this.overlayNets.set(net, n);
    }
    for (const sg of new Set(e.value.security_groups)) {
      const n = (this.named.get(sg) ?? 0) + d;
      if (n === 0) this.named.delete(sg);
      else this.named.set(sg, n);
    }
  }

  // ---- group keys (global/secgroups/<sg>, global/remote_group/<sg>/) -------------------------------

  /** Replaces what is known of one group with a snapshot of its keys. */
  resetGroup(sgId: string, kvs: KeyValue[]): void {
    this.groups.delete(sgId);
    this.members.delete(sgId);
    for (const key of [...this.memberErrors.keys()]) {
      if (key.startsWith(keys.remoteGroup(sgId))) this.memberErrors.delete(key);
    }
    for (const kv of kvs) this.putGroup(sgId, kv.key, kv.value);
    this.loadedGroups.add(sgId);
    this.changes.groups.add(sgId);
    this.changes.members.add(sgId);
    this.version++;
  }

  groupEvent(sgId: string, ev: PutEvent | DeleteEvent): void {
    if (ev.type === 'put') this.putGroup(sgId, ev.key, ev.value);
    else {
      const k = parseKey(ev.key);
      if (k?.kind === 'secGroup' && k.sgId === sgId) {
        this.groups.delete(sgId);
        this.changes.groups.add(sgId);
      }
      if (k?.kind === 'remoteGroupMember' && k.sgId === sgId) {
        this.members.get(sgId)?.delete(k.portId);
        this.memberErrors.delete(ev.key);
        this.changes.members.add(sgId);
      }
    }
    this.version++;
  }

  /** Forgets a group nobody here references any more. */
  dropGroup(sgId: string): void {
    this.groups.delete(sgId);
    this.members.delete(sgId);
    this.loadedGroups.delete(sgId);
    for (const key of [...this.memberErrors.keys()]) {
      if (key.startsWith(keys.remoteGroup(sgId))) this.memberErrors.delete(key);
    }
    this.changes.groups.add(sgId);
    this.changes.members.add(sgId);
    this.version++;
  }

  private putGroup(sgId: string, key: string, value: string): void {
    const k = parseKey(key);
    if (k?.kind === 'secGroup' && k.sgId === sgId) {
      this.changes.groups.add(sgId);
      this.groups.set(sgId, this.decodeGroup(sgId, key, value));
      return;
    }
    if (k?.kind === 'remoteGroupMember' && k.sgId === sgId) {
      this.changes.members.add(sgId);
      const opened = this.open(key, value);
      const r = opened.ok
        ? decodeValue('remoteGroupMember', opened.payload)
        : { ok: false as const, errors: [{ field: '', message: opened.error }] };
      let m = this.members.get(sgId);
      if (!r.ok) {
        // A refused member adds no address to the group (fail closed: fewer peers allowed in).
        m?.delete(k.portId);
        this.memberErrors.set(key, formatErrors(r.errors));
        return;
      }
      this.memberErrors.delete(key);
      if (!m) this.members.set(sgId, (m = new Map()));
      m.set(k.portId, r.value.ips);
    }
  }

  private decodeGroup(sgId: string, key: string, value: string): Entry<SecurityGroup> {
    const opened = this.open(key, value);
    if (!opened.ok) return { ok: false, error: opened.error, revision: null };
    const r = decodeValue('secGroup', opened.payload);
    if (!r.ok) return { ok: false, error: formatErrors(r.errors), revision: revisionOf(opened.payload) };
    if (r.value.id !== sgId)
      return { ok: false, error: 'id does not match its key', revision: r.value.revision };
    return { ok: true, value: r.value };
  }

  /** Every address of a group's members (sorted, for stable output). */
  memberAddresses(sgId: string): string[] {
    const m = this.members.get(sgId);
    if (!m) return [];
    const out: string[] = [];
    for (const ips of m.values()) out.push(...ips);
    return out.sort();
  }

  /**
   * The groups this host needs: every group a bound port names, plus every remote group their rules
   * name (for the membership). Only these are watched.
   */
  interest(): Set<string> {
    if (this.interestCache?.version === this.version) return this.interestCache.groups;
    const out = new Set<string>(this.named.keys());
    for (const sg of [...out]) {
      const g = this.groups.get(sg);
      if (g?.ok) for (const r of g.value.rules) if (r.remote_group_id) out.add(r.remote_group_id);
    }
    this.interestCache = { version: this.version, groups: out };
    return out;
  }

  /** The overlay networks this host's valid bindings are on (their keys are watched). */
  overlayInterest(): ReadonlySet<string> {
    return new Set(this.overlayNets.keys());
  }

  /** The hosts whose VTEP this host needs: the other hosts with ports on its overlay networks. */
  peerInterest(): Set<string> {
    const peers = this.overlay.peersOf(new Set(this.overlayNets.keys()));
    // Remote SPAN: the other end's VTEP (docs/taas.md).
    for (const e of this.tapFlows.values())
      if (e.ok && e.value.peer_host !== null) peers.add(e.value.peer_host);
    return peers;
  }

  /** A peer host's VTEP changed: the tap flows whose other end it is are compiled again. */
  peerChanged(host: string): void {
    for (const [id, e] of this.tapFlows)
      if (e.ok && e.value.peer_host === host) this.changes.tapFlows.add(id);
  }

  private interestCache: { version: number; groups: Set<string> } | undefined;
  /** Overlay network id → how many valid bindings are on it. */
  private readonly overlayNets = new Map<string, number>();
  /** Group id → how many valid bindings name it (so interest() costs the groups, not the ports). */
  private readonly named = new Map<string, number>();
}
