// l2:<interface key> — an interface's membership of a bridge domain (a setting of the interface).
import { bridge_domain_dump, L2PortType, sw_interface_set_l2_bridge } from '../../vpp/binapi/index.ts';
import { need, NO_INDEX } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface L2Obj {
  kind: 'l2';
  key: string;
  iface: string;
  bd: string;
  /** Keys that must be in place before the interface joins the bridge (fail closed). */
  after: string[];
  /**
   * Split-horizon group: VPP never forwards a frame between two members of the same non-zero
   * group (overlay tunnels are in group 1: what one peer floods is not flooded to the others).
   */
  shg: number;
  /** The bridge's BVI (a router interface): VPP routes for the bridge through it. One per bridge. */
  bvi?: true;
}

export const l2Key = (ifaceKey: string): string => `l2:${ifaceKey}`;

export const l2: KindDescriptor<L2Obj> = {
  kind: 'l2',
  ownership: 'setting',
  portKeyPrefixes: ['l2:port:', 'l2:subport:', 'l2:rif:'],
  deps: (o) => [o.iface, o.bd, ...o.after],
  refs: (o) => [o.iface, o.bd],
  parentOf: (o) => o.iface,
  // Deleting an interface takes it out of its bridge.
  goesWithParent: true,
  compare: (d, a) => (a.bd === d.bd && a.shg === d.shg && !a.bvi === !d.bvi ? 'same' : 'update'),
  async create(o, ctx) {
    await ctx.vpp.request(sw_interface_set_l2_bridge, {
      rx_sw_if_index: need(ctx, o.iface),
      bd_id: need(ctx, o.bd),
      port_type: o.bvi ? L2PortType.L2_API_PORT_TYPE_BVI : L2PortType.L2_API_PORT_TYPE_NORMAL,
      shg: o.shg,
      enable: true,
    });
    ctx.actual.set({ ...o, after: [] });
  },
  update: (d, _a, ctx) => l2.create(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(sw_interface_set_l2_bridge, {
      rx_sw_if_index: need(ctx, o.iface),
      bd_id: 0,
      port_type: L2PortType.L2_API_PORT_TYPE_NORMAL,
      shg: 0,
      enable: false,
    });
  },
  readAfter: ['bd', 'uplink', 'bond', 'vlan', 'port', 'subport', 'vxlan', 'rif', 'spansink'],
  async read(src) {
    const bds = await src.dump(bridge_domain_dump, { bd_id: NO_INDEX, sw_if_index: NO_INDEX });
    return (sink) => {
      const a = sink.actual;
      for (const bd of bds) {
        const bdKey = a.keyOfHandle('bd_id', bd.bd_id);
        for (const m of bd.sw_if_details) {
          const iface = a.keyOfHandle('sw_if_index', m.sw_if_index);
          if (!iface) continue;
          // An operator's interface in someone else's bridge is the operator's business.
          if (!bdKey && a.ownershipOf(iface) === 'operator') continue;
          sink.add({
            kind: 'l2',
            key: l2Key(iface),
            iface,
            bd: bdKey ?? `bd-id:${bd.bd_id}`,
            after: [],
            shg: m.shg,
            ...(m.sw_if_index === bd.bvi_sw_if_index ? { bvi: true as const } : {}),
          } satisfies L2Obj);
        }
      }
    };
  },
};
