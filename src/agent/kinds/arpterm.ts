// arp:<network id>:<ip> — an ARP/ND termination entry of a network's bridge (a setting of the
// bridge): with the bridge's arp_term flag on, VPP answers ARP requests and neighbour solicitations
// for the IP itself, so they do not flood every host of an overlay network.
import { bd_ip_mac_add_del, bd_ip_mac_dump } from '../../vpp/binapi/index.ts';
import { need, NO_INDEX } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface ArpTermObj {
  kind: 'arpterm';
  key: string;
  bd: string;
  ip: string;
  mac: string;
}

export const arptermKey = (networkId: string, ip: string): string => `arp:${networkId}:${ip}`;

async function addDel(
  o: ArpTermObj,
  isAdd: boolean,
  ctx: Parameters<KindDescriptor<ArpTermObj>['create']>[1],
) {
  await ctx.vpp.request(bd_ip_mac_add_del, {
    is_add: isAdd,
    entry: { bd_id: need(ctx, o.bd), ip: o.ip, mac: o.mac },
  });
}

export const arpterm: KindDescriptor<ArpTermObj> = {
  kind: 'arpterm',
  ownership: 'setting',
  deps: (o) => [o.bd],
  parentOf: (o) => o.bd,
  // Deleting a bridge domain frees its IP-MAC table.
  goesWithParent: true,
  compare: (d, a) => (a.mac === d.mac ? 'same' : 'replace'),
  async create(o, ctx) {
    await addDel(o, true, ctx);
    ctx.actual.set({ ...o });
  },
  async delete(o, ctx) {
    await addDel(o, false, ctx);
  },
  readAfter: ['bd'],
  async read(src) {
    const entries = await src.dump(bd_ip_mac_dump, { bd_id: NO_INDEX });
    return (sink) => {
      for (const { entry: e } of entries) {
        const bd = sink.actual.keyOfHandle('bd_id', e.bd_id);
        if (!bd?.startsWith('bd:')) continue;
        sink.add({
          kind: 'arpterm',
          key: arptermKey(bd.slice(3), e.ip),
          bd,
          ip: e.ip,
          mac: e.mac,
        } satisfies ArpTermObj);
      }
    };
  },
};
