// rmap:<network id>:<mac> — a port on another host, in LISP: a static remote mapping of its MAC (in
// the network's VNI) to its host's VTEP, and an adjacency from one local EID of the network to it,
// which is what makes GPE's forwarding entry (without one, the first frame would go to the control
// plane, which has no map resolver to ask). In destination-only mode the entry is keyed by the
// remote EID alone: one adjacency serves every local port; it goes when its local EID goes, so it
// names one that stays (the network's lowest local MAC) and moves when that one leaves.
//
// Untaggable: remote EIDs in a VNI mapped to one of netvpp's bridges are netvpp's. The mapping comes
// first and the adjacency second; a crash between them leaves a mapping without one (read back
// with no local end), finished by an update. Re-adding a mapping replaces its locators but not the
// forwarding entry made from them, so a new VTEP re-adds the adjacency too.
import {
  one_add_del_adjacency,
  one_add_del_remote_mapping,
  one_adjacencies_get,
  one_locator_dump,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { eidmapKey } from './eidmap.ts';
import { leidKey } from './leid.ts';
import { NO_LOCATOR_SET, macEid, networkOfVni, readEids, readLisp } from './lisp.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface RmapObj {
  kind: 'rmap';
  key: string;
  network: string;
  vni: number;
  mac: string;
  /** The peer's VTEP ('' read back from a mapping without locators). */
  rloc: string;
  /** The local EID's MAC its adjacency names ('' read back without one). */
  local: string;
  /** Keys that must be in place first (the VTEP address: without it GPE makes a drop entry). */
  after: string[];
}

export const rmapKey = (networkId: string, mac: string): string => `rmap:${networkId}:${mac}`;

/** VNET_API_ERROR_LISP_RLOC_LOCAL */
const RLOC_LOCAL = -110;
/** A remote EID VPP does not have (adjacency or mapping delete). */
const NO_REMOTE = -1;

async function map(o: RmapObj, ctx: OpContext): Promise<void> {
  try {
    await ctx.vpp.request(one_add_del_remote_mapping, {
      is_add: true,
      vni: o.vni,
      deid: macEid(o.mac),
      rloc_num: 1,
      rlocs: [{ priority: 1, weight: 1, ip_address: o.rloc }],
    });
  } catch (e) {
    if (e instanceof VppApiError && e.retval === RLOC_LOCAL)
      throw new ObjectError(`the VTEP ${o.rloc} of ${o.mac} is an address of this VPP`);
    throw e;
  }
  ctx.actual.set({ ...o, local: '' });
}

async function adjacency(o: RmapObj, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(one_add_del_adjacency, {
    is_add: 1,
    vni: o.vni,
    reid: macEid(o.mac),
    leid: macEid(o.local),
  });
  ctx.actual.set({ ...o });
}

export const rmap: KindDescriptor<RmapObj> = {
  kind: 'rmap',
  ownership: 'identity',
  needs: ['lisp'],
  deps: (o) => [eidmapKey(o.network), leidKey(o.network, o.local), ...o.after],
  // VPP drops the forwarding entry with its local EID: that one must outlive it (or it moves first).
  refs: (o) => [eidmapKey(o.network), leidKey(o.network, o.local)],
  compare(d, a) {
    if (a.vni !== d.vni) return 'replace';
    return a.rloc === d.rloc && a.local === d.local ? 'same' : 'update';
  },
  async create(o, ctx) {
    await map(o, ctx);
    await adjacency(o, ctx);
  },
  async update(d, a, ctx) {
    if (a.rloc !== d.rloc) await map(d, ctx);
    await adjacency(d, ctx);
  },
  async delete(o, ctx) {
    // Deletes the adjacency, then the mapping.
    try {
      await ctx.vpp.request(one_add_del_remote_mapping, { is_add: false, vni: o.vni, deid: macEid(o.mac) });
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === NO_REMOTE)) throw e;
    }
  },
  readAfter: ['bd'],
  async read(src) {
    const [{ maps }, eids] = await Promise.all([readLisp(src), readEids(src)]);
    const mine = eids.filter((e) => !e.is_local && e.seid.type === macEid('').type && maps.has(e.vni));
    const vnis = [...new Set(mine.map((e) => e.vni))];
    const [rlocs, adjs] = await Promise.all([
      Promise.all(
        mine.map((e) =>
          e.locator_set_index === NO_LOCATOR_SET
            ? Promise.resolve([])
            : src.dump(one_locator_dump, { ls_index: e.locator_set_index, is_index_set: true }),
        ),
      ),
      Promise.all(vnis.map((vni) => src.request(one_adjacencies_get, { vni }))),
    ]);
    // "<vni>/<remote mac>" → the local MAC of its adjacency.
    const localOf = new Map<string, string>();
    adjs.forEach((r, i) => {
      for (const x of r.adjacencies)
        localOf.set(`${vnis[i]}/${x.reid.address.mac ?? ''}`, x.leid.address.mac ?? '');
    });
    return (sink) => {
      mine.forEach((e, i) => {
        const network = networkOfVni(maps, e.vni, sink.actual);
        const mac = e.seid.address.mac ?? '';
        if (network === null) return;
        const [l, ...more] = rlocs[i];
        sink.add({
          kind: 'rmap',
          key: rmapKey(network, mac),
          network,
          vni: e.vni,
          mac,
          rloc: l && more.length === 0 ? l.ip_address : '',
          local: localOf.get(`${e.vni}/${mac}`) ?? '',
          after: [],
        } satisfies RmapObj);
      });
    };
  },
};
