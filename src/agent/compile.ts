// compile: desired state (etcd) → the VPP object graph this host should have. A pure function: same
// input, same objects, key for key — so a resync of an unchanged host finds nothing to do. HostCompiler
// keeps that result up to date change by change (what a change touches is redone, nothing else), and
// `compile` is its rebuild from scratch.
//
// Besides objects it returns what diff must leave alone ("frozen"): the objects of a port whose
// binding is invalid (they stay exactly as they are, so a bad write can't tear down a working port and
// a restart behaves like the running agent), and ACL settings that can't be computed yet (a group
// still loading or missing). And per port: which keys must be in place for it to be ready.
import type { BondConfig } from './bond-config.ts';
import type { AgentConfig } from './config.ts';
import { effectiveQosPolicy, type SecurityGroup } from '../model/keyspace.ts';
import { parseAclTag } from './secgroups/index.ts';
import type { DesiredState } from './desired.ts';
import type { TapBackend, VxlanConfig } from './config.ts';
import { GroupStep, groupLookup } from './compile-groups.ts';
import { NetworkStep } from './compile-networks.ts';
import { SharedObjects } from './compile-refs.ts';
import { L3Step } from './compile-l3.ts';
import { qosUnit } from './compile-qos.ts';
import { compileTaas } from './compile-taas.ts';
import { underlayObjects } from './nettypes/overlay.ts';
import { networkType } from './nettypes/index.ts';
import {
  DEFAULT_RX_MODE,
  MAX_BD_ID,
  portKey,
  portKeysOf,
  portOfKey,
  preferredBdId,
  type RxModeName,
  type VppObject,
} from './kinds/index.ts';
import {
  CompileCache,
  portPiece,
  portUnit,
  type Front,
  type NetIn,
  type PortPiece,
  type PortUnit,
} from './compile-port.ts';

export { CompileCache, vethVppName, vppSideMac } from './compile-port.ts';

export { MAX_BD_ID, preferredBdId };

export interface CompileOptions {
  physnets: ReadonlyMap<string, string>;
  /** [agent] bonds: made and kept while the agent runs; a physnet may name one as its uplink. */
  bonds?: ReadonlyMap<string, BondConfig>;
  vhostUserDir: string;
  tapBackend: TapBackend;
  /** GSO on vhost-user and tap interfaces ([agent] enable_gso; default off). */
  gso?: boolean;
  /** rx-mode of vhost-user and tap port interfaces ([agent] rx_mode; absent: adaptive); polling: VPP's default, no call. */
  rxMode?: RxModeName;
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
  /** The interface whose link that is, when not the port's own (a trunk sub-port's parent). */
  linkOf?: string;
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
  /** Routers and floating IPs (`router:<id>`, `fip:<id>`): what must be in place for each (compile-l3.ts). */
  l3: Map<string, PortPlan>;
  /** Tap flows (`tapflow:<id>`): their mirror and its ends (compile-taas.ts). */
  taas: Map<string, PortPlan>;
  /** Key prefixes diff must leave alone (a router whose document is unreadable). */
  frozenPrefixes: Set<string>;
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
  /** Router documents and floating IPs put or deleted. */
  routers?: ReadonlySet<string>;
  fips?: ReadonlySet<string>;
  /** QoS policies whose value, or whether it is loaded, changed. */
  qos?: ReadonlySet<string>;
  /** Tap flows put or deleted. */
  tapFlows?: ReadonlySet<string>;
}

/** The delta of a rebuild, which records nothing. */
class Discard extends Set<string> {
  override add(): this {
    return this;
  }
}
const noKeys: Set<string> = new Discard();

/**
 * The compiled state of a host, kept up to date change by change. `rebuild` compiles everything (at
 * start, after a VPP restart or reconnection, after an etcd re-read: the safety net); `update` redoes
 * only what a change touches and returns the keys and ports it touched. Both give the same result
 * for the same desired state: a port contributes objects only under its own keys, a network and a
 * group likewise, and what is shared (uplinks, the underlay, base ACLs, groups' ACLs) exists while
 * something references it.
 *
 * Three steps, each with the desired-state inputs it reads: networks (NetworkStep: which network
 * each port joins, the networks' objects), ports (here: each port's own objects and plan, from its
 * binding, its network outcome and the faces of its groups), security groups (GroupStep: the groups'
 * ACLs and the shared ones). A change re-runs the steps for what it touches: the changed ports, the
 * ports whose network claim changed with them, the groups (and the ports naming them) whose
 * definition, loading or remote members changed, the overlay networks whose peers changed.
 */
/** The compile options an agent configuration gives: one place, for the agent and its inspections. */
export function compileOptionsOf(
  config: Pick<
    AgentConfig,
    'physnets' | 'bonds' | 'vhostUserDir' | 'tapBackend' | 'gso' | 'rxMode' | 'vxlan'
  >,
): CompileOptions {
  return {
    physnets: config.physnets,
    bonds: config.bonds,
    vhostUserDir: config.vhostUserDir,
    tapBackend: config.tapBackend,
    gso: config.gso === true,
    rxMode: config.rxMode ?? DEFAULT_RX_MODE,
    vxlan: config.vxlan ?? null,
  };
}

export class HostCompiler {
  compiled: Compiled = emptyCompiled();
  private readonly cache: CompileCache;
  private units = new Map<string, PortUnit>();
  /** Objects ports share (a router's VRF, held by each of its interfaces). */
  private held = new SharedObjects();
  private networks: NetworkStep;
  private groups: GroupStep;
  private l3 = new L3Step();
  /** The objects the last TaaS step added. */
  private taasKeys: string[] = [];
  /** Ports that were router ports at the last L3 step (a change to one redoes it). */
  private routerPorts = new Set<string>();
  /** Trunk sub-ports by parent port, and each sub-port's parent (a parent's change redoes them). */
  private subports = new Map<string, Set<string>>();
  private parentOf = new Map<string, string>();
  /** QoS policy id → the ports using it (a change to the policy redoes them). */
  private qosUsers = new Map<string, Set<string>>();
  private qosOf = new Map<string, string>();

  constructor(
    readonly opts: CompileOptions,
    cache?: CompileCache,
  ) {
    this.cache = cache ?? new CompileCache();
    if (this.cache.opts !== opts) {
      this.cache.opts = opts;
      this.cache.pieces = new WeakMap();
    }
    this.networks = new NetworkStep(opts, this.compiled.objects);
    this.groups = new GroupStep(this.compiled);
  }

  /**
   * The ports whose readiness may need `key` (a superset of those whose `requires` name it), found
   * from the indices the steps keep anyway: a port's own keys name it; a network's objects, the ports
   * on it; a group's ACLs, the ports naming the group; an uplink or the base ACLs, every port.
   */
  portsNeeding(key: string): Iterable<string> {
    const own = portOfKey(key);
    if (own !== null) return [own, ...this.subportsOf(own)];
    const colon = key.indexOf(':');
    const rest = key.slice(colon + 1);
    // By the key's first segment: the index that names the ports using it; else every port.
    const index: Record<string, () => Iterable<string> | undefined> = {
      bd: () => this.networks.portsOn(rest),
      vlan: () => this.networks.portsOnMember(key),
      l2: () => this.networks.portsOnMember(rest),
      // An overlay's tunnels, static MACs and ARP entries: no port's readiness waits on them.
      vxlan: () => [],
      l2fib: () => [],
      arp: () => [],
      rifaddr: () => [rest.slice(0, 36)],
      sg: () => this.groups.portsNaming(rest.slice(0, rest.lastIndexOf(':'))),
    };
    const lookup = index[key.slice(0, colon)];
    return lookup ? (lookup() ?? []) : this.compiled.ports.keys();
  }

  /** The trunk sub-ports bound here whose parent is `portId`. */
  subportsOf(portId: string): Iterable<string> {
    return this.subports.get(portId) ?? [];
  }

  /** Compiles everything anew. */
  rebuild(state: DesiredState): void {
    this.compiled = emptyCompiled();
    this.units = new Map();
    this.held = new SharedObjects();
    this.networks = new NetworkStep(this.opts, this.compiled.objects);
    this.groups = new GroupStep(this.compiled);
    this.l3 = new L3Step();
    this.subports = new Map();
    this.parentOf = new Map();
    this.qosUsers = new Map();
    this.qosOf = new Map();
    this.taasKeys = [];
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
    const lookup = groupLookup(state);
    const fronts = new Map<string, Front>();

    // 0. Trunk sub-ports of changed parents: their interface hangs off the parent's.
    const changed = new Set<string>(changes.ports);
    for (const portId of changes.ports) this.indexSubport(state, portId);
    for (const portId of changes.ports) for (const sub of this.subportsOf(portId)) changed.add(sub);

    // 1. Networks: the changed bindings' way in, the claims it affects, the overlays whose peers changed.
    const redo = new Set<string>(changed);
    const netIns = new Map<string, NetIn | undefined>();
    for (const portId of changed) {
      const f = this.front(state, portId, lookup);
      fronts.set(portId, f);
      netIns.set(portId, f.net);
    }
    this.networks.update(state, netIns, changes.overlays ?? [], redo, delta);

    // 2. Groups whose face changed: the ports naming them.
    this.groups.begin(state, changes.groups, redo);
    for (const p of changes.qos ?? []) for (const port of this.qosUsers.get(p) ?? []) redo.add(port);

    // 3. Ports.
    for (const portId of redo) {
      const f = fronts.get(portId) ?? this.front(state, portId, lookup);
      this.setPort(state, portId, f, delta);
    }

    // 4. Groups' ACLs and the shared ones.
    this.groups.finish(state, changes.groups, changes.members, delta);

    // 5. Routers' routes and NAT, floating IPs: when they, or a router port, changed.
    if (
      !track ||
      changes.routers?.size ||
      changes.fips?.size ||
      [...changes.ports].some((p) => this.routerPorts.has(p) || isRouterPort(state, p))
    ) {
      this.l3.apply(state, this.compiled.objects, delta);
      this.compiled.l3 = this.l3.l3.plans;
      this.compiled.frozenPrefixes = this.l3.l3.frozenPrefixes;
      this.routerPorts = new Set([...state.bindings.keys()].filter((p) => isRouterPort(state, p)));
    }

    // 6. Tap flows: when they, or any binding (one of their ends), changed.
    if (!track || changes.tapFlows?.size || changes.ports.size) this.applyTaas(state, delta);
    return delta;
  }

  /** Keeps the parent → sub-ports index up to date for a changed binding. */
  private indexSubport(state: DesiredState, portId: string): void {
    const old = this.parentOf.get(portId);
    const e = state.bindings.get(portId);
    const now = e?.ok && e.value.subport ? e.value.subport.parent_port_id : undefined;
    if (old === now) return;
    if (old !== undefined) {
      this.parentOf.delete(portId);
      const set = this.subports.get(old);
      set?.delete(portId);
      if (set?.size === 0) this.subports.delete(old);
    }
    if (now !== undefined) {
      this.parentOf.set(portId, now);
      let set = this.subports.get(now);
      if (!set) this.subports.set(now, (set = new Set()));
      set.add(portId);
    }
  }

  private applyTaas(state: DesiredState, delta: CompileDelta): void {
    const objects = this.compiled.objects;
    for (const k of this.taasKeys) {
      objects.delete(k);
      delta.keys.add(k);
    }
    const out = compileTaas({
      flows: state.tapFlows,
      hasPort: (p) => objects.has(portKey(p)),
      vtep: this.opts.vxlan?.localIp ?? null,
      underlay: underlayObjects(this.opts).map((o) => o.key),
      vtepOf: (h) => state.overlay.vteps.get(h),
    });
    this.taasKeys = out.objects.map((o) => o.key);
    for (const o of out.objects) {
      objects.set(o.key, o);
      delta.keys.add(o.key);
    }
    this.compiled.taas = out.plans;
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
    if (piece.error !== null || (piece.port === null && !piece.router)) {
      plan.errors.push(piece.error ?? 'no interface');
      return f;
    }
    plan.needsLink = piece.needsLink;
    if (b.subport) {
      const why = parentProblem(state, b.subport.parent_port_id);
      if (why) {
        plan.errors.push(`trunk ${b.subport.trunk_id}: ${why}`);
        return f;
      }
    }
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

  /** Takes a port's old contribution out and puts its new one in. */
  private setPort(state: DesiredState, portId: string, f: Front, delta: CompileDelta): void {
    const c = this.compiled;
    if (delta.ports !== noKeys) {
      delta.ports.add(portId);
      for (const k of portKeysOf(portId)) delta.keys.add(k);
    }
    const old = this.units.get(portId);
    if (old) {
      for (const o of old.objects) {
        c.objects.delete(o.key);
        delta.keys.add(o.key);
      }
      this.held.release(portId, c.objects, delta.keys);
      for (const k of old.frozen) c.frozenKeys.delete(k);
      this.groups.release(portId, old);
      this.units.delete(portId);
    }
    c.ports.delete(portId);
    c.frozenPorts.delete(portId);
    const oldQos = this.qosOf.get(portId);
    if (oldQos !== undefined) {
      this.qosUsers.get(oldQos)?.delete(portId);
      this.qosOf.delete(portId);
    }
    if (f.plan === null) return;

    const unit = portUnit(portId, f, this.networks.outcome(portId));
    const qos = f.b ? effectiveQosPolicy(f.b) : null;
    if (f.b && qos !== null) {
      let users = this.qosUsers.get(qos);
      if (!users) this.qosUsers.set(qos, (users = new Set()));
      users.add(portId);
      this.qosOf.set(portId, qos);
      // Only a port with an interface of its own gets policers (not a router's BVI).
      if (unit.objects.some((o) => o.kind === 'port')) {
        const q = qosUnit(f.b, portKey(portId), state, f.plan);
        unit.objects.push(...q.objects);
        unit.frozen.push(...q.frozen);
      }
    }
    c.ports.set(portId, f.plan);
    if (f.invalid) c.frozenPorts.add(portId);
    for (const o of unit.objects) {
      c.objects.set(o.key, o);
      delta.keys.add(o.key);
    }
    if (unit.held?.length) this.held.hold(portId, unit.held, c.objects, delta.keys);
    for (const k of unit.frozen) c.frozenKeys.add(k);
    this.groups.hold(state, portId, unit);
    this.units.set(portId, unit);
  }
}

/** Why a trunk sub-port can't hang off its parent on this host, or null when it can. */
function parentProblem(state: DesiredState, parentId: string): string | null {
  const p = state.bindings.get(parentId);
  if (!p) return `its parent port ${parentId} is not bound on this host`;
  if (!p.ok) return `its parent port ${parentId} has an invalid binding`;
  const t = p.value.vif_type;
  if (t !== 'vhostuser' && t !== 'tap')
    return `its parent port ${parentId} is a ${t} port, not a VM (vhostuser) or tap port`;
  return null;
}

function isRouterPort(state: DesiredState, portId: string): boolean {
  const e = state.bindings.get(portId);
  return e?.ok === true && e.value.vif_type === 'router';
}

function emptyCompiled(): Compiled {
  return {
    objects: new Map(),
    frozenKeys: new Set(),
    frozenPorts: new Set(),
    frozenPrefixes: new Set(),
    ports: new Map(),
    l3: new Map(),
    taas: new Map(),
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
