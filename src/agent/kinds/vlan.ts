// vlan:<physnet>:<vlan> — a VLAN sub-interface of a physnet's uplink, tagged with its key, with the
// tag popped on ingress (pushed on egress) so the network's bridge sees untagged frames.
//
// VPP creates it untagged (create_vlan_subif) and the tag follows in a second call. A crash or a
// timed-out reply between the two leaves an untagged sub-interface; it is recognised on read-back by
// an identity only netvpp gives one — the exact-match dot1q sub-interface <uplink>.<vlan> of a
// configured uplink — and adopted (tagged) or deleted like any of netvpp's objects.
import {
  create_vlan_subif,
  delete_subif,
  SubIfFlags,
  sw_interface_dump,
  sw_interface_set_flags,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { ADMIN_UP, baseKey, keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import { uplinkKey } from './uplink.ts';
import { SUBIF_ALREADY_EXISTS, tagAndPop, VLAN_SUBIF, VTR_POP_1 } from './vlan-subif.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface VlanObj {
  kind: 'vlan';
  key: string;
  uplink: string;
  vlan: number;
  /** Pop the VLAN tag on ingress (push on egress), so the bridge sees untagged frames. */
  pop: boolean;
  adminUp: boolean;
  /** Only on an object read back from VPP: found by identity, without netvpp's tag yet. */
  untagged?: true;
}

export const vlanKey = (physnet: string, vlan: number): string => `vlan:${physnet}:${vlan}`;

async function update(o: VlanObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.key);
  const cur = await tagAndPop(o, ctx);
  if (cur.adminUp !== o.adminUp) {
    await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: idx, flags: o.adminUp ? ADMIN_UP : 0 });
    ctx.actual.set({ ...cur, adminUp: o.adminUp }, idx);
  }
}

/** Whether a sub-interface is what create_vlan_subif makes for `vlan` (netvpp's identity for it). */
function isVlanSubif(d: {
  sub_id: number;
  sub_outer_vlan_id: number;
  sub_number_of_tags: number;
  sub_if_flags: number;
}): boolean {
  return (
    d.sub_id === d.sub_outer_vlan_id &&
    d.sub_number_of_tags === 1 &&
    (d.sub_if_flags & SubIfFlags.SUB_IF_API_FLAG_MASK_VNET) === VLAN_SUBIF
  );
}

/** The sub-interface exists already (made since our read-back): adopted when it is netvpp's by identity. */
async function adopt(o: VlanObj, parent: number, ctx: OpContext): Promise<number> {
  const subs = await ctx.vpp.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
  const d = subs.find((x) => x.sup_sw_if_index === parent && x.sw_if_index !== parent && x.sub_id === o.vlan);
  if (d && d.tag === '' && isVlanSubif(d) && d.sub_outer_vlan_id === o.vlan) return d.sw_if_index;
  const what = !d
    ? 'is not in the dump'
    : d.tag !== ''
      ? `is tagged ${JSON.stringify(d.tag)}`
      : 'is not an exact-match dot1q sub-interface';
  throw new ObjectError(
    `VLAN ${o.vlan} sub-interface of ${o.uplink} already exists and ${what}; netvpp will not take it over ` +
      `(delete it, or tag it "${tagOf(o.key)}")`,
  );
}

/** The physnet whose uplink `key` is (`uplink:<physnet>`, or a bond a physnet names), if any. */
function physnetOfUplink(key: string, physnets: ReadonlyMap<string, string>): string | undefined {
  if (key.startsWith('uplink:')) {
    const physnet = key.slice('uplink:'.length);
    return key === uplinkKey(physnet) ? physnet : undefined;
  }
  if (!key.startsWith('bond:')) return undefined;
  const name = key.slice('bond:'.length);
  return [...physnets].find(([, ifname]) => ifname === name)?.[0];
}

export const vlan: KindDescriptor<VlanObj> = {
  kind: 'vlan',
  ownership: 'tag',
  handle: 'sw_if_index',
  deps: (o) => [o.uplink],
  compare(d, a) {
    if (a.uplink !== d.uplink || a.vlan !== d.vlan) return 'replace';
    return !a.untagged && a.pop === d.pop && a.adminUp === d.adminUp ? 'same' : 'update';
  },
  async create(o, ctx) {
    const parent = need(ctx, o.uplink);
    let idx: number;
    try {
      idx = (await ctx.vpp.request(create_vlan_subif, { sw_if_index: parent, vlan_id: o.vlan })).sw_if_index;
    } catch (e) {
      if (!(e instanceof VppApiError && SUBIF_ALREADY_EXISTS.includes(e.retval))) throw e;
      idx = await adopt(o, parent, ctx);
    }
    // Recorded before the tag: if the tag call fails, the next pass tags it (or deletes it).
    ctx.actual.set({ ...o, pop: false, adminUp: false, untagged: true }, idx);
    await update(o, ctx);
  },
  update: (d, _a, ctx) => update(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(delete_subif, { sw_if_index: need(ctx, o.key) });
  },
  readAfter: ['uplink', 'bond'],
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      const a = sink.actual;
      for (const d of ifs) {
        if (d.sw_if_index === d.sup_sw_if_index) continue;
        const key = keyFromTag(d.tag);
        const parent = a.keyOfHandle('sw_if_index', d.sup_sw_if_index);
        const common = {
          kind: 'vlan' as const,
          uplink: parent ?? `ifindex:${d.sup_sw_if_index}`,
          vlan: d.sub_outer_vlan_id,
          pop: d.vtr_op === VTR_POP_1,
          adminUp: (d.flags & ADMIN_UP) !== 0,
        };
        if (key !== null && /^vlan:[^:]+:\d+$/.test(key)) {
          sink.add({ ...common, key }, d.sw_if_index);
          continue;
        }
        // Untagged: netvpp's by identity (the sub-interface create_vlan_subif makes on an uplink, or
        // on a bond a physnet names).
        const physnet = parent === undefined ? undefined : physnetOfUplink(parent, src.physnets);
        if (d.tag === '' && physnet !== undefined && isVlanSubif(d)) {
          sink.add({ ...common, key: vlanKey(physnet, d.sub_outer_vlan_id), untagged: true }, d.sw_if_index);
        }
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
