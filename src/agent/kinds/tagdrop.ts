// tagdrop:<port id> — the guard that stops a port sending 802.1Q/802.1ad-tagged frames into its
// network (VLAN hopping). VPP hands a tagged frame that matches no sub-interface to the L2-mode main
// interface with its tag still on, so a guest could reach any VLAN of the uplink. A "default"
// sub-interface (SUB_IF_API_FLAG_DEFAULT) of the port catches every frame with one, two or more tags
// of either ethertype, and left admin-down it drops them in ethernet-input ("subinterface down"),
// before learning or any ACL. Untagged frames are unaffected. VPP deletes it with its port interface.
//
// Limit (VPP 26.06): on vhost-user and tap, a single tag with VLAN id 0 (priority tag) skips the
// sub-interface lookup and reaches the bridge; it cannot select a VLAN (docs/agent.md).
//
// create_subif leaves it untagged and the tag follows: after a crash between the two, read-back
// recognises it by identity (the only default sub-interface of a netvpp port interface) and adopts
// it. There is never a second one: VPP refuses it and, in refusing, disables the first.
import { create_subif, delete_subif, SubIfFlags, sw_interface_dump } from '../../vpp/binapi/index.ts';
import {
  ADMIN_UP,
  baseKey,
  keyFromTag,
  need,
  NO_INDEX,
  portOfIface,
  settleAdmin,
  tagAdopted,
  tagOf,
} from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface TagDropObj {
  kind: 'tagdrop';
  key: string;
  /** The port interface it guards. */
  iface: string;
  /** Always false when desired; read back as VPP has it (someone setting it up opens the hole). */
  adminUp: boolean;
  /** Only on an object read back from VPP: found by identity, without netvpp's tag yet. */
  untagged?: true;
}

export const tagdropKey = (portId: string): string => `tagdrop:${portId}`;

/** Its sub id (any u32 VPP accepts; shown in its name, e.g. VirtualEthernet0/0/3.4095). */
export const TAGDROP_SUB_ID = 4095;
const DEFAULT_SUB = SubIfFlags.SUB_IF_API_FLAG_DEFAULT;

async function settle(o: TagDropObj, ctx: OpContext): Promise<void> {
  const cur = await tagAdopted(o, ctx);
  await settleAdmin(o, cur, ctx);
}

export const tagdrop: KindDescriptor<TagDropObj> = {
  kind: 'tagdrop',
  ownership: 'tag',
  handle: 'sw_if_index',
  portKeyPrefixes: ['tagdrop:'],
  deps: (o) => [o.iface],
  parentOf: (o) => o.iface,
  // VPP deletes an interface's sub-interfaces with it.
  goesWithParent: true,
  compare: (d, a) =>
    a.iface !== d.iface ? 'replace' : !a.untagged && a.adminUp === d.adminUp ? 'same' : 'update',
  async create(o, ctx) {
    const r = await ctx.vpp.request(create_subif, {
      sw_if_index: need(ctx, o.iface),
      sub_id: TAGDROP_SUB_ID,
      sub_if_flags: DEFAULT_SUB,
      outer_vlan_id: 0,
      inner_vlan_id: 0,
    });
    ctx.actual.set({ ...o, adminUp: false, untagged: true }, r.sw_if_index);
    await settle(o, ctx);
  },
  update: (d, _a, ctx) => settle(d, ctx),
  async delete(o, ctx) {
    // delete_subif: the port's own delete call, given this index, would delete the port.
    await ctx.vpp.request(delete_subif, { sw_if_index: need(ctx, o.key) });
  },
  readAfter: ['port'],
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      for (const d of ifs) {
        if (d.sw_if_index === d.sup_sw_if_index) continue;
        if ((d.sub_if_flags & SubIfFlags.SUB_IF_API_FLAG_MASK_VNET) !== DEFAULT_SUB) continue;
        const iface = sink.actual.keyOfHandle('sw_if_index', d.sup_sw_if_index);
        // Only a port's own interface has one (never a trunk sub-port's sub-interface).
        const portId = iface?.startsWith('port:') ? portOfIface(iface) : undefined;
        if (iface === undefined || portId === undefined) continue;
        const key = tagdropKey(portId);
        const tagged = keyFromTag(d.tag);
        if (tagged !== null && tagged !== key) continue;
        if (tagged === null && d.tag !== '') continue;
        sink.add(
          {
            kind: 'tagdrop',
            key,
            iface,
            adminUp: (d.flags & ADMIN_UP) !== 0,
            ...(d.tag === '' ? { untagged: true as const } : {}),
          } satisfies TagDropObj,
          d.sw_if_index,
        );
      }
    };
  },
  iface: {
    adminUp: (o) => o.adminUp,
    same: (o, d) => (o.untagged ? d.tag === '' : d.tag === tagOf(baseKey(o.key))),
    observe(o, adminUp, actual) {
      if (o.adminUp === adminUp) return undefined;
      actual.set({ ...o, adminUp }, actual.handle(o.key));
      return adminUp
        ? `the VLAN-tag guard ${o.key} was set up outside netvpp; setting it down again`
        : undefined;
    },
  },
};
