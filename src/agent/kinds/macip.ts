// macip:<port id> — a port's MAC-IP anti-spoofing ACL (its MAC with its fixed IPs and allowed address
// pairs), tagged netvpp:macip:<port id>. Rules change in place with macip_acl_add_replace.
import {
  macip_acl_add_replace,
  macip_acl_del,
  macip_acl_dump,
  type MacipAclRule,
} from '../../vpp/binapi/index.ts';
import { parseAclTag } from '../secgroups/index.ts';
import { keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface MacipObj {
  kind: 'macip';
  key: string;
  rules: MacipAclRule[];
}

export const macipKey = (portId: string): string => `macip:${portId}`;

function sameRule(a: MacipAclRule, b: MacipAclRule): boolean {
  return (
    a.is_permit === b.is_permit &&
    a.src_mac.toLowerCase() === b.src_mac.toLowerCase() &&
    a.src_mac_mask.toLowerCase() === b.src_mac_mask.toLowerCase() &&
    a.src_prefix === b.src_prefix
  );
}

export const macip: KindDescriptor<MacipObj> = {
  kind: 'macip',
  ownership: 'tag',
  needs: ['acl'],
  handle: 'macip_acl_index',
  portKeyPrefixes: ['macip:'],
  deps: () => [],
  compare: (d, a) =>
    a.rules.length === d.rules.length && a.rules.every((r, i) => sameRule(r, d.rules[i])) ? 'same' : 'update',
  async create(o, ctx) {
    const cur = ctx.actual.handle(o.key);
    const r = await ctx.vpp.request(macip_acl_add_replace, {
      acl_index: cur ?? NO_INDEX,
      tag: tagOf(o.key),
      count: o.rules.length,
      r: o.rules,
    });
    ctx.actual.set({ ...o }, r.acl_index);
  },
  update: (d, _a, ctx) => macip.create(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(macip_acl_del, { acl_index: need(ctx, o.key) });
  },
  async read(src) {
    const macips = await src.dump(macip_acl_dump, { acl_index: NO_INDEX });
    return (sink) => {
      for (const m of macips) {
        const t = parseAclTag(m.tag);
        if (!t || t.kind !== 'macip') continue;
        sink.add(
          { kind: 'macip', key: keyFromTag(m.tag) as string, rules: m.r } satisfies MacipObj,
          m.acl_index,
        );
      }
    };
  },
};
