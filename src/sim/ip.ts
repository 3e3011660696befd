/**
 * Interface addresses and table (VRF) binding as vnet/ip keeps them: addresses per interface in
 * the order added, no overlapping subnets within one table (ip4/ip6_add_del_interface_address),
 * IPv6 link-local addresses kept apart (never in ip_address_dump), and tables that exist while
 * the API or an interface holds them.
 */
import { isIPv6 } from 'node:net';
import { ip6Words } from './acl.ts';
import type { SwIf } from './interfaces.ts';
import { SUB_IF } from './subint.ts';
import { RV } from './retval.ts';
import type { Routes } from './routes.ts';

interface IfAddr {
  /** Address text as the codec gave it, and its prefix length. */
  addr: string;
  len: number;
  words: number[];
}

function words(addr: string): number[] {
  if (isIPv6(addr)) return ip6Words(addr);
  const p = addr.split('.').map(Number);
  return [((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0];
}

/** VPP's ip4/ip6_destination_matches_route: `key` lies within dest/len. */
function within(key: number[], dest: number[], len: number): boolean {
  for (let w = 0; w < key.length; w++) {
    const keep = Math.max(0, Math.min(32, len - 32 * w));
    if (keep === 0) continue;
    const mask = (0xffffffff << (32 - keep)) >>> 0;
    if (((key[w] ^ dest[w]) & mask) >>> 0 !== 0) return false;
  }
  return true;
}

function defaultTableName(tableId: number, ip6: boolean): string {
  return `${ip6 ? 'ipv6' : 'ipv4'}-VRF:${tableId}`;
}

export class Ip {
  private readonly v4 = new Map<number, IfAddr[]>();
  private readonly v6 = new Map<number, IfAddr[]>();
  private readonly linkLocal = new Map<number, string>();
  /** sw_if_index -> table id, per family (absent = table 0). */
  private readonly bound: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  /** `${family}:${table id}` -> holders and name, in creation order (VPP's pool order, roughly). */
  private readonly tables = new Map<string, { api: boolean; users: number; name: string }>();

  /** Interfaces admin up: their addresses' FIB entries exist only then (ip4/ip6_forward.c). */
  private readonly up = new Set<number>();

  /**
   * `routes`: the FIB, told of tables made and gone and of interface addresses; `ip6Link`: told when
   * an interface's IPv6 is enabled (its first IPv6 address) and disabled (its last one gone), which
   * makes and drops its router-advertisement state (ip6_link.c's delegates).
   */
  constructor(
    private readonly routes: Routes,
    private readonly ip6Link: (sw: number, enabled: boolean) => void = () => undefined,
  ) {}

  private addressRoutes(sw: number, ip6: boolean, a: { addr: string; len: number }, add: boolean): void {
    if (this.up.has(sw)) this.routes.interfaceAddress(this.tableOf(sw, ip6), sw, a.addr, a.len, add);
  }

  private dropAll(sw: number): void {
    for (const ip6 of [false, true]) {
      const family = ip6 ? this.v6 : this.v4;
      const had = family.get(sw) ?? [];
      for (const a of had) this.addressRoutes(sw, ip6, a, false);
      family.delete(sw);
      if (ip6 && had.length > 0) this.ip6Link(sw, false);
    }
  }

  /** An interface's admin state changed (ip4/ip6_sw_interface_admin_up_down). */
  adminChanged(sw: number, up: boolean): void {
    if (this.up.has(sw) === up) return;
    if (!up)
      for (const ip6 of [false, true])
        for (const a of this.addresses(sw, ip6)) this.addressRoutes(sw, ip6, a, false);
    if (up) this.up.add(sw);
    else this.up.delete(sw);
    if (up)
      for (const ip6 of [false, true])
        for (const a of this.addresses(sw, ip6)) this.addressRoutes(sw, ip6, a, true);
  }

  /** Whether an interface has IPv6 enabled (an IPv6 address). */
  ip6Enabled(sw: number): boolean {
    return (this.v6.get(sw)?.length ?? 0) > 0;
  }

  addresses(sw: number, ip6: boolean): { addr: string; len: number }[] {
    return (ip6 ? this.v6 : this.v4).get(sw) ?? [];
  }

  /** Whether an interface `up` accepts has this address (LISP's is_local_ip: a local route). */
  isLocal(addr: string, up: (sw: number) => boolean): boolean {
    for (const family of [this.v4, this.v6])
      for (const [sw, list] of family) if (up(sw) && list.some((a) => a.addr === addr)) return true;
    return false;
  }

  tableOf(sw: number, ip6: boolean): number {
    return this.bound[ip6 ? 1 : 0].get(sw) ?? 0;
  }

  /** sw_interface_add_del_address (after the sw_if_index check). */
  addDel(s: SwIf, isAdd: boolean, delAll: boolean, prefix: string): number {
    if (delAll) {
      this.dropAll(s.index);
      return RV.OK;
    }
    // vnet_sw_interface_supports_addressing
    if (s.index === 0 || (s.isSub && !(s.subFlags & SUB_IF.EXACT_MATCH))) return RV.UNSUPPORTED;
    const slash = prefix.lastIndexOf('/');
    const addr = prefix.slice(0, slash);
    const len = Number(prefix.slice(slash + 1));
    const ip6 = isIPv6(addr);
    const w = words(addr);
    if (ip6 && w[0] >>> 22 === 0x3fa) return this.linkLocalAddDel(s.index, isAdd, addr, len);
    const family = ip6 ? this.v6 : this.v4;
    const mine = family.get(s.index) ?? [];
    if (!isAdd) {
      const i = mine.findIndex((a) => a.addr === addr);
      if (i < 0) return RV.ADDRESS_NOT_FOUND_FOR_INTERFACE;
      mine.splice(i, 1);
      if (mine.length === 0) family.delete(s.index);
      this.addressRoutes(s.index, ip6, { addr, len }, false);
      if (ip6 && mine.length === 0) this.ip6Link(s.index, false);
      return RV.OK;
    }
    const table = this.tableOf(s.index, ip6);
    for (const [sw, list] of family) {
      if (this.tableOf(sw, ip6) !== table) continue;
      for (const x of list) {
        if (!within(w, x.words, x.len) && !within(x.words, w, len)) continue;
        // An interface may have several addresses from one subnet.
        if (sw === s.index && x.len === len && x.addr !== addr) continue;
        return ip6 ? RV.DUPLICATE_IF_ADDRESS : RV.ADDRESS_IN_USE;
      }
    }
    if (len === 0 || len > (ip6 ? 128 : 32)) return RV.ADDRESS_LENGTH_MISMATCH;
    mine.push({ addr, len, words: w });
    family.set(s.index, mine);
    if (ip6 && mine.length === 1) this.ip6Link(s.index, true);
    this.addressRoutes(s.index, ip6, { addr, len }, true);
    return RV.OK;
  }

  private linkLocalAddDel(sw: number, isAdd: boolean, addr: string, len: number): number {
    if (len !== 128) return RV.ADDRESS_LENGTH_MISMATCH;
    if (isAdd) {
      this.linkLocal.set(sw, addr);
      return RV.OK;
    }
    return this.linkLocal.get(sw) === addr ? RV.ADDRESS_NOT_DELETABLE : RV.ADDRESS_NOT_FOUND_FOR_INTERFACE;
  }

  /**
   * ip_table_add_del: always succeeds; table 0 is always there and never touched. A table keeps the
   * name it was created with (fib_table_find_or_create_and_lock_w_name); without one VPP names it
   * `ipv4-VRF:<id>` / `ipv6-VRF:<id>`.
   */
  tableAddDel(tableId: number, ip6: boolean, isAdd: boolean, name = ''): number {
    if (tableId === 0) return RV.OK;
    const key = `${ip6 ? 6 : 4}:${tableId}`;
    const t = this.tables.get(key);
    if (isAdd) {
      if (t) t.api = true;
      else {
        this.tables.set(key, { api: true, users: 0, name: name || defaultTableName(tableId, ip6) });
        this.routes.tableCreated(tableId, ip6);
      }
    } else if (t) {
      t.api = false;
      if (t.users === 0) this.dropTable(key, tableId, ip6);
    }
    return RV.OK;
  }

  /** ip_table_dump: every IPv4 table, then every IPv6 one (link-local tables are not shown), 0 first. */
  tablesDump(): { table_id: number; is_ip6: boolean; name: string }[] {
    const out: { table_id: number; is_ip6: boolean; name: string }[] = [];
    for (const ip6 of [false, true]) {
      out.push({ table_id: 0, is_ip6: ip6, name: defaultTableName(0, ip6) });
      for (const [key, t] of this.tables) {
        const [fam, id] = key.split(':');
        if ((fam === '6') === ip6) out.push({ table_id: Number(id), is_ip6: ip6, name: t.name });
      }
    }
    return out;
  }

  /** fib_table_find: table 0 always exists, others while the API or an interface holds them. */
  hasTable(tableId: number, ip6: boolean): boolean {
    return tableId === 0 || this.tables.has(`${ip6 ? 6 : 4}:${tableId}`);
  }

  /** sw_interface_set_table (after the sw_if_index check). */
  bind(sw: number, ip6: boolean, tableId: number): number {
    if (!this.hasTable(tableId, ip6)) return RV.NO_SUCH_FIB;
    if ((ip6 ? this.v6 : this.v4).get(sw)?.length) return RV.ADDRESS_FOUND_FOR_INTERFACE;
    this.setBinding(sw, ip6, tableId);
    return RV.OK;
  }

  private setBinding(sw: number, ip6: boolean, tableId: number): void {
    const fam = ip6 ? 6 : 4;
    const old = this.tableOf(sw, ip6);
    if (old !== 0) {
      const t = this.tables.get(`${fam}:${old}`);
      if (t && --t.users === 0 && !t.api) this.dropTable(`${fam}:${old}`, old, ip6);
    }
    if (tableId === 0) this.bound[ip6 ? 1 : 0].delete(sw);
    else {
      this.bound[ip6 ? 1 : 0].set(sw, tableId);
      (this.tables.get(`${fam}:${tableId}`) as { users: number }).users++;
    }
  }

  private dropTable(key: string, tableId: number, ip6: boolean): void {
    this.tables.delete(key);
    this.routes.tableDestroyed(tableId, ip6);
  }

  interfaceDeleted(sw: number): void {
    this.dropAll(sw);
    this.up.delete(sw);
    this.linkLocal.delete(sw);
    this.setBinding(sw, false, 0);
    this.setBinding(sw, true, 0);
  }
}
