// compile: desired state (etcd) → the VPP object graph this host should have. A pure function: same
// input, same objects, key for key — so a resync of an unchanged host finds nothing to do.
//
// Besides objects it returns what diff must leave alone ("frozen"): the objects of a port whose
// binding is invalid (they stay exactly as they are, so a bad write can't tear down a working port and
// a restart behaves like the running agent), and ACL settings that can't be computed yet (a group
// still loading or missing). And per port: which keys must be in place for it to be ready.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { PortBinding, SecurityGroup } from '../model/keyspace.ts';
import {
  compileAntiSpoof,
  compileBaseAcls,
  compileGroupAcls,
  compilePortAcls,
  compileRelatedAcls,
  DIRECTIONS,
  parseAclTag,
  PortAclError,
  remoteGroupsOf,
  type PortAcls,
} from './secgroups/index.ts';
import type { DesiredState, Entry } from './desired.ts';
import type { TapBackend } from './config.ts';
import { keyFromTag, keyOf, type MacipObj, type PortObj, type PortVif, type VppObject } from './objects.ts';

export interface CompileOptions {
  physnets: ReadonlyMap<string, string>;
  vhostUserDir: string;
  tapBackend: TapBackend;
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

/** VPP's largest bridge domain id is 2^24 - 1; 0 is reserved. */
export const MAX_BD_ID = 0xffffff;

/** FNV-1a: the bd_id a network's bridge domain asks for (the next free id on collision). */
export function preferredBdId(networkId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < networkId.length; i++) {
    h ^= networkId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % (MAX_BD_ID - 1)) + 1;
}

/** A locally administered MAC derived from the port id, for VPP's side of the port. */
export function vppSideMac(portId: string): string {
  const h = createHash('sha1').update(portId).digest();
  const b = [0x02, h[0], h[1], h[2], h[3], h[4]];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** VPP's end of a veth pair for a tap port: `vpp` + the first 11 characters of the port id (Neutron's naming). */
export function vethVppName(portId: string): string {
  return 'vpp' + portId.slice(0, 11);
}

const aclKey = (tag: string): string => keyFromTag(tag) as string;

interface NetworkClaim {
  /** The port that claimed the network first (by port id order). */
  by: string;
  segment: string;
  bd: string;
  /** The uplink-side interface key that joins the bridge. */
  member: string;
}

/** What compile derives from one binding alone (memoised: a binding object never changes). */
interface PortPiece {
  /** A problem with the binding's interface (then nothing else is made for the port). */
  error: string | null;
  port: PortObj | null;
  needsLink: boolean;
  /** null when the port's groups can't be attached (too many): then `aclError`. */
  acls: PortAcls | null;
  aclError: string | null;
  /** ACL keys (object keys, not tags) of the port's lists. */
  input: string[];
  output: string[];
  macip: MacipObj | null;
}

/**
 * Memo of per-port results between compiles, so an event costs work for what changed, not for every
 * port. Keyed by the binding object (DesiredState replaces it when its value changes) and checked
 * against the group entries the result depended on.
 */
export class CompileCache {
  pieces = new WeakMap<PortBinding, { sig: unknown[]; piece: PortPiece }>();
  opts: CompileOptions | undefined;
}

function portPiece(
  b: PortBinding,
  opts: CompileOptions,
  groups: (id: string) => SecurityGroup | undefined,
): PortPiece {
  const piece: PortPiece = {
    error: null,
    port: null,
    needsLink: false,
    acls: null,
    aclError: null,
    input: [],
    output: [],
    macip: null,
  };
  let vif: PortVif;
  if (b.vif_type === 'vhostuser') {
    const vu = b.vhostuser as NonNullable<PortBinding['vhostuser']>;
    const socket = posix.normalize(vu.socket);
    if (!posix.isAbsolute(socket) || !socket.startsWith(opts.vhostUserDir + '/')) {
      piece.error = `vhost-user socket ${vu.socket} is outside the configured directory ${opts.vhostUserDir}`;
      return piece;
    }
    // Neutron's mode is QEMU's role: QEMU 'server' → VPP connects as client.
    vif = { type: 'vhostuser', socket, server: vu.mode === 'client' };
    piece.needsLink = true;
  } else {
    const hostIfName = (b.tap as NonNullable<PortBinding['tap']>).host_ifname;
    vif =
      opts.tapBackend === 'tap'
        ? { type: 'tap', hostIfName, hostMac: b.mac.toLowerCase(), hostMtu: b.mtu }
        : {
            type: 'veth',
            hostIfName,
            vppIfName: vethVppName(b.port_id),
            hostMac: b.mac.toLowerCase(),
            hostMtu: b.mtu,
          };
  }
  piece.port = {
    kind: 'port',
    key: keyOf.port(b.port_id),
    portId: b.port_id,
    vif,
    mac: vppSideMac(b.port_id),
    mtu: b.mtu,
  };
  try {
    piece.acls = compilePortAcls(b, groups);
  } catch (e) {
    if (!(e instanceof PortAclError)) throw e;
    piece.aclError = e.message;
  }
  if (piece.acls?.filtered) {
    piece.macip = { kind: 'macip', key: keyOf.macip(b.port_id), rules: compileAntiSpoof(b) };
    piece.input = piece.acls.input.map(aclKey);
    piece.output = piece.acls.output.map(aclKey);
  }
  return piece;
}

export function compile(state: DesiredState, opts: CompileOptions, cache?: CompileCache): Compiled {
  const objects = new Map<string, VppObject>();
  const frozenKeys = new Set<string>();
  const frozenPorts = new Set<string>();
  const ports = new Map<string, PortPlan>();
  const warnings = new Map<string, string>();
  const add = (o: VppObject): void => {
    objects.set(o.key, o);
  };
  if (cache && cache.opts !== opts) {
    cache.opts = opts;
    cache.pieces = new WeakMap();
  }

  const groupLookup = (id: string): SecurityGroup | undefined => {
    const g = state.groups.get(id);
    return g?.ok && state.loadedGroups.has(id) ? g.value : undefined;
  };
  const groupProblem = (id: string): { error?: string; waiting?: string } => {
    if (!state.loadedGroups.has(id)) return { waiting: `security group ${id} is being loaded` };
    const g: Entry<SecurityGroup> | undefined = state.groups.get(id);
    if (!g) return { error: `security group ${id} does not exist in etcd` };
    if (!g.ok) return { error: `security group ${id} is invalid: ${g.error}` };
    return {};
  };
  const pieceOf = (b: PortBinding): PortPiece => {
    // What the piece depends on besides the binding: each group's entry and whether it is loaded.
    const sig: unknown[] = [];
    for (const g of b.security_groups) sig.push(state.groups.get(g), state.loadedGroups.has(g));
    const hit = cache?.pieces.get(b);
    if (hit && hit.sig.length === sig.length && hit.sig.every((x, i) => x === sig[i])) return hit.piece;
    const piece = portPiece(b, opts, groupLookup);
    cache?.pieces.set(b, { sig, piece });
    return piece;
  };

  // Networks: one bridge domain each; the uplink (flat) or its VLAN sub-interface joins it.
  const networks = new Map<string, NetworkClaim>();
  /** uplink-side member key → network that put it in a bridge. */
  const members = new Map<string, string>();
  const usedGroups = new Set<string>();
  const usedShared = new Set<string>();
  /** Per port: the network keys it needs (for readiness). */
  const networkKeys = new Map<string, string[]>();

  for (const portId of [...state.bindings.keys()].sort()) {
    const entry = state.bindings.get(portId) as Entry<PortBinding>;
    if (!entry.ok) {
      frozenPorts.add(portId);
      ports.set(portId, {
        portId,
        revision: entry.revision,
        requires: [],
        needsLink: false,
        errors: [entry.error],
        waiting: [],
      });
      continue;
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
    ports.set(portId, plan);
    const piece = pieceOf(b);
    if (piece.error !== null || piece.port === null) {
      plan.errors.push(piece.error ?? 'no interface');
      continue;
    }
    plan.needsLink = piece.needsLink;

    // ---- network ----
    if (b.network_type === 'vxlan') {
      plan.errors.push('vxlan networks are not supported by this agent');
      continue;
    }
    const physnet = b.physnet as string;
    const ifname = opts.physnets.get(physnet);
    if (ifname === undefined) {
      plan.errors.push(
        `physnet ${physnet} is not configured on this host (physnets: ${[...opts.physnets.keys()].join(', ') || 'none'})`,
      );
      continue;
    }
    const uplink = keyOf.uplink(physnet);
    const segment =
      b.network_type === 'vlan' ? `vlan ${b.segmentation_id} on ${physnet}` : `flat on ${physnet}`;
    const member = b.network_type === 'vlan' ? keyOf.vlan(physnet, b.segmentation_id as number) : uplink;
    const bd = keyOf.bd(b.network_id);
    const claim = networks.get(b.network_id);
    if (claim && claim.segment !== segment) {
      plan.errors.push(
        `network ${b.network_id} is ${segment} here but ${claim.segment} for port ${claim.by}`,
      );
      continue;
    }
    const taken = members.get(member);
    if (taken !== undefined && taken !== b.network_id) {
      plan.errors.push(`${segment} already carries network ${taken} on this host`);
      continue;
    }
    networkKeys.set(
      portId,
      member === uplink ? [uplink, keyOf.l2(uplink), bd] : [uplink, member, keyOf.l2(member), bd],
    );
    if (!claim) {
      networks.set(b.network_id, { by: portId, segment, bd, member });
      members.set(member, b.network_id);
      add({ kind: 'uplink', key: uplink, physnet, name: ifname, adminUp: true });
      if (b.network_type === 'vlan') {
        add({
          kind: 'vlan',
          key: member,
          uplink,
          vlan: b.segmentation_id as number,
          pop: true,
          adminUp: true,
        });
      }
      add({
        kind: 'bd',
        key: bd,
        preferredId: preferredBdId(b.network_id),
        flood: true,
        uuFlood: true,
        forward: true,
        learn: true,
        arpTerm: false,
      });
      add({ kind: 'l2', key: keyOf.l2(member), iface: member, bd, after: [] });
    }

    // ---- interface and security ----
    const iface = piece.port.key;
    add(piece.port);
    const after: string[] = [];
    const aclbind = keyOf.aclbind(portId);
    if (piece.acls === null) {
      plan.errors.push(piece.aclError ?? 'security groups cannot be applied');
      // Can't say which ACLs: keep whatever the interface has now, and don't bring it up.
      frozenKeys.add(aclbind);
      after.push(aclbind);
    } else if (piece.acls.filtered) {
      const macip = piece.macip as MacipObj;
      add(macip);
      const macipbind = keyOf.macipbind(portId);
      add({ kind: 'macipbind', key: macipbind, iface, acl: macip.key });
      after.push(macipbind);
      for (const g of piece.acls.groups) usedGroups.add(g);
      if (piece.acls.missingGroups.length > 0) {
        for (const g of piece.acls.missingGroups) {
          const p = groupProblem(g);
          if (p.error) plan.errors.push(p.error);
          if (p.waiting) plan.waiting.push(p.waiting);
        }
        frozenKeys.add(aclbind);
      } else {
        for (const k of piece.input) if (!k.startsWith('sg:')) usedShared.add(k);
        for (const k of piece.output) if (!k.startsWith('sg:')) usedShared.add(k);
        add({ kind: 'aclbind', key: aclbind, iface, input: piece.input, output: piece.output });
      }
      after.push(aclbind);
    }
    // Unfiltered ports get no aclbind/macip objects: diff removes any lists they had (no filtering).

    const l2 = keyOf.l2(iface);
    add({ kind: 'l2', key: l2, iface, bd, after: [...after] });
    if (b.admin_state_up) add({ kind: 'up', key: keyOf.up(iface), iface, after: [l2, ...after] });
  }

  // ---- shared ACLs ----
  const base = compileBaseAcls();
  const related = compileRelatedAcls();
  for (const d of DIRECTIONS) {
    const bk = `base:${d}`;
    const rk = `related:${d}`;
    if (usedShared.has(bk)) add({ kind: 'acl', key: bk, rules: base[d] });
    if (usedShared.has(rk)) add({ kind: 'acl', key: rk, rules: related[d] });
  }
  for (const id of [...usedGroups].sort()) {
    const sg = groupLookup(id);
    if (!sg) continue;
    const pendingRemotes = remoteGroupsOf(sg).filter((r) => !state.loadedGroups.has(r));
    if (pendingRemotes.length > 0) {
      // Compiling now would drop the members not yet read: keep the ACLs as they are meanwhile.
      for (const d of DIRECTIONS) frozenKeys.add(`sg:${id}:${d}`);
      continue;
    }
    const compiled = compileGroupAcls(sg, (g) => state.memberAddresses(g));
    for (const d of DIRECTIONS) add({ kind: 'acl', key: `sg:${id}:${d}`, rules: compiled[d] });
    for (const u of compiled.unsupported) {
      warnings.set(
        `${id}/${u.ruleId}/${u.reason}`,
        `security group ${id} rule ${u.ruleId} left out: ${u.reason}`,
      );
    }
  }

  // ---- readiness: the port's own objects, its network's, and the ACLs its lists name ----
  for (const plan of ports.values()) {
    const net = networkKeys.get(plan.portId);
    if (frozenPorts.has(plan.portId) || net === undefined) continue;
    const iface = keyOf.port(plan.portId);
    const own = [
      iface,
      keyOf.l2(iface),
      keyOf.up(iface),
      keyOf.aclbind(plan.portId),
      keyOf.macipbind(plan.portId),
      keyOf.macip(plan.portId),
    ];
    const req = new Set<string>(net);
    for (const k of own) if (objects.has(k) || frozenKeys.has(k)) req.add(k);
    const bind = objects.get(keyOf.aclbind(plan.portId));
    if (bind?.kind === 'aclbind') for (const k of [...bind.input, ...bind.output]) req.add(k);
    plan.requires = [...req];
  }

  return { objects, frozenKeys, frozenPorts, ports, warnings };
}

/** True for ACL keys netvpp owns (for diff: ACLs with other tags are not ours). */
export function isOwnAclTag(tag: string): boolean {
  return parseAclTag(tag) !== null;
}
