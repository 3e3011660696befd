// underlay — the VPP interface that carries this host's VXLAN tunnels ([vxlan] underlay_interface).
// The operator's: found by name, never created or deleted; the agent only sets it admin-up (its
// address is the vtepaddr kind).
import { sw_interface_dump } from '../../vpp/binapi/index.ts';
import { ADMIN_UP, NO_INDEX } from './common.ts';
import { findOperatorIface, operatorIfaceBehaviour, setOperatorUp } from './operator-iface.ts';
import type { KindDescriptor } from './types.ts';

export interface UnderlayObj {
  kind: 'underlay';
  key: string;
  /** VPP interface name from the configuration. */
  name: string;
  adminUp: boolean;
}

export const UNDERLAY_KEY = 'underlay';

export const underlay: KindDescriptor<UnderlayObj> = {
  kind: 'underlay',
  ownership: 'operator',
  handle: 'sw_if_index',
  deps: () => [],
  compare: (d, a) => (a.name === d.name && a.adminUp === d.adminUp ? 'same' : 'update'),
  create: (o, ctx) =>
    findOperatorIface(
      o,
      ctx,
      `underlay interface ${o.name} ([vxlan] underlay_interface) does not exist in VPP`,
    ),
  update: (d, _a, ctx) => setOperatorUp(d, ctx),
  delete: async () => {}, // the operator's interface
  async read(src) {
    const ifs = src.underlay === null ? [] : await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      const d = ifs.find((x) => x.interface_name === src.underlay);
      if (!d) return;
      sink.add(
        { kind: 'underlay', key: UNDERLAY_KEY, name: d.interface_name, adminUp: (d.flags & ADMIN_UP) !== 0 },
        d.sw_if_index,
      );
    };
  },
  iface: operatorIfaceBehaviour(),
};
