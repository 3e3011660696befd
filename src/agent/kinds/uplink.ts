// uplink:<physnet> — the VPP interface the operator configured for a physnet (`physnets` option).
// Found by name, never created or deleted; the agent only sets it admin-up.
import { sw_interface_dump, sw_interface_set_flags } from '../../vpp/binapi/index.ts';
import { ADMIN_UP, need, NO_INDEX } from './common.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface UplinkObj {
  kind: 'uplink';
  key: string;
  physnet: string;
  /** VPP interface name from the physnets map. */
  name: string;
  adminUp: boolean;
}

export const uplinkKey = (physnet: string): string => `uplink:${physnet}`;

async function setUp(o: UplinkObj, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.key), flags: ADMIN_UP });
  ctx.actual.set({ ...o, adminUp: true }, need(ctx, o.key));
}

export const uplink: KindDescriptor<UplinkObj> = {
  kind: 'uplink',
  ownership: 'operator',
  handle: 'sw_if_index',
  deps: () => [],
  compare: (d, a) => (a.adminUp === d.adminUp ? 'same' : 'update'),
  // It may appear after the agent started: looked up by name, then set up.
  async create(o, ctx) {
    const found = await ctx.vpp.dump(sw_interface_dump, {
      sw_if_index: NO_INDEX,
      name_filter_valid: true,
      name_filter: o.name,
    });
    const d = found.find((x) => x.interface_name === o.name);
    if (!d) throw new ObjectError(`uplink interface ${o.name} of physnet ${o.physnet} does not exist in VPP`);
    const adminUp = (d.flags & ADMIN_UP) !== 0;
    ctx.actual.set({ ...o, adminUp }, d.sw_if_index);
    if (!adminUp && o.adminUp) await setUp(o, ctx);
  },
  update: (d, _a, ctx) => setUp(d, ctx),
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
  iface: {
    adminUp: (o) => o.adminUp,
    same: (o, d) => o.name === d.interface_name,
    observe(o, adminUp, actual) {
      if (o.adminUp !== adminUp) actual.set({ ...o, adminUp }, actual.handle(o.key));
      return undefined;
    },
  },
};
