// What the two kinds made of create_vlan_subif share (vlan: a network's uplink VLAN; subport: a
// trunk sub-port on its parent): VPP's constants for them, and settling a sub-interface found or
// made untagged and with its tag rewrite not yet set.
import { l2_interface_vlan_tag_rewrite, SubIfFlags } from '../../vpp/binapi/index.ts';
import { need, tagAdopted } from './common.ts';
import type { OpContext } from './types.ts';
import type { SubportObj } from './subport.ts';
import type { VlanObj } from './vlan.ts';

/** l2_interface_vlan_tag_rewrite: pop one tag on ingress (and push it back on egress). */
export const VTR_POP_1 = 3;
/** create_vlan_subif's answers when the sub-interface exists already. */
export const SUBIF_ALREADY_EXISTS = [-56, -68];
/** What create_vlan_subif makes: one tag, exact match. */
export const VLAN_SUBIF = SubIfFlags.SUB_IF_API_FLAG_ONE_TAG | SubIfFlags.SUB_IF_API_FLAG_EXACT_MATCH;

/** Tags the sub-interface if it is untagged, then sets its tag rewrite to `o.pop`; returns the record. */
export async function tagAndPop<T extends VlanObj | SubportObj>(o: T, ctx: OpContext): Promise<T> {
  const idx = need(ctx, o.key);
  let cur = await tagAdopted(o, ctx);
  if (cur.pop !== o.pop) {
    await ctx.vpp.request(l2_interface_vlan_tag_rewrite, {
      sw_if_index: idx,
      vtr_op: o.pop ? VTR_POP_1 : 0,
      push_dot1q: 1,
    });
    ctx.actual.set((cur = { ...cur, pop: o.pop }), idx);
  }
  return cur;
}
