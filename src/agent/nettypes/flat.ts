// flat: the physnet's uplink itself joins the network's bridge (one flat network per physnet).
import { physnetOf, uplinkOf } from './physnet.ts';
import type { NetworkType } from './types.ts';

export const flat: NetworkType = {
  name: 'flat',
  segment(b, host) {
    const physnet = physnetOf(b, host);
    if (typeof physnet !== 'string') return physnet;
    const uplink = uplinkOf(physnet, host);
    return { id: `flat on ${physnet}`, member: uplink, physnet, objects: [], requires: [uplink] };
  },
  supported: () => true,
};
