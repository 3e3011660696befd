// etype:<port id> — a filtered port interface's ethertype whitelists (a setting of it): with ACLs
// applied, VPP's ACL plugin drops non-IP frames whose ethertype is not listed.
import {
  acl_interface_etype_whitelist_dump,
  acl_interface_set_etype_whitelist,
} from '../../vpp/binapi/index.ts';
import { need, NO_INDEX, portOfIface, sameList } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface EtypeObj {
  kind: 'etype';
  key: string;
  iface: string;
  /** From the VM. */
  input: number[];
  /** To the VM. */
  output: number[];
}

export const etypeKey = (portId: string): string => `etype:${portId}`;

export const etype: KindDescriptor<EtypeObj> = {
  kind: 'etype',
  ownership: 'setting',
  needs: ['acl'],
  portKeyPrefixes: ['etype:'],
  deps: (o) => [o.iface],
  parentOf: (o) => o.iface,
  compare: (d, a) => (sameList(a.input, d.input) && sameList(a.output, d.output) ? 'same' : 'update'),
  async create(o, ctx) {
    const whitelist = [...o.input, ...o.output];
    await ctx.vpp.request(acl_interface_set_etype_whitelist, {
      sw_if_index: need(ctx, o.iface),
      count: whitelist.length,
      n_input: o.input.length,
      whitelist,
    });
    ctx.actual.set({ ...o });
  },
  update: (d, _a, ctx) => etype.create(d, ctx),
  // An empty set removes both lists (VPP keeps them past the interface's deletion otherwise).
  async delete(o, ctx) {
    await ctx.vpp.request(acl_interface_set_etype_whitelist, {
      sw_if_index: need(ctx, o.iface),
      count: 0,
      n_input: 0,
      whitelist: [],
    });
  },
  readAfter: ['port', 'subport'],
  async read(src) {
    const lists = await src.dump(acl_interface_etype_whitelist_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      for (const w of lists) {
        const iface = sink.actual.keyOfHandle('sw_if_index', w.sw_if_index);
        const port = iface ? portOfIface(iface) : undefined;
        if (!iface || !port || w.count === 0) continue;
        const list = w.whitelist.slice(0, w.count);
        sink.add({
          kind: 'etype',
          key: etypeKey(port),
          iface,
          input: list.slice(0, w.n_input),
          output: list.slice(w.n_input),
        } satisfies EtypeObj);
      }
    };
  },
};
