// up:<interface key> — admin-up of a port interface (a setting of it), made last so that a port
// forwards nothing before its filtering is in place (`after`, fail closed).
import { sw_interface_dump, sw_interface_set_flags } from '../../vpp/binapi/index.ts';
import { ADMIN_UP, need, NO_INDEX, portOfIface } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface UpObj {
  kind: 'up';
  key: string;
  iface: string;
  /** Keys that must be in place before the interface goes admin-up (fail closed). */
  after: string[];
}

export const upKey = (ifaceKey: string): string => `up:${ifaceKey}`;

export const up: KindDescriptor<UpObj> = {
  kind: 'up',
  ownership: 'setting',
  portKeyPrefixes: ['up:port:', 'up:subport:'],
  deps: (o) => [o.iface, ...o.after],
  refs: (o) => [o.iface],
  parentOf: (o) => o.iface,
  goesWithParent: true,
  compare: () => 'same',
  async create(o, ctx) {
    await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.iface), flags: ADMIN_UP });
    ctx.actual.set({ ...o, after: [] });
  },
  async delete(o, ctx) {
    await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.iface), flags: 0 });
  },
  readAfter: ['port', 'subport'],
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      for (const d of ifs) {
        if ((d.flags & ADMIN_UP) === 0) continue;
        const iface = sink.actual.keyOfHandle('sw_if_index', d.sw_if_index);
        // Other interfaces keep their admin state in their own object (uplink, vlan).
        if (iface === undefined || portOfIface(iface) === undefined) continue;
        sink.add({ kind: 'up', key: upKey(iface), iface, after: [] } satisfies UpObj);
      }
    };
  },
};
