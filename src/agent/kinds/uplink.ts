// uplink:<physnet> — the VPP interface the operator configured for a physnet (`physnets` option).
// Found by name, never created or deleted; the agent only sets it admin-up.
import { sw_interface_dump } from '../../vpp/binapi/index.ts';
import { ADMIN_UP, NO_INDEX } from './common.ts';
import { findOperatorIface, operatorIfaceBehaviour, setOperatorUp } from './operator-iface.ts';
import type { KindDescriptor } from './types.ts';

export interface UplinkObj {
  kind: 'uplink';
  key: string;
  physnet: string;
  /** VPP interface name from the physnets map. */
  name: string;
  adminUp: boolean;
}

export const uplinkKey = (physnet: string): string => `uplink:${physnet}`;

export const uplink: KindDescriptor<UplinkObj> = {
  kind: 'uplink',
  ownership: 'operator',
  handle: 'sw_if_index',
  deps: () => [],
  compare: (d, a) => (a.adminUp === d.adminUp ? 'same' : 'update'),
  create: (o, ctx) =>
    findOperatorIface(o, ctx, `uplink interface ${o.name} of physnet ${o.physnet} does not exist in VPP`),
  update: (d, _a, ctx) => setOperatorUp(d, ctx),
  delete: async () => {}, // the operator's interface
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      const physnetOf = new Map<string, string>();
      for (const [physnet, name] of src.physnets) physnetOf.set(name, physnet);
      for (const d of ifs) {
        const physnet = physnetOf.get(d.interface_name);
        if (physnet === undefined) continue;
        sink.add(
          {
            kind: 'uplink',
            key: uplinkKey(physnet),
            physnet,
            name: d.interface_name,
            adminUp: (d.flags & ADMIN_UP) !== 0,
          } satisfies UplinkObj,
          d.sw_if_index,
        );
      }
    };
  },
  iface: operatorIfaceBehaviour(),
};
