// The physnet check flat and VLAN networks share.
import type { PortBinding } from '../../model/keyspace.ts';
import { bondKey, uplinkKey } from '../kinds/index.ts';
import type { HostNetworking } from './types.ts';

/** The key of a physnet's uplink: the bond the agent makes when [agent] bonds names it, else `uplink:`. */
export function uplinkOf(physnet: string, host: HostNetworking): string {
  const name = host.physnets.get(physnet);
  return name !== undefined && host.bonds?.has(name) ? bondKey(name) : uplinkKey(physnet);
}

/** The binding's physnet when this host carries it, else why not. */
export function physnetOf(b: PortBinding, host: HostNetworking): string | { error: string } {
  const physnet = b.physnet ?? '';
  if (!host.physnets.has(physnet)) {
    const known = [...host.physnets.keys()].join(', ') || 'none';
    return { error: `physnet ${physnet} is not configured on this host (physnets: ${known})` };
  }
  return physnet;
}
