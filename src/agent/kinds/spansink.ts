// spansink:<service port id> — remote SPAN's way into a tap service port on its host (docs/taas.md):
// a loopback, tagged and admin up, alone in a bridge of its own (bd:tap-<port>, nothing learned,
// forwarded or flooded). The tap service's VXLAN tunnels are cross-connected into it, and a SPAN
// entry in device mode mirrors what it transmits into the service port. So the copies reach the
// service port through its interface's output node only, never through L2 output with the service
// port as the TX interface, where its security group's ACLs, ethertype whitelist and tag rewrite
// would filter them. The frames themselves end in the sink's bridge: a loopback in a bridge hands
// what it transmits to l2-input on itself, and with forwarding and flooding off they are dropped
// there. (A cross-connected loopback would send them back into the tunnel, and VPP runs a
// sub-interface's output features, SPAN among them, only on its parent: a pipe end can't be it.)
//
// create_loopback leaves it untagged and the tag follows: after a crash between the two, the untagged
// loopback with the MAC below (one only netvpp gives, hashed from the port) is adopted.
import { delete_loopback, sw_interface_dump } from '../../vpp/binapi/index.ts';
import {
  ADMIN_UP,
  adoptOrCreateLoopback,
  baseKey,
  keyFromTag,
  need,
  NO_INDEX,
  settleAdmin,
  tagAdopted,
  tagOf,
} from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface SpanSinkObj {
  kind: 'spansink';
  key: string;
  /** The tap service port the copies are for. */
  portId: string;
  mac: string;
  adminUp: boolean;
  /** Only on an object being made or adopted: created, its tag call never came. */
  untagged?: true;
}

export const spansinkKey = (portId: string): string => `spansink:${portId}`;

/** The sink's own bridge. */
export const spansinkBridgeKey = (portId: string): string => `bd:tap-${portId}`;

/**
 * The sink loopback's MAC: 06:74 (locally administered, unicast) and an FNV-1a hash of the port id.
 * Nothing is ever addressed to it; it is the identity of a sink left untagged by a crash.
 */
export function spansinkMac(portId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < portId.length; i++) h = Math.imul(h ^ portId.charCodeAt(i), 0x01000193) >>> 0;
  const bytes = [0x06, 0x74, h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

async function finish(o: SpanSinkObj, ctx: OpContext): Promise<void> {
  const cur = await tagAdopted(o, ctx);
  await settleAdmin(o, cur, ctx);
}

export const spansink: KindDescriptor<SpanSinkObj> = {
  kind: 'spansink',
  ownership: 'tag',
  handle: 'sw_if_index',
  deps: () => [],
  compare(d, a) {
    if (a.mac.toLowerCase() !== d.mac.toLowerCase()) return 'replace';
    return !a.untagged && a.adminUp === d.adminUp ? 'same' : 'update';
  },
  async create(o, ctx) {
    const { sw_if_index, left } = await adoptOrCreateLoopback(o.mac, ctx);
    // Recorded before the tag: if the tag call fails, the next pass tags it.
    const adminUp = left ? (left.flags & ADMIN_UP) !== 0 : false;
    ctx.actual.set({ ...o, adminUp, untagged: true }, sw_if_index);
    await finish(o, ctx);
  },
  update: (d, _a, ctx) => finish(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(delete_loopback, { sw_if_index: need(ctx, o.key) });
  },
  async read(src) {
    const ifs = await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      for (const d of ifs) {
        const key = keyFromTag(d.tag);
        if (key === null || !key.startsWith('spansink:') || d.sw_if_index !== d.sup_sw_if_index) continue;
        sink.add(
          {
            kind: 'spansink',
            key,
            portId: key.slice('spansink:'.length),
            mac: d.l2_address.toLowerCase(),
            adminUp: (d.flags & ADMIN_UP) !== 0,
          } satisfies SpanSinkObj,
          d.sw_if_index,
        );
      }
    };
  },
  iface: {
    adminUp: (o) => o.adminUp,
    same: (o, d) => (o.untagged ? d.tag === '' : d.tag === tagOf(baseKey(o.key))),
    observe(o, adminUp, actual) {
      if (o.adminUp !== adminUp) actual.set({ ...o, adminUp }, actual.handle(o.key));
      return undefined;
    },
  },
};
