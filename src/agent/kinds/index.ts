// The registry: every kind of VPP object the agent manages, each with its descriptor. A kind in the
// VppObject union without a descriptor here, or a descriptor missing a required part, is a compile
// error. To add a kind: write its module (see docs/agent.md, "How to add a kind"), add its object
// type to VppObject and its descriptor to KINDS.
import { acl, type AclObj } from './acl.ts';
import { aclbind, type AclBindObj } from './aclbind.ts';
import { arpterm, type ArpTermObj } from './arpterm.ts';
import { bond, type BondObj } from './bond.ts';
import { bondmember, type BondMemberObj } from './bondmember.ts';
import { bridge, type BridgeObj } from './bridge.ts';
import { eidmap, type EidmapObj } from './eidmap.ts';
import { erspan, type ErspanObj } from './erspan.ts';
import { etype, type EtypeObj } from './etype.ts';
import { l2, type L2Obj } from './l2.ts';
import { l2fib, type L2FibObj } from './l2fib.ts';
import { l2flags, type L2FlagsObj } from './l2flags.ts';
import { leid, type LeidObj } from './leid.ts';
import { lisp, type LispObj } from './lisp.ts';
import { locset, type LocsetObj } from './locset.ts';
import { macip, type MacipObj } from './macip.ts';
import { macipbind, type MacipBindObj } from './macipbind.ts';
import {
  natenable,
  natif,
  natpool,
  natsm,
  type NatEnableObj,
  type NatIfObj,
  type NatPoolObj,
  type NatSmObj,
} from './nat.ts';
import { natout, type NatOutObj } from './natout.ts';
import { ra, type RaObj } from './ra.ts';
import { pipe, pipel2, type PipeL2Obj, type PipeObj } from './pipe.ts';
import { policer, type PolicerObj } from './policer.ts';
import { port, type PortObj } from './port.ts';
import { rif, type RifObj } from './rif.ts';
import { rifaddr, type RifAddrObj } from './rifaddr.ts';
import { route, type RouteObj } from './route.ts';
import { riftable, type RifTableObj } from './riftable.ts';
import { vrf, type VrfObj } from './vrf.ts';
import { rmap, type RmapObj } from './rmap.ts';
import { subport, type SubportObj } from './subport.ts';
import { span, type SpanObj } from './span.ts';
import { spansink, type SpanSinkObj } from './spansink.ts';
import { rxmode, type RxModeObj } from './rxmode.ts';
import { tagdrop, type TagDropObj } from './tagdrop.ts';
import { underlay, type UnderlayObj } from './underlay.ts';
import { up, type UpObj } from './up.ts';
import { uplink, type UplinkObj } from './uplink.ts';
import { vlan, type VlanObj } from './vlan.ts';
import { vtepaddr, type VtepAddrObj } from './vtepaddr.ts';
import { vxlan, type VxlanObj } from './vxlan.ts';
import { xconnect, type XconnectObj } from './xconnect.ts';
import type { Change, KindDescriptor } from './types.ts';

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
  | UpObj
  | TagDropObj
  | SubportObj
  | RxModeObj
  | UnderlayObj
  | VtepAddrObj
  | VxlanObj
  | L2FibObj
  | ArpTermObj
  | VrfObj
  | RifObj
  | RifTableObj
  | RifAddrObj
  | LispObj
  | LocsetObj
  | EidmapObj
  | LeidObj
  | RmapObj
  | RouteObj
  | PipeObj
  | PipeL2Obj
  | L2FlagsObj
  | NatEnableObj
  | NatIfObj
  | NatOutObj
  | RaObj
  | NatPoolObj
  | NatSmObj
  | PolicerObj
  | BondObj
  | BondMemberObj
  | SpanObj
  | SpanSinkObj
  | ErspanObj
  | XconnectObj;
export type ObjKind = VppObject['kind'];

type Registry = { readonly [K in ObjKind]: KindDescriptor<Extract<VppObject, { kind: K }>> };

export const KINDS: Registry = {
  uplink,
  vlan,
  bd: bridge,
  port,
  l2,
  acl,
  macip,
  aclbind,
  macipbind,
  etype,
  up,
  tagdrop,
  subport,
  rxmode,
  underlay,
  vtepaddr,
  vxlan,
  l2fib,
  arpterm,
  vrf,
  rif,
  riftable,
  rifaddr,
  lisp,
  locset,
  eidmap,
  leid,
  rmap,
  route,
  pipe,
  pipel2,
  l2flags,
  natenable,
  natif,
  natout,
  ra,
  natpool,
  natsm,
  policer,
  bond,
  bondmember,
  span,
  spansink,
  erspan,
  xconnect,
};

/** The descriptor of an object's kind. */
export function descriptorOf<O extends VppObject>(o: O): KindDescriptor<O> {
  // TypeScript can't correlate o.kind with the mapped entry; the Registry type guarantees it.
  return KINDS[o.kind as ObjKind] as unknown as KindDescriptor<O>;
}

export function descriptorOfKind(kind: ObjKind): KindDescriptor<VppObject> {
  return KINDS[kind] as unknown as KindDescriptor<VppObject>;
}

export const ALL_KINDS = Object.keys(KINDS) as ObjKind[];

/** Keys this object needs to exist first. */
export function depsOf(o: VppObject): string[] {
  return descriptorOf(o).deps(o);
}

/** Keys the object references in VPP (what must outlive it); excludes ordering-only prerequisites. */
export function refsOf(o: VppObject): string[] {
  const d = descriptorOf(o);
  return d.refs ? d.refs(o) : d.deps(o);
}

/** How `actual` must change to become `desired`: nothing, an in-place update, or delete + create. */
export function compare(desired: VppObject, actual: VppObject): Change {
  const d = descriptorOf(desired);
  if (actual.kind !== desired.kind) return 'replace';
  const c = d.compare(desired, actual);
  return c === 'update' && !d.update ? 'replace' : c;
}

// Every per-port key prefix the descriptors declare, and one pattern for them.
const PORT_KEY_PREFIXES = ALL_KINDS.flatMap((k) => KINDS[k].portKeyPrefixes ?? []);
const PORT_KEY = new RegExp(
  `^(?:${PORT_KEY_PREFIXES.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(
    '|',
  )})([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`,
);

/**
 * Every key a port's own objects can have (one per per-port prefix a descriptor declares), whether or
 * not this port has that object: what a change of the port (its binding, its being frozen) may touch.
 */
export function portKeysOf(portId: string): string[] {
  return PORT_KEY_PREFIXES.map((p) => `${p}${portId}`);
}

/** The port a per-port key belongs to (its interface, membership, ACL bindings...), else null. */
export function portOfKey(key: string): string | null {
  return PORT_KEY.exec(key)?.[1] ?? null;
}

export type { Change, KindDescriptor, OpContext, ObjectBase } from './types.ts';
export { ObjectError } from './types.ts';
export * from './common.ts';
export type {
  BondObj,
  BondMemberObj,
  ErspanObj,
  SpanObj,
  SpanSinkObj,
  NatEnableObj,
  NatIfObj,
  NatOutObj,
  RaObj,
  NatPoolObj,
  NatSmObj,
  PipeL2Obj,
  PipeObj,
  L2FlagsObj,
  RouteObj,
  RifObj,
  RifAddrObj,
  RifTableObj,
  VrfObj,
  AclObj,
  AclBindObj,
  ArpTermObj,
  EidmapObj,
  L2FibObj,
  LeidObj,
  LispObj,
  LocsetObj,
  RmapObj,
  UnderlayObj,
  VtepAddrObj,
  VxlanObj,
  BridgeObj,
  EtypeObj,
  L2Obj,
  MacipObj,
  MacipBindObj,
  PortObj,
  TagDropObj,
  SubportObj,
  RxModeObj,
  UpObj,
  UplinkObj,
  VlanObj,
};
export type { PortVif } from './port.ts';
export type { PolicerObj } from './policer.ts';
export { ACTION, policerKey, type PolicerAction, type PolicerDir } from './policer.ts';
export { aclbindKey } from './aclbind.ts';
export { bondKey, bondObject } from './bond.ts';
export { bondMemberKey, bondMemberObjects } from './bondmember.ts';
export { arptermKey } from './arpterm.ts';
export { l2fibKey } from './l2fib.ts';
export { eidmapKey } from './eidmap.ts';
export { leidKey } from './leid.ts';
export { LISP_KEY } from './lisp.ts';
export { LOCSET_KEY } from './locset.ts';
export { rmapKey } from './rmap.ts';
export { UNDERLAY_KEY } from './underlay.ts';
export { vtepaddrKey } from './vtepaddr.ts';
export { vxlanKey } from './vxlan.ts';
export { spanKey, type SpanState } from './span.ts';
export { spansinkBridgeKey, spansinkKey, spansinkMac } from './spansink.ts';
export { erspanKey } from './erspan.ts';
export { xconnectKey } from './xconnect.ts';
export { rifKey } from './rif.ts';
export { routeKey } from './route.ts';
export { pipeKey, pipeL2Key } from './pipe.ts';
export { l2flagsKey } from './l2flags.ts';
export { NAT_KEY, natifKey, natpoolKey, natsmKey } from './nat.ts';
export { natoutKey } from './natout.ts';
export { raKey } from './ra.ts';
export { rifaddrKey } from './rifaddr.ts';
export { riftableKey } from './riftable.ts';
export { preferredTableId, vrfKey } from './vrf.ts';
export { bridgeKey, MAX_BD_ID, preferredBdId } from './bridge.ts';
export { etypeKey } from './etype.ts';
export { l2Key } from './l2.ts';
export { macipKey } from './macip.ts';
export { macipbindKey } from './macipbind.ts';
export { portKey } from './port.ts';
export { tagdropKey } from './tagdrop.ts';
export { subportKey } from './subport.ts';
export { DEFAULT_RX_MODE, RX_MODES, rxmodeKey, type RxModeName } from './rxmode.ts';
export { upKey } from './up.ts';
export { uplinkKey } from './uplink.ts';
export { vlanKey } from './vlan.ts';
