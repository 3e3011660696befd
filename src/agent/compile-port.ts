// compile, per port: what one binding gives (its interface, ACL lists, anti-spoofing) and what a
// port contributes to the compiled state; used by HostCompiler (compile.ts).
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { PortBinding, SecurityGroup } from '../model/keyspace.ts';
import { compileAntiSpoof, compilePortAcls, PortAclError, type PortAcls } from './secgroups/index.ts';
import type { DesiredState, Entry } from './desired.ts';
import type { NetworkType, Segment } from './nettypes/index.ts';
import {
  aclbindKey,
  bridgeKey,
  etypeKey,
  keyFromTag,
  l2Key,
  macipbindKey,
  macipKey,
  portKey,
  subportKey,
  DEFAULT_RX_MODE,
  RX_MODES,
  rxmodeKey,
  tagdropKey,
  upKey,
  type MacipObj,
  type PortObj,
  type PortVif,
  type SubportObj,
  type RxModeObj,
  type VppObject,
} from './kinds/index.ts';
import type { CompileOptions, PortPlan } from './compile.ts';
import { routerUnit } from './compile-router.ts';
/** Ethertypes a filtered port passes (IPv4, IPv6, ARP); VPP's ACL plugin drops other non-IP frames. */
export const ALLOWED_ETHERTYPES: readonly number[] = [0x0800, 0x86dd, 0x0806];

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

export const aclKey = (tag: string): string => keyFromTag(tag) as string;

export interface NetworkClaim {
  /** The port that claimed the network first (by port id order). */
  by: string;
  segment: string;
  bd: string;
  /** The uplink-side interface key that joins the bridge. */
  member: string;
}

/** What compile derives from one binding alone (memoised: a binding object never changes). */
export interface PortPiece {
  /** A problem with the binding's interface (then nothing else is made for the port). */
  error: string | null;
  /** Its interface: a port's own, or a trunk sub-port's VLAN sub-interface of its parent's. */
  port: PortObj | SubportObj | null;
  /** A router interface (no port interface: a BVI; see compile-router.ts). */
  router?: true;
  needsLink: boolean;
  /** null when the port's groups can't be attached (too many): then `aclError`. */
  acls: PortAcls | null;
  aclError: string | null;
  /** ACL keys (object keys, not tags) of the port's lists. */
  input: string[];
  output: string[];
  macip: MacipObj | null;
  /** The rx-mode of its queues, when not VPP's default (vhost-user and tap; af_packet is interrupt). */
  rxmode?: RxModeObj;
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

export function portPiece(
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
  // A router interface: its objects come from compile-router.ts, once its network is known.
  if (b.vif_type === 'router') return { ...piece, router: true };
  let vif: PortVif;
  if (b.vif_type === 'subport') {
    // A trunk sub-port: a port in every respect but its interface (docs/trunks.md).
    const sp = b.subport as NonNullable<PortBinding['subport']>;
    piece.port = {
      kind: 'subport',
      key: subportKey(b.port_id),
      portId: b.port_id,
      parent: portKey(sp.parent_port_id),
      vlan: sp.segmentation_id,
      pop: true,
    };
    piece.needsLink = true;
    return filtering(b, groups, piece);
  } else if (b.vif_type === 'vhostuser') {
    const vu = b.vhostuser as NonNullable<PortBinding['vhostuser']>;
    const socket = posix.normalize(vu.socket);
    if (!posix.isAbsolute(socket) || !socket.startsWith(opts.vhostUserDir + '/')) {
      piece.error = `vhost-user socket ${vu.socket} is outside the configured directory ${opts.vhostUserDir}`;
      return piece;
    }
    // Neutron's mode is QEMU's role: QEMU 'server' → VPP connects as client.
    vif = { type: 'vhostuser', socket, server: vu.mode === 'client', gso: opts.gso === true };
    piece.needsLink = true;
  } else {
    const hostIfName = (b.tap as NonNullable<PortBinding['tap']>).host_ifname;
    vif =
      opts.tapBackend === 'tap'
        ? { type: 'tap', hostIfName, hostMac: b.mac.toLowerCase(), hostMtu: b.mtu, gso: opts.gso === true }
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
    key: portKey(b.port_id),
    portId: b.port_id,
    vif,
    mac: vppSideMac(b.port_id),
    mtu: b.mtu,
  };
  const rx = opts.rxMode ?? DEFAULT_RX_MODE;
  if (rx !== 'polling' && (vif.type === 'vhostuser' || vif.type === 'tap')) {
    piece.rxmode = {
      kind: 'rxmode',
      key: rxmodeKey(b.port_id),
      iface: piece.port.key,
      mode: RX_MODES[rx],
      guest: vif.type === 'vhostuser',
    };
  }
  return filtering(b, groups, piece);
}

/** The port's security groups, anti-spoofing and ethertype lists (`piece` has its interface). */
function filtering(
  b: PortBinding,
  groups: (id: string) => SecurityGroup | undefined,
  piece: PortPiece,
): PortPiece {
  try {
    piece.acls = compilePortAcls(b, groups);
  } catch (e) {
    if (!(e instanceof PortAclError)) throw e;
    piece.aclError = e.message;
  }
  if (piece.acls?.filtered) {
    piece.macip = { kind: 'macip', key: macipKey(b.port_id), rules: compileAntiSpoof(b) };
    piece.input = piece.acls.input.map(aclKey);
    piece.output = piece.acls.output.map(aclKey);
  }
  return piece;
}

/** A port's way into the network step (ports whose binding got that far). */
export interface NetIn {
  network: string;
  /** The segment's identity (see Segment.id). */
  segment: string;
  member: string;
  /** What its network type says of the segment on this host. */
  seg: Segment;
  type: NetworkType;
}

/** What one port contributes to the compiled state (so it can be taken out again). */
export interface PortUnit {
  objects: VppObject[];
  frozen: string[];
  /** Groups whose ACLs the port's lists use. */
  groups: string[];
  /** Shared ACLs (base, related) its lists use. */
  shared: string[];
  /** Group ids the binding names, as written (its piece depends on them). */
  names: string[];
  /** Objects other ports hold too (a router's VRF), kept while one of them does. */
  held?: VppObject[];
}

/** A port as far as the checks before its network (see HostCompiler.front). */
export interface Front {
  state: DesiredState;
  /** null: no binding (the port is gone). */
  plan: PortPlan | null;
  /** The binding is unreadable: the port's objects are frozen. */
  invalid?: true;
  b?: PortBinding;
  piece?: PortPiece;
  /** Set when the port gets as far as joining its network. */
  net?: NetIn;
}

/**
 * A port's objects, frozen keys and plan, given whether it could join its network (`outcome`: null
 * it joins, a string why not). Fills in `f.plan`.
 */
export function portUnit(portId: string, f: Front, outcome: string | null | undefined): PortUnit {
  const unit: PortUnit = { objects: [], frozen: [], groups: [], shared: [], names: [] };
  const plan = f.plan as PortPlan;
  if (f.b) unit.names = [...new Set(f.b.security_groups)];
  if (!f.net || !f.piece || !f.b) return unit;
  if (outcome) {
    plan.errors.push(outcome);
    return unit;
  }
  const { piece, net, b } = f;
  if (piece.router) return routerUnit(portId, b, net, plan);
  const add = (o: VppObject): void => {
    unit.objects.push(o);
  };
  const networkKeys = [
    ...net.seg.requires,
    ...(net.seg.member !== null ? [l2Key(net.member)] : []),
    bridgeKey(net.network),
  ];

  const port = piece.port as PortObj | SubportObj;
  const iface = port.key;
  add(port);
  if (piece.rxmode) add(piece.rxmode);
  const after: string[] = [];
  const aclbind = aclbindKey(portId);
  if (piece.acls === null) {
    plan.errors.push(piece.aclError ?? 'security groups cannot be applied');
    // Can't say which ACLs: keep whatever the interface has now, and don't bring it up.
    unit.frozen.push(aclbind);
    after.push(aclbind);
  } else if (piece.acls.filtered) {
    const macip = piece.macip as MacipObj;
    add(macip);
    const macipbind = macipbindKey(portId);
    add({ kind: 'macipbind', key: macipbind, iface, acl: macip.key });
    after.push(macipbind);
    // Only IPv4, IPv6 and ARP in either direction, as Neutron's own firewalls allow.
    const etype = etypeKey(portId);
    add({
      kind: 'etype',
      key: etype,
      iface,
      input: [...ALLOWED_ETHERTYPES],
      output: [...ALLOWED_ETHERTYPES],
    });
    after.push(etype);
    unit.groups = [...piece.acls.groups];
    if (piece.acls.missingGroups.length > 0) {
      for (const g of piece.acls.missingGroups) {
        const p = groupProblem(f.state, g);
        if (p.error) plan.errors.push(p.error);
        if (p.waiting) plan.waiting.push(p.waiting);
      }
      unit.frozen.push(aclbind);
    } else {
      const shared = new Set<string>();
      for (const k of piece.input) if (!k.startsWith('sg:')) shared.add(k);
      for (const k of piece.output) if (!k.startsWith('sg:')) shared.add(k);
      unit.shared = [...shared];
      add({ kind: 'aclbind', key: aclbind, iface, input: piece.input, output: piece.output });
    }
    after.push(aclbind);
  }
  // Unfiltered ports get no aclbind/macip objects: diff removes any lists they had (no filtering).

  // Every port, filtered or not: no 802.1Q/802.1ad-tagged frame from it enters the network. A
  // trunk sub-port's sub-interface matches exactly one tag, its own: its parent's guard takes the rest.
  const tagdrop = tagdropKey(portId);
  if (port.kind === 'port') {
    add({ kind: 'tagdrop', key: tagdrop, iface, adminUp: false });
    after.push(tagdrop);
  }

  const l2 = l2Key(iface);
  add({ kind: 'l2', key: l2, iface, bd: bridgeKey(b.network_id), after: [...after], shg: 0 });
  // VPP refuses a sub-interface admin-up while its parent is down (-1): a sub-port's comes after its parent's.
  const upAfter = port.kind === 'subport' ? [l2, ...after, upKey(port.parent)] : [l2, ...after];
  if (b.admin_state_up) add({ kind: 'up', key: upKey(iface), iface, after: upAfter });

  // Readiness: its network's objects, its own (in portKeys order), and the ACLs its lists name.
  const req = new Set<string>(networkKeys);
  req.add(iface);
  if (port.kind === 'port') req.add(tagdrop);
  else {
    // A sub-port carries traffic only through its parent's interface, up and guarded.
    req.add(port.parent);
    req.add(upKey(port.parent));
    req.add(tagdropKey(port.parent.slice('port:'.length)));
  }
  req.add(l2);
  if (b.admin_state_up) req.add(upKey(iface));
  if (piece.acls === null || piece.acls.filtered) req.add(aclbind);
  if (piece.acls?.filtered) {
    req.add(macipbindKey(portId));
    req.add(macipKey(portId));
    req.add(etypeKey(portId));
    if (piece.acls.missingGroups.length === 0) {
      for (const k of piece.input) req.add(k);
      for (const k of piece.output) req.add(k);
    }
  }
  plan.requires = [...req];
  if (port.kind === 'subport') plan.linkOf = port.parent;
  return unit;
}

/**
 * All a port's objects and plan depend on of a group it names: whether the group can be used, and if
 * so whether it is stateful (its lists), else why not (its errors or waiting).
 */
export function groupFace(
  state: DesiredState,
  id: string,
  lookup: (id: string) => SecurityGroup | undefined,
): string {
  const sg = lookup(id);
  if (sg) return sg.stateful ? 'stateful' : 'stateless';
  const p = groupProblem(state, id);
  return `error: ${p.error ?? ''}; waiting: ${p.waiting ?? ''}`;
}

export function groupProblem(state: DesiredState, id: string): { error?: string; waiting?: string } {
  if (!state.loadedGroups.has(id)) return { waiting: `security group ${id} is being loaded` };
  const g: Entry<SecurityGroup> | undefined = state.groups.get(id);
  if (!g) return { error: `security group ${id} does not exist in etcd` };
  if (!g.ok) return { error: `security group ${id} is invalid: ${g.error}` };
  return {};
}
