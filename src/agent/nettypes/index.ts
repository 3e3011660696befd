// The network types this agent carries. A new type is a module behind NetworkType plus a line here;
// the host advertises the types the connected VPP supports (network_types in its liveness value).
import { flat } from './flat.ts';
import type { NetworkType, VppAbilities } from './types.ts';
import { vlan } from './vlan.ts';

export const NETWORK_TYPES: readonly NetworkType[] = [flat, vlan];

const byName = new Map<string, NetworkType>(NETWORK_TYPES.map((t) => [t.name, t]));

export function networkType(name: string): NetworkType | undefined {
  return byName.get(name);
}

/** The names of the types this host can carry with this VPP. */
export function supportedNetworkTypes(vpp: VppAbilities): NetworkType['name'][] {
  return NETWORK_TYPES.filter((t) => t.supported(vpp)).map((t) => t.name);
}

export type { HostNetworking, NetworkType, Segment, VppAbilities } from './types.ts';
