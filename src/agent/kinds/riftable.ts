// riftable:<port id> — a router interface's VRF (a setting of the interface): its IPv4 and IPv6
// tables are the router's. VPP refuses to move an interface that has addresses to another table, so
// addresses depend on this, and a change of router re-creates the interface.
import { sw_interface_dump, sw_interface_get_table, sw_interface_set_table } from '../../vpp/binapi/index.ts';
import { keyFromTag, need, NO_INDEX } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface RifTableObj {
  kind: 'riftable';
  key: string;
  iface: string;
  vrf: string;
}

export const riftableKey = (portId: string): string => `riftable:${portId}`;

export const riftable: KindDescriptor<RifTableObj> = {
  kind: 'riftable',
  ownership: 'setting',
  portKeyPrefixes: ['riftable:'],
  needs: ['ip'],
  deps: (o) => [o.iface, o.vrf],
  parentOf: (o) => o.iface,
  goesWithParent: true,
  compare: (d, a) => (a.vrf === d.vrf ? 'same' : 'replace'),
  async create(o, ctx) {
    for (const is_ipv6 of [false, true])
      await ctx.vpp.request(sw_interface_set_table, {
        sw_if_index: need(ctx, o.iface),
        is_ipv6,
        vrf_id: need(ctx, o.vrf),
      });
    ctx.actual.set({ ...o });
  },
  async delete(o, ctx) {
    for (const is_ipv6 of [false, true])
      await ctx.vpp.request(sw_interface_set_table, { sw_if_index: need(ctx, o.iface), is_ipv6, vrf_id: 0 });
  },
  readAfter: ['rif', 'vrf'],
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    const rifs = ifs.filter((d) => keyFromTag(d.tag)?.startsWith('rif:'));
    const tables = await Promise.all(
      rifs.map(async (d) => {
        const [v4, v6] = await Promise.all(
          [false, true].map((is_ipv6) =>
            src.request(sw_interface_get_table, { sw_if_index: d.sw_if_index, is_ipv6 }),
          ),
        );
        return { d, v4: v4.vrf_id, v6: v6.vrf_id };
      }),
    );
    return (sink) => {
      for (const { d, v4, v6 } of tables) {
        const iface = sink.actual.keyOfHandle('sw_if_index', d.sw_if_index);
        if (!iface?.startsWith('rif:') || v4 === 0) continue;
        const vrf = sink.actual.keyOfHandle('table_id', v4);
        // Both families in the router's table, or it is read as in some other table (replaced).
        sink.add({
          kind: 'riftable',
          key: riftableKey(iface.slice(4)),
          iface,
          vrf: vrf !== undefined && v6 === v4 ? vrf : `table:${v4}/${v6}`,
        } satisfies RifTableObj);
      }
    };
  },
};
