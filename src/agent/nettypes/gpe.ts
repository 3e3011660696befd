// gpe: an overlay network carried in VXLAN-GPE (LISP-GPE's encapsulation, UDP 4341) by VPP's LISP
// data plane, programmed statically from etcd: no map server, resolver or LISP control traffic.
// The network's VNI is an EID table mapped to its bridge; every local port's MAC is a local EID
// (its real MAC, which its VM's frames carry), every remote port's a remote mapping to its host's
// VTEP with an adjacency, and every port's fixed IPs are ARP/ND-terminated in the bridge.
//
// What GPE does not carry: broadcast, multicast and unknown unicast. A frame flooded in the bridge
// reaches the GPE interface, whose lookup misses and hands it to the LISP control plane, which
// drops it. docs/overlays.md says what that means (DHCP, unknown IPs, IPv6 multicast).
import {
  LISP_KEY,
  LOCSET_KEY,
  UNDERLAY_KEY,
  arptermKey,
  eidmapKey,
  leidKey,
  rmapKey,
  type VppObject,
} from '../kinds/index.ts';
import { overlaySegment, sortedPorts, underlayObjects } from './overlay.ts';
import type { HostNetworking, NetworkType } from './types.ts';

/** VXLAN-GPE over IPv4 costs what VXLAN does: outer Ethernet 14 + IPv4 20 + UDP 8 + GPE header 8. */
export const GPE_IPV4_OVERHEAD = 50;

/** What every gpe network on the host shares: LISP on, the underlay up with the VTEP, the locator set on it. */
function sharedObjects(host: HostNetworking): VppObject[] {
  const underlay = underlayObjects(host);
  if (underlay.length === 0) return [];
  const [up, addr] = underlay;
  return [
    { kind: 'lisp', key: LISP_KEY },
    up,
    addr,
    { kind: 'locset', key: LOCSET_KEY, iface: UNDERLAY_KEY },
  ];
}

export const gpe: NetworkType = {
  name: 'gpe',
  segment(b, host) {
    if (!host.vxlan?.underlay)
      return { error: 'gpe networks need [vxlan] local_ip and underlay_interface on this host' };
    return overlaySegment('gpe', b, sharedObjects(host));
  },
  overlayObjects(networkId, seg, bd, host, view) {
    const ports = view.ports(networkId);
    const vni = seg.vni;
    const local = host.vxlan;
    if (!ports || vni === undefined || !local) return [];
    const out: VppObject[] = [{ kind: 'eidmap', key: eidmapKey(networkId), vni, bd }];
    const entries = sortedPorts(ports);
    const localMacs = [
      ...new Set(entries.filter(([, p]) => p.host === view.host).map(([, p]) => p.mac)),
    ].sort();
    for (const mac of localMacs)
      out.push({ kind: 'leid', key: leidKey(networkId, mac), network: networkId, vni, mac });
    // Adjacencies name the lowest local MAC: it stays while it is there, whatever else comes and goes.
    const anchor = localMacs[0];
    const after = (seg.shared ?? []).map((o) => o.key);
    const remote = new Set<string>();
    for (const [, p] of entries) {
      const isLocal = p.host === view.host;
      const rloc = isLocal ? undefined : view.vtepOf(p.host);
      const reachable = rloc !== undefined && rloc !== local.localIp;
      // A MAC that is also local stays local (a static remote mapping would overwrite its EID).
      if (reachable && anchor !== undefined && !localMacs.includes(p.mac) && !remote.has(p.mac)) {
        remote.add(p.mac);
        out.push({
          kind: 'rmap',
          key: rmapKey(networkId, p.mac),
          network: networkId,
          vni,
          mac: p.mac,
          rloc,
          local: anchor,
          after,
        });
      }
      if (isLocal || reachable)
        for (const ip of p.ips)
          out.push({ kind: 'arpterm', key: arptermKey(networkId, ip), bd, ip, mac: p.mac });
    }
    return out;
  },
  supported: (vpp, host) => !!host.vxlan?.underlay && (vpp === null || vpp.has('lisp')),
};
