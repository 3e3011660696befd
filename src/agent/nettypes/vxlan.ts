// vxlan: an overlay network. On each host with ports on it, the network's bridge has one VXLAN
// tunnel per other such host (head-end replication: a flood goes once down every tunnel, and the
// tunnels share split-horizon group 1 so nothing comes back out of another), a static MAC per
// remote port pointing at its host's tunnel, and ARP/ND termination for every port's fixed IPs.
// Who is on the network comes from the controller (global/overlay/<network>/ports/); a peer's VTEP
// from its agent's liveness key, so a dead host drops out of every flood list.
import { arptermKey, l2Key, l2fibKey, vxlanKey, type VppObject } from '../kinds/index.ts';
import { overlaySegment, sortedPorts, underlayObjects } from './overlay.ts';
import type { NetworkType } from './types.ts';

/** VXLAN over IPv4 costs 50 bytes (outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8). */
export const VXLAN_IPV4_OVERHEAD = 50;

export const vxlan: NetworkType = {
  name: 'vxlan',
  segment(b, host) {
    if (!host.vxlan) return { error: 'VXLAN networks need [vxlan] local_ip on this host' };
    return overlaySegment('vxlan', b, underlayObjects(host));
  },
  overlayObjects(networkId, seg, bd, host, view) {
    const local = host.vxlan;
    const ports = view.ports(networkId);
    const vni = seg.vni;
    if (!local || !ports || vni === undefined) return [];
    const after = (seg.shared ?? []).map((o) => o.key);
    const out: VppObject[] = [];
    const tunnelOf = new Map<string, string>();
    // Hosts in a stable order, so the same state always gives the same objects.
    const entries = sortedPorts(ports);
    for (const [, p] of entries) {
      if (p.host === view.host || tunnelOf.has(p.host)) continue;
      const dst = view.vtepOf(p.host);
      if (dst === undefined || dst === local.localIp) continue;
      const key = vxlanKey(vni, dst);
      if ([...tunnelOf.values()].includes(key)) continue; // two host names, one VTEP
      tunnelOf.set(p.host, key);
      out.push(
        { kind: 'vxlan', key, src: local.localIp, dst, vni, after, adminUp: true },
        { kind: 'l2', key: l2Key(key), iface: key, bd, after: [], shg: 1 },
      );
    }
    const macs = new Set<string>();
    for (const [, p] of entries) {
      const tunnel = tunnelOf.get(p.host);
      if (tunnel !== undefined && !macs.has(p.mac)) {
        macs.add(p.mac);
        out.push({ kind: 'l2fib', key: l2fibKey(networkId, p.mac), bd, mac: p.mac, iface: tunnel });
      }
      // Every port of the network, local ones too: a local VM's ARP for a local VM is answered as well.
      if (p.host === view.host || tunnel !== undefined) {
        for (const ip of p.ips)
          out.push({ kind: 'arpterm', key: arptermKey(networkId, ip), bd, ip, mac: p.mac });
      }
    }
    return out;
  },
  supported: (vpp, host) => !!host.vxlan && (vpp === null || vpp.has('vxlan')),
};
