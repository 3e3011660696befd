/**
 * A table's FIB entries as ip_route_dump shows them (vnet/fib): every entry, whichever source owns
 * it, with the paths of its best source (fib_source.h's priority: SPECIAL, INTERFACE, API, then
 * DEFAULT_ROUTE).
 *
 * - Specials, made with the table (ip4_fib_hash_load_specials, ip6_fib_hash_load_specials):
 *   IPv4 0.0.0.0/0 (DEFAULT_ROUTE), 0.0.0.0/32, 240.0.0.0/4, 224.0.0.0/4 and 255.255.255.255/32
 *   (SPECIAL), all drop; IPv6 ::/0 (DEFAULT_ROUTE, drop) and fe80::/10 (SPECIAL, a normal path
 *   without interface or next hop: the link-local lookup). Gone with the table.
 * - An interface address (ip4/ip6_add_interface_routes): its local /32 or /128 (a LOCAL path via
 *   the interface, next hop the address) first, then, once per prefix and interface, the connected
 *   prefix (a normal path via the interface) and for IPv4 prefixes up to /30 the network and
 *   broadcast /32s (drop). (A /31's attached /32 for the other address is not modelled.)
 * - API routes, as ip_api.c/fib_api.c handle ip_route_add_del: the table must exist (-3, for deletes
 *   too); an add needs paths (-52); without is_multipath an add replaces the entry's API paths
 *   (fib_table_entry_update) and a delete removes them whatever they are (0 when there are none);
 *   with is_multipath paths are added or removed one by one. Deleting the table through the API
 *   does not remove them: the route still holds the table (checked on VPP 26.06: re-added, the
 *   table has the route again).
 * - A next hop of an API path without interface is tracked in the table it resolves in (the path's
 *   table) by a host entry of its own (FIB_SOURCE_RR), as long as a path uses it: under an attached
 *   (connected) cover it shows a normal path via the cover's interface to that address, else a drop
 *   (fib_entry_src_rr.c: the cover's forwarding; a cover that is an API route through the very next
 *   hop, as a default route's, dumps as a drop on VPP 26.06 too).
 *
 * Paths are dumped as fib_api_path_encode writes them (zeroed, then weight — 0 became 1 —,
 * preference, interface, protocol, next hop, type; the table id of a path without interface: the
 * table it resolves in). The reply's stats_index is the entry's, kept while it lives. Dump order
 * is the walk's: IPv4 by prefix length, then within one length vppinfra's uword hash order of the
 * masked address (one hash per length, never shrunk); IPv6 the memory hash order of the 17-byte
 * key (address, length). Not modelled: NAT44-ED's /32s on outside interfaces, neighbours' /32s.
 */
import { isIPv6 } from 'node:net';
import type { FibPath, IpRouteAddDel, IpRouteDump } from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';
import { HashSize, hashMemoryShort, ip4AsU32 } from './vpphash.ts';

/** In fib_source.h's priority order ('rr': recursive resolution of a next hop). */
const SOURCES = ['special', 'interface', 'api', 'rr', 'default'] as const;
type Source = (typeof SOURCES)[number];

const NO_INDEX = 0xffffffff;
/** FIB_API_PATH_TYPE_*. */
const NORMAL = 0;
const LOCAL = 1;
const DROP = 2;

interface Contribution {
  paths: FibPath[];
  /** How many interface prefixes or addresses hold it (interface source). */
  refs: number;
}

interface Entry {
  /** The masked prefix (the entry's key). */
  prefix: string;
  /** The prefix as the entry was made with it: an interface's connected prefix keeps its address. */
  shown: string;
  len: number;
  /** The walk's hash key: the masked IPv4 address as u32, or the IPv6 key's hash sum. */
  hashKey: bigint;
  seq: number;
  statsIndex: number;
  sources: Map<Source, Contribution>;
}

interface Fib {
  entries: Map<string, Entry>;
  /** IPv4: one hash per prefix length; IPv6: one for the table (index 0). */
  hashes: Map<number, HashSize>;
}

function ip4Words(a: string): number {
  return a.split('.').reduce((x, o) => ((x << 8) | Number(o)) >>> 0, 0);
}

function ip4Text(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

function ip6Bytes(a: string): Buffer {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}

function ip6Text(b: Buffer): string {
  const g = [...Array(8).keys()].map((i) => b.readUInt16BE(i * 2));
  // The longest run of zero groups (2 or more) becomes "::", as inet_ntop writes it.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** A prefix with its host bits cleared (ip_prefix_decode + the FIB's masks). */
function masked(addr: string, len: number): string {
  if (isIPv6(addr)) {
    const b = ip6Bytes(addr);
    for (let i = 0; i < 16; i++) {
      const keep = Math.max(0, Math.min(8, len - 8 * i));
      b[i] &= (0xff << (8 - keep)) & 0xff;
    }
    return ip6Text(b);
  }
  const n = ip4Words(addr);
  return ip4Text(len === 0 ? 0 : (n & (0xffffffff << (32 - len))) >>> 0);
}

function hashKeyOf(addr: string, len: number, ip6: boolean): bigint {
  if (!ip6) return ip4AsU32(addr);
  const b = ip6Bytes(addr);
  return hashMemoryShort([b.readBigUInt64LE(0), b.readBigUInt64LE(8), BigInt(len)], 17);
}

const LABELS = Array.from({ length: 16 }, () => ({ is_uniform: 0, label: 0, ttl: 0, exp: 0 }));

function encoded(p: Partial<FibPath> & { proto: number }, nh?: string): FibPath {
  const ip6 = p.proto === 1;
  const address = nh ?? (ip6 ? (p.nh?.address.ip6 ?? '::') : (p.nh?.address.ip4 ?? '0.0.0.0'));
  return {
    sw_if_index: p.sw_if_index ?? NO_INDEX,
    table_id: p.table_id ?? 0,
    rpf_id: p.rpf_id ?? 0,
    weight: p.weight || 1,
    preference: p.preference ?? 0,
    type: p.type ?? NORMAL,
    flags: p.flags ?? 0,
    proto: p.proto,
    nh: {
      address: ip6 ? { ip6: address } : { ip4: address },
      via_label: 0,
      obj_id: 0,
      classify_table_index: 0,
    },
    n_labels: 0,
    label_stack: LABELS,
  };
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

export class Routes {
  /** `${4|6}:${table}` → its entries. */
  private readonly fibs = new Map<string, Fib>();
  private nextStats = 1;
  private nextSeq = 0;

  constructor() {
    this.tableCreated(0, false);
    this.tableCreated(0, true);
  }

  private fib(tableId: number, ip6: boolean): Fib {
    const key = `${ip6 ? 6 : 4}:${tableId}`;
    let f = this.fibs.get(key);
    if (!f) this.fibs.set(key, (f = { entries: new Map(), hashes: new Map() }));
    return f;
  }

  private hashOf(f: Fib, ip6: boolean, len: number): HashSize {
    const i = ip6 ? 0 : len;
    let h = f.hashes.get(i);
    if (!h) f.hashes.set(i, (h = new HashSize(!ip6)));
    return h;
  }

  private contribute(
    tableId: number,
    ip6: boolean,
    addr: string,
    len: number,
    src: Source,
    paths: FibPath[] | null,
    /** With `paths` null: the paths of a contribution made now (else only a reference is added). */
    initial?: FibPath[],
  ): Entry {
    const f = this.fib(tableId, ip6);
    const prefix = `${masked(addr, len)}/${len}`;
    let e = f.entries.get(prefix);
    if (!e) {
      e = {
        prefix,
        // ip4_add_interface_prefix_routes hands the FIB the address itself with the length (IPv6
        // masks it first).
        shown: src === 'interface' && !ip6 ? `${addr}/${len}` : prefix,
        len,
        hashKey: hashKeyOf(masked(addr, len), len, ip6),
        seq: this.nextSeq++,
        statsIndex: this.nextStats++,
        sources: new Map(),
      };
      f.entries.set(prefix, e);
      this.hashOf(f, ip6, len).inserted();
    }
    const c = e.sources.get(src);
    if (paths === null) {
      if (c) c.refs++;
      else if (initial) e.sources.set(src, { paths: initial, refs: 1 });
    } else if (c && src === 'interface') c.refs++;
    else e.sources.set(src, { paths, refs: 1 });
    return e;
  }

  /** A source's share of an entry goes (or one reference of it); the entry goes with its last. */
  private withdraw(tableId: number, ip6: boolean, prefix: string, src: Source, all = false): void {
    const f = this.fibs.get(`${ip6 ? 6 : 4}:${tableId}`);
    const e = f?.entries.get(prefix);
    const c = e?.sources.get(src);
    if (!f || !e || !c) return;
    if (!all && --c.refs > 0) return;
    e.sources.delete(src);
    if (e.sources.size > 0) return;
    f.entries.delete(prefix);
    this.hashOf(f, ip6, e.len).deleted();
  }

  /** A table made (ip_table_add_del, or NAT's): its special entries. */
  tableCreated(tableId: number, ip6: boolean): void {
    const drop = (proto: number): FibPath[] => [encoded({ proto, type: DROP })];
    if (ip6) {
      this.contribute(tableId, true, '::', 0, 'default', drop(1));
      this.contribute(tableId, true, 'fe80::', 10, 'special', [encoded({ proto: 1 })]);
      return;
    }
    this.contribute(tableId, false, '0.0.0.0', 0, 'default', drop(0));
    for (const [a, l] of [
      ['0.0.0.0', 32],
      ['240.0.0.0', 4],
      ['224.0.0.0', 4],
      ['255.255.255.255', 32],
    ] as const)
      this.contribute(tableId, false, a, l, 'special', drop(0));
  }

  /** A table gone: its specials and interface entries with it (API routes stay, see above). */
  tableDestroyed(tableId: number, ip6: boolean): void {
    const f = this.fibs.get(`${ip6 ? 6 : 4}:${tableId}`);
    if (!f) return;
    for (const e of [...f.entries.values()])
      for (const s of ['special', 'interface', 'default'] as const)
        this.withdraw(tableId, ip6, e.prefix, s, true);
  }

  /** The entries of an interface address, added or removed (ip4/ip6_add_del_interface_routes). */
  interfaceAddress(tableId: number, sw: number, addr: string, len: number, isAdd: boolean): void {
    const ip6 = isIPv6(addr);
    const proto = ip6 ? 1 : 0;
    const host = ip6 ? 128 : 32;
    const routes: [string, number, FibPath][] = [
      [addr, host, encoded({ proto, sw_if_index: sw, type: LOCAL }, addr)],
    ];
    if (len < host) routes.push([addr, len, encoded({ proto, sw_if_index: sw })]);
    if (!ip6 && len <= 30) {
      const net = ip4Words(masked(addr, len));
      const bcast = (net | (0xffffffff >>> len)) >>> 0;
      for (const n of [net, bcast])
        if (ip4Text(n) !== addr) routes.push([ip4Text(n), 32, encoded({ proto, type: DROP })]);
    }
    for (const [a, l, p] of routes) {
      if (isAdd) this.contribute(tableId, ip6, a, l, 'interface', [p]);
      else this.withdraw(tableId, ip6, `${masked(a, l)}/${l}`, 'interface');
    }
  }

  addDel(vpp: VppState, m: IpRouteAddDel): { rv: number; statsIndex: number } {
    const r = m.route;
    const slash = r.prefix.lastIndexOf('/');
    const addr = r.prefix.slice(0, slash);
    const len = Number(r.prefix.slice(slash + 1));
    const ip6 = isIPv6(addr);
    if (!vpp.ip.hasTable(r.table_id, ip6)) return { rv: RV.NO_SUCH_FIB, statsIndex: NO_INDEX };
    const paths = r.paths.slice(0, r.n_paths).map((p) =>
      encoded({
        ...p,
        // A path without interface resolves in its table; one via an interface is attached.
        table_id: p.sw_if_index === NO_INDEX ? p.table_id : 0,
      }),
    );
    if ((m.is_multipath || m.is_add) && paths.length === 0)
      return { rv: RV.NO_PATHS_IN_ROUTE, statsIndex: NO_INDEX };
    const prefix = `${masked(addr, len)}/${len}`;
    const e = this.fibs.get(`${ip6 ? 6 : 4}:${r.table_id}`)?.entries.get(prefix);
    const api = e?.sources.get('api');
    const before = api?.paths ?? [];
    let next: FibPath[];
    if (!m.is_add) {
      if (!api) return { rv: RV.OK, statsIndex: NO_INDEX };
      next = m.is_multipath ? before.filter((p) => !paths.some((q) => samePath(p, q))) : [];
    } else if (m.is_multipath) {
      next = [...before];
      for (const p of paths) if (!next.some((q) => samePath(p, q))) next.push(p);
    } else next = paths;
    let entry: Entry | undefined = e;
    if (next.length === 0) this.withdraw(r.table_id, ip6, prefix, 'api', true);
    else if (api) api.paths = next;
    else entry = this.contribute(r.table_id, ip6, addr, len, 'api', next);
    // Next hops tracked by the new paths first, then those of the old ones let go.
    for (const p of next) this.track(vpp, p, true);
    for (const p of before) this.track(vpp, p, false);
    return { rv: RV.OK, statsIndex: m.is_add && entry ? entry.statsIndex : NO_INDEX };
  }

  /** What a tracked next hop's entry forwards with: via its attached cover's interface, or drop. */
  private resolved(f: Fib, e: Entry, ip6: boolean): FibPath {
    const proto = ip6 ? 1 : 0;
    const addr = e.prefix.slice(0, e.prefix.lastIndexOf('/'));
    let cover: Entry | undefined;
    for (let len = e.len - 1; len >= 0 && !cover; len--) {
      const c = f.entries.get(`${masked(addr, len)}/${len}`);
      if (c && [...c.sources.keys()].some((x) => x !== 'rr')) cover = c;
    }
    const via = cover?.sources.get('interface')?.paths[0];
    if (via && via.type === NORMAL && via.sw_if_index !== NO_INDEX && !cover?.sources.has('special'))
      return encoded({ proto, sw_if_index: via.sw_if_index }, addr);
    return encoded({ proto, type: DROP });
  }

  /** A path's next hop tracked (or let go) in the table it resolves in. */
  private track(vpp: VppState, p: FibPath, add: boolean): void {
    if (p.sw_if_index !== NO_INDEX || p.type !== NORMAL || (p.proto !== 0 && p.proto !== 1)) return;
    const ip6 = p.proto === 1;
    const nh = (ip6 ? p.nh.address.ip6 : p.nh.address.ip4) as string;
    if (!vpp.ip.hasTable(p.table_id, ip6)) return;
    const host = ip6 ? 128 : 32;
    if (add) this.contribute(p.table_id, ip6, nh, host, 'rr', null, []);
    else this.withdraw(p.table_id, ip6, `${masked(nh, host)}/${host}`, 'rr');
  }

  dump(tableId: number, ip6: boolean): Fields[] {
    const f = this.fibs.get(`${ip6 ? 6 : 4}:${tableId}`);
    if (!f) return [];
    const all = [...f.entries.values()].sort((a, b) => a.seq - b.seq);
    const ordered = ip6
      ? this.hashOf(f, true, 0).order(
          all,
          (e) => e.hashKey,
          (k) => k,
        )
      : [...Array(33).keys()].flatMap((len) =>
          this.hashOf(f, false, len).order(
            all.filter((e) => e.len === len),
            (e) => e.hashKey,
          ),
        );
    return ordered.map((e) => {
      const src = SOURCES.find((x) => e.sources.has(x)) as Source;
      const best =
        src === 'rr' ? { paths: [this.resolved(f, e, ip6)], refs: 1 } : (e.sources.get(src) as Contribution);
      return {
        route: {
          table_id: tableId,
          stats_index: e.statsIndex,
          prefix: e.shown,
          n_paths: best.paths.length,
          paths: best.paths,
        },
      };
    });
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
