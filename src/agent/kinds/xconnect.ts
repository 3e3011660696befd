// xconnect:<rx interface key> — an L2 cross-connect (a setting of the rx interface): everything the
// rx interface receives is sent out of `tx`, one way, through L2 output (tx's L2 output features
// apply). Remote SPAN's service end: the tap service's VXLAN tunnel from the source's host is
// cross-connected into the service port's sink (kinds/spansink.ts, docs/taas.md), never into the
// service port itself, whose security group would filter the copies there. VPP puts rx back in L3
// mode when it is removed, and forgets it along with the rx interface.
import { l2_xconnect_dump, sw_interface_set_l2_xconnect } from '../../vpp/binapi/index.ts';
import { need } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface XconnectObj {
  kind: 'xconnect';
  key: string;
  /** Interface keys. */
  rx: string;
  tx: string;
}

export const xconnectKey = (rx: string): string => `xconnect:${rx}`;

export const xconnect: KindDescriptor<XconnectObj> = {
  kind: 'xconnect',
  ownership: 'setting',
  deps: (o) => [o.rx, o.tx],
  parentOf: (o) => o.rx,
  goesWithParent: true,
  compare: (d, a) => (a.rx === d.rx && a.tx === d.tx ? 'same' : 'update'),
  async create(o, ctx) {
    await ctx.vpp.request(sw_interface_set_l2_xconnect, {
      rx_sw_if_index: need(ctx, o.rx),
      tx_sw_if_index: need(ctx, o.tx),
      enable: true,
    });
    ctx.actual.set({ ...o });
  },
  update: (d, _a, ctx) => xconnect.create(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(sw_interface_set_l2_xconnect, {
      rx_sw_if_index: need(ctx, o.rx),
      tx_sw_if_index: 0,
      enable: false,
    });
  },
  readAfter: ['port', 'vxlan', 'spansink'],
  async read(src) {
    const entries = await src.dump(l2_xconnect_dump, {});
    return (sink) => {
      for (const e of entries) {
        const rx = sink.actual.keyOfHandle('sw_if_index', e.rx_sw_if_index);
        const tx = sink.actual.keyOfHandle('sw_if_index', e.tx_sw_if_index);
        // Only between two of netvpp's interfaces: an operator's cross-connect is left alone.
        if (!rx || !tx) continue;
        sink.add({ kind: 'xconnect', key: xconnectKey(rx), rx, tx });
      }
    };
  },
};
