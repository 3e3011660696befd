// rif:<port id> — a router interface: a loopback with the Neutron router port's MAC and the
// network's MTU, tagged with its key, that sits in the network's bridge as its BVI (its l2
// membership) and routes for the router's VRF (its table binding and addresses).
import { delete_loopback, sw_interface_dump, sw_interface_set_mtu } from '../../vpp/binapi/index.ts';
import {
  ADMIN_UP,
  adoptOrCreateLoopback,
  baseKey,
  keyFromTag,
  need,
  NO_INDEX,
  settleAdmin,
  tagAdopted,
  tagOf,
} from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface RifObj {
  kind: 'rif';
  key: string;
  portId: string;
  mac: string;
  mtu: number;
  adminUp: boolean;
  /** Only on an object read back from VPP: created, its tag call never came. */
  untagged?: true;
}

export const rifKey = (portId: string): string => `rif:${portId}`;

async function finish(o: RifObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.key);
  let cur = await tagAdopted(o, ctx);
  if (cur.mtu !== o.mtu) {
    // The L3 MTU (index 0) is what routing checks; VPP's loopbacks carry 9000 by default.
    await ctx.vpp.request(sw_interface_set_mtu, { sw_if_index: idx, mtu: [o.mtu, 0, 0, 0] });
    ctx.actual.set((cur = { ...cur, mtu: o.mtu }), idx);
  }
  await settleAdmin(o, cur, ctx);
}

export const rif: KindDescriptor<RifObj> = {
  kind: 'rif',
  ownership: 'tag',
  handle: 'sw_if_index',
  portKeyPrefixes: ['rif:'],
  deps: () => [],
  compare(d, a) {
    if (a.mac.toLowerCase() !== d.mac.toLowerCase()) return 'replace';
    return !a.untagged && a.mtu === d.mtu && a.adminUp === d.adminUp ? 'same' : 'update';
  },
  async create(o, ctx) {
    // A crash between create and tag leaves an untagged loopback with the router port's MAC (Neutron's,
    // unique): adopted here rather than made twice. Read-back alone can't tell it from an operator's.
    const { sw_if_index, left } = await adoptOrCreateLoopback(o.mac, ctx);
    // Recorded before the tag: if the tag call fails, the next pass tags it.
    const adminUp = left ? (left.flags & ADMIN_UP) !== 0 : false;
    ctx.actual.set({ ...o, mtu: left?.mtu[0] ?? 0, adminUp, untagged: true }, sw_if_index);
    await finish(o, ctx);
  },
  update: (d, _a, ctx) => finish(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(delete_loopback, { sw_if_index: need(ctx, o.key) });
  },
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      for (const d of ifs) {
        const key = keyFromTag(d.tag);
        if (key === null || !key.startsWith('rif:') || d.sw_if_index !== d.sup_sw_if_index) continue;
        sink.add(
          {
            kind: 'rif',
            key,
            portId: key.slice(4),
            mac: d.l2_address.toLowerCase(),
            mtu: d.mtu[0],
            adminUp: (d.flags & ADMIN_UP) !== 0,
          } satisfies RifObj,
          d.sw_if_index,
        );
      }
    };
  },
  iface: {
    adminUp: (o) => o.adminUp,
    same: (o, d) => (o.untagged ? d.tag === '' : d.tag === tagOf(baseKey(o.key))),
    observe(o, adminUp, actual) {
      if (o.adminUp !== adminUp) actual.set({ ...o, adminUp }, actual.handle(o.key));
      return undefined;
    },
  },
};
