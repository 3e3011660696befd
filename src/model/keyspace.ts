// The etcd keyspace, version 1: every key netvpp uses, how to build and parse it, and the schema of
// its value. The controller and the agents import this one module, so a key or a field is defined
// once. docs/keyspace.md describes the same things for people (who writes, who reads, lifetime).
import {
  arrayOf,
  bool,
  type Check,
  cidr,
  hostName,
  int,
  ipAddress,
  ipOrCidr,
  isoTime,
  KEY_SEGMENT_RE,
  literal,
  mac,
  nullable,
  obj,
  optional,
  parseCidr,
  refine,
  type Result,
  run,
  SchemaError,
  str,
  uuid,
} from './validate.ts';

export * from './keyspace-l3.ts';
export * from './keyspace-trunk.ts';
import { type SubportDetails, subportDetailsSchema } from './keyspace-trunk.ts';
export * from './keyspace-qos.ts';
import { parseQosKey, type QosOfBinding, type QosPolicy, qosKeys, qosPolicySchema } from './keyspace-qos.ts';
export * from './keyspace-taas.ts';
import {
  type ErspanConfig,
  erspanConfigSchema,
  parseTaasKey,
  type TaasParsedKey,
  taasKeys,
  type TapFlowDoc,
  tapFlowDocSchema,
} from './keyspace-taas.ts';
export * from './keyspace-bonds.ts';
export * from './keyspace-host.ts';
import {
  type HostState,
  hostStateSchema,
  type NetworkType,
  networkTypeSchema,
  physnetNameSchema,
  type ResyncRequest,
  resyncRequestSchema,
  type VifType,
  vifTypeSchema,
} from './keyspace-host.ts';
import {
  type FloatingIpDoc,
  floatingIpDocSchema,
  ROUTER_PORT_ROLES,
  type RouterDoc,
  routerDocSchema,
  type RouterInterface,
  routerAdvertSchema,
  type RouterActive,
  routerActiveSchema,
} from './keyspace-l3.ts';

export const PREFIX = '/netvpp/v1/';

// ---- value types -----------------------------------------------------------------------------------

export const MAX_VLAN = 4094;
export const MAX_VNI = 2 ** 24 - 1;
/** Neutron names a port's kernel tap device `tap` + the first 11 characters of the port id. */
export const TAP_ID_LENGTH = 11;

export function tapName(portId: string): string {
  return 'tap' + portId.slice(0, TAP_ID_LENGTH);
}

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

export interface AllowedAddressPair {
  /** An address or a CIDR. */
  ip_address: string;
  /** Always filled in: Neutron's default (the port's own MAC) is applied by the controller. */
  mac_address: string;
}

export interface VhostUserDetails {
  /** Path of the vhost-user socket. */
  socket: string;
  /**
   * QEMU's role on the socket, as in Neutron's `vhostuser_mode`: 'server' means QEMU listens and VPP
   * connects as the client; 'client' means VPP listens.
   */
  mode: 'server' | 'client';
}

/**
 * `nodes/<host>/ports/<port_id>`: a port bound to <host>, everything the agent needs to plumb it.
 * Its QoS policy ids (QosOfBinding, optional) name `global/qos/<id>` objects.
 */
export interface PortBinding extends QosOfBinding {
  port_id: string;
  network_id: string;
  network_type: NetworkType;
  /** Physical network for flat and vlan; null for vxlan. */
  physnet: string | null;
  /** VLAN id (vlan), VNI (vxlan), null (flat). */
  segmentation_id: number | null;
  mtu: number;
  mac: string;
  fixed_ips: FixedIp[];
  vif_type: VifType;
  /** Set when vif_type is 'vhostuser', else null. */
  vhostuser: VhostUserDetails | null;
  /** Set when vif_type is 'tap', else null. */
  tap: { host_ifname: string } | null;
  /** Set when vif_type is 'router' (a router interface), else null. Optional: absent means null. */
  router?: RouterInterface | null;
  /** Set when vif_type is 'subport' (a trunk's sub-port), else absent. */
  subport?: SubportDetails | null;
  device_owner: string;
  admin_state_up: boolean;
  security_groups: string[];
  port_security_enabled: boolean;
  allowed_address_pairs: AllowedAddressPair[];
  /**
   * Neutron's binding-extended status of this host's binding: 'inactive' while Nova live-migrates
   * the port (the destination before activation, the source after it until Nova deletes it). The
   * agent plumbs an inactive binding exactly like the active one. Absent means active.
   */
  binding_status?: BindingStatus;
  /** Neutron revision_number of the port this document was made from. */
  revision: number;
}

export type BindingStatus = 'active' | 'inactive';
export const BINDING_STATUSES: readonly BindingStatus[] = ['active', 'inactive'];

export interface SecurityGroupRule {
  id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** IANA protocol number; null means any protocol. Names are resolved by the controller. */
  protocol: number | null;
  /** TCP/UDP/SCTP/DCCP/UDP-Lite: port range (null = any). ICMP/ICMPv6: min is the type, max the code. */
  port_range_min: number | null;
  port_range_max: number | null;
  /** A CIDR whose family matches ethertype, or null. Never set together with remote_group_id. */
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}

/** `global/secgroups/<sg_id>`. */
export interface SecurityGroup {
  id: string;
  revision: number;
  /** false for Neutron's stateless security groups. */
  stateful: boolean;
  rules: SecurityGroupRule[];
}

/** `global/remote_group/<sg_id>/<port_id>`: the addresses a port contributes to a group. */
export interface RemoteGroupMember {
  /** The port's fixed IPs (plain addresses) and its allowed-address-pair IPs (addresses or CIDRs). */
  ips: string[];
  /** Neutron revision of the port. */
  revision: number;
}

/**
 * `global/overlay/<network_id>/ports/<port_id>`: a port bound on an overlay (vxlan) network, for the
 * other hosts on that network: where it lives (its host is in their flood list, its MAC points at the
 * tunnel to that host) and which addresses it answers for (ARP/ND termination). Written by the
 * controller with the binding; watched only by agents with ports on the network.
 */
export interface OverlayPort {
  host: string;
  mac: string;
  /** The port's fixed IPs (plain addresses; allowed address pairs are not terminated). */
  ips: string[];
  /** Neutron revision of the port. */
  revision: number;
}

/**
 * `state/<host>/ports/<port_id>`: what the agent has done with the port's binding. The same shape is
 * used for `state/<host>/routers/<router_id>` (gateway, SNAT and routes in place) and
 * `state/<host>/floatingips/<fip_id>` (the static mapping in place): ObjectState.
 */
export interface PortState {
  /** Neutron revision of the binding the agent last applied (null: none applied yet). */
  revision: number | null;
  /** true once interface, bridge, anti-spoofing and security groups are all in place. */
  ready: boolean;
  error: string | null;
  updated_at: string;
}

/** What the agent reports for a router or a floating IP: the same fields as for a port. */
export type ObjectState = PortState;

export type NeutronKind =
  'port' | 'network' | 'security_group' | 'router' | 'floatingip' | 'qos_policy' | 'tap_service' | 'tap_flow';
export const NEUTRON_KINDS: readonly NeutronKind[] = [
  'port',
  'network',
  'security_group',
  'router',
  'floatingip',
  'qos_policy',
  'tap_service',
  'tap_flow',
];

/**
 * `neutron/<kind>/<id>`: the controller's own record of a Neutron resource, so that a restarted or
 * newly elected controller knows the last revision it applied and which desired-state keys the
 * resource produced (to delete them when the port moves, loses a group or goes away).
 */
export interface NeutronRecord {
  kind: NeutronKind;
  id: string;
  revision: number;
  /** Set when the resource was deleted: the record stays as a tombstone so a late row can't revive it. */
  deleted_at: string | null;
  /** Desired-state keys (relative to PREFIX) this resource produced, with their values. */
  owns: Record<string, unknown>;
  /** Networks: the MTU from the latest network row (it wins over the copy carried by port rows). */
  mtu: number | null;
  /** Networks: the QoS policy from the latest network row (absent: none). */
  qos_policy_id?: string | null;
}

/**
 * `meta/synced`: written by the leading controller after a full sync from Neutron (POST /v1/sync) has
 * made the desired state complete. Its absence means etcd lost its data (or never had it): what
 * agents see as desired state may be partial, so they must not delete on the strength of it.
 */
export interface SyncMarker {
  /** When the sync that wrote it finished (ISO 8601). */
  at: string;
  /** How many Neutron resources (networks, ports, security groups, routers, floating IPs) that sync carried. */
  neutron_rows: number;
  /** The controller that applied it. */
  controller_id: string;
}

/** `election/controller`: who leads the controllers, so followers can point the driver at it. */
export interface ControllerLeader {
  id: string;
  /** Base URL of the leader's REST API, as the driver should reach it. */
  url: string;
  since: string;
}

// ---- schemas ---------------------------------------------------------------------------------------

const revision = int(0, Number.MAX_SAFE_INTEGER);
const mtu = int(68, 65535);

export const fixedIpSchema: Check<FixedIp> = obj<FixedIp>({ subnet_id: uuid, ip_address: ipAddress });

export const allowedAddressPairSchema: Check<AllowedAddressPair> = obj<AllowedAddressPair>({
  ip_address: ipOrCidr,
  mac_address: mac,
});

/** Cross-field rules of a binding's segment; returns an error text or null. */
export function segmentError(type: NetworkType, physnet: string | null, seg: number | null): string | null {
  switch (type) {
    case 'flat':
      if (physnet === null) return 'a flat network needs a physnet';
      if (seg !== null) return 'a flat network has no segmentation_id';
      return null;
    case 'vlan':
      if (physnet === null) return 'a vlan network needs a physnet';
      if (seg === null || seg < 1 || seg > MAX_VLAN) return `a vlan segmentation_id must be 1..${MAX_VLAN}`;
      return null;
    case 'vxlan':
    case 'gpe':
      if (physnet !== null) return `a ${type} network has no physnet`;
      if (seg === null || seg < 1 || seg > MAX_VNI)
        return `a ${type} segmentation_id (VNI) must be 1..${MAX_VNI}`;
      return null;
  }
}

export const portBindingSchema: Check<PortBinding> = refine(
  obj<PortBinding>({
    port_id: uuid,
    network_id: uuid,
    network_type: networkTypeSchema,
    physnet: nullable(physnetNameSchema),
    segmentation_id: nullable(int(0, MAX_VNI)),
    mtu,
    mac,
    fixed_ips: arrayOf(fixedIpSchema),
    vif_type: vifTypeSchema,
    vhostuser: nullable(
      obj<VhostUserDetails>({ socket: str({ min: 1, max: 4096 }), mode: literal('server', 'client') }),
    ),
    tap: nullable(obj<{ host_ifname: string }>({ host_ifname: str({ min: 1, max: 15 }) })),
    router: optional(
      nullable(
        obj<RouterInterface>({
          router_id: uuid,
          addresses: arrayOf(cidr),
          role: optional(literal(...ROUTER_PORT_ROLES), undefined),
          ra: optional(arrayOf(routerAdvertSchema, { max: 64 }), undefined),
        }),
      ),
      undefined,
    ),
    subport: optional(nullable(subportDetailsSchema), undefined),
    device_owner: str({ max: 255 }),
    admin_state_up: bool,
    security_groups: arrayOf(uuid),
    port_security_enabled: bool,
    allowed_address_pairs: arrayOf(allowedAddressPairSchema),
    binding_status: optional(literal(...BINDING_STATUSES), undefined),
    qos_policy_id: optional(nullable(uuid), undefined),
    network_qos_policy_id: optional(nullable(uuid), undefined),
    revision,
  }),
  (b) => {
    const seg = segmentError(b.network_type, b.physnet, b.segmentation_id);
    if (seg) return seg;
    if (b.vif_type === 'vhostuser' && (b.vhostuser === null || b.tap !== null))
      return 'vif_type vhostuser needs vhostuser details and no tap details';
    if (b.vif_type === 'tap' && (b.tap === null || b.vhostuser !== null))
      return 'vif_type tap needs tap details and no vhostuser details';
    if (b.vif_type === 'router' && (!b.router || b.tap !== null || b.vhostuser !== null))
      return 'vif_type router needs router details and no vhostuser or tap details';
    if (b.vif_type !== 'router' && b.router) return `vif_type ${b.vif_type} has no router details`;
    if (b.vif_type === 'subport' && (!b.subport || b.tap !== null || b.vhostuser !== null))
      return 'vif_type subport needs subport details and no vhostuser or tap details';
    if (b.vif_type !== 'subport' && b.subport) return `vif_type ${b.vif_type} has no subport details`;
    if (b.subport && b.subport.parent_port_id === b.port_id) return 'a sub-port can not be its own parent';
    if (b.tap && b.tap.host_ifname !== tapName(b.port_id))
      return `tap.host_ifname must be ${tapName(b.port_id)} (Neutron's name for this port's tap)`;
    return null;
  },
);

/** Protocols whose rules may carry a port range. */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 33, 132, 136]);
export const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([1, 58]);

export function ruleError(r: SecurityGroupRule): string | null {
  if (r.remote_ip_prefix !== null && r.remote_group_id !== null)
    return 'remote_ip_prefix and remote_group_id are mutually exclusive';
  if (r.remote_ip_prefix !== null) {
    const c = parseCidr(r.remote_ip_prefix);
    if (c && `IPv${c.family}` !== r.ethertype)
      return `remote_ip_prefix ${r.remote_ip_prefix} does not match ethertype ${r.ethertype}`;
  }
  const { port_range_min: min, port_range_max: max, protocol } = r;
  if (min === null && max === null) return null;
  if (protocol !== null && ICMP_PROTOCOLS.has(protocol)) {
    if (min === null) return 'an ICMP code (port_range_max) needs an ICMP type (port_range_min)';
    if (min > 255 || (max !== null && max > 255)) return 'ICMP type and code must be 0..255';
    return null;
  }
  if (protocol === null || !PORT_PROTOCOLS.has(protocol))
    return `protocol ${protocol ?? 'any'} takes no port range`;
  if (min === null || max === null) return 'a port range needs both port_range_min and port_range_max';
  if (min > max) return `port_range_min ${min} is greater than port_range_max ${max}`;
  return null;
}

export const securityGroupRuleSchema: Check<SecurityGroupRule> = refine(
  obj<SecurityGroupRule>({
    id: uuid,
    direction: literal('ingress', 'egress'),
    ethertype: literal('IPv4', 'IPv6'),
    protocol: nullable(int(0, 255)),
    port_range_min: nullable(int(0, 65535)),
    port_range_max: nullable(int(0, 65535)),
    remote_ip_prefix: nullable(cidr),
    remote_group_id: nullable(uuid),
  }),
  ruleError,
);

export const securityGroupSchema: Check<SecurityGroup> = obj<SecurityGroup>({
  id: uuid,
  revision,
  stateful: bool,
  rules: arrayOf(securityGroupRuleSchema),
});

export const remoteGroupMemberSchema: Check<RemoteGroupMember> = obj<RemoteGroupMember>({
  ips: arrayOf(ipOrCidr),
  revision,
});

export const overlayPortSchema: Check<OverlayPort> = obj<OverlayPort>({
  host: hostName,
  mac,
  ips: arrayOf(ipAddress),
  revision,
});

export const portStateSchema: Check<PortState> = obj<PortState>({
  revision: nullable(revision),
  ready: bool,
  error: nullable(str({ max: 4096 })),
  updated_at: isoTime,
});

const ownsSchema: Check<Record<string, unknown>> = (v, path, errs) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    errs.push({ field: path, message: 'expected an object of key → value' });
    return {};
  }
  for (const k of Object.keys(v)) {
    if (!parseKey(k)) errs.push({ field: `${path}[${k}]`, message: 'not a netvpp key' });
  }
  return v as Record<string, unknown>;
};

export const neutronRecordSchema: Check<NeutronRecord> = obj<NeutronRecord>({
  kind: literal(...NEUTRON_KINDS),
  id: uuid,
  revision,
  deleted_at: nullable(isoTime),
  owns: optional(ownsSchema, {}),
  mtu: nullable(mtu),
  qos_policy_id: optional(nullable(uuid), undefined),
});

export const syncMarkerSchema: Check<SyncMarker> = obj<SyncMarker>({
  at: isoTime,
  neutron_rows: int(0, Number.MAX_SAFE_INTEGER),
  controller_id: str({ min: 1, max: 255 }),
});

export const controllerLeaderSchema: Check<ControllerLeader> = obj<ControllerLeader>({
  id: str({ min: 1, max: 255 }),
  url: str({ min: 1, max: 1024 }),
  since: isoTime,
});

// ---- keys ------------------------------------------------------------------------------------------

function seg(what: string, v: string): string {
  if (!KEY_SEGMENT_RE.test(v)) throw new Error(`invalid ${what} for an etcd key: ${JSON.stringify(v)}`);
  return v;
}

/**
 * Builders for every key (and the prefixes watchers and scans use). Keys are relative to PREFIX:
 * open the store with `namespace: PREFIX` (the etcd key is PREFIX + key).
 */
export const keys = {
  nodes: `nodes/`,
  hostNodes: (host: string) => `nodes/${seg('host', host)}/`,
  portBinding: (host: string, portId: string) => `nodes/${seg('host', host)}/ports/${seg('port id', portId)}`,
  hostPortBindings: (host: string) => `nodes/${seg('host', host)}/ports/`,
  router: (host: string, routerId: string) =>
    `nodes/${seg('host', host)}/routers/${seg('router id', routerId)}`,
  hostRouters: (host: string) => `nodes/${seg('host', host)}/routers/`,
  floatingIp: (host: string, fipId: string) =>
    `nodes/${seg('host', host)}/floatingips/${seg('floating IP id', fipId)}`,
  hostFloatingIps: (host: string) => `nodes/${seg('host', host)}/floatingips/`,
  /** `netvpp resync --host`: the agent re-reads VPP and does a full pass; value: ResyncRequest. */
  resyncRequest: (host: string) => `nodes/${seg('host', host)}/resync`,

  secGroups: `global/secgroups/`,
  secGroup: (sgId: string) => `global/secgroups/${seg('security group id', sgId)}`,
  remoteGroups: `global/remote_group/`,
  remoteGroup: (sgId: string) => `global/remote_group/${seg('security group id', sgId)}/`,
  remoteGroupMember: (sgId: string, portId: string) =>
    `global/remote_group/${seg('security group id', sgId)}/${seg('port id', portId)}`,

  overlays: `global/overlay/`,
  /** Everything of one overlay network (what an agent with ports on it watches). */
  overlay: (networkId: string) => `global/overlay/${seg('network id', networkId)}/`,
  overlayPort: (networkId: string, portId: string) =>
    `global/overlay/${seg('network id', networkId)}/ports/${seg('port id', portId)}`,

  state: `state/`,
  hostState: (host: string) => `state/${seg('host', host)}/`,
  hostAlive: (host: string) => `state/${seg('host', host)}/alive`,
  portState: (host: string, portId: string) => `state/${seg('host', host)}/ports/${seg('port id', portId)}`,
  hostPortStates: (host: string) => `state/${seg('host', host)}/ports/`,
  routerState: (host: string, routerId: string) =>
    `state/${seg('host', host)}/routers/${seg('router id', routerId)}`,
  hostRouterStates: (host: string) => `state/${seg('host', host)}/routers/`,
  floatingIpState: (host: string, fipId: string) =>
    `state/${seg('host', host)}/floatingips/${seg('floating IP id', fipId)}`,
  hostFloatingIpStates: (host: string) => `state/${seg('host', host)}/floatingips/`,

  neutron: `neutron/`,
  neutronKind: (kind: NeutronKind) => `neutron/${kind}/`,
  neutronRecord: (kind: NeutronKind, id: string) => `neutron/${kind}/${seg('id', id)}`,

  meta: `meta/`,
  /** Present once a full sync from Neutron completed on this etcd; value: SyncMarker. */
  syncMarker: `meta/synced`,

  /** Held (lease-backed) by the leading netvpp-controller; value: ControllerLeader. */
  controllerLeader: `election/controller`,
  /** Held (lease-backed) by the agent of an HA router's active host; value: RouterActive. */
  routerActive: (routerId: string) => `election/routers/${seg('router id', routerId)}`,
  routerActives: `election/routers/`,
  ...qosKeys,
  ...taasKeys,
} as const;

export type ParsedKey =
  | { kind: 'portBinding'; host: string; portId: string }
  | { kind: 'router'; host: string; routerId: string }
  | { kind: 'floatingIp'; host: string; fipId: string }
  | { kind: 'routerState'; host: string; routerId: string }
  | { kind: 'floatingIpState'; host: string; fipId: string }
  | { kind: 'secGroup'; sgId: string }
  | { kind: 'remoteGroupMember'; sgId: string; portId: string }
  | { kind: 'overlayPort'; networkId: string; portId: string }
  | { kind: 'hostAlive'; host: string }
  | { kind: 'portState'; host: string; portId: string }
  | { kind: 'neutronRecord'; neutronKind: NeutronKind; id: string }
  | { kind: 'controllerLeader' }
  | { kind: 'routerActive'; routerId: string }
  | { kind: 'syncMarker' }
  | { kind: 'resyncRequest'; host: string }
  | { kind: 'qosPolicy'; policyId: string }
  | TaasParsedKey;

export type KeyKind = ParsedKey['kind'];

/** Parses a key (relative, or absolute with PREFIX); null for anything that is not one of the keys above. */
export function parseKey(key: string): ParsedKey | null {
  const p = (key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key).split('/');
  if (p.some((s) => !KEY_SEGMENT_RE.test(s))) return null;
  const [a, b, c, d] = p;
  const taas = parseTaasKey(p);
  if (taas) return taas;
  if (p.length === 4 && a === 'nodes' && c === 'ports') return { kind: 'portBinding', host: b, portId: d };
  if (p.length === 3 && a === 'nodes' && c === 'resync') return { kind: 'resyncRequest', host: b };
  if (p.length === 4 && a === 'nodes' && c === 'routers') return { kind: 'router', host: b, routerId: d };
  if (p.length === 4 && a === 'nodes' && c === 'floatingips')
    return { kind: 'floatingIp', host: b, fipId: d };
  if (p.length === 4 && a === 'state' && c === 'routers')
    return { kind: 'routerState', host: b, routerId: d };
  if (p.length === 4 && a === 'state' && c === 'floatingips')
    return { kind: 'floatingIpState', host: b, fipId: d };
  if (p.length === 3 && a === 'global' && b === 'secgroups') return { kind: 'secGroup', sgId: c };
  if (p.length === 4 && a === 'global' && b === 'remote_group')
    return { kind: 'remoteGroupMember', sgId: c, portId: d };
  if (p.length === 5 && a === 'global' && b === 'overlay' && d === 'ports')
    return { kind: 'overlayPort', networkId: c, portId: p[4] };
  if (p.length === 3 && a === 'state' && c === 'alive') return { kind: 'hostAlive', host: b };
  if (p.length === 4 && a === 'state' && c === 'ports') return { kind: 'portState', host: b, portId: d };
  if (p.length === 2 && a === 'election' && b === 'controller') return { kind: 'controllerLeader' };
  if (p.length === 3 && a === 'election' && b === 'routers') return { kind: 'routerActive', routerId: c };
  if (p.length === 2 && a === 'meta' && b === 'synced') return { kind: 'syncMarker' };
  const qos = parseQosKey(p);
  if (qos) return qos;
  if (p.length === 3 && a === 'neutron' && (NEUTRON_KINDS as string[]).includes(b))
    return { kind: 'neutronRecord', neutronKind: b as NeutronKind, id: c };
  return null;
}

interface ValueTypes {
  portBinding: PortBinding;
  router: RouterDoc;
  floatingIp: FloatingIpDoc;
  routerState: ObjectState;
  floatingIpState: ObjectState;
  secGroup: SecurityGroup;
  remoteGroupMember: RemoteGroupMember;
  overlayPort: OverlayPort;
  hostAlive: HostState;
  portState: PortState;
  neutronRecord: NeutronRecord;
  controllerLeader: ControllerLeader;
  routerActive: RouterActive;
  syncMarker: SyncMarker;
  resyncRequest: ResyncRequest;
  qosPolicy: QosPolicy;
  tapFlow: TapFlowDoc;
  tapFlowState: ObjectState;
  erspanConfig: ErspanConfig;
}

/** The schema of each key kind's value. */
export const schemas: { [K in KeyKind]: Check<ValueTypes[K]> } = {
  portBinding: portBindingSchema,
  router: routerDocSchema,
  floatingIp: floatingIpDocSchema,
  routerState: portStateSchema,
  floatingIpState: portStateSchema,
  secGroup: securityGroupSchema,
  remoteGroupMember: remoteGroupMemberSchema,
  overlayPort: overlayPortSchema,
  hostAlive: hostStateSchema,
  portState: portStateSchema,
  neutronRecord: neutronRecordSchema,
  controllerLeader: controllerLeaderSchema,
  routerActive: routerActiveSchema,
  syncMarker: syncMarkerSchema,
  resyncRequest: resyncRequestSchema,
  qosPolicy: qosPolicySchema,
  tapFlow: tapFlowDocSchema,
  tapFlowState: portStateSchema,
  erspanConfig: erspanConfigSchema,
};

/** Parses and checks a stored value (a JSON string or its bytes) of the given key kind. */
export function decodeValue<K extends KeyKind>(kind: K, raw: string | Uint8Array): Result<ValueTypes[K]> {
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch (e) {
    return { ok: false, errors: [{ field: '', message: `not JSON: ${(e as Error).message}` }] };
  }
  return run(schemas[kind] as Check<ValueTypes[K]>, v);
}

/** Checks `value` against its key's schema and serialises it. Throws on an unknown key or bad value. */
export function encodeValue(key: string, value: unknown): string {
  const k = parseKey(key);
  if (!k) throw new Error(`not a netvpp key: ${key}`);
  const r = run(schemas[k.kind] as Check<unknown>, value);
  if (!r.ok) throw new SchemaError(`value for ${key}`, r.errors);
  return JSON.stringify(r.value);
}

/** Decodes a value found at `key`, whatever its kind. */
export function decodeAt(
  key: string,
  raw: string | Uint8Array,
): { key: ParsedKey; result: Result<ValueTypes[KeyKind]> } | null {
  const k = parseKey(key);
  if (!k) return null;
  return { key: k, result: decodeValue(k.kind, raw) };
}
