// What the ML2 driver sends (docs/controller-api.md): journal rows and Neutron resource dicts.
// Each is checked here and turned into the few fields the translation needs; anything malformed
// becomes a per-row error, never an exception that stops the batch.
import {
  arrayOf,
  bool,
  type Check,
  cidr,
  int,
  ipAddress,
  ipOrCidr,
  literal,
  mac,
  nullable,
  obj,
  optional,
  str,
  uuid,
} from '../model/validate.ts';
import { isIP } from 'node:net';
import { IPV6_RA_MODES, type Ipv6RaMode } from '../model/keyspace-l3.ts';

export type RowResource =
  'port' | 'network' | 'subnet' | 'security_group' | 'router' | 'floatingip' | 'tap_service' | 'tap_flow';
export type RowOp = 'create' | 'update' | 'delete';

/** One journal row as it arrives; `data` is checked later, per resource. */
export interface JournalRow {
  id: number;
  resource: string;
  op: string;
  resource_id: string;
  /** Neutron revision_number; may be null on deletes (then the delete is unconditional). */
  revision: number | null;
  data: unknown;
}

export const journalRowSchema: Check<JournalRow> = obj<JournalRow>({
  id: int(0, Number.MAX_SAFE_INTEGER),
  resource: str({ min: 1, max: 64 }),
  op: str({ min: 1, max: 16 }),
  resource_id: str({ min: 1, max: 255 }),
  revision: nullable(int(0, Number.MAX_SAFE_INTEGER)),
  data: (v) => v,
});

/** The segment a port is bound on, added to port rows by the driver as `netvpp:network`. */
export interface NetvppNetwork {
  id: string;
  /** null when the network has no segment (the driver then sends only id and mtu). */
  network_type: string | null;
  physical_network: string | null;
  segmentation_id: number | null;
  mtu: number | null;
}

/** The subset of a Neutron port dict netvpp uses. */
export interface NeutronPort {
  id: string;
  network_id: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  device_owner: string;
  /** The router's id for a router interface. */
  device_id: string;
  admin_state_up: boolean;
  security_groups: string[];
  port_security_enabled: boolean;
  allowed_address_pairs: { ip_address: string; mac_address: string | null }[];
  'binding:host_id': string;
  'binding:vif_type': string;
  'binding:vif_details': Record<string, unknown>;
  'netvpp:network': NetvppNetwork | null;
  /** Optional hint from the driver: true iff netvpp bound this port (else guessed from vif_type). */
  'netvpp:bound': boolean | null;
  /** Router interfaces: the CIDR of each subnet of its fixed IPs (`{}` when the driver sent none). */
  'netvpp:subnets': Record<string, string>;
  /**
   * Router interfaces: Neutron's `ipv6_ra_mode` of each IPv6 subnet of its fixed IPs that has one
   * (`{}` when the driver sent none, or no subnet advertises).
   */
  'netvpp:ipv6_ra': Record<string, Ipv6RaMode>;
  /** The port's INACTIVE bindings (live migration), by host; `[]` when the driver sent none. */
  'netvpp:inactive_bindings': InactiveBinding[];
  /** Neutron's QoS extension: the port's own policy, and its network's (null: none, or no QoS). */
  qos_policy_id: string | null;
  qos_network_policy_id: string | null;
  /** A trunk sub-port's membership (`trunk:subport` ports only), as the driver read it; else null. */
  'netvpp:subport': NeutronSubport | null;
}

/** `netvpp:subport`: the trunk, parent port and segmentation of a sub-port (Neutron's subports table). */
export interface NeutronSubport {
  trunk_id: string;
  parent_port_id: string;
  segmentation_type: string;
  segmentation_id: number;
}

/** A binding-extended INACTIVE binding: its host's vif type and details ('unbound' after activation). */
export interface InactiveBinding {
  host: string;
  vif_type: string;
  vif_details: Record<string, unknown>;
}

const anyObject: Check<Record<string, unknown>> = (v, path, errs) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    errs.push({ field: path, message: 'expected an object' });
    return {};
  }
  return v as Record<string, unknown>;
};

/** `{subnet_id: cidr}`. */
const subnetCidrs: Check<Record<string, string>> = (v, path, errs) => {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    errs.push({ field: path, message: 'expected an object of subnet id → CIDR' });
    return out;
  }
  for (const [id, c] of Object.entries(v as Record<string, unknown>)) {
    out[uuid(id, `${path}.${id}`, errs)] = cidr(c, `${path}.${id}`, errs);
  }
  return out;
};

/** `{subnet_id: ipv6_ra_mode}`. */
const subnetRaModes: Check<Record<string, Ipv6RaMode>> = (v, path, errs) => {
  const out: Record<string, Ipv6RaMode> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    errs.push({ field: path, message: 'expected an object of subnet id → ipv6_ra_mode' });
    return out;
  }
  for (const [id, m] of Object.entries(v as Record<string, unknown>)) {
    if (!(IPV6_RA_MODES as unknown[]).includes(m))
      errs.push({ field: `${path}.${id}`, message: `expected one of ${IPV6_RA_MODES.join(', ')}` });
    else out[uuid(id, `${path}.${id}`, errs)] = m as Ipv6RaMode;
  }
  return out;
};

export const neutronPortSchema: Check<NeutronPort> = obj<NeutronPort>({
  id: uuid,
  network_id: uuid,
  mac_address: mac,
  fixed_ips: optional(arrayOf(obj({ subnet_id: uuid, ip_address: ipAddress })), []),
  device_owner: optional(str({ max: 255 }), ''),
  device_id: optional(str({ max: 255 }), ''),
  admin_state_up: optional(bool, true),
  security_groups: optional(arrayOf(uuid), []),
  port_security_enabled: optional(bool, true),
  allowed_address_pairs: optional(arrayOf(obj({ ip_address: ipOrCidr, mac_address: nullable(mac) })), []),
  'binding:host_id': optional(str({ max: 255 }), ''),
  'binding:vif_type': optional(str({ max: 64 }), 'unbound'),
  'binding:vif_details': optional(anyObject, {}),
  'netvpp:network': nullable(
    obj<NetvppNetwork>({
      id: uuid,
      network_type: nullable(str({ min: 1, max: 64 })),
      physical_network: nullable(str({ max: 255 })),
      segmentation_id: nullable(int(0, Number.MAX_SAFE_INTEGER)),
      mtu: nullable(int(0, 65535)),
    }),
  ),
  'netvpp:bound': nullable(bool),
  'netvpp:subnets': optional(subnetCidrs, {}),
  'netvpp:ipv6_ra': optional(subnetRaModes, {}),
  'netvpp:inactive_bindings': optional(
    arrayOf(
      obj<InactiveBinding>({
        host: str({ min: 1, max: 255 }),
        vif_type: optional(str({ max: 64 }), 'unbound'),
        vif_details: optional(anyObject, {}),
      }),
    ),
    [],
  ),
  'netvpp:subport': optional(
    nullable(
      obj<NeutronSubport>({
        trunk_id: uuid,
        parent_port_id: uuid,
        segmentation_type: str({ min: 1, max: 32 }),
        segmentation_id: int(0, Number.MAX_SAFE_INTEGER),
      }),
    ),
    null,
  ),
  qos_policy_id: nullable(uuid),
  qos_network_policy_id: nullable(uuid),
});

export interface NeutronRule {
  id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | number | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  remote_address_group_id: string | null;
}

export interface NeutronSecurityGroup {
  id: string;
  stateful: boolean;
  security_group_rules: NeutronRule[];
}

const protocolField: Check<string | number | null> = (v, path, errs) => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  errs.push({ field: path, message: 'expected a protocol name or number' });
  return null;
};

export const neutronSecurityGroupSchema: Check<NeutronSecurityGroup> = obj<NeutronSecurityGroup>({
  id: uuid,
  stateful: optional(bool, true),
  security_group_rules: optional(
    arrayOf(
      obj<NeutronRule>({
        id: uuid,
        direction: literal('ingress', 'egress'),
        ethertype: literal('IPv4', 'IPv6'),
        protocol: protocolField,
        port_range_min: nullable(int(0, 65535)),
        port_range_max: nullable(int(0, 65535)),
        remote_ip_prefix: nullable(str({ max: 64 })),
        remote_group_id: nullable(uuid),
        remote_address_group_id: nullable(uuid),
      }),
    ),
    [],
  ),
});

export interface NeutronNetwork {
  id: string;
  mtu: number | null;
  /** Neutron's QoS extension: the network's policy (null: none, or no QoS). */
  qos_policy_id: string | null;
}

export const neutronNetworkSchema: Check<NeutronNetwork> = obj<NeutronNetwork>({
  id: uuid,
  mtu: nullable(int(0, 65535)),
  qos_policy_id: nullable(uuid),
});

// ---- L3 (journaled by the netvpp L3 plugin, neutron/networking_netvpp/l3_payloads.py) --------------

/** A subnet of the router's gateway port, as the driver adds it (`netvpp:subnets`). */
export interface GatewaySubnet {
  cidr: string;
  gateway_ip: string | null;
}

/** The subset of a Neutron router dict netvpp uses, with the driver's additions. */
export interface NeutronRouter {
  id: string;
  admin_state_up: boolean;
  /** Neutron's external_gateway_info; null without a gateway. */
  external_gateway_info: {
    network_id: string;
    enable_snat: boolean;
    external_fixed_ips: { subnet_id: string; ip_address: string }[];
  } | null;
  /** Neutron's extra routes, one row per (destination, next hop). */
  routes: { destination: string; nexthop: string }[];
  /** Neutron's l3-ha flag: two hosts, their agents elect the active one. */
  ha: boolean;
  /** The host that carries the router (netvpp_router_hosts); null while it has none. */
  'netvpp:host': string | null;
  /** An HA router's second host (netvpp_router_hosts.standby_host); null otherwise. */
  'netvpp:standby_host': string | null;
  /** The gateway port's id (Neutron's gw_port_id); null without a gateway. */
  'netvpp:gateway_port_id': string | null;
  /** The subnets of the gateway port's fixed IPs. */
  'netvpp:subnets': Record<string, GatewaySubnet>;
}

const gatewaySubnets: Check<Record<string, GatewaySubnet>> = (v, path, errs) => {
  const out: Record<string, GatewaySubnet> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    errs.push({ field: path, message: 'expected an object of subnet id → {cidr, gateway_ip}' });
    return out;
  }
  const one = obj<GatewaySubnet>({ cidr, gateway_ip: optional(nullable(ipAddress), null) });
  for (const [id, s] of Object.entries(v as Record<string, unknown>))
    out[uuid(id, `${path}.${id}`, errs)] = one(s, `${path}.${id}`, errs);
  return out;
};

export const neutronRouterSchema: Check<NeutronRouter> = obj<NeutronRouter>({
  id: uuid,
  admin_state_up: optional(bool, true),
  external_gateway_info: optional(
    nullable(
      obj<NonNullable<NeutronRouter['external_gateway_info']>>({
        network_id: uuid,
        enable_snat: optional(bool, true),
        external_fixed_ips: optional(arrayOf(obj({ subnet_id: uuid, ip_address: ipAddress })), []),
      }),
    ),
    null,
  ),
  routes: optional(arrayOf(obj({ destination: cidr, nexthop: ipAddress }), { max: 4096 }), []),
  ha: optional(bool, false),
  'netvpp:host': optional(nullable(str({ min: 1, max: 255 })), null),
  'netvpp:standby_host': optional(nullable(str({ min: 1, max: 255 })), null),
  'netvpp:gateway_port_id': optional(nullable(uuid), null),
  'netvpp:subnets': optional(gatewaySubnets, {}),
});

/** The subset of a Neutron floating IP dict netvpp uses. */
export interface NeutronFloatingIp {
  id: string;
  floating_ip_address: string;
  /** Set only while associated. */
  router_id: string | null;
  port_id: string | null;
  fixed_ip_address: string | null;
  /** The host of its router, as the driver read it (the router's record wins when the controller has it). */
  'netvpp:host': string | null;
}

export const neutronFloatingIpSchema: Check<NeutronFloatingIp> = obj<NeutronFloatingIp>({
  id: uuid,
  floating_ip_address: ipAddress,
  router_id: optional(nullable(uuid), null),
  port_id: optional(nullable(uuid), null),
  fixed_ip_address: optional(nullable(ipAddress), null),
  'netvpp:host': optional(nullable(str({ min: 1, max: 255 })), null),
});

// ---- protocol names --------------------------------------------------------------------------------

/** Neutron's protocol names (neutron-lib constants) and their IANA numbers. */
const PROTOCOL_NUMBERS: Record<string, number> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  icmpv6: 58,
  igmp: 2,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-icmp': 58,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  'ipv6-route': 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
};

/**
 * A rule's protocol as an IANA number (null = any). IPv6 rules saying "icmp" mean ICMPv6, as in
 * Neutron's own agents. Throws with a readable message for an unknown name.
 */
export function protocolNumber(p: string | number | null, ethertype: 'IPv4' | 'IPv6'): number | null {
  let n: number;
  if (p === null || p === '' || p === 'any') return null;
  if (typeof p === 'number') n = p;
  else if (/^\d{1,3}$/.test(p)) n = Number(p);
  else if (p.toLowerCase() in PROTOCOL_NUMBERS) n = PROTOCOL_NUMBERS[p.toLowerCase()];
  else throw new Error(`unknown protocol "${p}"`);
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`protocol ${p} is not 0..255`);
  return ethertype === 'IPv6' && n === 1 ? 58 : n;
}

/** "10.0.0.1" → "10.0.0.1/32"; a CIDR stays as it is; anything else is returned unchanged (then rejected). */
export function prefixOf(s: string): string {
  const family = isIP(s);
  return family === 4 ? `${s}/32` : family === 6 ? `${s}/128` : s;
}
