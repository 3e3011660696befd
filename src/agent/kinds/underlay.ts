// underlay — the VPP interface that carries this host's VXLAN tunnels ([vxlan] underlay_interface).
// The operator's: found by name, never created or deleted; the agent only sets it admin-up (its
// address is the vtepaddr kind).
import { sw_interface_dump, sw_interface_set_flags } from '../../vpp/binapi/index.ts';
import { ADMIN_UP, need, NO_INDEX } from './common.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface UnderlayObj {
  kind: 'underlay';
  key: string;
  /** VPP interface name from the configuration. */
  name: string;
  adminUp: boolean;
}

export const UNDERLAY_KEY = 'underlay';

async function setUp(o: UnderlayObj, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.key), flags: ADMIN_UP });
  ctx.actual.set({ ...o, adminUp: true }, need(ctx, o.key));
}

export const underlay: KindDescriptor<UnderlayObj> = {
  kind: 'underlay',
  ownership: 'operator',
  handle: 'sw_if_index',
  deps: () => [],
  compare: (d, a) => (a.name === d.name && a.adminUp === d.adminUp ? 'same' : 'update'),
  async create(o, ctx) {
    const found = await ctx.vpp.dump(sw_interface_dump, {
      sw_if_index: NO_INDEX,
      name_filter_valid: true,
      name_filter: o.name,
    });
    const d = found.find((x) => x.interface_name === o.name);
    if (!d)
      throw new ObjectError(
        `underlay interface ${o.name} ([vxlan] underlay_interface) does not exist in VPP`,
      );
    const adminUp = (d.flags & ADMIN_UP) !== 0;
    ctx.actual.set({ ...o, adminUp }, d.sw_if_index);
    if (!adminUp && o.adminUp) await setUp(o, ctx);
  },
  update: (d, _a, ctx) => setUp(d, ctx),
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
  iface: {
    adminUp: (o) => o.adminUp,
    same: (o, d) => o.name === d.interface_name,
    observe(o, adminUp, actual) {
      if (o.adminUp !== adminUp) actual.set({ ...o, adminUp }, actual.handle(o.key));
      return undefined;
    },
  },
};
