// l2fib:<network id>:<mac> — a static L2 FIB entry: a port on another host, reached through the
// VXLAN tunnel to that host (a setting of the tunnel). Static, so learning never moves it and
// traffic to a known port is never flooded to every peer.
import { l2_fib_table_dump, l2fib_add_del } from '../../vpp/binapi/index.ts';
import { need, NO_INDEX } from './common.ts';
import { l2Key } from './l2.ts';
import type { KindDescriptor } from './types.ts';

export interface L2FibObj {
  kind: 'l2fib';
  key: string;
  bd: string;
  mac: string;
  /** The interface key the MAC is behind (a VXLAN tunnel). */
  iface: string;
}

export const l2fibKey = (networkId: string, mac: string): string => `l2fib:${networkId}:${mac}`;

export const l2fib: KindDescriptor<L2FibObj> = {
  kind: 'l2fib',
  ownership: 'setting',
  // VPP takes a static MAC only for an interface in a bridge (else INVALID_SW_IF_INDEX).
  deps: (o) => [o.bd, o.iface, l2Key(o.iface)],
  refs: (o) => [o.bd, o.iface],
  parentOf: (o) => o.iface,
  compare: (d, a) => (a.bd !== d.bd ? 'replace' : a.iface === d.iface ? 'same' : 'update'),
  async create(o, ctx) {
    // An add replaces the entry VPP has for the MAC in that bridge (learned or static).
    await ctx.vpp.request(l2fib_add_del, {
      mac: o.mac,
      bd_id: need(ctx, o.bd),
      sw_if_index: need(ctx, o.iface),
      is_add: true,
      static_mac: true,
      filter_mac: false,
      bvi_mac: false,
    });
    ctx.actual.set({ ...o });
  },
  update: (d, _a, ctx) => l2fib.create(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(l2fib_add_del, {
      mac: o.mac,
      bd_id: need(ctx, o.bd),
      sw_if_index: need(ctx, o.iface),
      is_add: false,
      static_mac: true,
      filter_mac: false,
      bvi_mac: false,
    });
  },
  readAfter: ['bd', 'vxlan'],
  async read(src) {
    const entries = await src.dump(l2_fib_table_dump, { bd_id: NO_INDEX });
    return (sink) => {
      const a = sink.actual;
      for (const e of entries) {
        if (!e.static_mac || e.filter_mac || e.bvi_mac) continue;
        const bd = a.keyOfHandle('bd_id', e.bd_id);
        const iface = a.keyOfHandle('sw_if_index', e.sw_if_index);
        // Only static entries netvpp makes: in its bridges, behind its tunnels.
        if (!bd?.startsWith('bd:') || !iface?.startsWith('vxlan:')) continue;
        sink.add({
          kind: 'l2fib',
          key: l2fibKey(bd.slice(3), e.mac),
          bd,
          mac: e.mac,
          iface,
        } satisfies L2FibObj);
      }
    };
  },
};
