// flat: the physnet's uplink itself joins the network's bridge (one flat network per physnet).
import { uplinkKey } from '../kinds/index.ts';
import { physnetOf } from './physnet.ts';
import type { NetworkType } from './types.ts';

export const flat: NetworkType = {
  name: 'flat',
  segment(b, host) {
    const physnet = physnetOf(b, host);
    if (typeof physnet !== 'string') return physnet;
    const uplink = uplinkKey(physnet);
    return { id: `flat on ${physnet}`, member: uplink, physnet, objects: [], requires: [uplink] };
  },
  supported: () => true,
};
