// subport:<sub-port id> — a trunk sub-port's interface: the exact-match 802.1Q sub-interface
// <parent>.<vlan> of its parent port's VPP interface (create_vlan_subif), tagged with its key, the
// tag popped on ingress and pushed on egress (l2_interface_vlan_tag_rewrite pop 1) so the sub-port's
// network bridge sees untagged frames. Everything else of the sub-port (bridge membership, security
// groups, anti-spoofing, ethertypes, admin-up) is made as for any port, on this interface.
//
// VPP picks the sub-interface of a tagged frame by its tags: one tag equal to <vlan> (exactly one:
// exact match) selects this one; any other tagged frame falls to the parent's VLAN-tag guard (the
// default sub-interface, tagdrop.ts), admin-down, and is dropped. VPP deletes it with its parent.
//
// create_vlan_subif makes it untagged and the tag follows: after a crash between the two, the create
// finds the untagged exact-match sub-interface <parent>.<vlan> of a netvpp port (an identity only
// netvpp gives one) and adopts it.
import { create_vlan_subif, delete_subif, SubIfFlags, sw_interface_dump } from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { baseKey, keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import { upKey } from './up.ts';
import { SUBIF_ALREADY_EXISTS, tagAndPop, VLAN_SUBIF, VTR_POP_1 } from './vlan-subif.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface SubportObj {
  kind: 'subport';
  key: string;
  /** The sub-port's Neutron port id. */
  portId: string;
  /** The parent port's interface key (`port:<parent id>`). */
  parent: string;
  vlan: number;
  /** Tag popped on ingress, pushed on egress: always true when desired. */
  pop: boolean;
  /** Only on an object found on create: without netvpp's tag yet. */
  untagged?: true;
}

export const SUBPORT_PREFIX = 'subport:';
export const subportKey = (portId: string): string => `${SUBPORT_PREFIX}${portId}`;

function isVlanSubif(d: {
  sub_outer_vlan_id: number;
  sub_number_of_tags: number;
  sub_if_flags: number;
}): boolean {
  return d.sub_number_of_tags === 1 && (d.sub_if_flags & SubIfFlags.SUB_IF_API_FLAG_MASK_VNET) === VLAN_SUBIF;
}

async function settle(o: SubportObj, ctx: OpContext): Promise<void> {
  await tagAndPop(o, ctx);
}

/** The sub-interface exists already: adopted when it is netvpp's by identity (untagged, exact match). */
async function adopt(o: SubportObj, parent: number, ctx: OpContext): Promise<number> {
  const ifs = await ctx.vpp.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
  const d = ifs.find((x) => x.sup_sw_if_index === parent && x.sw_if_index !== parent && x.sub_id === o.vlan);
  if (d && d.tag === '' && isVlanSubif(d) && d.sub_outer_vlan_id === o.vlan) return d.sw_if_index;
  const what = !d
    ? 'is not in the dump'
    : d.tag !== ''
      ? `belongs to ${JSON.stringify(d.tag)} (another sub-port of the trunk with VLAN ${o.vlan}?)`
      : 'is not an exact-match dot1q sub-interface';
  throw new ObjectError(`VLAN ${o.vlan} sub-interface of ${o.parent} already exists and ${what}`);
}

export const subport: KindDescriptor<SubportObj> = {
  kind: 'subport',
  ownership: 'tag',
  handle: 'sw_if_index',
  portKeyPrefixes: [SUBPORT_PREFIX],
  deps: (o) => [o.parent],
  parentOf: (o) => o.parent,
  // VPP deletes an interface's sub-interfaces with it.
  goesWithParent: true,
  compare(d, a) {
    if (a.parent !== d.parent || a.vlan !== d.vlan || a.portId !== d.portId) return 'replace';
    return !a.untagged && a.pop === d.pop ? 'same' : 'update';
  },
  async create(o, ctx) {
    const parent = need(ctx, o.parent);
    let idx: number;
    try {
      idx = (await ctx.vpp.request(create_vlan_subif, { sw_if_index: parent, vlan_id: o.vlan })).sw_if_index;
    } catch (e) {
      if (!(e instanceof VppApiError && SUBIF_ALREADY_EXISTS.includes(e.retval))) throw e;
      idx = await adopt(o, parent, ctx);
    }
    // Recorded before the tag: if the tag call fails, the next pass tags it (or deletes it).
    ctx.actual.set({ ...o, pop: false, untagged: true }, idx);
    await settle(o, ctx);
  },
  update: (d, _a, ctx) => settle(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(delete_subif, { sw_if_index: need(ctx, o.key) });
  },
  readAfter: ['port'],
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      for (const d of ifs) {
        if (d.sw_if_index === d.sup_sw_if_index) continue;
        const key = keyFromTag(d.tag);
        if (key === null || !key.startsWith(SUBPORT_PREFIX)) continue;
        const parent = sink.actual.keyOfHandle('sw_if_index', d.sup_sw_if_index);
        sink.add(
          {
            kind: 'subport',
            key,
            portId: baseKey(key).slice(SUBPORT_PREFIX.length),
            parent: parent ?? `ifindex:${d.sup_sw_if_index}`,
            vlan: isVlanSubif(d) ? d.sub_outer_vlan_id : -1,
            pop: d.vtr_op === VTR_POP_1,
          } satisfies SubportObj,
          d.sw_if_index,
        );
      }
    };
  },
  iface: {
    adminUp: (o, actual) => actual.get(upKey(o.key)) !== undefined,
    same: (o, d) => (o.untagged ? d.tag === '' : d.tag === tagOf(baseKey(o.key))),
    observe(o, adminUp, actual) {
      const k = upKey(o.key);
      if (adminUp && !actual.get(k)) actual.set({ kind: 'up', key: k, iface: o.key, after: [] });
      if (!adminUp && actual.get(k)) {
        actual.remove(k);
        return `sub-port interface ${o.key} was set down outside netvpp; setting it up again`;
      }
      return undefined;
    },
  },
};
