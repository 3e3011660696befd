// vlan: a VLAN sub-interface of the physnet's uplink, its tag popped, joins the network's bridge.
import { vlanKey } from '../kinds/index.ts';
import { physnetOf, uplinkOf } from './physnet.ts';
import type { NetworkType } from './types.ts';

export const vlan: NetworkType = {
  name: 'vlan',
  segment(b, host) {
    const physnet = physnetOf(b, host);
    if (typeof physnet !== 'string') return physnet;
    const id = b.segmentation_id;
    if (id === null || !Number.isInteger(id) || id < 1 || id > 4094)
      return { error: `VLAN network ${b.network_id} has no valid VLAN id (got ${String(id)})` };
    const uplink = uplinkOf(physnet, host);
    const member = vlanKey(physnet, id);
    return {
      id: `vlan ${id} on ${physnet}`,
      member,
      physnet,
      objects: [{ kind: 'vlan', key: member, uplink, vlan: id, pop: true, adminUp: true }],
      requires: [uplink, member],
    };
  },
  supported: () => true,
};
