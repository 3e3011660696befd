// vtepaddr:<address/len> — this host's VTEP address on the underlay interface (a setting of it).
// Only this one address is netvpp's: other addresses the operator gave the interface are left alone.
import { ip_address_dump, sw_interface_add_del_address, sw_interface_dump } from '../../vpp/binapi/index.ts';
import { need, NO_INDEX } from './common.ts';
import { UNDERLAY_KEY } from './underlay.ts';
import { VppApiError } from '../../vpp/errors.ts';
import type { KindDescriptor } from './types.ts';

export interface VtepAddrObj {
  kind: 'vtepaddr';
  key: string;
  iface: string;
  /** address/prefix length. */
  prefix: string;
}

export const vtepaddrKey = (prefix: string): string => `vtepaddr:${prefix}`;

/** VNET_API_ERROR_ADDRESS_FOUND_FOR_INTERFACE: the address is there already (made since our read). */
const ADDRESS_EXISTS = -114;

export const vtepaddr: KindDescriptor<VtepAddrObj> = {
  kind: 'vtepaddr',
  ownership: 'setting',
  needs: ['ip'],
  deps: (o) => [o.iface],
  parentOf: (o) => o.iface,
  compare: () => 'same',
  async create(o, ctx) {
    try {
      await ctx.vpp.request(sw_interface_add_del_address, {
        sw_if_index: need(ctx, o.iface),
        is_add: true,
        del_all: false,
        prefix: o.prefix,
      });
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === ADDRESS_EXISTS)) throw e;
    }
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
  readAfter: ['underlay'],
  async read(src) {
    if (src.underlay === null || src.vtep === null) return () => {};
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    const d = ifs.find((x) => x.interface_name === src.underlay);
    if (!d) return () => {};
    const v6 = src.vtep.includes(':');
    const addrs = await src.dump(ip_address_dump, { sw_if_index: d.sw_if_index, is_ipv6: v6 });
    return (sink) => {
      for (const a of addrs) {
        if (a.prefix.slice(0, a.prefix.indexOf('/')) !== src.vtep) continue;
        sink.add({ kind: 'vtepaddr', key: vtepaddrKey(a.prefix), iface: UNDERLAY_KEY, prefix: a.prefix });
      }
    };
  },
};
