// natout (`natout:<interface key>`): NAT44-ED's output feature on a router's gateway interface —
// the one NAT setting a router's interfaces get (docs/l3.md, "NAT44-ED design").
//
// Why the output feature and not inside/outside features: with inside features on the tenant
// interfaces, NAT44-ED's in2out decides per packet whether to translate (nat44_ed_not_translate),
// and it translates a packet whose destination resolves through an outside interface in *any*
// FIB that has one (is_destination_resolvable walks every outside FIB). Every router's VRF has an
// outside interface (its gateway) and a default route through it, so router B's VRF made router
// A's tenant-to-tenant flows and flows to its extra routes' tenant next hops translated (seen with
// packets: the ECMP next hops' replies then came back to the SNAT address from an inside interface
// and were dropped). The output feature translates in ip4-output of the gateway interface only
// (nat44-ed-in2out-output) and out2in on its input: only what really leaves or enters through the
// gateway, whatever the other routers' FIBs hold.
//
// VPP keeps output-feature interfaces in a pool of their own (nat44_ed_output_interface_get lists
// it); an interface can't be in both (-81), NAT must be on (-126), deleting one absent is -6.
// NAT takes the interface's FIB when the feature is added: after the interface's table binding.
// VPP drops the setting with the interface.
import { nat44_ed_add_del_output_interface, nat44_ed_output_interface_get } from '../../vpp/binapi/index.ts';
import { need } from './common.ts';
import { NAT_KEY } from './nat.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface NatOutObj {
  kind: 'natout';
  key: string;
  iface: string;
  /** Keys that must be in place first: the interface's VRF binding. */
  after: string[];
}

export const natoutKey = (ifaceKey: string): string => `natout:${ifaceKey}`;

async function feature(o: NatOutObj, isAdd: boolean, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(nat44_ed_add_del_output_interface, {
    is_add: isAdd,
    sw_if_index: need(ctx, o.iface),
  });
}

export const natout: KindDescriptor<NatOutObj> = {
  kind: 'natout',
  ownership: 'setting',
  needs: ['nat'],
  deps: (o) => [o.iface, NAT_KEY, ...o.after],
  refs: (o) => [o.iface, NAT_KEY],
  parentOf: (o) => o.iface,
  goesWithParent: true,
  compare: () => 'same',
  async create(o, ctx) {
    await feature(o, true, ctx);
    ctx.actual.set({ ...o, after: [] });
  },
  delete: (o, ctx) => feature(o, false, ctx),
  readAfter: ['rif', 'natenable'],
  async read(src) {
    const rows = await src.dump(nat44_ed_output_interface_get, { cursor: 0 });
    return (sink) => {
      for (const r of rows) {
        const iface = sink.actual.keyOfHandle('sw_if_index', r.sw_if_index);
        if (iface === undefined || !iface.startsWith('rif:')) continue;
        sink.add({ kind: 'natout', key: natoutKey(iface), iface, after: [] } satisfies NatOutObj);
      }
    };
  },
};
