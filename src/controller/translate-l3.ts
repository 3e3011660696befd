// Routers and floating IPs → desired state of the host that carries the router (docs/l3.md), as
// pure functions used by translate.ts. A router with a host has one RouterDoc at
// nodes/<host>/routers/<id> (gateway, SNAT, extra routes); an associated floating IP has one
// FloatingIpDoc at nodes/<host>/floatingips/<id> on its router's host. Interfaces and the gateway
// port are port bindings (translate.ts).
import { isIP } from 'node:net';
import {
  type FloatingIpDoc,
  floatingIpDocSchema,
  keys,
  type NeutronRecord,
  parseKey,
  type RouterDoc,
  routerDocSchema,
  type RouterGateway,
  type RouterRoute,
} from '../model/keyspace.ts';
import { KEY_SEGMENT_RE, parseCidr } from '../model/validate.ts';
import type { NeutronFloatingIp, NeutronRouter } from './neutron.ts';
import { checked, RowError } from './rows.ts';

/** The records the L3 translation consults (a subset of translate.ts's RecordView). */
export interface L3View {
  get(kind: 'router', id: string): NeutronRecord | null;
  /** Live floating IP records that own a FloatingIpDoc of router `routerId`. */
  floatingIpsOfRouter(routerId: string): NeutronRecord[];
}

function hostKeyOk(host: string, what: string): string {
  if (!KEY_SEGMENT_RE.test(host)) throw new RowError(`${what} "${host}" can't be used in a key`);
  return host;
}

/** Orders addresses by family, then numerically (IPv4) or by text (IPv6), so equal sets compare equal. */
function compareIps(a: string, b: string): number {
  const fa = isIP(a);
  const fb = isIP(b);
  if (fa !== fb) return fa - fb;
  if (fa === 4) {
    const n = (s: string) => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return n(a) - n(b);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The external gateway: its port, addresses with their subnets' prefix lengths, default next hops. */
export function routerGateway(r: NeutronRouter): RouterGateway | null {
  const gw = r.external_gateway_info;
  if (gw === null) return null;
  const portId = r['netvpp:gateway_port_id'];
  if (portId === null)
    throw new RowError('a router with external_gateway_info needs netvpp:gateway_port_id (its gateway port)');
  const subnets = r['netvpp:subnets'];
  const nextHops: string[] = [];
  const addresses = gw.external_fixed_ips.map((f) => {
    const s = subnets[f.subnet_id];
    if (s === undefined)
      throw new RowError(`netvpp:subnets has no CIDR for gateway subnet ${f.subnet_id} of ${f.ip_address}`);
    const c = parseCidr(s.cidr);
    if (!c || isIP(f.ip_address) !== c.family)
      throw new RowError(`gateway IP ${f.ip_address} is not of the family of its subnet ${s.cidr}`);
    if (s.gateway_ip !== null) {
      if (isIP(s.gateway_ip) !== c.family)
        throw new RowError(
          `gateway_ip ${s.gateway_ip} of subnet ${f.subnet_id} is not of its family (${s.cidr})`,
        );
      // One default route per family: the first subnet of that family gives its next hop.
      if (!nextHops.some((h) => isIP(h) === c.family)) nextHops.push(s.gateway_ip);
    }
    return `${f.ip_address}/${c.prefixLen}`;
  });
  return {
    port_id: portId,
    network_id: gw.network_id,
    next_hops: nextHops.sort(compareIps),
    snat: gw.enable_snat,
    addresses,
  };
}

/** Neutron's extra routes, one per destination with its next hops sorted (several = ECMP). */
export function routerRoutes(r: NeutronRouter): RouterRoute[] {
  const byDest = new Map<string, Set<string>>();
  for (const { destination, nexthop } of r.routes) {
    const c = parseCidr(destination);
    if (!c || isIP(nexthop) !== c.family)
      throw new RowError(
        `extra route ${destination} via ${nexthop}: the next hop is not of the destination's family`,
      );
    const set = byDest.get(destination) ?? new Set<string>();
    set.add(nexthop);
    byDest.set(destination, set);
  }
  return [...byDest]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([destination, hops]) => ({ destination, nexthops: [...hops].sort(compareIps) }));
}

/** Every key a router produces: its document on its host (none while it has no host). */
export function routerOwns(r: NeutronRouter, revision: number): Record<string, unknown> {
  const host = r['netvpp:host'];
  if (host === null) return {};
  const key = keys.router(hostKeyOk(host, 'netvpp:host'), r.id);
  const doc: RouterDoc = {
    router_id: r.id,
    admin_state_up: r.admin_state_up,
    gateway: routerGateway(r),
    routes: routerRoutes(r),
    revision,
  };
  return { [key]: checked(routerDocSchema, doc, key) };
}

/** The host whose RouterDoc a router record owns, or null. */
export function routerHostOf(owns: Record<string, unknown>): string | null {
  for (const key of Object.keys(owns)) {
    const k = parseKey(key);
    if (k?.kind === 'router') return k.host;
  }
  return null;
}

/**
 * Every key a floating IP produces: its static mapping on its router's host while it is associated.
 * The host is the router record's when the controller has one (the newest word on where the router
 * is), else the one the driver read with the floating IP.
 */
export function floatingIpOwns(
  f: NeutronFloatingIp,
  revision: number,
  view: L3View,
): Record<string, unknown> {
  if (f.port_id === null || f.router_id === null || f.fixed_ip_address === null) return {};
  const rec = view.get('router', f.router_id);
  const host = (rec && rec.deleted_at === null ? routerHostOf(rec.owns) : null) ?? f['netvpp:host'];
  if (host === null)
    throw new RowError(
      `floating IP ${f.floating_ip_address} is associated, but its router ${f.router_id} has no host`,
    );
  const key = keys.floatingIp(hostKeyOk(host, 'netvpp:host'), f.id);
  const doc: FloatingIpDoc = {
    id: f.id,
    router_id: f.router_id,
    floating_ip: f.floating_ip_address,
    fixed_ip: f.fixed_ip_address,
    port_id: f.port_id,
    revision,
  };
  return { [key]: checked(floatingIpDocSchema, doc, key) };
}

/**
 * A router now carried by `host`: its floating IPs' documents move there with it (as a network's
 * MTU reaches its ports' bindings). Returns the floating IP records that change, with new `owns`.
 */
export function floatingIpsFollow(view: L3View, routerId: string, host: string | null): NeutronRecord[] {
  if (host === null) return []; // a router loses its host only when deleted, after its floating IPs
  const out: NeutronRecord[] = [];
  for (const rec of view.floatingIpsOfRouter(routerId)) {
    const owns: Record<string, unknown> = {};
    let moved = false;
    for (const [key, value] of Object.entries(rec.owns)) {
      const k = parseKey(key);
      if (k?.kind === 'floatingIp' && k.host !== host) {
        owns[keys.floatingIp(host, k.fipId)] = value;
        moved = true;
      } else {
        owns[key] = value;
      }
    }
    if (moved) out.push({ ...rec, owns });
  }
  return out;
}
