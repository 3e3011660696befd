// acl:<key> — a VPP ACL netvpp owns: a security group's rules per direction (sg:<id>:<dir>) or the
// shared base and related ACLs (base:<dir>, related:<dir>). Tagged netvpp:<key> (secgroups/tags.ts).
// Rules change in place with acl_add_replace, so ports using it never see a gap.
import { acl_add_replace, acl_del, acl_dump, type AclRule } from '../../vpp/binapi/index.ts';
import { parseAclTag } from '../secgroups/index.ts';
import { keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface AclObj {
  kind: 'acl';
  key: string;
  rules: AclRule[];
}

function sameRule(a: AclRule, b: AclRule): boolean {
  return (
    a.is_permit === b.is_permit &&
    a.src_prefix === b.src_prefix &&
    a.dst_prefix === b.dst_prefix &&
    a.proto === b.proto &&
    a.srcport_or_icmptype_first === b.srcport_or_icmptype_first &&
    a.srcport_or_icmptype_last === b.srcport_or_icmptype_last &&
    a.dstport_or_icmpcode_first === b.dstport_or_icmpcode_first &&
    a.dstport_or_icmpcode_last === b.dstport_or_icmpcode_last &&
    a.tcp_flags_mask === b.tcp_flags_mask &&
    a.tcp_flags_value === b.tcp_flags_value
  );
}

export const acl: KindDescriptor<AclObj> = {
  kind: 'acl',
  ownership: 'tag',
  needs: ['acl'],
  handle: 'acl_index',
  deps: () => [],
  compare: (d, a) =>
    a.rules.length === d.rules.length && a.rules.every((r, i) => sameRule(r, d.rules[i])) ? 'same' : 'update',
  async create(o, ctx) {
    const cur = ctx.actual.handle(o.key);
    const r = await ctx.vpp.request(acl_add_replace, {
      acl_index: cur ?? NO_INDEX,
      tag: tagOf(o.key),
      count: o.rules.length,
      r: o.rules,
    });
    ctx.actual.set({ ...o }, r.acl_index);
  },
  update: (d, _a, ctx) => acl.create(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(acl_del, { acl_index: need(ctx, o.key) });
  },
  async read(src) {
    const acls = await src.dump(acl_dump, { acl_index: NO_INDEX });
    return (sink) => {
      for (const a of acls) {
        const t = parseAclTag(a.tag);
        if (!t || t.kind === 'macip') continue;
        sink.add({ kind: 'acl', key: keyFromTag(a.tag) as string, rules: a.r } satisfies AclObj, a.acl_index);
      }
    };
  },
};
