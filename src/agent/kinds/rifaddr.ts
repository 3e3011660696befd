// rifaddr:<port id>:<address/len> — an address of a router interface (a setting of it), in the
// router's VRF (it depends on the table binding: VPP binds no interface with addresses to a table).
import { ip_address_dump, sw_interface_add_del_address, sw_interface_dump } from '../../vpp/binapi/index.ts';
import { keyFromTag, need, NO_INDEX } from './common.ts';
import { riftableKey } from './riftable.ts';
import type { KindDescriptor } from './types.ts';

export interface RifAddrObj {
  kind: 'rifaddr';
  key: string;
  iface: string;
  /** address/prefix length. */
  prefix: string;
}

export const rifaddrKey = (portId: string, prefix: string): string => `rifaddr:${portId}:${prefix}`;

export const rifaddr: KindDescriptor<RifAddrObj> = {
  kind: 'rifaddr',
  ownership: 'setting',
  needs: ['ip'],
  deps: (o) => [o.iface, riftableKey(o.iface.slice(4))],
  refs: (o) => [o.iface],
  parentOf: (o) => o.iface,
  goesWithParent: true,
  compare: () => 'same',
  async create(o, ctx) {
    await ctx.vpp.request(sw_interface_add_del_address, {
      sw_if_index: need(ctx, o.iface),
      is_add: true,
      del_all: false,
      prefix: o.prefix,
    });
    ctx.actual.set({ ...o });
  },
  async delete(o, ctx) {
    await ctx.vpp.request(sw_interface_add_del_address, {
      sw_if_index: need(ctx, o.iface),
      is_add: false,
      del_all: false,
      prefix: o.prefix,
    });
  },
  readAfter: ['rif'],
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    const rifs = ifs.filter((d) => keyFromTag(d.tag)?.startsWith('rif:'));
    const addrs = await Promise.all(
      rifs.flatMap((d) =>
        [false, true].map(async (is_ipv6) => ({
          d,
          list: await src.dump(ip_address_dump, { sw_if_index: d.sw_if_index, is_ipv6 }),
        })),
      ),
    );
    return (sink) => {
      for (const { d, list } of addrs) {
        const iface = sink.actual.keyOfHandle('sw_if_index', d.sw_if_index);
        if (!iface?.startsWith('rif:')) continue;
        for (const a of list)
          sink.add({
            kind: 'rifaddr',
            key: rifaddrKey(iface.slice(4), a.prefix),
            iface,
            prefix: a.prefix,
          } satisfies RifAddrObj);
      }
    };
  },
};
