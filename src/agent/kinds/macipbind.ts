// macipbind:<port id> — the MAC-IP ACL bound to a port's interface (a setting of it). VPP binds one
// per interface; changing it is unbind old + bind new.
import { macip_acl_interface_add_del, macip_acl_interface_get } from '../../vpp/binapi/index.ts';
import { need, NO_INDEX, portOfIface } from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface MacipBindObj {
  kind: 'macipbind';
  key: string;
  iface: string;
  acl: string;
}

export const macipbindKey = (portId: string): string => `macipbind:${portId}`;

/** The VPP index of the MAC-IP ACL a binding names (one of ours, or one read back by index). */
function aclIndex(ctx: OpContext, acl: string): number {
  return ctx.actual.handle(acl) ?? Number(/^macip-index:(\d+)$/.exec(acl)?.[1] ?? NaN);
}

async function bind(o: MacipBindObj, old: MacipBindObj | undefined, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.iface);
  if (old) {
    const oldIndex = aclIndex(ctx, old.acl);
    if (Number.isInteger(oldIndex)) {
      await ctx.vpp.request(macip_acl_interface_add_del, {
        is_add: false,
        sw_if_index: idx,
        acl_index: oldIndex,
      });
    }
    ctx.actual.remove(old.key);
  }
  await ctx.vpp.request(macip_acl_interface_add_del, {
    is_add: true,
    sw_if_index: idx,
    acl_index: need(ctx, o.acl),
  });
  ctx.actual.set({ ...o });
}

export const macipbind: KindDescriptor<MacipBindObj> = {
  kind: 'macipbind',
  ownership: 'setting',
  needs: ['acl'],
  portKeyPrefixes: ['macipbind:'],
  deps: (o) => [o.iface, o.acl],
  parentOf: (o) => o.iface,
  compare: (d, a) => (a.acl === d.acl ? 'same' : 'update'),
  create: (o, ctx) => bind(o, undefined, ctx),
  update: (d, a, ctx) => bind(d, a, ctx),
  async delete(o, ctx) {
    const index = aclIndex(ctx, o.acl);
    if (Number.isInteger(index)) {
      await ctx.vpp.request(macip_acl_interface_add_del, {
        is_add: false,
        sw_if_index: need(ctx, o.iface),
        acl_index: index,
      });
    }
  },
  readAfter: ['port', 'subport', 'macip'],
  async read(src) {
    const bound = await src.request(macip_acl_interface_get, {});
    return (sink) => {
      const a = sink.actual;
      bound.acls.forEach((index, swIfIndex) => {
        if (index === NO_INDEX) return;
        const iface = a.keyOfHandle('sw_if_index', swIfIndex);
        const port = iface ? portOfIface(iface) : undefined;
        if (!iface || !port) return;
        sink.add({
          kind: 'macipbind',
          key: macipbindKey(port),
          iface,
          acl: a.keyOfHandle('macip_acl_index', index) ?? `macip-index:${index}`,
        } satisfies MacipBindObj);
      });
    };
  },
};
