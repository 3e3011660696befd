// vxlan:<vni>:<remote vtep> — a VXLAN tunnel from this host's VTEP to a peer's, for one overlay
// network (one tunnel per network and peer), tagged with its key. It joins the network's bridge in
// split-horizon group 1 (its l2 membership), so what arrives from one peer is never flooded back
// into another tunnel: every host floods to every peer itself (head-end replication).
//
// VPP creates it untagged and the tag follows in a second call; a crash between the two leaves an
// untagged tunnel from our VTEP, recognised on read-back by its identity (src, dst, vni, no tag)
// and adopted, like an untagged VLAN sub-interface.
import {
  sw_interface_dump,
  sw_interface_set_flags,
  sw_interface_tag_add_del,
  vxlan_add_del_tunnel_v3,
  vxlan_tunnel_v2_dump,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { ADMIN_UP, baseKey, keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface VxlanObj {
  kind: 'vxlan';
  key: string;
  /** This host's VTEP (the tunnel's source). */
  src: string;
  /** The peer's VTEP. */
  dst: string;
  vni: number;
  /** Keys that must be in place first (the underlay address). */
  after: string[];
  adminUp: boolean;
  /** Only on an object read back from VPP: found by identity, without netvpp's tag yet. */
  untagged?: true;
}

export const vxlanKey = (vni: number, remote: string): string => `vxlan:${vni}:${remote}`;

/** vxlan_add_del_tunnel: decap into the bridge (l2-input), VPP's ~0. */
const DECAP_L2 = NO_INDEX;
/** VNET_API_ERROR_TUNNEL_EXIST: a tunnel with this (src, dst, vni, encap table) exists already. */
const TUNNEL_EXISTS = -75;

function tunnelArgs(o: VxlanObj, isAdd: boolean) {
  return {
    is_add: isAdd,
    instance: NO_INDEX,
    src_address: o.src,
    dst_address: o.dst,
    src_port: 0,
    dst_port: 0,
    mcast_sw_if_index: NO_INDEX,
    encap_vrf_id: 0,
    decap_next_index: DECAP_L2,
    vni: o.vni,
    is_l3: false,
  };
}

async function finish(o: VxlanObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.key);
  let cur = ctx.actual.get(o.key) as VxlanObj;
  if (cur.untagged) {
    await ctx.vpp.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: idx, tag: tagOf(o.key) });
    const { untagged: _, ...tagged } = cur;
    ctx.actual.set((cur = tagged), idx);
  }
  if (cur.adminUp !== o.adminUp) {
    await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: idx, flags: o.adminUp ? ADMIN_UP : 0 });
    ctx.actual.set({ ...cur, adminUp: o.adminUp }, idx);
  }
}

/** The tunnel exists already (made since our read-back): adopted when it is untagged. */
async function adopt(o: VxlanObj, ctx: OpContext): Promise<{ idx: number; adminUp: boolean }> {
  const tunnels = await ctx.vpp.dump(vxlan_tunnel_v2_dump, { sw_if_index: NO_INDEX });
  const t = tunnels.find(
    (x) => x.src_address === o.src && x.dst_address === o.dst && x.vni === o.vni && x.encap_vrf_id === 0,
  );
  if (!t)
    throw new ObjectError(`VXLAN tunnel ${o.src} → ${o.dst} VNI ${o.vni} exists but is not in the dump`);
  const [d] = await ctx.vpp.dump(sw_interface_dump, { sw_if_index: t.sw_if_index });
  if (d && d.tag !== '' && d.tag !== tagOf(o.key))
    throw new ObjectError(
      `VXLAN tunnel ${o.src} → ${o.dst} VNI ${o.vni} already exists, tagged ${JSON.stringify(d.tag)}; ` +
        `netvpp will not take it over`,
    );
  return { idx: t.sw_if_index, adminUp: d ? (d.flags & ADMIN_UP) !== 0 : false };
}

export const vxlan: KindDescriptor<VxlanObj> = {
  kind: 'vxlan',
  ownership: 'tag',
  handle: 'sw_if_index',
  needs: ['vxlan'],
  deps: (o) => o.after,
  refs: () => [],
  compare(d, a) {
    if (a.src !== d.src || a.dst !== d.dst || a.vni !== d.vni) return 'replace';
    return !a.untagged && a.adminUp === d.adminUp ? 'same' : 'update';
  },
  async create(o, ctx) {
    // VPP creates the tunnel admin-up.
    let made = { idx: 0, adminUp: true };
    try {
      made.idx = (await ctx.vpp.request(vxlan_add_del_tunnel_v3, tunnelArgs(o, true))).sw_if_index;
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === TUNNEL_EXISTS)) throw e;
      made = await adopt(o, ctx);
    }
    // Recorded before the tag: if the tag call fails, the next pass tags it (or deletes it).
    ctx.actual.set({ ...o, after: [], adminUp: made.adminUp, untagged: true }, made.idx);
    await finish(o, ctx);
  },
  update: (d, _a, ctx) => finish(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(vxlan_add_del_tunnel_v3, tunnelArgs(o, false));
  },
  async read(src) {
    const [tunnels, ifs] = await Promise.all([
      src.dump(vxlan_tunnel_v2_dump, { sw_if_index: NO_INDEX }),
      src.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    ]);
    return (sink) => {
      const byIndex = new Map(ifs.map((d) => [d.sw_if_index, d]));
      for (const t of tunnels) {
        const d = byIndex.get(t.sw_if_index);
        if (!d || t.encap_vrf_id !== 0) continue;
        const common = {
          kind: 'vxlan' as const,
          src: t.src_address,
          dst: t.dst_address,
          vni: t.vni,
          after: [],
          adminUp: (d.flags & ADMIN_UP) !== 0,
        };
        const key = keyFromTag(d.tag);
        if (key !== null && key.startsWith('vxlan:')) sink.add({ ...common, key }, t.sw_if_index);
        // Untagged, from this host's VTEP: ours by identity (a create whose tag call never came).
        else if (d.tag === '' && src.vtep !== null && t.src_address === src.vtep)
          sink.add({ ...common, key: vxlanKey(t.vni, t.dst_address), untagged: true }, t.sw_if_index);
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
