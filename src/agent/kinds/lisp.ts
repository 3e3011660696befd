// lisp — LISP enabled in VPP, control plane and GPE data plane together (one_enable_disable): a
// VPP-wide setting, held while any gpe network is on this host. Nothing in LISP can carry a tag, so
// netvpp owns it by identity: enabled is netvpp's while it has gpe networks, and the last one
// leaving disables it (docs/overlays.md: a VPP whose LISP someone else uses can't host gpe networks).
//
// Helpers the other LISP kinds share: the EID of a MAC, and the read-back of which VNIs are netvpp's
// (those mapped to its bridges).
import {
  EidType,
  one_eid_table_dump,
  one_eid_table_map_dump,
  one_enable_disable,
  one_locator_set_dump,
  show_one_status,
  type Eid,
} from '../../vpp/binapi/index.ts';
import type { ActualState } from '../engine/actual.ts';
import type { KindDescriptor, ReadSource } from './types.ts';

export interface LispObj {
  kind: 'lisp';
  key: string;
}

export const LISP_KEY = 'lisp';
/** The one locator set netvpp makes: the name is what makes it netvpp's. */
export const LOCSET_NAME = 'netvpp';
export const NO_LOCATOR_SET = 0xffffffff;

export const macEid = (mac: string): Eid => ({ type: EidType.EID_TYPE_API_MAC, address: { mac } });

/** Every mapping, local and remote (VPP 26.06 does not apply the dump's filter: is_local tells). */
export const readEids = (src: ReadSource) => src.dump(one_eid_table_dump, { eid_set: false, filter: 0 });

/** What the LISP kinds' read-back shares: the L2 maps (vni → bridge id) and netvpp's locator set. */
export async function readLisp(
  src: ReadSource,
): Promise<{ maps: Map<number, number>; setIndex: number | null }> {
  const [maps, sets] = await Promise.all([
    src.dump(one_eid_table_map_dump, { is_l2: true }),
    src.dump(one_locator_set_dump, { filter: 1 }),
  ]);
  const own = sets.find((s) => s.ls_name === LOCSET_NAME);
  return { maps: new Map(maps.map((m) => [m.vni, m.dp_table])), setIndex: own ? own.ls_index : null };
}

/** The network whose bridge (bridge domain id) a VNI is mapped to, if the bridge is netvpp's. */
export function networkOfVni(maps: Map<number, number>, vni: number, a: ActualState): string | null {
  const bdId = maps.get(vni);
  const bd = bdId === undefined ? undefined : a.keyOfHandle('bd_id', bdId);
  return bd?.startsWith('bd:') ? bd.slice(3) : null;
}

export const lisp: KindDescriptor<LispObj> = {
  kind: 'lisp',
  ownership: 'identity',
  needs: ['lisp'],
  deps: () => [],
  compare: () => 'same',
  async create(o, ctx) {
    // Enabling an enabled LISP changes nothing.
    await ctx.vpp.request(one_enable_disable, { is_enable: true });
    ctx.actual.set({ ...o });
  },
  async delete(_o, ctx) {
    // Flushes GPE's forwarding entries and puts its interfaces down; everything else netvpp made in
    // LISP is gone by then (it all needs this first).
    await ctx.vpp.request(one_enable_disable, { is_enable: false });
  },
  async read(src) {
    const s = await src.request(show_one_status, {});
    return (sink) => {
      if (s.feature_status && s.gpe_status) sink.add({ kind: 'lisp', key: LISP_KEY });
    };
  },
};
