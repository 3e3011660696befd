// The L3 part of keyspace v1: router ports' details, router documents and floating IP documents
// (docs/l3.md, docs/keyspace.md). keyspace.ts re-exports all of it and owns the keys these values
// live at; this module only keeps the router value types and their schemas apart.
import {
  arrayOf,
  bool,
  type Check,
  cidr,
  int,
  ipAddress,
  isoTime,
  literal,
  nullable,
  obj,
  optional,
  refine,
  str,
  uuid,
} from './validate.ts';

const revision = int(0, Number.MAX_SAFE_INTEGER);

/** A router interface's advertisement: an IPv6 prefix and its RA mode. */
export const routerAdvertSchema: Check<RouterAdvert> = refine(
  obj<RouterAdvert>({ prefix: cidr, mode: literal('slaac', 'dhcpv6-stateless', 'dhcpv6-stateful') }),
  (a) => (a.prefix.includes(':') ? null : `router advertisement for ${a.prefix}: not an IPv6 prefix`),
);

/**
 * A router's port on a network: which router it belongs to, its addresses on the network's subnets,
 * and its role: `interface` (a router interface, `network:router_interface`: a BVI on the network's
 * bridge, NAT inside) or `gateway` (the external gateway port, `network:router_gateway`: a pipe end
 * on the external network's bridge, NAT outside). docs/l3.md.
 */
export interface RouterInterface {
  router_id: string;
  /** `address/prefix length`, one per fixed IP (the prefix length of its subnet). */
  addresses: string[];
  /** Absent means `interface` (bindings written before gateways existed). */
  role?: RouterPortRole;
  /**
   * Router advertisements to send on this interface: one per IPv6 subnet of its fixed IPs whose
   * Neutron `ipv6_ra_mode` is set (absent or empty: none). docs/l3.md "IPv6".
   */
  ra?: RouterAdvert[];
}

/** Neutron's ipv6_ra_mode values: what the router advertises for the subnet. */
export type Ipv6RaMode = 'slaac' | 'dhcpv6-stateless' | 'dhcpv6-stateful';
export const IPV6_RA_MODES: readonly Ipv6RaMode[] = ['slaac', 'dhcpv6-stateless', 'dhcpv6-stateful'];

/** One subnet's advertisement: its prefix (network/length) and Neutron's ipv6_ra_mode. */
export interface RouterAdvert {
  prefix: string;
  mode: Ipv6RaMode;
}

export type RouterPortRole = 'interface' | 'gateway';
export const ROUTER_PORT_ROLES: readonly RouterPortRole[] = ['interface', 'gateway'];

/** A router's external gateway, as the router's document carries it. */
export interface RouterGateway {
  /** The gateway port (bound on the same host as a vif_type router binding with role gateway). */
  port_id: string;
  network_id: string;
  /** The external subnets' gateway IPs (at most one per family): the default routes' next hops. */
  next_hops: string[];
  /** Neutron's enable_snat: the router's IPv4 gateway address is the SNAT address of its VRF. */
  snat: boolean;
  /** The gateway port's `address/prefix length`s (the SNAT address is the IPv4 one). */
  addresses: string[];
}

/** A Neutron extra route; several rows with one destination are one ECMP route. */
export interface RouterRoute {
  destination: string;
  nexthops: string[];
}

/**
 * `nodes/<host>/routers/<router_id>`: a router carried by <host>, what its interface bindings don't
 * say: its external gateway (default routes, SNAT) and its extra routes. Its interfaces and gateway
 * port are port bindings (vif_type router); its floating IPs have their own keys.
 */
export interface RouterDoc {
  router_id: string;
  /** false: the router's interfaces are admin down in VPP (its routes and NAT stay, unused). */
  admin_state_up: boolean;
  /**
   * An HA router: written to its two hosts, whose agents elect the active one (the key
   * `election/routers/<router_id>`, RouterActive); the standby keeps it plumbed but down. Absent in
   * documents of controllers that predate HA: false.
   */
  ha: boolean;
  gateway: RouterGateway | null;
  /** One entry per destination, next hops sorted (ECMP when more than one). */
  routes: RouterRoute[];
  /** Neutron revision_number of the router. */
  revision: number;
}

/**
 * `nodes/<host>/floatingips/<fip_id>`: a floating IP associated with a port behind a router carried
 * by <host>: a NAT44 static mapping (fixed_ip in the router's VRF ↔ floating_ip on its gateway).
 * Written only while associated; an unassociated floating IP has no key.
 */
export interface FloatingIpDoc {
  id: string;
  router_id: string;
  floating_ip: string;
  fixed_ip: string;
  /** The VM port the floating IP points at. */
  port_id: string;
  /** Neutron revision_number of the floating IP. */
  revision: number;
}

// ---- schemas ---------------------------------------------------------------------------------------

export const routerDocSchema: Check<RouterDoc> = obj<RouterDoc>({
  router_id: uuid,
  admin_state_up: bool,
  ha: optional(bool, false),
  gateway: nullable(
    obj<RouterGateway>({
      port_id: uuid,
      network_id: uuid,
      next_hops: arrayOf(ipAddress, { max: 2 }),
      snat: bool,
      addresses: arrayOf(cidr, { max: 64 }),
    }),
  ),
  routes: arrayOf(obj<RouterRoute>({ destination: cidr, nexthops: arrayOf(ipAddress, { max: 64 }) }), {
    max: 4096,
  }),
  revision,
});

export const floatingIpDocSchema: Check<FloatingIpDoc> = refine(
  obj<FloatingIpDoc>({
    id: uuid,
    router_id: uuid,
    floating_ip: ipAddress,
    fixed_ip: ipAddress,
    port_id: uuid,
    revision,
  }),
  (f) =>
    f.floating_ip.includes(':') || f.fixed_ip.includes(':')
      ? 'floating IPs are IPv4 (NAT44): floating_ip and fixed_ip must both be IPv4'
      : null,
);

/**
 * `election/routers/<router_id>`, lease-backed: held by the agent of the HA router's active host
 * (the store's election, src/store/election.ts). Its lease's TTL ([l3] ha_lease_ttl of the agents)
 * bounds how long a dead active host keeps it.
 */
export interface RouterActive {
  host: string;
  since: string;
}

export const routerActiveSchema: Check<RouterActive> = obj<RouterActive>({
  host: str({ min: 1, max: 255 }),
  since: isoTime,
});
