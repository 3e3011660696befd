// Routers and floating IPs → desired state of the host(s) that carry the router (docs/l3.md), as
// pure functions used by translate.ts. A router with a host has a RouterDoc at
// nodes/<host>/routers/<id> (gateway, SNAT, extra routes); an associated floating IP a
// FloatingIpDoc at nodes/<host>/floatingips/<id> on its router's host. An HA router has both on
// its standby host too, and its ports' bindings (translate.ts) are spread to both.
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
  /** Live port records that own a router port binding of router `routerId`. */
  portsOfRouter(routerId: string): NeutronRecord[];
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

/**
 * Every key a router produces: its document on its host, and on an HA router's standby host too
 * (none while it has no host). Which of an HA router's two hosts is active is their agents'
 * election, not the controller's word.
 */
export function routerOwns(r: NeutronRouter, revision: number): Record<string, unknown> {
  const host = r['netvpp:host'];
  if (host === null) return {};
  const standby = r['netvpp:standby_host'];
  const hosts = [host, ...(standby !== null && standby !== host ? [standby] : [])];
  const doc: RouterDoc = {
    router_id: r.id,
    admin_state_up: r.admin_state_up,
    ha: r.ha,
    gateway: routerGateway(r),
    routes: routerRoutes(r),
    revision,
  };
  const owns: Record<string, unknown> = {};
  for (const h of hosts) {
    const key = keys.router(hostKeyOk(h, 'netvpp:host'), r.id);
    owns[key] = checked(routerDocSchema, doc, key);
  }
  return owns;
}

/** The hosts whose RouterDoc a router record owns: its host first, then an HA router's standby. */
export function routerHostsOf(owns: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(owns)) {
    const k = parseKey(key);
    if (k?.kind === 'router') out.push(k.host);
  }
  return out;
}

/** The host whose RouterDoc a router record owns first (its Neutron host), or null. */
export function routerHostOf(owns: Record<string, unknown>): string | null {
  return routerHostsOf(owns)[0] ?? null;
}

/** The hosts of a live router record in the view ([] when the controller has none). */
function recordHosts(view: L3View, routerId: string): string[] {
  const rec = view.get('router', routerId);
  return rec && rec.deleted_at === null ? routerHostsOf(rec.owns) : [];
}

/** `owns` with every key of kind `kind` replaced by one per host in `hosts`, same value. */
function spread(
  owns: Record<string, unknown>,
  kind: 'portBinding' | 'floatingIp',
  hosts: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let value: unknown;
  let id: string | undefined;
  for (const [key, v] of Object.entries(owns)) {
    const k = parseKey(key);
    if (k?.kind === kind) {
      value = v;
      id = k.kind === 'portBinding' ? k.portId : k.kind === 'floatingIp' ? k.fipId : undefined;
    } else out[key] = v;
  }
  if (id === undefined) return owns;
  for (const h of hosts)
    out[kind === 'portBinding' ? keys.portBinding(h, id) : keys.floatingIp(h, id)] = value;
  return out;
}

/**
 * A router port's binding goes to every host of its router (an HA router's standby plumbs it
 * too), as the controller's router record says (the newest word on where the router is); without
 * a record, to the port's binding:host_id.
 */
export function placeRouterPort(owns: Record<string, unknown>, view: L3View): Record<string, unknown> {
  for (const [key, v] of Object.entries(owns)) {
    if (parseKey(key)?.kind !== 'portBinding') continue;
    const r = (v as { router?: { router_id: string } }).router;
    if (!r) return owns;
    const hosts = recordHosts(view, r.router_id);
    return hosts.length ? spread(owns, 'portBinding', hosts) : owns;
  }
  return owns;
}

/** The port records of router `routerId` whose bindings must move to `hosts`, with new `owns`. */
export function routerPortsFollow(view: L3View, routerId: string, hosts: string[]): NeutronRecord[] {
  if (hosts.length === 0) return [];
  const out: NeutronRecord[] = [];
  for (const rec of view.portsOfRouter(routerId)) {
    const owns = spread(rec.owns, 'portBinding', hosts);
    if (!sameKeys(owns, rec.owns)) out.push({ ...rec, owns });
  }
  return out;
}

function sameKeys(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
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
  const fromRecord = recordHosts(view, f.router_id);
  const hosts = fromRecord.length ? fromRecord : f['netvpp:host'] === null ? [] : [f['netvpp:host']];
  if (hosts.length === 0)
    throw new RowError(
      `floating IP ${f.floating_ip_address} is associated, but its router ${f.router_id} has no host`,
    );
  const doc: FloatingIpDoc = {
    id: f.id,
    router_id: f.router_id,
    floating_ip: f.floating_ip_address,
    fixed_ip: f.fixed_ip_address,
    port_id: f.port_id,
    revision,
  };
  const owns: Record<string, unknown> = {};
  for (const h of hosts) {
    const key = keys.floatingIp(hostKeyOk(h, 'netvpp:host'), f.id);
    owns[key] = checked(floatingIpDocSchema, doc, key);
  }
  return owns;
}

/**
 * A router now carried by `hosts`: its floating IPs' documents move there with it (as a network's
 * MTU reaches its ports' bindings). Returns the floating IP records that change, with new `owns`.
 */
export function floatingIpsFollow(view: L3View, routerId: string, hosts: string[]): NeutronRecord[] {
  if (hosts.length === 0) return []; // a router loses its host only when deleted, after its floating IPs
  const out: NeutronRecord[] = [];
  for (const rec of view.floatingIpsOfRouter(routerId)) {
    const owns = spread(rec.owns, 'floatingIp', hosts);
    if (!sameKeys(owns, rec.owns)) out.push({ ...rec, owns });
  }
  return out;
}
