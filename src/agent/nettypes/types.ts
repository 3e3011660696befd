// What a network type is to the agent: how a binding's segment is checked and reached on this host,
// and which VPP objects a network of the type needs here. flat and vlan are modules behind this;
// overlays (vxlan, gpe) plug in the same way.
import type { NetworkType as NetworkTypeName, PortBinding } from '../../model/keyspace.ts';
import type { VppObject } from '../kinds/index.ts';

/** What the host offers a network type. */
export interface HostNetworking {
  /** physnet → uplink interface name. */
  physnets: ReadonlyMap<string, string>;
}

/** What the connected VPP can do (API message groups it has); null when not known yet. */
export type VppAbilities = ReadonlySet<string> | null;

/** A network's way in on this host, from one binding. */
export interface Segment {
  /** Identity of the segment ("vlan 100 on physnet1"): two networks can't share one on a host. */
  id: string;
  /** The interface key that joins the network's bridge. */
  member: string;
  /** The physnet whose uplink the network uses (kept while any network uses it), if any. */
  physnet: string | null;
  /** The objects the network needs here besides its bridge and the member's membership. */
  objects: VppObject[];
  /** Keys a port on the network needs in place to be ready (besides the bridge and membership). */
  requires: string[];
}

export interface NetworkType {
  /** As Neutron names it (provider:network_type). */
  readonly name: NetworkTypeName;
  /** The segment a binding names on this host, or why it can't be used here. */
  segment(b: PortBinding, host: HostNetworking): Segment | { error: string };
  /** etcd keys the agent must watch for networks of this type (overlay peers...); none for L2 types. */
  watches?(b: PortBinding): string[];
  /** Whether this VPP can carry the type. */
  supported(vpp: VppAbilities): boolean;
}
