// compile: desired state (etcd) → the VPP object graph this host should have. A pure function: same
// input, same objects, key for key — so a resync of an unchanged host finds nothing to do. HostCompiler
// keeps that result up to date change by change (what a change touches is redone, nothing else), and
// `compile` is its rebuild from scratch.
//
// Besides objects it returns what diff must leave alone ("frozen"): the objects of a port whose
// binding is invalid (they stay exactly as they are, so a bad write can't tear down a working port and
// a restart behaves like the running agent), and ACL settings that can't be computed yet (a group
// still loading or missing). And per port: which keys must be in place for it to be ready.
import type { SecurityGroup } from '../model/keyspace.ts';
import {
  compileBaseAcls,
  compileGroupAcls,
  compileRelatedAcls,
  DIRECTIONS,
  parseAclTag,
  remoteGroupsOf,
} from './secgroups/index.ts';
import type { DesiredState } from './desired.ts';
import type { TapBackend, VxlanConfig } from './config.ts';
import { overlayView, SharedObjects } from './compile-overlay.ts';
import { networkType } from './nettypes/index.ts';
import {
  aclbindKey,
  bridgeKey,
  etypeKey,
  l2Key,
  macipbindKey,
  macipKey,
  MAX_BD_ID,
  portKey,
  portOfKey,
  preferredBdId,
  tagdropKey,
  upKey,
  uplinkKey,
  type VppObject,
} from './kinds/index.ts';
import {
  CompileCache,
  groupFace,
  portPiece,
  portUnit,
  type Front,
  type NetIn,
  type NetworkClaim,
  type PortPiece,
  type PortUnit,
} from './compile-port.ts';

export { CompileCache, vethVppName, vppSideMac } from './compile-port.ts';

export { MAX_BD_ID, preferredBdId };

export interface CompileOptions {
  physnets: ReadonlyMap<string, string>;
  vhostUserDir: string;
  tapBackend: TapBackend;
  /** GSO on vhost-user and tap interfaces ([agent] enable_gso; default off). */
  gso?: boolean;
  /** This host's tunnel endpoint ([vxlan]); absent or null: no VXLAN networks here. */
  vxlan?: VxlanConfig | null;
}

export interface PortPlan {
  portId: string;
  /** Neutron revision of the binding (null when the value was unreadable). */
  revision: number | null;
  /** Every key that must be in VPP, as desired, before the port is ready (its own and shared ones). */
  requires: string[];
  /** vhost-user: ready also needs the guest connected (link up). */
  needsLink: boolean;
  /** Why the port can't be completed as asked (bad binding, unknown physnet, missing group...). */
  errors: string[];
  /** Why it isn't complete yet although nothing is wrong (a group still loading). */
  waiting: string[];
}

export interface Compiled {
  objects: Map<string, VppObject>;
  /** Keys diff must neither create, change nor delete (kept as they are in VPP). */
  frozenKeys: Set<string>;
  /** Ports whose every object is frozen (invalid binding). */
  frozenPorts: Set<string>;
  ports: Map<string, PortPlan>;
  /** Things worth logging (rules VPP can't express), keyed to log each once. */
  warnings: Map<string, string>;
}

/** What an incremental compile changed: the keys diff must look at and the ports to re-check. */
export interface CompileDelta {
  /** Object keys whose desired object, or whether it is frozen, may have changed. */
  keys: Set<string>;
  /** Ports whose plan may have changed (including ports no longer bound here). */
  ports: Set<string>;
}

/** What an incremental compile must redo; see DesiredState.takeChanges. */
export interface CompileChanges {
  /** Bindings put or deleted. */
  ports: ReadonlySet<string>;
  /** Groups whose definition changed, or that were loaded or dropped. */
  groups: ReadonlySet<string>;
  /** Groups whose membership changed. */
  members: ReadonlySet<string>;
  /** Overlay networks whose ports on other hosts, or peers, changed. */
  overlays?: ReadonlySet<string>;
}

interface GroupUnit {
  objects: string[];
  frozen: string[];
  warnings: string[];
  remotes: string[];
}

/** The keys of a port's own objects (only that port adds them), in the order readiness lists them. */
const portKeys = (portId: string): string[] => {
  const iface = portKey(portId);
  return [
    iface,
    l2Key(iface),
    upKey(iface),
    aclbindKey(portId),
    macipbindKey(portId),
    macipKey(portId),
    etypeKey(portId),
    tagdropKey(portId),
  ];
};

/** The delta of a rebuild, which records nothing. */
class Discard extends Set<string> {
  override add(): this {
    return this;
  }
}
const noKeys: Set<string> = new Discard();

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/** Adds `d` to a reference count; returns true when the count went from or to zero. */
function count<K>(m: Map<K, number>, k: K, d: number): boolean {
  const before = m.get(k) ?? 0;
  const after = before + d;
  if (after === 0) m.delete(k);
  else m.set(k, after);
  return (before === 0) !== (after === 0);
}

/**
 * The compiled state of a host, kept up to date change by change. `rebuild` compiles everything (at
 * start, after a VPP restart or reconnection, after an etcd re-read: the safety net); `update` redoes
 * only what a change touches — the changed ports, the ports whose network claim changed with them,
 * the groups (and the ports naming them) whose definition, loading or remote members changed — and
 * returns the keys and ports it touched. Both give the same result for the same desired state: a port
 * contributes objects only under its own keys, a network and a group likewise, and what is shared
 * (uplinks, base ACLs, groups' ACLs) exists while something references it.
 *
 * Networks are claimed in port id order (the first port of a network decides its segment; a segment
 * already carrying another network is an error for the later ports). That order couples only ports
 * that share a network or a segment, so a change re-runs it for that connected part alone.
 */
export class HostCompiler {
  compiled: Compiled = emptyCompiled();
  private readonly cache: CompileCache;
  private units = new Map<string, PortUnit>();
  private netIn = new Map<string, NetIn>();
  /** Per port in the network step: null when it joins its network, else why not. */
  private netOutcome = new Map<string, string | null>();
  private byNetwork = new Map<string, Set<string>>();
  private byMember = new Map<string, Set<string>>();
  private claims = new Map<string, NetworkClaim & { net: NetIn }>();
  private memberOwner = new Map<string, string>();
  private networkObjects = new Map<string, string[]>();
  /** The physnet of each claimed network (an uplink exists while a network uses its physnet). */
  private networkPhysnet = new Map<string, string>();
  private physnetRefs = new Map<string, number>();
  /** Objects networks of one type share (the VXLAN underlay), while a network needs them. */
  private shared = new SharedObjects();
  /** The desired state of the pass in progress (overlay networks read their peers from it). */
  private state: DesiredState | undefined;
  private groupRefs = new Map<string, number>();
  private sharedRefs = new Map<string, number>();
  private groupUnits = new Map<string, GroupUnit>();
  private remoteUsers = new Map<string, Set<string>>();
  private portsByGroup = new Map<string, Set<string>>();
  /** What ports see of each group they name (see groupFace), as of the last update. */
  private groupFaces = new Map<string, string>();
  private readonly sharedAcls: Map<string, VppObject>;

  constructor(
    readonly opts: CompileOptions,
    cache?: CompileCache,
  ) {
    this.cache = cache ?? new CompileCache();
    if (this.cache.opts !== opts) {
      this.cache.opts = opts;
      this.cache.pieces = new WeakMap();
    }
    const base = compileBaseAcls();
    const related = compileRelatedAcls();
    this.sharedAcls = new Map<string, VppObject>();
    for (const d of DIRECTIONS) {
      this.sharedAcls.set(`base:${d}`, { kind: 'acl', key: `base:${d}`, rules: base[d] });
      this.sharedAcls.set(`related:${d}`, { kind: 'acl', key: `related:${d}`, rules: related[d] });
    }
  }

  /**
   * The ports whose readiness may need `key` (a superset of those whose `requires` name it), found
   * from the indices the compiler keeps anyway: a port's own keys name it; a network's objects, the
   * ports on it; a group's ACLs, the ports naming the group; an uplink or the base ACLs, every port.
   */
  portsNeeding(key: string): Iterable<string> {
    const own = portOfKey(key);
    if (own !== null) return [own];
    const colon = key.indexOf(':');
    const rest = key.slice(colon + 1);
    // By the key's first segment: the index that names the ports using it; else every port.
    const index: Record<string, () => Iterable<string> | undefined> = {
      bd: () => this.byNetwork.get(rest),
      vlan: () => this.byMember.get(key),
      l2: () => this.byMember.get(rest),
      // An overlay's tunnels, static MACs and ARP entries: no port's readiness waits on them.
      vxlan: () => [],
      l2fib: () => [],
      arp: () => [],
      sg: () => this.portsByGroup.get(rest.slice(0, rest.lastIndexOf(':'))),
    };
    const lookup = index[key.slice(0, colon)];
    return lookup ? (lookup() ?? []) : this.compiled.ports.keys();
  }

  /** Compiles everything anew. */
  rebuild(state: DesiredState): void {
    this.compiled = emptyCompiled();
    this.units = new Map();
    this.netIn = new Map();
    this.netOutcome = new Map();
    this.byNetwork = new Map();
    this.byMember = new Map();
    this.claims = new Map();
    this.memberOwner = new Map();
    this.networkObjects = new Map();
    this.networkPhysnet = new Map();
    this.physnetRefs = new Map();
    this.shared = new SharedObjects();
    this.groupRefs = new Map();
    this.sharedRefs = new Map();
    this.groupUnits = new Map();
    this.remoteUsers = new Map();
    this.portsByGroup = new Map();
    this.groupFaces = new Map();
    const changes = {
      ports: new Set(state.bindings.keys()),
      groups: new Set<string>(),
      members: new Set<string>(),
      overlays: new Set<string>(),
    };
    this.apply(state, changes, false);
  }

  /** Applies what changed in `state` since the last rebuild/update. */
  update(state: DesiredState, changes: CompileChanges): CompileDelta {
    return this.apply(state, changes, true);
  }

  /** `track`: record what changed in the delta (a rebuild changes everything: it doesn't). */
  private apply(state: DesiredState, changes: CompileChanges, track: boolean): CompileDelta {
    const delta: CompileDelta = { keys: track ? new Set() : noKeys, ports: track ? new Set() : noKeys };
    const lookup = this.groupLookup(state);
    const fronts = new Map<string, Front>();
    this.state = state;

    // 1. Changed bindings: their way into the network step, and the network claims it affects.
    const seedNets = new Set<string>();
    const seedMembers = new Set<string>();
    const redo = new Set<string>(changes.ports);
    for (const portId of changes.ports) {
      const f = this.front(state, portId, lookup);
      fronts.set(portId, f);
      const old = this.netIn.get(portId);
      const now = f.net;
      if (old && now && old.network === now.network && old.segment === now.segment) continue;
      if (old) {
        removeFrom(this.byNetwork, old.network, portId);
        removeFrom(this.byMember, old.member, portId);
        seedNets.add(old.network);
        seedMembers.add(old.member);
        this.netIn.delete(portId);
        this.netOutcome.delete(portId);
      }
      if (now) {
        this.netIn.set(portId, now);
        addTo(this.byNetwork, now.network, portId);
        addTo(this.byMember, now.member, portId);
        seedNets.add(now.network);
        seedMembers.add(now.member);
      }
    }
    if (seedNets.size > 0) this.resolveNetworks(seedNets, seedMembers, redo, delta);
    // Overlay networks whose peers or remote ports changed: their objects anew (claims stay).
    for (const n of changes.overlays ?? []) {
      if (!this.claims.has(n) || seedNets.has(n)) continue;
      const physnets = new Set<string>();
      this.dropNetwork(n, physnets, delta);
      this.addNetwork(n, physnets, delta);
    }

    // 2. Ports naming a group whose face changed (their lists, errors and waiting depend on it); a
    // change of rules alone is the group's own business (its ACLs, step 4).
    for (const g of changes.groups) {
      const face = groupFace(state, g, lookup);
      if (this.groupFaces.get(g) === face) continue;
      this.groupFaces.set(g, face);
      for (const p of this.portsByGroup.get(g) ?? []) redo.add(p);
    }

    // 3. Ports.
    const groupsTouched = new Set<string>(changes.groups);
    const sharedTouched = new Set<string>();
    for (const portId of redo) {
      const f = fronts.get(portId) ?? this.front(state, portId, lookup);
      this.setPort(portId, f, delta, groupsTouched, sharedTouched);
    }

    // 4. Groups: changed, newly (un)used, or whose remote groups' members or loading changed.
    for (const r of [...changes.groups, ...changes.members]) {
      for (const g of this.remoteUsers.get(r) ?? []) groupsTouched.add(g);
    }
    for (const g of groupsTouched) this.setGroup(state, g, lookup, delta);

    // 5. Shared ACLs, while some port's lists use them.
    for (const k of sharedTouched) {
      const used = this.sharedRefs.has(k);
      if (used) this.compiled.objects.set(k, this.sharedAcls.get(k) as VppObject);
      else this.compiled.objects.delete(k);
      delta.keys.add(k);
    }
    return delta;
  }

  private groupLookup(state: DesiredState): (id: string) => SecurityGroup | undefined {
    return (id) => {
      const g = state.groups.get(id);
      return g?.ok && state.loadedGroups.has(id) ? g.value : undefined;
    };
  }

  /** The checks before the network step: the binding, its interface, its network type and physnet. */
  private front(
    state: DesiredState,
    portId: string,
    lookup: (id: string) => SecurityGroup | undefined,
  ): Front {
    const entry = state.bindings.get(portId);
    if (!entry) return { state, plan: null };
    if (!entry.ok) {
      return {
        state,
        plan: {
          portId,
          revision: entry.revision,
          requires: [],
          needsLink: false,
          errors: [entry.error],
          waiting: [],
        },
        invalid: true,
      };
    }
    const b = entry.value;
    const plan: PortPlan = {
      portId,
      revision: b.revision,
      requires: [],
      needsLink: false,
      errors: [],
      waiting: [],
    };
    // What the piece depends on besides the binding: each group's entry and whether it is loaded.
    const sig: unknown[] = [];
    for (const g of b.security_groups) sig.push(state.groups.get(g), state.loadedGroups.has(g));
    const hit = this.cache.pieces.get(b);
    let piece: PortPiece;
    if (hit && hit.sig.length === sig.length && hit.sig.every((x, i) => x === sig[i])) piece = hit.piece;
    else {
      piece = portPiece(b, this.opts, lookup);
      this.cache.pieces.set(b, { sig, piece });
    }
    const f: Front = { state, plan, b, piece };
    if (piece.error !== null || piece.port === null) {
      plan.errors.push(piece.error ?? 'no interface');
      return f;
    }
    plan.needsLink = piece.needsLink;
    const type = networkType(b.network_type);
    if (!type) {
      plan.errors.push(`${b.network_type} networks are not supported by this agent`);
      return f;
    }
    const seg = type.segment(b, this.opts);
    if ('error' in seg) {
      plan.errors.push(seg.error);
      return f;
    }
    // A type without one member interface (overlays) is exclusive by its segment id alone.
    f.net = { network: b.network_id, segment: seg.id, member: seg.member ?? seg.id, seg, type };
    return f;
  }

  /**
   * Re-runs the network claims (in port id order) for the networks and segments connected to the
   * seeds; ports whose outcome changed are added to `redo`, networks whose claim changed get their
   * objects anew.
   */
  private resolveNetworks(
    seedNets: Set<string>,
    seedMembers: Set<string>,
    redo: Set<string>,
    delta: CompileDelta,
  ): void {
    const nets = new Set<string>();
    const members = new Set<string>();
    const ports = new Set<string>();
    const netQueue = [...seedNets];
    const memberQueue = [...seedMembers];
    while (netQueue.length > 0 || memberQueue.length > 0) {
      const n = netQueue.pop();
      if (n !== undefined) {
        if (nets.has(n)) continue;
        nets.add(n);
        for (const p of this.byNetwork.get(n) ?? []) {
          ports.add(p);
          memberQueue.push((this.netIn.get(p) as NetIn).member);
        }
        continue;
      }
      const m = memberQueue.pop() as string;
      if (members.has(m)) continue;
      members.add(m);
      for (const p of this.byMember.get(m) ?? []) {
        ports.add(p);
        netQueue.push((this.netIn.get(p) as NetIn).network);
      }
    }
    const before = new Map<string, string | undefined>();
    for (const n of nets) {
      before.set(n, this.claims.get(n)?.segment);
      this.claims.delete(n);
    }
    for (const m of members) this.memberOwner.delete(m);
    for (const p of [...ports].sort()) {
      const i = this.netIn.get(p) as NetIn;
      const claim = this.claims.get(i.network);
      let outcome: string | null = null;
      if (claim && claim.segment !== i.segment) {
        outcome = `network ${i.network} is ${i.segment} here but ${claim.segment} for port ${claim.by}`;
      } else {
        const taken = this.memberOwner.get(i.member);
        if (taken !== undefined && taken !== i.network) {
          outcome = `${i.segment} already carries network ${taken} on this host`;
        } else if (!claim) {
          this.claims.set(i.network, {
            by: p,
            segment: i.segment,
            bd: bridgeKey(i.network),
            member: i.member,
            net: i,
          });
          this.memberOwner.set(i.member, i.network);
        }
      }
      if (this.netOutcome.get(p) !== outcome) {
        this.netOutcome.set(p, outcome);
        redo.add(p);
      }
    }
    // Old objects out first: a segment may pass from one network to another.
    const changed = [...nets].filter((n) => before.get(n) !== this.claims.get(n)?.segment);
    const physnets = new Set<string>();
    for (const n of changed) this.dropNetwork(n, physnets, delta);
    for (const n of changed) this.addNetwork(n, physnets, delta);
    // The uplink, while any network uses its physnet.
    for (const physnet of physnets) {
      const key = uplinkKey(physnet);
      delta.keys.add(key);
      if (this.physnetRefs.has(physnet)) {
        this.compiled.objects.set(key, {
          kind: 'uplink',
          key,
          physnet,
          name: this.opts.physnets.get(physnet) as string,
          adminUp: true,
        });
      } else this.compiled.objects.delete(key);
    }
  }

  private dropNetwork(networkId: string, physnets: Set<string>, delta: CompileDelta): void {
    for (const k of this.networkObjects.get(networkId) ?? []) {
      this.compiled.objects.delete(k);
      delta.keys.add(k);
    }
    this.networkObjects.delete(networkId);
    const physnet = this.networkPhysnet.get(networkId);
    if (physnet !== undefined) {
      count(this.physnetRefs, physnet, -1);
      physnets.add(physnet);
      this.networkPhysnet.delete(networkId);
    }
    this.shared.release(networkId, this.compiled.objects, delta.keys);
  }

  /** A network's objects, from its claim: sub-interface (VLAN), bridge, the uplink side's membership. */
  private addNetwork(networkId: string, physnets: Set<string>, delta: CompileDelta): void {
    const claim = this.claims.get(networkId);
    if (!claim) return;
    const n = claim.net;
    const made: VppObject[] = [];
    made.push(...n.seg.objects);
    made.push({
      kind: 'bd',
      key: claim.bd,
      preferredId: preferredBdId(networkId),
      flood: true,
      uuFlood: true,
      forward: true,
      learn: true,
      arpTerm: n.seg.arpTerm === true,
    });
    if (n.seg.member !== null)
      made.push({ kind: 'l2', key: l2Key(n.member), iface: n.member, bd: claim.bd, after: [], shg: 0 });
    if (n.type.overlayObjects && this.state)
      made.push(...n.type.overlayObjects(networkId, n.seg, claim.bd, this.opts, overlayView(this.state)));
    this.shared.hold(networkId, n.seg.shared ?? [], this.compiled.objects, delta.keys);
    for (const o of made) {
      this.compiled.objects.set(o.key, o);
      delta.keys.add(o.key);
    }
    this.networkObjects.set(
      networkId,
      made.map((o) => o.key),
    );
    if (n.seg.physnet !== null) {
      this.networkPhysnet.set(networkId, n.seg.physnet);
      count(this.physnetRefs, n.seg.physnet, 1);
      physnets.add(n.seg.physnet);
    }
  }

  /** Takes a port's old contribution out and puts its new one in. */
  private setPort(
    portId: string,
    f: Front,
    delta: CompileDelta,
    groupsTouched: Set<string>,
    sharedTouched: Set<string>,
  ): void {
    const c = this.compiled;
    if (delta.ports !== noKeys) {
      delta.ports.add(portId);
      for (const k of portKeys(portId)) delta.keys.add(k);
    }
    const old = this.units.get(portId);
    if (old) {
      for (const o of old.objects) c.objects.delete(o.key);
      for (const k of old.frozen) c.frozenKeys.delete(k);
      for (const g of old.groups) if (count(this.groupRefs, g, -1)) groupsTouched.add(g);
      for (const k of old.shared) if (count(this.sharedRefs, k, -1)) sharedTouched.add(k);
      for (const g of old.names) removeFrom(this.portsByGroup, g, portId);
      this.units.delete(portId);
    }
    c.ports.delete(portId);
    c.frozenPorts.delete(portId);
    if (f.plan === null) return;

    const unit = portUnit(portId, f, this.netOutcome.get(portId));
    c.ports.set(portId, f.plan);
    if (f.invalid) c.frozenPorts.add(portId);
    for (const o of unit.objects) c.objects.set(o.key, o);
    for (const k of unit.frozen) c.frozenKeys.add(k);
    for (const g of unit.groups) if (count(this.groupRefs, g, 1)) groupsTouched.add(g);
    for (const k of unit.shared) if (count(this.sharedRefs, k, 1)) sharedTouched.add(k);
    for (const g of unit.names) {
      addTo(this.portsByGroup, g, portId);
      if (!this.groupFaces.has(g)) this.groupFaces.set(g, groupFace(f.state, g, this.groupLookup(f.state)));
    }
    this.units.set(portId, unit);
  }

  /** A group's two ACLs, while a port uses the group (frozen while a remote group is loading). */
  private setGroup(
    state: DesiredState,
    id: string,
    lookup: (id: string) => SecurityGroup | undefined,
    delta: CompileDelta,
  ): void {
    const c = this.compiled;
    for (const d of DIRECTIONS) delta.keys.add(`sg:${id}:${d}`);
    const old = this.groupUnits.get(id);
    if (old) {
      for (const k of old.objects) c.objects.delete(k);
      for (const k of old.frozen) c.frozenKeys.delete(k);
      for (const w of old.warnings) c.warnings.delete(w);
      for (const r of old.remotes) removeFrom(this.remoteUsers, r, id);
      this.groupUnits.delete(id);
    }
    if (!this.groupRefs.has(id)) return;
    const sg = lookup(id);
    if (!sg) return;
    const unit: GroupUnit = { objects: [], frozen: [], warnings: [], remotes: remoteGroupsOf(sg) };
    for (const r of unit.remotes) addTo(this.remoteUsers, r, id);
    this.groupUnits.set(id, unit);
    if (unit.remotes.some((r) => !state.loadedGroups.has(r))) {
      // Compiling now would drop the members not yet read: keep the ACLs as they are meanwhile.
      for (const d of DIRECTIONS) {
        c.frozenKeys.add(`sg:${id}:${d}`);
        unit.frozen.push(`sg:${id}:${d}`);
      }
      return;
    }
    const compiled = compileGroupAcls(sg, (g) => state.memberAddresses(g));
    for (const d of DIRECTIONS) {
      const key = `sg:${id}:${d}`;
      c.objects.set(key, { kind: 'acl', key, rules: compiled[d] });
      unit.objects.push(key);
    }
    for (const u of compiled.unsupported) {
      const k = `${id}/${u.ruleId}/${u.reason}`;
      c.warnings.set(k, `security group ${id} rule ${u.ruleId} left out: ${u.reason}`);
      unit.warnings.push(k);
    }
  }
}

function emptyCompiled(): Compiled {
  return {
    objects: new Map(),
    frozenKeys: new Set(),
    frozenPorts: new Set(),
    ports: new Map(),
    warnings: new Map(),
  };
}

/** Compiles a host's desired state from scratch (the memo `cache` saves work between calls). */
export function compile(state: DesiredState, opts: CompileOptions, cache?: CompileCache): Compiled {
  const c = new HostCompiler(opts, cache);
  c.rebuild(state);
  return c.compiled;
}

/** True for ACL keys netvpp owns (for diff: ACLs with other tags are not ours). */
export function isOwnAclTag(tag: string): boolean {
  return parseAclTag(tag) !== null;
}
