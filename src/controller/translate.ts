// Neutron rows → etcd writes, as pure functions. For each resource the controller keeps a record
// (neutron/<kind>/<id>) holding the last applied Neutron revision and the desired-state keys the
// resource produced. A row is turned into the resource's new set of keys; the writes are the
// difference from the old set, followed by the new record. Writing the record last makes a batch
// that died half-way harmless: the same row, replayed, recomputes the same difference.
import { isIP } from 'node:net';
import {
  type AllowedAddressPair,
  encodeValue,
  type FloatingIpDoc,
  keys,
  type NetworkType,
  OVERLAY_NETWORK_TYPES,
  NETWORK_TYPES,
  type NeutronKind,
  type NeutronRecord,
  neutronRecordSchema,
  type OverlayPort,
  overlayPortSchema,
  parseKey,
  type PortBinding,
  portBindingSchema,
  type RemoteGroupMember,
  remoteGroupMemberSchema,
  type RouterInterface,
  type SecurityGroup,
  type SecurityGroupRule,
  securityGroupSchema,
  tapName,
  type VifType,
  VIF_TYPES,
} from '../model/keyspace.ts';
import { formatErrors, parseCidr, run, uuid } from '../model/validate.ts';
import { checked, dataOf, RowError } from './rows.ts';
import { subportDetails } from './translate-trunk.ts';
import {
  floatingIpOwns,
  floatingIpsFollow,
  placeRouterPort,
  routerHostsOf,
  routerOwns,
  routerPortsFollow,
} from './translate-l3.ts';
import {
  neutronTapFlowSchema,
  neutronTapServiceSchema,
  tapFlowOwns,
  tapServiceOwns,
} from './translate-taas.ts';
import {
  networkQosOf,
  neutronQosPolicySchema,
  portsFollowingNetwork,
  qosPolicyOwns,
  withQos,
} from './translate-qos.ts';
import {
  type JournalRow,
  journalRowSchema,
  type NeutronNetwork,
  neutronNetworkSchema,
  type NeutronPort,
  neutronPortSchema,
  type NeutronSecurityGroup,
  neutronSecurityGroupSchema,
  neutronFloatingIpSchema,
  neutronRouterSchema,
  prefixOf,
  protocolNumber,
} from './neutron.ts';

/** A write; the same shape as the store's WriteOp. Values are JSON text. */
export type WriteOp =
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string };

/** The records a translation may consult (the stored ones, overlaid with this batch's changes). */
export interface RecordView {
  get(kind: NeutronKind, id: string): NeutronRecord | null;
  /** Live port records that own a binding on network `networkId`. */
  portsOnNetwork(networkId: string): NeutronRecord[];
  /** Live floating IP records that own a FloatingIpDoc of router `routerId`. */
  floatingIpsOfRouter(routerId: string): NeutronRecord[];
  /** Live port records that own a router port binding of router `routerId`. */
  portsOfRouter(routerId: string): NeutronRecord[];
}

export type Outcome =
  /** `ops` to write (records last); `records` are the new records (already among the ops). */
  | { status: 'applied'; ops: WriteOp[]; records: NeutronRecord[] }
  /** Nothing to write: the row was already applied. */
  | { status: 'unchanged' }
  /** Older than (or deleted before) what is stored; ignored. */
  | { status: 'stale'; reason: string }
  /** A resource netvpp accepts but has nothing to write for (subnets). */
  | { status: 'ignored' }
  | { status: 'rejected'; error: string };

const KIND_OF: Record<string, NeutronKind | 'subnet' | undefined> = {
  port: 'port',
  network: 'network',
  security_group: 'security_group',
  subnet: 'subnet',
  router: 'router',
  floatingip: 'floatingip',
  qos_policy: 'qos_policy',
  tap_service: 'tap_service',
  tap_flow: 'tap_flow',
};

// ---- ports -----------------------------------------------------------------------------------------

/** Whether netvpp bound the port: the driver says so, or (without a hint) a vif_type netvpp uses. */
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
  return { router_id: routerId.value, addresses, role };
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

export function recordOp(r: NeutronRecord): WriteOp {
  const key = keys.neutronRecord(r.kind, r.id);
  return { op: 'put', key, value: encodeValue(key, r) };
}

function sameRecord(a: NeutronRecord | null, b: NeutronRecord): boolean {
  return a !== null && canonical(a) === canonical(b);
}

/** Builds the outcome of replacing record `old` by `next` with the writes `ops` (record put last). */
function outcome(old: NeutronRecord | null, next: NeutronRecord, ops: WriteOp[]): Outcome {
  if (ops.length === 0 && sameRecord(old, next)) return { status: 'unchanged' };
  checked(neutronRecordSchema, next, keys.neutronRecord(next.kind, next.id));
  return { status: 'applied', ops: [...ops, recordOp(next)], records: [next] };
}

// ---- rows ------------------------------------------------------------------------------------------

export interface ApplyOptions {
  /** ISO time used for tombstones. */
  now: string;
  /** Full sync: Neutron says the resource exists, so a tombstone doesn't stop it. */
  revive?: boolean;
}

/** The new state of a resource after a create/update with `revision`. */
function upsert(
  kind: NeutronKind,
  id: string,
  revision: number,
  data: unknown,
  view: RecordView,
  opts: ApplyOptions,
): Outcome {
  const old = view.get(kind, id);
  if (old && old.deleted_at !== null && !opts.revive)
    return { status: 'stale', reason: `${kind} ${id} was deleted (at revision ${old.revision})` };
  if (old && old.deleted_at === null && revision < old.revision)
    return { status: 'stale', reason: `revision ${revision} is older than the applied ${old.revision}` };
  const before = old && old.deleted_at === null ? old.owns : {};

  switch (kind) {
    case 'router': {
      const router = dataOf(neutronRouterSchema, data, 'router');
      if (router.id !== id) throw new RowError(`data.id ${router.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, routerOwns(router, revision));
      const last = outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
      // A router moved to other hosts takes its floating IPs and its ports' bindings with it.
      const hosts = routerHostsOf(owns);
      const moved = [
        ...floatingIpsFollow(view, id, hosts).map((r) => ({
          rec: r,
          ops: diffOwns(view.get('floatingip', r.id)?.owns ?? {}, r.owns).ops,
        })),
        ...routerPortsFollow(view, id, hosts).map((r) => ({
          rec: r,
          ops: diffOwns(view.get('port', r.id)?.owns ?? {}, r.owns).ops,
        })),
      ];
      if (moved.length === 0) return last;
      const followOps = moved.flatMap((m) => [...m.ops, recordOp(m.rec)]);
      const followRecs = moved.map((m) => m.rec);
      if (last.status !== 'applied') return { status: 'applied', ops: followOps, records: followRecs };
      return {
        status: 'applied',
        ops: [...followOps, ...last.ops],
        records: [...followRecs, ...last.records],
      };
    }
    case 'floatingip': {
      const fip = dataOf(neutronFloatingIpSchema, data, 'floatingip');
      if (fip.id !== id) throw new RowError(`data.id ${fip.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, floatingIpOwns(fip, revision, view));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'tap_service': {
      const ts = dataOf(neutronTapServiceSchema, data, 'tap service');
      if (ts.id !== id) throw new RowError(`data.id ${ts.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, tapServiceOwns(before, id));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'tap_flow': {
      const tf = dataOf(neutronTapFlowSchema, data, 'tap flow');
      if (tf.id !== id) throw new RowError(`data.id ${tf.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, tapFlowOwns(tf, revision, view));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'port': {
      const port = dataOf(neutronPortSchema, data, 'port');
      if (port.id !== id) throw new RowError(`data.id ${port.id} differs from resource_id ${id}`);
      const net = view.get('network', port.network_id);
      const mtu = net && net.deleted_at === null ? net.mtu : null;
      const netQos = networkQosOf(net, port.qos_network_policy_id);
      const after = withQos(portOwns(port, revision, mtu), port.qos_policy_id, netQos);
      const { ops, owns } = diffOwns(before, placeRouterPort(after, view));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'qos_policy': {
      const policy = dataOf(neutronQosPolicySchema, data, 'QoS policy');
      if (policy.id !== id) throw new RowError(`data.id ${policy.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, qosPolicyOwns(policy, revision));
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'security_group': {
      const sg = dataOf(neutronSecurityGroupSchema, data, 'security_group');
      if (sg.id !== id) throw new RowError(`data.id ${sg.id} differs from resource_id ${id}`);
      const { ops, owns } = diffOwns(before, { [keys.secGroup(id)]: securityGroup(sg, revision) });
      return outcome(old, { kind, id, revision, deleted_at: null, owns, mtu: null }, ops);
    }
    case 'network': {
      const net: NeutronNetwork = dataOf(neutronNetworkSchema, data, 'network');
      if (net.id !== id) throw new RowError(`data.id ${net.id} differs from resource_id ${id}`);
      if (net.mtu !== null && net.mtu < 68) throw new RowError(`invalid network: mtu ${net.mtu} is below 68`);
      const qos = net.qos_policy_id;
      const next: NeutronRecord = {
        kind,
        id,
        revision,
        deleted_at: null,
        owns: {},
        mtu: net.mtu,
        ...(qos !== null ? { qos_policy_id: qos } : {}),
      };
      const live = old && old.deleted_at === null ? old : null;
      const mtuChanged = net.mtu !== null && net.mtu !== (live?.mtu ?? null);
      if (!mtuChanged && qos === (live?.qos_policy_id ?? null)) return outcome(old, next, []);
      // An MTU or QoS change reaches every bound port of the network (translate-qos.ts).
      const ops: WriteOp[] = [];
      const records = portsFollowingNetwork(view, id, mtuChanged ? net.mtu : null, qos);
      for (const r of records) {
        const before = view.get('port', r.id)?.owns ?? {};
        for (const [key, value] of Object.entries(r.owns))
          if (before[key] !== value) ops.push({ op: 'put', key, value: JSON.stringify(value) });
        ops.push(recordOp(r));
      }
      const last = outcome(old, next, []);
      if (last.status !== 'applied') return { status: 'applied', ops, records };
      return { status: 'applied', ops: [...ops, ...last.ops], records: [...records, ...last.records] };
    }
  }
}

function remove(
  kind: NeutronKind,
  id: string,
  revision: number | null,
  view: RecordView,
  opts: ApplyOptions,
): Outcome {
  const old = view.get(kind, id);
  if (old && old.deleted_at !== null) return { status: 'unchanged' };
  // A delete is final whatever its revision: Neutron never reuses an id.
  const ops = diffOwns(old?.owns ?? {}, {}).ops;
  if (kind === 'security_group') ops.push({ op: 'deletePrefix', prefix: keys.remoteGroup(id) });
  const tomb: NeutronRecord = {
    kind,
    id,
    revision: Math.max(old?.revision ?? 0, revision ?? 0),
    deleted_at: opts.now,
    owns: {},
    mtu: null,
  };
  return outcome(old, tomb, ops);
}

/** Translates one journal row (as received) against the records in `view`. Never throws on bad input. */
export function applyRow(raw: unknown, view: RecordView, opts: ApplyOptions): Outcome {
  const env = run(journalRowSchema, raw);
  if (!env.ok) return { status: 'rejected', error: `invalid row: ${formatErrors(env.errors)}` };
  const row: JournalRow = env.value;
  const kind = KIND_OF[row.resource];
  if (!kind) return { status: 'rejected', error: `unsupported resource "${row.resource}"` };
  if (row.op !== 'create' && row.op !== 'update' && row.op !== 'delete')
    return { status: 'rejected', error: `unsupported op "${row.op}" (create, update, delete)` };
  if (kind === 'subnet') return { status: 'ignored' };
  const id = run(uuid, row.resource_id);
  if (!id.ok) return { status: 'rejected', error: `invalid resource_id: ${formatErrors(id.errors)}` };
  try {
    if (row.op === 'delete') return remove(kind, id.value, row.revision, view, opts);
    if (row.revision === null) return { status: 'rejected', error: `a ${row.op} row needs a revision` };
    return upsert(kind, id.value, row.revision, row.data, view, opts);
  } catch (e) {
    if (e instanceof RowError) return { status: 'rejected', error: e.message };
    throw e;
  }
}

/** Applies a full-sync resource (a Neutron dict with revision_number) as an update. */
export function applyResource(
  kind: NeutronKind,
  data: unknown,
  view: RecordView,
  opts: ApplyOptions,
): Outcome {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  return applyRow(
    { id: 0, resource: kind, op: 'update', resource_id: d.id, revision: d.revision_number ?? null, data },
    view,
    { ...opts, revive: true },
  );
}

/** Marks `kind/id` deleted (full sync: Neutron no longer has it). */
export function applyDelete(kind: NeutronKind, id: string, view: RecordView, opts: ApplyOptions): Outcome {
  return remove(kind, id, null, view, opts);
}

/** A RecordView over a map of records that also remembers this batch's changes. */
export class Overlay implements RecordView {
  private readonly map = new Map<string, NeutronRecord>();

  constructor(records: Iterable<NeutronRecord> = []) {
    for (const r of records) this.set(r);
  }

  private static k(kind: NeutronKind, id: string): string {
    return `${kind}/${id}`;
  }

  get(kind: NeutronKind, id: string): NeutronRecord | null {
    return this.map.get(Overlay.k(kind, id)) ?? null;
  }

  set(r: NeutronRecord): void {
    this.map.set(Overlay.k(r.kind, r.id), r);
  }

  all(): NeutronRecord[] {
    return [...this.map.values()];
  }

  floatingIpsOfRouter(routerId: string): NeutronRecord[] {
    return this.all().filter(
      (r) =>
        r.kind === 'floatingip' &&
        r.deleted_at === null &&
        Object.entries(r.owns).some(
          ([k, v]) => parseKey(k)?.kind === 'floatingIp' && (v as FloatingIpDoc).router_id === routerId,
        ),
    );
  }

  portsOfRouter(routerId: string): NeutronRecord[] {
    return this.all().filter(
      (r) =>
        r.kind === 'port' &&
        r.deleted_at === null &&
        Object.entries(r.owns).some(
          ([k, v]) =>
            parseKey(k)?.kind === 'portBinding' && (v as PortBinding).router?.router_id === routerId,
        ),
    );
  }

  portsOnNetwork(networkId: string): NeutronRecord[] {
    return this.all().filter(
      (r) =>
        r.kind === 'port' &&
        r.deleted_at === null &&
        Object.entries(r.owns).some(
          ([k, v]) => parseKey(k)?.kind === 'portBinding' && (v as PortBinding).network_id === networkId,
        ),
    );
  }
}

export interface BatchResult {
  /** All writes of the batch, in row order (each row's record after its keys). */
  ops: WriteOp[];
  /** Row ids that are settled: applied, already applied, stale, ignored or rejected. */
  done: number[];
  rejected: { id: number; error: string }[];
  stale: { id: number; reason: string }[];
  applied: number;
}

/** Journal id of a raw row; rows without one are refused by the caller before translation. */
export function rowId(raw: unknown): number | null {
  const id = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).id : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

/** Translates rows in order; each row sees the records left by the rows before it. */
export function translateBatch(rows: unknown[], view: Overlay, opts: ApplyOptions): BatchResult {
  const res: BatchResult = { ops: [], done: [], rejected: [], stale: [], applied: 0 };
  for (const raw of rows) {
    const id = rowId(raw) ?? -1;
    const out = applyRow(raw, view, opts);
    res.done.push(id);
    if (out.status === 'applied') {
      res.ops.push(...out.ops);
      for (const r of out.records) view.set(r);
      res.applied++;
    } else if (out.status === 'rejected') {
      res.rejected.push({ id, error: out.error });
    } else if (out.status === 'stale') {
      res.stale.push({ id, reason: out.reason });
    }
  }
  return res;
}
