// What the overlay network types (vxlan, gpe) share: the underlay objects a host's [vxlan]
// configuration gives, the segment of a binding with a VNI, and the network's ports in a stable order.
import type { OverlayPort, PortBinding } from '../../model/keyspace.ts';
import { MAX_VNI } from '../../model/keyspace.ts';
import { UNDERLAY_KEY, vtepaddrKey, type VppObject } from '../kinds/index.ts';
import type { HostNetworking, Segment } from './types.ts';

/** The underlay up, with the VTEP address: when the agent manages them ([vxlan] underlay_interface). */
export function underlayObjects(host: Pick<HostNetworking, 'vxlan'>): VppObject[] {
  const v = host.vxlan;
  const u = v?.underlay;
  if (!v || !u) return [];
  const prefix = `${v.localIp}/${u.prefixLen}`;
  return [
    { kind: 'underlay', key: UNDERLAY_KEY, name: u.name, adminUp: true },
    { kind: 'vtepaddr', key: vtepaddrKey(prefix), iface: UNDERLAY_KEY, prefix },
  ];
}

/** An overlay binding's segment (`<type> <vni>`), with what networks of the type share, or why not. */
export function overlaySegment(
  type: 'vxlan' | 'gpe',
  b: PortBinding,
  shared: VppObject[],
): Segment | { error: string } {
  const vni = b.segmentation_id;
  if (vni === null || !Number.isInteger(vni) || vni < 1 || vni > MAX_VNI)
    return { error: `${type} network ${b.network_id} has no valid VNI (got ${String(vni)})` };
  return {
    id: `${type} ${vni}`,
    member: null,
    physnet: null,
    objects: [],
    shared,
    requires: shared.map((o) => o.key),
    arpTerm: true,
    vni,
  };
}

/** The network's ports by port id, so the same state always gives the same objects. */
export function sortedPorts(ports: ReadonlyMap<string, OverlayPort>): [string, OverlayPort][] {
  return [...ports.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
