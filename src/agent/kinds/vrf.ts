// vrf:<router id> — a router's VRF: an IPv4 and an IPv6 table with one table id, named with the
// key (VPP keeps a table's name), so routers with overlapping tenant subnets never share a table.
// The id asks for a hash of the router id (the next free id on collision), as bridge domains do.
import { ip_table_add_del, ip_table_dump } from '../../vpp/binapi/index.ts';
import type { ActualState } from '../engine/actual.ts';
import { keyFromTag, need, tagOf } from './common.ts';
import { ObjectError, type KindDescriptor } from './types.ts';

export interface VrfObj {
  kind: 'vrf';
  key: string;
  /** The table id to ask for when created (a hash of the router). */
  preferredId: number;
  /** Only on an object read back from VPP: the families VPP has (both, when complete). */
  families?: ('ip4' | 'ip6')[];
}

export const vrfKey = (routerId: string): string => `vrf:${routerId}`;

/** FNV-1a of the router id, in 1..2^31-1 (table 0 is the default table). */
export function preferredTableId(routerId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < routerId.length; i++) {
    h ^= routerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % 0x7ffffffe) + 1;
}

function allocate(actual: ActualState, preferred: number): number {
  const taken = actual.taken('table_id');
  let id = preferred;
  for (let i = 0; i < 1000; i++) {
    if (!taken.has(id)) return id;
    id = id >= 0x7fffffff ? 1 : id + 1;
  }
  throw new ObjectError('no free VRF table id');
}

export const vrf: KindDescriptor<VrfObj> = {
  kind: 'vrf',
  ownership: 'tag',
  handle: 'table_id',
  needs: ['ip'],
  deps: () => [],
  compare: (_d, a) => (a.families === undefined || a.families.length === 2 ? 'same' : 'update'),
  async create(o, ctx) {
    const id = allocate(ctx.actual, o.preferredId);
    ctx.actual.taken('table_id').add(id);
    for (const is_ip6 of [false, true])
      await ctx.vpp.request(ip_table_add_del, {
        is_add: true,
        table: { table_id: id, is_ip6, name: tagOf(o.key) },
      });
    ctx.actual.set({ kind: 'vrf', key: o.key, preferredId: id }, id);
  },
  // A table of one family missing (a crash between the two adds): adding both again is harmless.
  async update(o, _a, ctx) {
    const id = need(ctx, o.key);
    for (const is_ip6 of [false, true])
      await ctx.vpp.request(ip_table_add_del, {
        is_add: true,
        table: { table_id: id, is_ip6, name: tagOf(o.key) },
      });
    ctx.actual.set({ kind: 'vrf', key: o.key, preferredId: id }, id);
  },
  async delete(o, ctx) {
    const id = need(ctx, o.key);
    for (const is_ip6 of [false, true])
      await ctx.vpp.request(ip_table_add_del, { is_add: false, table: { table_id: id, is_ip6, name: '' } });
  },
  async read(src) {
    const tables = await src.dump(ip_table_dump, {});
    return (sink) => {
      const found = new Map<string, { id: number; families: ('ip4' | 'ip6')[] }>();
      for (const { table } of tables) {
        sink.actual.taken('table_id').add(table.table_id);
        const key = keyFromTag(table.name);
        if (key === null || !key.startsWith('vrf:')) continue;
        const f = found.get(key) ?? { id: table.table_id, families: [] };
        if (f.id !== table.table_id) continue; // one name, two ids: not netvpp's doing
        f.families.push(table.is_ip6 ? 'ip6' : 'ip4');
        found.set(key, f);
      }
      for (const [key, f] of found)
        sink.add({ kind: 'vrf', key, preferredId: f.id, families: f.families } satisfies VrfObj, f.id);
    };
  },
};
