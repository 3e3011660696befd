// route:<router id>:<prefix> — a route of a router's VRF through the API (a setting of the VRF): the
// default routes via the external gateway's next hops and Neutron's extra routes, all of one
// destination's next hops as one entry (ECMP: VPP spreads flows over the paths by their hash).
// VPP has no tag for routes: the ones netvpp owns are the API routes of netvpp's VRFs whose every
// path is a next hop (connected, local and NAT's /32 entries have none). Deleted one by one before
// the VRF: VPP 26.06 keeps a table's API routes when the table is deleted (the route holds it).
import { ip_route_add_del, ip_route_dump, ip_table_dump, type FibPath } from '../../vpp/binapi/index.ts';
import { need, NO_INDEX, sameList } from './common.ts';
import type { KindDescriptor } from './types.ts';

export interface RouteObj {
  kind: 'route';
  key: string;
  vrf: string;
  /** destination/prefix length. */
  prefix: string;
  /** Next-hop addresses, sorted (one family, the prefix's). */
  nexthops: string[];
}

export const routeKey = (routerId: string, prefix: string): string => `route:${routerId}:${prefix}`;

/** FIB_API_PATH_TYPE_NORMAL, FIB_API_PATH_NH_PROTO_IP4 / _IP6. */
const PATH_NORMAL = 0;
const NH_IP4 = 0;
const NH_IP6 = 1;

function path(nh: string, tableId: number): FibPath {
  const v6 = nh.includes(':');
  return {
    sw_if_index: NO_INDEX,
    table_id: tableId,
    rpf_id: 0,
    weight: 1,
    preference: 0,
    type: PATH_NORMAL,
    flags: 0,
    proto: v6 ? NH_IP6 : NH_IP4,
    nh: { address: v6 ? { ip6: nh } : { ip4: nh }, via_label: 0, obj_id: 0, classify_table_index: NO_INDEX },
    n_labels: 0,
    label_stack: [],
  };
}

async function put(o: RouteObj, ctx: Parameters<KindDescriptor<RouteObj>['create']>[1]): Promise<void> {
  const table_id = need(ctx, o.vrf);
  // Not multipath: the entry's API paths become exactly these (fib_table_entry_update).
  await ctx.vpp.request(ip_route_add_del, {
    is_add: true,
    is_multipath: false,
    route: {
      table_id,
      stats_index: 0,
      prefix: o.prefix,
      n_paths: o.nexthops.length,
      paths: o.nexthops.map((nh) => path(nh, table_id)),
    },
  });
  ctx.actual.set({ ...o, nexthops: [...o.nexthops] });
}

const nextHopOf = (p: FibPath): string | null => {
  if (p.type !== PATH_NORMAL || p.sw_if_index !== NO_INDEX) return null;
  const a = p.proto === NH_IP6 ? p.nh.address.ip6 : p.nh.address.ip4;
  return a === undefined || a === '0.0.0.0' || a === '::' ? null : a;
};

export const route: KindDescriptor<RouteObj> = {
  kind: 'route',
  ownership: 'setting',
  needs: ['ip'],
  deps: (o) => [o.vrf],
  parentOf: (o) => o.vrf,
  compare: (d, a) => (sameList(d.nexthops, a.nexthops) ? 'same' : 'update'),
  create: put,
  update: (d, _a, ctx) => put(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(ip_route_add_del, {
      is_add: false,
      is_multipath: false,
      route: { table_id: need(ctx, o.vrf), stats_index: 0, prefix: o.prefix, n_paths: 0, paths: [] },
    });
  },
  readAfter: ['vrf'],
  async read(src) {
    // The VRFs are netvpp's tables (named netvpp:vrf:<router>); their routes are dumped per family.
    const tables = await src.dump(ip_table_dump, {});
    const ours = tables.filter((t) => t.table.name.startsWith('netvpp:vrf:'));
    const dumps = await Promise.all(
      ours.map(async (t) => ({
        t: t.table,
        routes: await src.dump(ip_route_dump, { table: { ...t.table, name: '' } }),
      })),
    );
    return (sink) => {
      for (const { t, routes } of dumps) {
        const vrf = sink.actual.keyOfHandle('table_id', t.table_id);
        if (vrf === undefined) continue;
        for (const { route: r } of routes) {
          const hops = r.paths.slice(0, r.n_paths).map(nextHopOf);
          if (hops.length === 0 || hops.some((h) => h === null)) continue;
          sink.add({
            kind: 'route',
            key: routeKey(vrf.slice(4), r.prefix),
            vrf,
            prefix: r.prefix,
            nexthops: (hops as string[]).sort(),
          } satisfies RouteObj);
        }
      }
    };
  },
};
