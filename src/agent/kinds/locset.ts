// locset:netvpp — the LISP locator set every local EID of netvpp's names: one locator, the underlay
// interface (GPE takes the tunnels' source address from it). Untaggable; netvpp's by its name.
// Adding a set whose name exists replaces its locators, so create and update are the same call.
import { one_add_del_locator_set, one_locator_dump } from '../../vpp/binapi/index.ts';
import { need } from './common.ts';
import { LISP_KEY, LOCSET_NAME, readLisp } from './lisp.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface LocsetObj {
  kind: 'locset';
  key: string;
  /** The interface key of its one locator ('' when VPP's is not one netvpp knows). */
  iface: string;
}

export const LOCSET_KEY = `locset:${LOCSET_NAME}`;

async function put(o: LocsetObj, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(one_add_del_locator_set, {
    is_add: true,
    locator_set_name: LOCSET_NAME,
    locator_num: 1,
    locators: [{ sw_if_index: need(ctx, o.iface), priority: 1, weight: 1 }],
  });
  ctx.actual.set({ ...o });
}

export const locset: KindDescriptor<LocsetObj> = {
  kind: 'locset',
  ownership: 'identity',
  needs: ['lisp'],
  deps: (o) => [LISP_KEY, o.iface],
  compare: (d, a) => (a.iface === d.iface ? 'same' : 'update'),
  create: put,
  update: (d, _a, ctx) => put(d, ctx),
  async delete(_o, ctx) {
    await ctx.vpp.request(one_add_del_locator_set, {
      is_add: false,
      locator_set_name: LOCSET_NAME,
      locator_num: 0,
      locators: [],
    });
  },
  readAfter: ['underlay', 'uplink'],
  async read(src) {
    const { setIndex } = await readLisp(src);
    if (setIndex === null) return () => {};
    const locs = await src.dump(one_locator_dump, { ls_name: LOCSET_NAME, is_index_set: false });
    return (sink) => {
      const [l, ...more] = locs;
      const iface =
        l && more.length === 0 ? sink.actual.keyOfHandle('sw_if_index', l.sw_if_index) : undefined;
      sink.add({ kind: 'locset', key: LOCSET_KEY, iface: iface ?? '' });
    };
  },
};
