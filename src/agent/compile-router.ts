// compile, for a router interface (a binding with vif_type router): a loopback BVI in the
// network's bridge, in the router's VRF (shared by the router's interfaces), with the port's
// addresses. Neutron trusts router ports: no ACLs, no anti-spoofing.
import type { PortBinding } from '../model/keyspace.ts';
import type { NetIn, PortUnit } from './compile-port.ts';
import type { PortPlan } from './compile.ts';
import {
  bridgeKey,
  l2Key,
  preferredTableId,
  rifaddrKey,
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
  const objs: VppObject[] = [
    { kind: 'rif', key: iface, portId, mac: b.mac.toLowerCase(), mtu: b.mtu, adminUp: b.admin_state_up },
    { kind: 'l2', key: l2Key(iface), iface, bd: bridgeKey(b.network_id), after: [], shg: 0, bvi: true },
    { kind: 'riftable', key: table, iface, vrf },
    ...r.addresses.map((prefix): VppObject => ({
      kind: 'rifaddr',
      key: rifaddrKey(portId, prefix),
      iface,
      prefix,
    })),
  ];
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
