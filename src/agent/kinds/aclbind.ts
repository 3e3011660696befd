// aclbind:<port id> — the ACL lists of a port's interface (a setting of it), set in one call:
// input = from the VM (Neutron egress) then output = to the VM (Neutron ingress), in evaluation order.
import { acl_interface_list_dump, acl_interface_set_acl_list } from '../../vpp/binapi/index.ts';
import { need, NO_INDEX, portOfIface, sameList } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface AclBindObj {
  kind: 'aclbind';
  key: string;
  iface: string;
  /** VPP input = from the VM (Neutron egress), in evaluation order. */
  input: string[];
  /** VPP output = to the VM (Neutron ingress). */
  output: string[];
}

export const aclbindKey = (portId: string): string => `aclbind:${portId}`;

export const aclbind: KindDescriptor<AclBindObj> = {
  kind: 'aclbind',
  ownership: 'setting',
  needs: ['acl'],
  portKeyPrefixes: ['aclbind:'],
  deps: (o) => [o.iface, ...o.input, ...o.output],
  parentOf: (o) => o.iface,
  compare: (d, a) => (sameList(a.input, d.input) && sameList(a.output, d.output) ? 'same' : 'update'),
  async create(o, ctx) {
    const acls = [...o.input, ...o.output].map((k) => need(ctx, k));
    await ctx.vpp.request(acl_interface_set_acl_list, {
      sw_if_index: need(ctx, o.iface),
      count: acls.length,
      n_input: o.input.length,
      acls,
    });
    ctx.actual.set({ ...o });
  },
  // One call replaces both lists: the new ACLs exist before it, the old go after (make-before-break).
  update: (d, _a, ctx) => aclbind.create(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(acl_interface_set_acl_list, {
      sw_if_index: need(ctx, o.iface),
      count: 0,
      n_input: 0,
      acls: [],
    });
  },
  readAfter: ['port', 'subport', 'acl'],
  async read(src) {
    const lists = await src.dump(acl_interface_list_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      const a = sink.actual;
      for (const l of lists) {
        const iface = a.keyOfHandle('sw_if_index', l.sw_if_index);
        const port = iface ? portOfIface(iface) : undefined;
        if (!iface || !port || l.count === 0) continue;
        const keys = l.acls.map((i) => a.keyOfHandle('acl_index', i) ?? `acl-index:${i}`);
        sink.add({
          kind: 'aclbind',
          key: aclbindKey(port),
          iface,
          input: keys.slice(0, l.n_input),
          output: keys.slice(l.n_input),
        } satisfies AclBindObj);
      }
    };
  },
};
