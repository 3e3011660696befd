// eidmap:<network id> — the LISP EID table of a gpe network's VNI mapped to its bridge domain. VPP
// then puts a GPE interface (l2_lisp_gpe<vni>) into the bridge, through which unicast to remote EIDs
// leaves. Untaggable: a map to one of netvpp's bridges is netvpp's. The map must go before the
// bridge (VPP refuses to delete a bridge with the GPE interface in it).
import { one_eid_table_add_del_map, one_eid_table_map_dump } from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { need } from './common.ts';
import { LISP_KEY, networkOfVni, readLisp } from './lisp.ts';
import { ObjectError, type KindDescriptor } from './types.ts';

export interface EidmapObj {
  kind: 'eidmap';
  key: string;
  vni: number;
  bd: string;
}

export const eidmapKey = (networkId: string): string => `eidmap:${networkId}`;

/** vnet_lisp_eid_table_map's plain -1: the VNI or the bridge is mapped already (or, deleting, not). */
const MAP_REFUSED = -1;

export const eidmap: KindDescriptor<EidmapObj> = {
  kind: 'eidmap',
  ownership: 'identity',
  needs: ['lisp'],
  deps: (o) => [LISP_KEY, o.bd],
  compare: (d, a) => (a.vni === d.vni && a.bd === d.bd ? 'same' : 'replace'),
  async create(o, ctx) {
    const bdId = need(ctx, o.bd);
    try {
      await ctx.vpp.request(one_eid_table_add_del_map, {
        is_add: true,
        vni: o.vni,
        dp_table: bdId,
        is_l2: true,
      });
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === MAP_REFUSED)) throw e;
      // Made since our read-back (a create whose reply never came) is ours; anything else is not.
      const maps = await ctx.vpp.dump(one_eid_table_map_dump, { is_l2: true });
      if (!maps.some((m) => m.vni === o.vni && m.dp_table === bdId)) {
        const other = maps.find((m) => m.vni === o.vni || m.dp_table === bdId);
        throw new ObjectError(
          `LISP VNI ${o.vni} or bridge domain ${bdId} is mapped already` +
            (other ? ` (VNI ${other.vni} ↔ bridge domain ${other.dp_table})` : ''),
        );
      }
    }
    ctx.actual.set({ ...o });
  },
  async delete(o, ctx) {
    await ctx.vpp.request(one_eid_table_add_del_map, {
      is_add: false,
      vni: o.vni,
      dp_table: need(ctx, o.bd),
      is_l2: true,
    });
  },
  readAfter: ['bd'],
  async read(src) {
    const { maps } = await readLisp(src);
    return (sink) => {
      for (const vni of maps.keys()) {
        const net = networkOfVni(maps, vni, sink.actual);
        if (net !== null) sink.add({ kind: 'eidmap', key: eidmapKey(net), vni, bd: `bd:${net}` });
      }
    };
  },
};
