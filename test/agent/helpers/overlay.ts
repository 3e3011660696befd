// What one VPP has of a VXLAN network, as the overlay tests compare it: its tunnels (the flood list),
// their split-horizon groups, the bridge's ARP termination flag, static MACs and ARP entries.
import {
  bd_ip_mac_dump,
  bridge_domain_dump,
  l2_fib_table_dump,
  vxlan_tunnel_v2_dump,
} from '../../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../../src/vpp/client.ts';

const ALL = 0xffffffff;

export interface Overlay {
  /** Remote VTEPs of the network's tunnels, sorted. */
  tunnels: string[];
  /** Tunnels in the network's bridge, with their split-horizon group. */
  shg: number[];
  arpTerm: boolean;
  /** Static MACs → the VTEP of the tunnel they are behind. */
  fib: Record<string, string>;
  /** ARP-terminated IP → MAC. */
  arp: Record<string, string>;
}

/** What one VPP has of a VXLAN network (by VNI and its bridge's netvpp tag). */
export async function overlayOf(vpp: VppClient, networkId: string, vni: number): Promise<Overlay> {
  const tunnels = (await vpp.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL })).filter((t) => t.vni === vni);
  const dstOf = new Map(tunnels.map((t) => [t.sw_if_index, t.dst_address]));
  const bd = (await vpp.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL })).find(
    (b) => b.bd_tag === `netvpp:bd:${networkId}`,
  );
  const fib: Record<string, string> = {};
  const arp: Record<string, string> = {};
  if (bd) {
    for (const e of await vpp.dump(l2_fib_table_dump, { bd_id: bd.bd_id }))
      if (e.static_mac) fib[e.mac] = dstOf.get(e.sw_if_index) ?? `sw_if_index ${e.sw_if_index}`;
    for (const { entry } of await vpp.dump(bd_ip_mac_dump, { bd_id: bd.bd_id })) arp[entry.ip] = entry.mac;
  }
  return {
    tunnels: tunnels.map((t) => t.dst_address).sort(),
    shg: (bd?.sw_if_details ?? []).filter((m) => dstOf.has(m.sw_if_index)).map((m) => m.shg),
    arpTerm: bd?.arp_term ?? false,
    fib,
    arp,
  };
}
