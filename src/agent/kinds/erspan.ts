// erspan:<source address>:<collector>:<session id> — a GRE tunnel of type ERSPAN (type II) from this
// host to a collector, tagged with its key; SPAN mirrors (span.ts) send copies into it and VPP's
// gre-erspan-encap wraps each in GRE + an ERSPAN II header carrying the session id. VPP creates it
// admin down; it is brought up. A crash between create and tag leaves an untagged ERSPAN tunnel,
// adopted on read-back by its identity (source, collector, session), as VXLAN tunnels are.
import {
  gre_tunnel_add_del,
  gre_tunnel_dump,
  GreTunnelType,
  sw_interface_dump,
  TunnelMode,
} from '../../vpp/binapi/index.ts';
import { ADMIN_UP, baseKey, keyFromTag, NO_INDEX, settleAdmin, tagAdopted, tagOf } from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface ErspanObj {
  kind: 'erspan';
  key: string;
  src: string;
  collector: string;
  sessionId: number;
  adminUp: boolean;
  untagged?: true;
}

export const erspanKey = (src: string, collector: string, sessionId: number): string =>
  `erspan:${src}:${collector}:${sessionId}`;

function tunnel(o: ErspanObj) {
  return {
    type: GreTunnelType.GRE_API_TUNNEL_TYPE_ERSPAN,
    mode: TunnelMode.TUNNEL_API_MODE_P2P,
    flags: 0,
    session_id: o.sessionId,
    instance: NO_INDEX,
    outer_table_id: 0,
    sw_if_index: NO_INDEX,
    src: o.src,
    dst: o.collector,
  };
}

async function finish(o: ErspanObj, ctx: OpContext): Promise<void> {
  const cur = await tagAdopted(o, ctx);
  await settleAdmin(o, cur, ctx);
}

export const erspan: KindDescriptor<ErspanObj> = {
  kind: 'erspan',
  ownership: 'tag',
  handle: 'sw_if_index',
  needs: ['gre'],
  deps: () => [],
  compare(d, a) {
    if (a.src !== d.src || a.collector !== d.collector || a.sessionId !== d.sessionId) return 'replace';
    return !a.untagged && a.adminUp === d.adminUp ? 'same' : 'update';
  },
  async create(o, ctx) {
    const r = await ctx.vpp.request(gre_tunnel_add_del, { is_add: true, tunnel: tunnel(o) });
    // Recorded before the tag: if the tag call fails, the next pass tags it (or deletes it).
    ctx.actual.set({ ...o, adminUp: false, untagged: true }, r.sw_if_index);
    await finish(o, ctx);
  },
  update: (d, _a, ctx) => finish(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(gre_tunnel_add_del, { is_add: false, tunnel: tunnel(o) });
  },
  async read(src) {
    const [tunnels, ifs] = await Promise.all([
      src.dump(gre_tunnel_dump, { sw_if_index: NO_INDEX }),
      src.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    ]);
    return (sink) => {
      const byIndex = new Map(ifs.map((d) => [d.sw_if_index, d]));
      for (const { tunnel: t } of tunnels) {
        const d = byIndex.get(t.sw_if_index);
        if (!d || t.type !== GreTunnelType.GRE_API_TUNNEL_TYPE_ERSPAN || t.outer_table_id !== 0) continue;
        const common = {
          kind: 'erspan' as const,
          src: t.src,
          collector: t.dst,
          sessionId: t.session_id,
          adminUp: (d.flags & ADMIN_UP) !== 0,
        };
        const key = keyFromTag(d.tag);
        if (key !== null && key.startsWith('erspan:')) sink.add({ ...common, key }, t.sw_if_index);
        else if (d.tag === '')
          sink.add({ ...common, key: erspanKey(t.src, t.dst, t.session_id), untagged: true }, t.sw_if_index);
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
