// The network types this agent carries. A new type is a module behind NetworkType plus a line here;
// the host advertises the types the connected VPP supports (network_types in its liveness value).
import { flat } from './flat.ts';
import { gpe } from './gpe.ts';
import type { HostNetworking, NetworkType, VppAbilities } from './types.ts';
import { vlan } from './vlan.ts';
import { vxlan } from './vxlan.ts';

export const NETWORK_TYPES: readonly NetworkType[] = [flat, vlan, vxlan, gpe];

const byName = new Map<string, NetworkType>(NETWORK_TYPES.map((t) => [t.name, t]));

export function networkType(name: string): NetworkType | undefined {
  return byName.get(name);
}

/** The names of the types this host can carry with this VPP and configuration. */
export function supportedNetworkTypes(vpp: VppAbilities, host: HostNetworking): NetworkType['name'][] {
  return NETWORK_TYPES.filter((t) => t.supported(vpp, host)).map((t) => t.name);
}

export type { HostNetworking, NetworkType, OverlayView, Segment, VppAbilities } from './types.ts';
