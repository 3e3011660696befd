// bd:<network id> — a network's bridge domain, tagged (bd_tag) with its key. Its bd_id is a hash of
// the network id (the next free id on collision); ids VPP has that are not netvpp's are avoided.
import {
  bridge_domain_add_del_v2,
  bridge_domain_dump,
  bridge_flags,
  BdFlags,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import type { ActualState } from '../engine/actual.ts';
import { keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface BridgeObj {
  kind: 'bd';
  key: string;
  /** The bd_id to ask for when created (a hash of the network; the next free id on collision). */
  preferredId: number;
  flood: boolean;
  uuFlood: boolean;
  forward: boolean;
  learn: boolean;
  arpTerm: boolean;
}

export const bridgeKey = (networkId: string): string => `bd:${networkId}`;

/** VPP's largest bridge domain id is 2^24 - 1; 0 is reserved. */
export const MAX_BD_ID = 0xffffff;

/** FNV-1a: the bd_id a network's bridge domain asks for (the next free id on collision). */
export function preferredBdId(networkId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < networkId.length; i++) {
    h ^= networkId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % (MAX_BD_ID - 1)) + 1;
}

/** VPP's VNET_API_ERROR_BD_ALREADY_EXISTS (another client took the id since our dump). */
const BD_ALREADY_EXISTS = -119;

/** bd_ids handed out by calls still in flight. */
const reserved = new WeakMap<ActualState, Set<number>>();

function allocate(ctx: OpContext, preferred: number): number {
  let r = reserved.get(ctx.actual);
  if (!r) reserved.set(ctx.actual, (r = new Set()));
  const taken = ctx.actual.taken('bd_id');
  let id = preferred;
  for (let i = 0; i < MAX_BD_ID; i++) {
    if (!taken.has(id) && !r.has(id)) {
      r.add(id);
      return id;
    }
    id = id >= MAX_BD_ID - 1 ? 1 : id + 1;
  }
  throw new ObjectError('no free bridge domain id');
}

export const bridge: KindDescriptor<BridgeObj> = {
  kind: 'bd',
  ownership: 'tag',
  handle: 'bd_id',
  // A router gateway's own bridge (bd:gw-<port>) belongs to that port (compile-router.ts).
  portKeyPrefixes: ['bd:gw-'],
  deps: () => [],
  compare: (d, a) =>
    a.flood === d.flood &&
    a.uuFlood === d.uuFlood &&
    a.forward === d.forward &&
    a.learn === d.learn &&
    a.arpTerm === d.arpTerm
      ? 'same'
      : 'update',
  async create(o, ctx) {
    for (let attempt = 0; attempt < 8; attempt++) {
      const id = allocate(ctx, o.preferredId);
      try {
        await ctx.vpp.request(bridge_domain_add_del_v2, {
          bd_id: id,
          is_add: true,
          flood: o.flood,
          uu_flood: o.uuFlood,
          forward: o.forward,
          learn: o.learn,
          arp_term: o.arpTerm,
          arp_ufwd: false,
          mac_age: 0,
          bd_tag: tagOf(o.key),
        });
        ctx.actual.set({ ...o }, id);
        return;
      } catch (e) {
        // Someone else created that id since we looked: remember it and take the next one.
        if (e instanceof VppApiError && e.retval === BD_ALREADY_EXISTS) ctx.actual.taken('bd_id').add(id);
        else throw e;
      } finally {
        reserved.get(ctx.actual)?.delete(id);
      }
    }
    throw new ObjectError('could not find a free bridge domain id');
  },
  async update(o, _a, ctx) {
    const id = need(ctx, o.key);
    const cur = ctx.actual.get(o.key) as BridgeObj;
    const want: [boolean, boolean, number][] = [
      [o.learn, cur.learn, BdFlags.BRIDGE_API_FLAG_LEARN],
      [o.forward, cur.forward, BdFlags.BRIDGE_API_FLAG_FWD],
      [o.flood, cur.flood, BdFlags.BRIDGE_API_FLAG_FLOOD],
      [o.uuFlood, cur.uuFlood, BdFlags.BRIDGE_API_FLAG_UU_FLOOD],
      [o.arpTerm, cur.arpTerm, BdFlags.BRIDGE_API_FLAG_ARP_TERM],
    ];
    for (const isSet of [true, false]) {
      const flags = want.filter(([d, a]) => d !== a && d === isSet).reduce((f, [, , bit]) => f | bit, 0);
      if (flags) await ctx.vpp.request(bridge_flags, { bd_id: id, is_set: isSet, flags });
    }
    ctx.actual.set({ ...o, preferredId: cur.preferredId }, id);
  },
  async delete(o, ctx) {
    await ctx.vpp.request(bridge_domain_add_del_v2, { bd_id: need(ctx, o.key), is_add: false });
  },
  async read(src) {
    const bds = await src.dump(bridge_domain_dump, { bd_id: NO_INDEX, sw_if_index: NO_INDEX });
    return (sink) => {
      for (const bd of bds) {
        sink.actual.taken('bd_id').add(bd.bd_id);
        const key = keyFromTag(bd.bd_tag);
        if (key === null || !key.startsWith('bd:')) continue;
        sink.add(
          {
            kind: 'bd',
            key,
            preferredId: bd.bd_id,
            flood: bd.flood,
            uuFlood: bd.uu_flood,
            forward: bd.forward,
            learn: bd.learn,
            arpTerm: bd.arp_term,
          } satisfies BridgeObj,
          bd.bd_id,
        );
      }
    };
  },
};
