// Neutron rows → etcd writes, as pure functions. For each resource the controller keeps a record
// (neutron/<kind>/<id>) holding the last applied Neutron revision and the desired-state keys the
// resource produced. A row is turned into the resource's new set of keys; the writes are the
// difference from the old set, followed by the new record. Writing the record last makes a batch
// that died half-way harmless: the same row, replayed, recomputes the same difference.
import { isIP } from 'node:net';
import {
  type AllowedAddressPair,
  keys,
  type NetworkType,
  OVERLAY_NETWORK_TYPES,
  NETWORK_TYPES,
  type OverlayPort,
  overlayPortSchema,
  type PortBinding,
  portBindingSchema,
  type RemoteGroupMember,
  remoteGroupMemberSchema,
  type Ipv6RaMode,
  type RouterInterface,
  type SecurityGroup,
  type SecurityGroupRule,
  securityGroupSchema,
  tapName,
  type VifType,
  VIF_TYPES,
} from '../model/keyspace.ts';
import { parseCidr, run, uuid } from '../model/validate.ts';
import { checked, RowError } from './rows.ts';
import { subportDetails } from './translate-trunk.ts';
import { type NeutronPort, type NeutronSecurityGroup, prefixOf, protocolNumber } from './neutron.ts';

import type { WriteOp } from './apply-records.ts';

export function isBoundByNetvpp(p: NeutronPort): boolean {
  if (p['binding:host_id'] === '') return false;
  if (p['netvpp:bound'] !== null) return p['netvpp:bound'];
  return (VIF_TYPES as string[]).includes(p['binding:vif_type']);
}

/**
 * A router port's details: its router (the port's device_id), each fixed IP with the prefix length
 * of its subnet (from the driver's `netvpp:subnets`) and its role (interface or gateway).
 */
export function routerInterface(p: NeutronPort): RouterInterface {
  const routerId = run(uuid, p.device_id);
  if (!routerId.ok)
    throw new RowError(`a router interface needs its router's id as device_id, not "${p.device_id}"`);
  const addresses = p.fixed_ips.map((f) => {
    const subnet = p['netvpp:subnets'][f.subnet_id];
    if (subnet === undefined)
      throw new RowError(`netvpp:subnets has no CIDR for subnet ${f.subnet_id} of fixed IP ${f.ip_address}`);
    const c = parseCidr(subnet);
    if (!c || isIP(f.ip_address) !== c.family)
      throw new RowError(`fixed IP ${f.ip_address} is not of the family of its subnet ${subnet}`);
    return `${f.ip_address}/${c.prefixLen}`;
  });
  // The gateway port is the router's end on the external network (NAT outside); the rest are
  // interfaces on tenant networks.
  const role = p.device_owner === 'network:router_gateway' ? 'gateway' : 'interface';
  // Router advertisements: each IPv6 subnet of an interface with an ipv6_ra_mode, once (a gateway
  // never advertises into the external network: Neutron's L3 agent neither).
  const ra = new Map<string, Ipv6RaMode>();
  for (const f of p.fixed_ips) {
    const mode = p['netvpp:ipv6_ra'][f.subnet_id];
    const subnet = p['netvpp:subnets'][f.subnet_id];
    if (role === 'interface' && mode !== undefined && parseCidr(subnet)?.family === 6) ra.set(subnet, mode);
  }
  const out: RouterInterface = { router_id: routerId.value, addresses, role };
  if (ra.size > 0)
    out.ra = [...ra].sort(([a], [b]) => a.localeCompare(b)).map(([prefix, mode]) => ({ prefix, mode }));
  return out;
}

export function portBinding(p: NeutronPort, revision: number, networkMtu: number | null): PortBinding {
  const net = p['netvpp:network'];
  if (!net) throw new RowError('a bound port needs netvpp:network (its bound segment)');
  if (net.id !== p.network_id) throw new RowError(`netvpp:network.id ${net.id} is not the port's network`);
  if (net.network_type === null)
    throw new RowError('a bound port needs a segment (netvpp:network.network_type)');
  if (!(NETWORK_TYPES as string[]).includes(net.network_type))
    throw new RowError(
      `network_type "${net.network_type}" is not supported by netvpp (${NETWORK_TYPES.join(', ')})`,
    );
  const networkType = net.network_type as NetworkType;
  const vifType = p['binding:vif_type'];
  if (!(VIF_TYPES as string[]).includes(vifType))
    throw new RowError(`binding:vif_type "${vifType}" is not one netvpp binds (${VIF_TYPES.join(', ')})`);
  const router = vifType === 'router' ? routerInterface(p) : null;
  const subport = vifType === 'subport' ? subportDetails(p) : null;
  const details = p['binding:vif_details'];
  let vhostuser: PortBinding['vhostuser'] = null;
  if (vifType === 'vhostuser') {
    const socket = details.vhostuser_socket;
    const mode = details.vhostuser_mode;
    if (typeof socket !== 'string' || socket === '')
      throw new RowError('binding:vif_details.vhostuser_socket is missing');
    if (mode !== 'server' && mode !== 'client')
      throw new RowError('binding:vif_details.vhostuser_mode must be "server" or "client"');
    vhostuser = { socket, mode };
  }
  const mtu = networkMtu ?? net.mtu;
  if (mtu === null) throw new RowError('netvpp:network.mtu is missing');
  const aaps: AllowedAddressPair[] = p.allowed_address_pairs.map((a) => ({
    ip_address: a.ip_address,
    mac_address: a.mac_address ?? p.mac_address,
  }));
  const key = keys.portBinding(p['binding:host_id'], p.id);
  return checked(
    portBindingSchema,
    {
      port_id: p.id,
      network_id: p.network_id,
      network_type: networkType,
      physnet: OVERLAY_NETWORK_TYPES.includes(networkType) ? null : net.physical_network,
      segmentation_id: networkType === 'flat' ? null : net.segmentation_id,
      mtu,
      mac: p.mac_address,
      fixed_ips: p.fixed_ips,
      vif_type: vifType as VifType,
      vhostuser,
      tap: vifType === 'tap' ? { host_ifname: tapName(p.id) } : null,
      // Only on router interfaces: the bindings of other ports stay as they were before routers.
      ...(router ? { router } : {}),
      // Only on trunk sub-ports (docs/trunks.md).
      ...(subport ? { subport } : {}),
      device_owner: p.device_owner,
      admin_state_up: p.admin_state_up,
      // A router interface is trusted (as by Neutron's L3 agent): no filtering, no groups.
      security_groups: router ? [] : [...new Set(p.security_groups)],
      port_security_enabled: router ? false : p.port_security_enabled,
      allowed_address_pairs: aaps,
      revision,
    },
    key,
  );
}

/** The addresses a port contributes to each of its groups: fixed IPs, then allowed-address-pair IPs. */
export function memberIps(p: NeutronPort): string[] {
  return [
    ...new Set([
      ...p.fixed_ips.map((f) => f.ip_address),
      ...p.allowed_address_pairs.map((a) => a.ip_address),
    ]),
  ];
}

function checkHost(host: string, what: string): void {
  if (!/^[^/\s]{1,255}$/.test(host)) throw new RowError(`${what} "${host}" can't be used in a key`);
}

/**
 * The port's INACTIVE bindings (Nova's live migration) that netvpp plumbs, by host: each host gets the
 * same binding as the active one (segment, addresses, security groups, anti-spoofing), marked
 * inactive, so the destination filters from the first packet and the source keeps forwarding until
 * Nova deletes its binding. Activation leaves the source's binding unbound: it keeps the active
 * binding's vif type and details (the vhost-user socket path is the same on every host).
 */
export function inactiveBindings(
  p: NeutronPort,
  revision: number,
  networkMtu: number | null,
): [string, PortBinding][] {
  const out: [string, PortBinding][] = [];
  const active = isBoundByNetvpp(p);
  for (const [i, ib] of p['netvpp:inactive_bindings'].entries()) {
    if (ib.host === p['binding:host_id']) continue;
    const netvppVif = (VIF_TYPES as string[]).includes(ib.vif_type);
    // Unbound: the source after activation, plumbed as it was; failed or another driver's: not ours.
    if (!netvppVif && !(ib.vif_type === 'unbound' && active)) continue;
    checkHost(ib.host, `netvpp:inactive_bindings[${i}].host`);
    const on: NeutronPort = netvppVif
      ? {
          ...p,
          'binding:host_id': ib.host,
          'binding:vif_type': ib.vif_type,
          'binding:vif_details': ib.vif_details,
        }
      : { ...p, 'binding:host_id': ib.host };
    out.push([ib.host, { ...portBinding(on, revision, networkMtu), binding_status: 'inactive' }]);
  }
  return out;
}

/** Every key a port produces: its binding (if netvpp bound it) and one membership per security group. */
export function portOwns(
  p: NeutronPort,
  revision: number,
  networkMtu: number | null,
): Record<string, unknown> {
  const owns: Record<string, unknown> = {};
  for (const [host, b] of inactiveBindings(p, revision, networkMtu)) owns[keys.portBinding(host, p.id)] = b;
  if (isBoundByNetvpp(p)) {
    checkHost(p['binding:host_id'], 'binding:host_id');
    const b = portBinding(p, revision, networkMtu);
    owns[keys.portBinding(p['binding:host_id'], p.id)] = b;
    // Overlay networks: the port as the other hosts on its network see it (flood list, MAC, ARP).
    if (OVERLAY_NETWORK_TYPES.includes(b.network_type)) {
      const key = keys.overlayPort(p.network_id, p.id);
      owns[key] = checked<OverlayPort>(
        overlayPortSchema,
        { host: p['binding:host_id'], mac: b.mac, ips: b.fixed_ips.map((f) => f.ip_address), revision },
        key,
      );
    }
  }
  const ips = memberIps(p);
  for (const sg of new Set(p.security_groups)) {
    const key = keys.remoteGroupMember(sg, p.id);
    owns[key] = checked<RemoteGroupMember>(remoteGroupMemberSchema, { ips, revision }, key);
  }
  return owns;
}

// ---- security groups -------------------------------------------------------------------------------

export function securityGroup(sg: NeutronSecurityGroup, revision: number): SecurityGroup {
  const rules: SecurityGroupRule[] = sg.security_group_rules.map((r) => {
    if (r.remote_address_group_id !== null)
      throw new RowError(`rule ${r.id}: remote address groups are not supported by netvpp`);
    let protocol: number | null;
    try {
      protocol = protocolNumber(r.protocol, r.ethertype);
    } catch (e) {
      throw new RowError(`rule ${r.id}: ${(e as Error).message}`);
    }
    return {
      id: r.id,
      direction: r.direction,
      ethertype: r.ethertype,
      protocol,
      port_range_min: r.port_range_min,
      port_range_max: r.port_range_max,
      remote_ip_prefix: r.remote_ip_prefix === null ? null : prefixOf(r.remote_ip_prefix),
      remote_group_id: r.remote_group_id,
    };
  });
  // Neutron lists rules in no promised order; sorting keeps an unchanged group byte-identical.
  rules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const key = keys.secGroup(sg.id);
  return checked(securityGroupSchema, { id: sg.id, revision, stateful: sg.stateful, rules }, key);
}

// ---- diffs -----------------------------------------------------------------------------------------

/** JSON with sorted object keys, for comparing values. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/**
 * Same content apart from the Neutron revision. Values are rewritten only when their content changes,
 * so a port whose revision moved for something netvpp doesn't use (status, name) writes nothing and
 * no agent wakes up; a value's revision is that of the last change that mattered.
 */
export function sameContent(a: unknown, b: unknown): boolean {
  const strip = (v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, unknown>), revision: 0 } : v;
  return canonical(strip(a)) === canonical(strip(b));
}

/** Writes that turn `before` into `after`; returns them and what the record should now list. */
export function diffOwns(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): { ops: WriteOp[]; owns: Record<string, unknown> } {
  const ops: WriteOp[] = [];
  const owns: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!(key in after)) ops.push({ op: 'delete', key });
  for (const [key, value] of Object.entries(after)) {
    if (key in before && sameContent(before[key], value)) {
      owns[key] = before[key];
    } else {
      owns[key] = value;
      ops.push({ op: 'put', key, value: JSON.stringify(value) });
    }
  }
  return { ops, owns };
}
