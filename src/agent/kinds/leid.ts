// leid:<network id>:<mac> — a local EID: a port's own MAC (from its binding, not a made-up one) in
// its gpe network's VNI, on netvpp's locator set. Untaggable: a local MAC EID in a VNI mapped to one
// of netvpp's bridges, on netvpp's locator set, is netvpp's. Deleting it drops the forwarding
// entries (adjacencies) that named it as their local end — and, in VPP 26.06, those of every remote
// an adjacency from it was ever made for, even one moved to another local EID since (the lisp-gpe
// recording: lcl_to_rmt_adjacencies is never pruned). So the delete re-adds the adjacencies of the
// network's remote mappings that name another local EID.
import { one_add_del_adjacency, one_add_del_local_eid } from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { eidmapKey } from './eidmap.ts';
import { LOCSET_KEY } from './locset.ts';
import { LOCSET_NAME, macEid, networkOfVni, readEids, readLisp } from './lisp.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface LeidObj {
  kind: 'leid';
  key: string;
  network: string;
  vni: number;
  mac: string;
}

export const leidKey = (networkId: string, mac: string): string => `leid:${networkId}:${mac}`;

/** VNET_API_ERROR_VALUE_EXIST: the EID is there already (made since our read-back). */
const EID_EXISTS = -81;

async function addDel(o: LeidObj, isAdd: boolean, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(one_add_del_local_eid, {
    is_add: isAdd,
    eid: macEid(o.mac),
    locator_set_name: LOCSET_NAME,
    vni: o.vni,
  });
}

export const leid: KindDescriptor<LeidObj> = {
  kind: 'leid',
  ownership: 'identity',
  needs: ['lisp'],
  deps: (o) => [eidmapKey(o.network), LOCSET_KEY],
  compare: (d, a) => (a.vni === d.vni ? 'same' : 'replace'),
  async create(o, ctx) {
    try {
      await addDel(o, true, ctx);
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === EID_EXISTS)) throw e;
    }
    ctx.actual.set({ ...o });
  },
  async delete(o, ctx) {
    await addDel(o, false, ctx);
    for (const r of ctx.actual.objects.values()) {
      if (r.kind !== 'rmap' || r.network !== o.network || r.local === '' || r.local === o.mac) continue;
      await ctx.vpp.request(one_add_del_adjacency, {
        is_add: 1,
        vni: r.vni,
        reid: macEid(r.mac),
        leid: macEid(r.local),
      });
    }
  },
  readAfter: ['bd'],
  async read(src) {
    const [{ maps, setIndex }, eids] = await Promise.all([readLisp(src), readEids(src)]);
    return (sink) => {
      if (setIndex === null) return;
      for (const e of eids) {
        const mac = e.seid.address.mac;
        if (
          !e.is_local ||
          e.seid.type !== macEid('').type ||
          mac === undefined ||
          e.locator_set_index !== setIndex
        )
          continue;
        const network = networkOfVni(maps, e.vni, sink.actual);
        if (network !== null)
          sink.add({ kind: 'leid', key: leidKey(network, mac), network, vni: e.vni, mac });
      }
    };
  },
};
