// compile, for a router port (a binding with vif_type router): an interface is a loopback BVI in the
// network's bridge, in the router's VRF (shared by the router's ports), with the port's addresses.
// The gateway port can't be the external network's BVI (one per bridge, and routers share external
// networks): its loopback is the BVI of a bridge of its own, patched into the external network's
// bridge by a pipe (kinds/pipe.ts). Neutron trusts router ports: no ACLs, no anti-spoofing.
// What a router's document and floating IPs add (routes, NAT) is compile-l3.ts's.
import type { PortBinding } from '../model/keyspace.ts';
import type { NetIn, PortUnit } from './compile-port.ts';
import type { PortPlan } from './compile.ts';
import {
  arptermKey,
  bridgeKey,
  l2flagsKey,
  l2Key,
  pipeKey,
  pipeL2Key,
  preferredBdId,
  preferredTableId,
  rifaddrKey,
  raKey,
  rifKey,
  riftableKey,
  vrfKey,
  type VppObject,
} from './kinds/index.ts';

export function routerUnit(portId: string, b: PortBinding, net: NetIn, plan: PortPlan): PortUnit {
  const unit: PortUnit = { objects: [], frozen: [], groups: [], shared: [], names: [], held: [] };
  const r = b.router;
  if (!r) {
    plan.errors.push('a router interface needs its router details');
    return unit;
  }
  const iface = rifKey(portId);
  const vrf = vrfKey(r.router_id);
  const table = riftableKey(portId);
  const gateway = r.role === 'gateway';
  // The gateway's BVI sits in its own bridge, which a pipe patches into the external network's.
  const bviBd = gateway ? gatewayBridgeKey(portId) : bridgeKey(b.network_id);
  const objs: VppObject[] = [
    { kind: 'rif', key: iface, portId, mac: b.mac.toLowerCase(), mtu: b.mtu, adminUp: b.admin_state_up },
    { kind: 'l2', key: l2Key(iface), iface, bd: bviBd, after: [], shg: 0, bvi: true },
    ...(gateway ? gatewayPatch(portId, b.network_id, b.mac.toLowerCase(), r.addresses) : []),
    { kind: 'riftable', key: table, iface, vrf },
    ...r.addresses.map((prefix): VppObject => ({
      kind: 'rifaddr',
      key: rifaddrKey(portId, prefix),
      iface,
      prefix,
    })),
  ];
  // Router advertisements for the interface's SLAAC / DHCPv6 subnets (kinds/ra.ts), after its
  // IPv6 addresses (VPP keeps RA state only while the interface has one).
  const adverts = gateway ? [] : (r.ra ?? []);
  if (adverts.length > 0)
    objs.push({
      kind: 'ra',
      key: raKey(iface),
      iface,
      managed: adverts.some((a) => a.mode === 'dhcpv6-stateful'),
      other: adverts.some((a) => a.mode === 'dhcpv6-stateless'),
      prefixes: adverts
        .map((a) => ({ prefix: a.prefix, autonomous: a.mode !== 'dhcpv6-stateful' }))
        .sort((a, b) => a.prefix.localeCompare(b.prefix)),
      after: r.addresses.filter((a) => a.includes(':')).map((a) => rifaddrKey(portId, a)),
    });
  unit.objects = objs;
  // The router's VRF is held by each of its interfaces: it stays while one of them is here.
  unit.held = [{ kind: 'vrf', key: vrf, preferredId: preferredTableId(r.router_id) }];
  const networkKeys = [
    ...net.seg.requires,
    ...(net.seg.member !== null ? [l2Key(net.member)] : []),
    bridgeKey(net.network),
  ];
  plan.requires = [...new Set([...networkKeys, vrf, ...objs.map((o) => o.key)])];
  return unit;
}

/** An ARP/ND termination entry of the gateway's bridge: the address answered with the gateway's MAC. */
export function gatewayArp(portId: string, ip: string, mac: string): VppObject {
  return { kind: 'arpterm', key: arptermKey(`gw-${portId}`, ip), bd: gatewayBridgeKey(portId), ip, mac };
}

/** The gateway BVI's own bridge: bd:gw-<port> (kinds/bridge.ts counts it as the port's). */
export const gatewayBridgeKey = (portId: string): string => bridgeKey(`gw-${portId}`);

/**
 * The gateway's bridge and the pipe between it and the external network's bridge. The bridge
 * answers ARP/ND for the gateway's own addresses (and, from compile-l3.ts, its floating IPs) and
 * floods nothing that enters from the external network: only the owner of an address answers for
 * it, whatever NAT44-ED installs on the other routers' outside interfaces (kinds/l2flags.ts).
 */
function gatewayPatch(portId: string, networkId: string, mac: string, addresses: string[]): VppObject[] {
  const bd = gatewayBridgeKey(portId);
  const pipe = pipeKey(portId);
  return [
    {
      kind: 'bd',
      key: bd,
      preferredId: preferredBdId(`gw-${portId}`),
      flood: true,
      uuFlood: true,
      forward: true,
      learn: true,
      arpTerm: true,
    },
    { kind: 'pipe', key: pipe, portId },
    { kind: 'pipel2', key: pipeL2Key(portId, 0), pipe, end: 0, bd: bridgeKey(networkId) },
    { kind: 'pipel2', key: pipeL2Key(portId, 1), pipe, end: 1, bd },
    {
      kind: 'l2flags',
      key: l2flagsKey(portId, 1),
      pipe,
      end: 1,
      member: pipeL2Key(portId, 1),
      flood: false,
      learn: false,
      arpTerm: true,
    },
    ...addresses.map((a) => gatewayArp(portId, a.split('/')[0], mac)),
  ];
}
