// The VPP object graph the agent manages. Compile produces it from etcd (desired), the dumps produce
// it from VPP (actual), and diff compares the two key by key.
//
// Every object has a stable key. Objects VPP can tag carry the tag `netvpp:<key>`; that is how the
// agent finds its own objects after a restart and how it knows an object is not its to touch. Objects
// that are only a setting of an interface (bridge membership, ACL lists, admin state) have keys
// derived from their interface's key and are read back from that interface.
//
//   uplink:<physnet>            configured uplink, found by name; never created or deleted
//   vlan:<physnet>:<vlan>       VLAN sub-interface of the uplink (tagged)
//   bd:<network id>             bridge domain of a network (bd_tag)
//   port:<port id>              a port's interface: vhost-user, tap, or af_packet on a veth (tagged)
//   l2:<interface key>          the interface's bridge membership
//   sg:<sg id>:<direction>      a security group's ACL (ACL tag, see secgroups/tags.ts)
//   base:<dir>, related:<dir>   ACLs shared by every filtered port
//   macip:<port id>             a port's MAC-IP anti-spoofing ACL (tagged)
//   aclbind:<port id>           the port interface's input/output ACL lists
//   macipbind:<port id>         the port interface's MAC-IP ACL binding
//   etype:<port id>             the port interface's ethertype whitelists (IPv4, IPv6, ARP only)
//   up:<interface key>          admin-up of a port interface
import type { AclRule, MacipAclRule } from '../vpp/binapi/index.ts';

export const TAG_PREFIX = 'netvpp:';

export interface UplinkObj {
  kind: 'uplink';
  key: string;
  physnet: string;
  /** VPP interface name from the physnets map. */
  name: string;
  adminUp: boolean;
}

export interface VlanObj {
  kind: 'vlan';
  key: string;
  uplink: string;
  vlan: number;
  /** Pop the VLAN tag on ingress (push on egress), so the bridge sees untagged frames. */
  pop: boolean;
  adminUp: boolean;
}

export interface BridgeObj {
  kind: 'bd';
  key: string;
  /** The bd_id to ask for when created (a hash of the network; the next free id on collision). */
  preferredId: number;
  flood: boolean;
  uuFlood: boolean;
  forward: boolean;
  learn: boolean;
  arpTerm: boolean;
}

export type PortVif =
  | {
      type: 'vhostuser';
      socket: string;
      /** VPP is the socket server (Neutron vhostuser_mode client) */ server: boolean;
    }
  | { type: 'tap'; hostIfName: string; hostMac: string; hostMtu: number }
  | {
      type: 'veth';
      /** The namespace-side name Neutron expects. */
      hostIfName: string;
      /** VPP's end of the pair (its af_packet host interface). */
      vppIfName: string;
      hostMac: string;
      hostMtu: number;
    }
  /** Found in VPP with a port tag but of a kind netvpp does not create (only ever deleted). */
  | { type: 'other'; dev: string };

export interface PortObj {
  kind: 'port';
  key: string;
  portId: string;
  vif: PortVif;
  /** VPP-side MAC (deterministic per port, so a re-create gives the same). */
  mac: string;
  /** L3 MTU of the interface (the network's MTU). */
  mtu: number;
}

export interface L2Obj {
  kind: 'l2';
  key: string;
  iface: string;
  bd: string;
  /** Keys that must be in place before the interface joins the bridge (fail closed). */
  after: string[];
}

export interface AclObj {
  kind: 'acl';
  key: string;
  rules: AclRule[];
}

export interface MacipObj {
  kind: 'macip';
  key: string;
  rules: MacipAclRule[];
}

export interface AclBindObj {
  kind: 'aclbind';
  key: string;
  iface: string;
  /** VPP input = from the VM (Neutron egress), in evaluation order. */
  input: string[];
  /** VPP output = to the VM (Neutron ingress). */
  output: string[];
}

export interface MacipBindObj {
  kind: 'macipbind';
  key: string;
  iface: string;
  acl: string;
}

/** Ethertype whitelists: with ACLs applied, VPP drops non-IP frames whose ethertype is not listed. */
export interface EtypeObj {
  kind: 'etype';
  key: string;
  iface: string;
  /** From the VM. */
  input: number[];
  /** To the VM. */
  output: number[];
}

export interface UpObj {
  kind: 'up';
  key: string;
  iface: string;
  /** Keys that must be in place before the interface goes admin-up (fail closed). */
  after: string[];
}

export type VppObject =
  | UplinkObj
  | VlanObj
  | BridgeObj
  | PortObj
  | L2Obj
  | AclObj
  | MacipObj
  | AclBindObj
  | MacipBindObj
  | EtypeObj
  | UpObj;
export type ObjKind = VppObject['kind'];

/** Kinds VPP stores a netvpp tag on; an object of these kinds without our tag is never touched. */
export const TAGGED_KINDS: ReadonlySet<ObjKind> = new Set(['vlan', 'bd', 'port', 'acl', 'macip']);

export const keyOf = {
  uplink: (physnet: string) => `uplink:${physnet}`,
  vlan: (physnet: string, vlan: number) => `vlan:${physnet}:${vlan}`,
  bd: (networkId: string) => `bd:${networkId}`,
  port: (portId: string) => `port:${portId}`,
  l2: (ifaceKey: string) => `l2:${ifaceKey}`,
  macip: (portId: string) => `macip:${portId}`,
  aclbind: (portId: string) => `aclbind:${portId}`,
  macipbind: (portId: string) => `macipbind:${portId}`,
  etype: (portId: string) => `etype:${portId}`,
  up: (ifaceKey: string) => `up:${ifaceKey}`,
};

export function tagOf(key: string): string {
  return TAG_PREFIX + key;
}

/** The key a VPP tag names, or null when the tag is not netvpp's. */
export function keyFromTag(tag: string): string | null {
  return tag.startsWith(TAG_PREFIX) ? tag.slice(TAG_PREFIX.length) : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The port whose interface key this is (`port:<id>`), else undefined. */
export function portOfIface(ifaceKey: string): string | undefined {
  return ifaceKey.startsWith('port:') ? ifaceKey.slice(5) : undefined;
}

/** The port a per-port key belongs to (port, its membership, ACL bindings, MAC-IP ACL, admin-up). */
export function portOfKey(key: string): string | null {
  const m = /^(?:port|macip|aclbind|macipbind|etype|l2:port|up:port):(.+)$/.exec(key);
  return m && UUID.test(m[1]) ? m[1] : null;
}

/** Keys this object needs to exist first. */
export function depsOf(o: VppObject): string[] {
  switch (o.kind) {
    case 'uplink':
    case 'bd':
    case 'port':
    case 'acl':
    case 'macip':
      return [];
    case 'vlan':
      return [o.uplink];
    case 'l2':
      return [o.iface, o.bd, ...o.after];
    case 'aclbind':
      return [o.iface, ...o.input, ...o.output];
    case 'macipbind':
      return [o.iface, o.acl];
    case 'etype':
      return [o.iface];
    case 'up':
      return [o.iface, ...o.after];
  }
}

/** Keys the object references in VPP (what must outlive it); excludes ordering-only `after`. */
export function refsOf(o: VppObject): string[] {
  switch (o.kind) {
    case 'l2':
      return [o.iface, o.bd];
    case 'up':
      return [o.iface];
    default:
      return depsOf(o);
  }
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameAclRule(a: AclRule, b: AclRule): boolean {
  return (
    a.is_permit === b.is_permit &&
    a.src_prefix === b.src_prefix &&
    a.dst_prefix === b.dst_prefix &&
    a.proto === b.proto &&
    a.srcport_or_icmptype_first === b.srcport_or_icmptype_first &&
    a.srcport_or_icmptype_last === b.srcport_or_icmptype_last &&
    a.dstport_or_icmpcode_first === b.dstport_or_icmpcode_first &&
    a.dstport_or_icmpcode_last === b.dstport_or_icmpcode_last &&
    a.tcp_flags_mask === b.tcp_flags_mask &&
    a.tcp_flags_value === b.tcp_flags_value
  );
}

function sameMacipRule(a: MacipAclRule, b: MacipAclRule): boolean {
  return (
    a.is_permit === b.is_permit &&
    a.src_mac.toLowerCase() === b.src_mac.toLowerCase() &&
    a.src_mac_mask.toLowerCase() === b.src_mac_mask.toLowerCase() &&
    a.src_prefix === b.src_prefix
  );
}

function sameVif(a: PortVif, b: PortVif): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'vhostuser': {
      const o = b as typeof a;
      return a.socket === o.socket && a.server === o.server;
    }
    case 'tap': {
      const o = b as typeof a;
      return (
        a.hostIfName === o.hostIfName &&
        a.hostMac.toLowerCase() === o.hostMac.toLowerCase() &&
        a.hostMtu === o.hostMtu
      );
    }
    case 'veth': {
      const o = b as typeof a;
      return a.vppIfName === o.vppIfName;
    }
    case 'other':
      return false;
  }
}

export type Change = 'same' | 'update' | 'replace';

/**
 * How `actual` must change to become `desired`: nothing, an in-place update, or delete + create.
 * Only what VPP reports back is compared (e.g. a vhost-user interface's MAC is not).
 */
export function compare(desired: VppObject, actual: VppObject): Change {
  switch (desired.kind) {
    case 'uplink':
      return (actual as UplinkObj).adminUp === desired.adminUp ? 'same' : 'update';
    case 'vlan': {
      const a = actual as VlanObj;
      if (a.uplink !== desired.uplink || a.vlan !== desired.vlan) return 'replace';
      return a.pop === desired.pop && a.adminUp === desired.adminUp ? 'same' : 'update';
    }
    case 'bd': {
      const a = actual as BridgeObj;
      return a.flood === desired.flood &&
        a.uuFlood === desired.uuFlood &&
        a.forward === desired.forward &&
        a.learn === desired.learn &&
        a.arpTerm === desired.arpTerm
        ? 'same'
        : 'update';
    }
    case 'port': {
      const a = actual as PortObj;
      if (!sameVif(desired.vif, a.vif)) return 'replace';
      return a.mtu === desired.mtu ? 'same' : 'update';
    }
    case 'l2': {
      const a = actual as L2Obj;
      return a.bd === desired.bd ? 'same' : 'update';
    }
    case 'acl': {
      const a = actual as AclObj;
      const same =
        a.rules.length === desired.rules.length && a.rules.every((r, i) => sameAclRule(r, desired.rules[i]));
      return same ? 'same' : 'update';
    }
    case 'macip': {
      const a = actual as MacipObj;
      const same =
        a.rules.length === desired.rules.length &&
        a.rules.every((r, i) => sameMacipRule(r, desired.rules[i]));
      return same ? 'same' : 'update';
    }
    case 'aclbind': {
      const a = actual as AclBindObj;
      return sameList(a.input, desired.input) && sameList(a.output, desired.output) ? 'same' : 'update';
    }
    case 'macipbind': {
      const a = actual as MacipBindObj;
      return a.acl === desired.acl ? 'same' : 'update';
    }
    case 'etype': {
      const a = actual as EtypeObj;
      return sameList(a.input, desired.input) && sameList(a.output, desired.output) ? 'same' : 'update';
    }
    case 'up':
      return 'same';
  }
}
