/**
 * Routes added through the API (FIB_SOURCE_API), as vnet/ip/ip_api.c and fib_api.c handle
 * ip_route_add_del: the table must exist (-3, for deletes too); an add needs paths (-52); without
 * is_multipath an add replaces the entry's API paths (fib_table_entry_update) and a delete removes
 * the entry whatever its paths (0 when there is none); with is_multipath paths are added to or
 * removed from the entry one by one (an entry left without paths goes; a path already there or
 * absent changes nothing). The reply's stats_index is the entry's (its load-balance), kept while
 * the entry lives. Deleting the table through the API does not remove them: the route still
 * holds the table (checked on VPP 26.06: re-added, the table has the route again).
 *
 * ip_route_dump here shows the API's entries only, in prefix order; VPP's also lists the entries
 * other sources own (a table's special prefixes, connected and local routes, NAT's /32s), which
 * netvpp's read-back leaves alone (docs/simulator.md).
 */
import { isIPv6 } from 'node:net';
import type { FibPath, IpRouteAddDel, IpRouteDump } from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

interface Entry {
  prefix: string;
  paths: FibPath[];
  statsIndex: number;
}

/** fib_route_path_cmp, for what netvpp sends: next hop, interface, table, type, flags. */
function samePath(a: FibPath, b: FibPath): boolean {
  const nh = (p: FibPath): string => (p.proto === 1 ? (p.nh.address.ip6 ?? '') : (p.nh.address.ip4 ?? ''));
  return (
    nh(a) === nh(b) &&
    a.sw_if_index === b.sw_if_index &&
    a.table_id === b.table_id &&
    a.type === b.type &&
    a.flags === b.flags &&
    a.proto === b.proto
  );
}

/** The canonical text of a prefix (host bits cleared, as ip_prefix_decode + fib masks it). */
function canonical(prefix: string): string {
  const [addr, lenText] = prefix.split('/');
  const len = Number(lenText);
  if (isIPv6(addr)) return `${addr}/${len}`;
  const n = addr.split('.').reduce((a, x) => (a << 8) | Number(x), 0) >>> 0;
  const masked = len === 0 ? 0 : (n & (0xffffffff << (32 - len))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (masked >>> s) & 0xff).join('.')}/${len}`;
}

export class Routes {
  /** `${4|6}:${table}` → prefix → entry. */
  private readonly tables = new Map<string, Map<string, Entry>>();
  private nextStats = 1;

  addDel(vpp: VppState, m: IpRouteAddDel): { rv: number; statsIndex: number } {
    const r = m.route;
    const ip6 = isIPv6(r.prefix.split('/')[0]);
    if (!vpp.ip.hasTable(r.table_id, ip6)) return { rv: RV.NO_SUCH_FIB, statsIndex: 0xffffffff };
    const key = `${ip6 ? 6 : 4}:${r.table_id}`;
    let t = this.tables.get(key);
    const prefix = canonical(r.prefix);
    // A decoded union carries every member: keep the one the path's protocol names.
    const paths = r.paths.slice(0, r.n_paths).map((p) => ({
      ...p,
      nh: { ...p.nh, address: p.proto === 1 ? { ip6: p.nh.address.ip6 } : { ip4: p.nh.address.ip4 } },
    }));
    const e = t?.get(prefix);
    if (m.is_multipath || m.is_add) {
      if (paths.length === 0) return { rv: RV.NO_PATHS_IN_ROUTE, statsIndex: 0xffffffff };
    }
    if (!m.is_add) {
      if (!e || !t) return { rv: RV.OK, statsIndex: 0xffffffff };
      if (m.is_multipath) e.paths = e.paths.filter((p) => !paths.some((q) => samePath(p, q)));
      if (!m.is_multipath || e.paths.length === 0) t.delete(prefix);
      return { rv: RV.OK, statsIndex: 0xffffffff };
    }
    if (!t) this.tables.set(key, (t = new Map()));
    const cur = e ?? { prefix, paths: [], statsIndex: this.nextStats++ };
    if (m.is_multipath) {
      for (const p of paths) if (!cur.paths.some((q) => samePath(p, q))) cur.paths.push(p);
    } else cur.paths = paths;
    t.set(prefix, cur);
    return { rv: RV.OK, statsIndex: cur.statsIndex };
  }

  dump(tableId: number, ip6: boolean): Fields[] {
    const t = this.tables.get(`${ip6 ? 6 : 4}:${tableId}`);
    if (!t) return [];
    return [...t.values()]
      .sort((a, b) => a.prefix.localeCompare(b.prefix))
      .map((e) => ({
        route: {
          table_id: tableId,
          stats_index: e.statsIndex,
          prefix: e.prefix,
          n_paths: e.paths.length,
          paths: e.paths.map((p) => ({
            ...p,
            table_id: p.sw_if_index === 0xffffffff ? tableId : p.table_id,
          })),
        },
      }));
  }
}

export const ROUTE_HANDLERS: Record<string, Handler> = {
  ip_route_add_del(vpp, msg) {
    const r = vpp.routes.addDel(vpp, msg as unknown as IpRouteAddDel);
    return { retval: r.rv, stats_index: r.statsIndex };
  },
  ip_route_dump(vpp, msg) {
    const m = msg as unknown as IpRouteDump;
    if (!vpp.ip.hasTable(m.table.table_id, m.table.is_ip6)) return [];
    return vpp.routes.dump(m.table.table_id, m.table.is_ip6);
  },
};
