// What a network type is to the agent: how a binding's segment is checked and reached on this host,
// and which VPP objects a network of the type needs here. flat and vlan are modules behind this;
// overlays (vxlan, gpe) plug in the same way.
import type { NetworkType as NetworkTypeName, OverlayPort, PortBinding } from '../../model/keyspace.ts';
import type { VxlanConfig } from '../config.ts';
import type { BondConfig } from '../bond-config.ts';
import type { VppObject } from '../kinds/index.ts';

/** What the host offers a network type. */
export interface HostNetworking {
  /** physnet → uplink interface name. */
  physnets: ReadonlyMap<string, string>;
  /** [agent] bonds by name: a physnet whose interface is one has the bond as its uplink. */
  bonds?: ReadonlyMap<string, BondConfig>;
  /** This host's tunnel endpoint ([vxlan]); absent or null: no overlay networks here. */
  vxlan?: VxlanConfig | null;
}

/** What etcd says of an overlay network beyond this host (see OverlayState). */
export interface OverlayView {
  /** This host's name (its own ports are local, not behind a tunnel). */
  host: string;
  /** The network's ports on every host, as the controller published them. */
  ports(networkId: string): ReadonlyMap<string, OverlayPort> | undefined;
  /** A peer's VTEP while its agent is alive, else undefined. */
  vtepOf(host: string): string | undefined;
}

/** What the connected VPP can do (API message groups it has); null when not known yet. */
export type VppAbilities = ReadonlySet<string> | null;

/** A network's way in on this host, from one binding. */
export interface Segment {
  /** Identity of the segment ("vlan 100 on physnet1"): two networks can't share one on a host. */
  id: string;
  /** The interface key that joins the network's bridge; null when the type's members vary (overlays). */
  member: string | null;
  /** The physnet whose uplink the network uses (kept while any network uses it), if any. */
  physnet: string | null;
  /** The objects the network needs here besides its bridge and the member's membership. */
  objects: VppObject[];
  /** Keys a port on the network needs in place to be ready (besides the bridge and membership). */
  requires: string[];
  /** Objects every network of the type shares on this host (kept while one network needs them). */
  shared?: VppObject[];
  /** The bridge answers ARP/ND for the addresses it knows (overlays: no flooding to every host). */
  arpTerm?: boolean;
  /** Overlays: the network's VNI. */
  vni?: number;
}

export interface NetworkType {
  /** As Neutron names it (provider:network_type). */
  readonly name: NetworkTypeName;
  /** The segment a binding names on this host, or why it can't be used here. */
  segment(b: PortBinding, host: HostNetworking): Segment | { error: string };
  /**
   * Overlays: the objects that reach the network's ports on other hosts (tunnels, their bridge
   * membership, static MACs, ARP entries), from what etcd says of the network beyond this host.
   */
  overlayObjects?(
    networkId: string,
    seg: Segment,
    bd: string,
    host: HostNetworking,
    view: OverlayView,
  ): VppObject[];
  /** Whether this host can carry the type: the connected VPP's abilities and the host's configuration. */
  supported(vpp: VppAbilities, host: HostNetworking): boolean;
}
