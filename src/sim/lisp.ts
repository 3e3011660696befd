/**
 * The LISP control plane and its GPE data-plane interfaces as the lisp plugin keeps them
 * (lisp-cp/control.c, one_api.c, lisp-gpe/interface.c and lisp_gpe.c of VPP 26.06), with the ONE
 * API handlers netvpp uses. Only MAC (L2) EIDs are modelled beyond what their handlers check.
 *
 * - Almost every call needs LISP enabled (-90 otherwise); the state survives a disable. Enabling
 *   locks a GPE interface per EID-table map (`lisp_gpe0` for the default VNI 0 ↔ VRF 0, and
 *   `l2_lisp_gpe<vni>` in the bridge domain of each L2 map) — every enable, even of an enabled
 *   LISP, so after two enables one disable leaves lisp_gpe0 up; disabling flushes the forwarding
 *   entries (one_adjacencies_get lists none after) and unlocks each map's interface once.
 * - A VNI's first forwarding entry brings up an L3 GPE interface `lisp_gpe<vni>` (even for an L2
 *   VNI) and a sub-interface `lisp_gpe<vni>.<n>` under it, admin up; its last one deletes the
 *   sub-interface and puts the L3 one down (freed for reuse).
 * - Deleting a local EID drops the forwarding entries of every remote an adjacency from it was
 *   ever added for, even those re-added since with another local EID.
 * - GPE interfaces are never deleted: a removed one goes down, leaves its bridge and is kept for
 *   reuse (last freed first), renamed for the next VNI. They have no MAC and MTU 0.
 * - An EID-table map is one VNI ↔ one table: a second map of either is -1, as is deleting one that
 *   is not there. An L2 map creates the bridge domain if it does not exist.
 * - Locator sets are in one pool with the anonymous ones remote mappings make (`<remote-N>`),
 *   which are never freed, not even when their mapping is deleted. Adding a set whose name exists
 *   replaces its locators; deleting one that a mapping uses is -1. The set dump ignores its filter.
 * - A local EID needs its locator set by name (-7), LISP (-90), and its VNI mapped (-7); a second
 *   add is -81, deleting a missing one -7. Deleting it drops the forwarding entries made from it.
 * - Remote mappings are static: adding one again replaces its locators (no error) and, being
 *   static, even overwrites a local EID's; an RLOC that is a local address is -110. Deleting one
 *   removes its adjacency first, and a missing one is -1. They need no map of their VNI.
 * - An adjacency is a forwarding entry keyed by its remote EID (destination-only map-request mode):
 *   adding one replaces the remote's entry, whatever local EID it names; both EIDs must exist (-1).
 *   Deleting one that has no entry succeeds. Without a map of the VNI nothing is made, silently.
 * - The EID dump names a MAC in `seid` (deid stays zero); `locator_set_index` is ~0 when the set has
 *   no locators. The adjacency list gives a MAC EID the prefix type (its bytes are the MAC's).
 * - The dumps send their details with the id within one.api, without the plugin's base (see
 *   groups.ts, unbasedDetails; the server does that). The EID dump does not apply its filter: a
 *   real VPP 26.06 sends remote EIDs for filter 1 (local) too.
 * - An RLOC is "local" (-110) when an admin-up interface has it.
 */
import type {
  OneAddDelAdjacency,
  OneAddDelLocalEid,
  OneAddDelLocatorSet,
  OneAddDelRemoteMapping,
  OneAdjacenciesGet,
  OneEidTableAddDelMap,
  OneEidTableDump,
  OneEidTableMapDump,
  OneEnableDisable,
  OneLocatorDump,
  OneLocatorSetDump,
  Eid,
} from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX, type SwIf } from './interfaces.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

const LISP_DISABLED = -90;
const VALUE_EXIST = -81;
const LISP_RLOC_LOCAL = -110;
const EID_PREFIX = 0;
const EID_MAC = 1;
const ZERO_EID = { type: 0, address: { prefix: '0.0.0.0/0' } };

interface Locator {
  local: boolean;
  swIfIndex: number;
  address: string;
  priority: number;
  weight: number;
}

interface LocatorSet {
  /** Local sets only. */
  name: string | null;
  locators: Locator[];
}

interface Mapping {
  /** `<vni>/<type>/<address>`: what the gid dictionary matches exactly. */
  gid: string;
  vni: number;
  eid: Eid;
  local: boolean;
  locatorSet: number;
  action: number;
  ttl: number;
}

interface FwdEntry {
  remote: number;
  local: number;
}

/** An EID as VPP stores it: one member of the address union (a decoded one has them all). */
function stored(eid: Eid): Eid {
  if (eid.type === EID_MAC) return { type: EID_MAC, address: { mac: eid.address.mac ?? '' } };
  return { type: EID_PREFIX, address: { prefix: eid.address.prefix ?? '0.0.0.0/0' } };
}

/** A decoded EID, or null for a type the handler refuses. */
function gidOf(vni: number, eid: Eid): string | null {
  if (eid.type === EID_MAC) return `${vni}/mac/${eid.address.mac ?? ''}`;
  if (eid.type === EID_PREFIX) return `${vni}/ip/${eid.address.prefix ?? ''}`;
  return null;
}

export class Lisp {
  enabled = false;
  private readonly sets = new Map<number, LocatorSet>();
  private readonly setPool = new IndexPool();
  private readonly maps = new Map<number, Mapping>();
  private readonly mapPool = new IndexPool();
  private readonly byGid = new Map<string, number>();
  /** vni → table, per family of map; L3 has the default VNI 0 ↔ VRF 0 from the start. */
  private readonly bdByVni = new Map<number, number>();
  private readonly vrfByVni = new Map<number, number>([[0, 0]]);
  /** Forwarding entries (adjacencies) by remote mapping index, in creation order. */
  private readonly fwd = new Map<number, FwdEntry>();
  /** The data plane's interface per tenant: `l2:<vni>` / `l3:<vni>` → sw_if_index. */
  private readonly tenants = new Map<string, number>();
  /** Locks on each tenant's interface (lisp_gpe_tenant_*_iface_add_or_lock); it goes at 0. */
  private readonly locks = new Map<string, number>();
  /** GPE interfaces no tenant uses, last freed first. */
  private readonly free: number[] = [];
  /**
   * lcl_to_rmt_adjacencies: per local mapping, every remote an adjacency naming it was ever added
   * for. Deleting the local EID drops the forwarding entries of all of them, even those re-added
   * since with another local EID (nothing is ever taken out of the list but the local EID itself).
   */
  private readonly lclToRmt = new Map<number, number[]>();
  /** The GPE sub-interface (lisp_gpe<vni>.<n>) per VNI with forwarding entries, and their ids. */
  private readonly subs = new Map<number, number>();
  private readonly subIds = new IndexPool();

  constructor(private readonly vpp: VppState) {}

  enable(on: boolean): number {
    if (on) {
      // Every enable locks each map's tenant, even on an enabled LISP: enabled twice, one disable
      // leaves lisp_gpe0 up (the lisp-gpe recording); an L2 map's interface with a lock left stays.
      for (const vni of this.vrfByVni.keys()) this.tenantUp(`l3:${vni}`, `lisp_gpe${vni}`, null);
      for (const [vni, bd] of this.bdByVni) this.tenantUp(`l2:${vni}`, `l2_lisp_gpe${vni}`, bd);
    } else if (this.enabled) {
      // The forwarding entries go (and with them their interfaces), then one lock of each map's.
      for (const r of [...this.fwd.keys()]) this.dropFwd(r);
      for (const vni of this.vrfByVni.keys()) this.tenantDown(`l3:${vni}`);
      for (const vni of this.bdByVni.keys()) this.tenantDown(`l2:${vni}`);
    }
    this.enabled = on;
    return RV.OK;
  }

  /** A forwarding entry is made: the VNI's first one brings up its L3 interface and a sub-interface. */
  private addFwd(remote: number, local: number, vni: number): void {
    if (!this.subs.has(vni)) {
      this.tenantUp(`l3:${vni}`, `lisp_gpe${vni}`, null);
      const parent = this.vpp.ifs.get(this.tenants.get(`l3:${vni}`) as number) as SwIf;
      const sub = this.vpp.ifs.createSub(parent, this.subIds.alloc(), 0, 0, 0);
      const s = this.vpp.ifs.get(sub.swIfIndex) as SwIf;
      this.vpp.ifs.setAdmin(s, true);
      this.subs.set(vni, s.index);
    }
    this.fwd.set(remote, { remote, local });
    const list = this.lclToRmt.get(local) ?? [];
    list.push(remote);
    this.lclToRmt.set(local, list);
  }

  /** A forwarding entry goes: with the VNI's last one its sub-interface is deleted, its L3 interface goes down. */
  private dropFwd(remote: number): void {
    const vni = this.maps.get(remote)?.vni;
    if (!this.fwd.delete(remote) || vni === undefined) return;
    if ([...this.fwd.values()].some((f) => this.maps.get(f.remote)?.vni === vni)) return;
    const sub = this.subs.get(vni);
    if (sub !== undefined) {
      this.subIds.release((this.vpp.ifs.get(sub) as SwIf).subId);
      this.vpp.ifs.deleteSub(sub);
      this.subs.delete(vni);
    }
    this.tenantDown(`l3:${vni}`);
  }

  /** lisp_gpe_create_iface: a freed GPE interface renamed, or a new one; up; in its bridge for L2. */
  private tenantUp(tenant: string, name: string, bd: number | null): void {
    const ifs = this.vpp.ifs;
    this.locks.set(tenant, (this.locks.get(tenant) ?? 0) + 1);
    if (this.tenants.has(tenant)) return;
    let s: SwIf;
    const reuse = this.free.pop();
    if (reuse !== undefined) {
      s = ifs.get(reuse) as SwIf;
      s.hw.name = name;
    } else {
      const hw = ifs.newHw('lisp', bd === null ? 'LISP_GPE' : 'L2_LISP_GPE', name, '', 0);
      hw.linkMtu = 0;
      s = ifs.createHw(hw, 'normal');
      s.mtu = [0, 0, 0, 0];
    }
    this.tenants.set(tenant, s.index);
    ifs.setAdmin(s, true);
    if (bd !== null) this.vpp.l2.setBridge(s, bd, 0, 0, true);
  }

  private tenantDown(tenant: string): void {
    const i = this.tenants.get(tenant);
    if (i === undefined) return;
    const left = (this.locks.get(tenant) ?? 1) - 1;
    if (left > 0) {
      this.locks.set(tenant, left);
      return;
    }
    this.locks.delete(tenant);
    const s = this.vpp.ifs.get(i) as SwIf;
    if (tenant.startsWith('l2:')) this.vpp.l2.setBridge(s, 0, 0, 0, false);
    this.vpp.ifs.setAdmin(s, false);
    this.tenants.delete(tenant);
    this.free.push(i);
  }

  // ---- locator sets -------------------------------------------------------------------------------

  private setByName(name: string): number | undefined {
    for (const [i, s] of this.sets) if (s.name === name) return i;
    return undefined;
  }

  /** vnet_lisp_add_del_locator_set for a local set (by name); returns [retval, ls_index]. */
  addDelLocatorSet(isAdd: boolean, name: string, locators: Locator[]): [number, number] {
    if (!this.enabled) return [LISP_DISABLED, NO_INDEX];
    let i = this.setByName(name);
    if (!isAdd) {
      if (i === undefined) return [RV.UNSPECIFIED, NO_INDEX];
      if ([...this.maps.values()].some((m) => m.locatorSet === i)) return [RV.UNSPECIFIED, NO_INDEX];
      this.sets.delete(i);
      this.setPool.release(i);
      return [RV.OK, NO_INDEX];
    }
    if (i === undefined) {
      i = this.setPool.alloc();
      this.sets.set(i, { name, locators: [] });
    }
    const set = this.sets.get(i) as LocatorSet;
    set.locators = [];
    for (const l of locators) {
      if (set.locators.some((x) => x.swIfIndex === l.swIfIndex)) return [VALUE_EXIST, i];
      set.locators.push(l);
    }
    return [RV.OK, i];
  }

  /** VPP 26.06 does not apply the filter: every set, local and remote, whatever it asks for. */
  locatorSets(_filter: number): Fields[] {
    const out: Fields[] = [];
    for (const i of this.setPool.inUse()) {
      const s = this.sets.get(i) as LocatorSet;
      out.push({ ls_index: i, ls_name: s.name ?? `<remote-${i}>` });
    }
    return out;
  }

  locators(m: OneLocatorDump): Fields[] {
    const i = m.is_index_set ? m.ls_index : this.setByName(m.ls_name);
    const s = i === undefined ? undefined : this.sets.get(i);
    return (s?.locators ?? []).map((l) => ({
      local: l.local ? 1 : 0,
      sw_if_index: l.local ? l.swIfIndex : 0,
      ip_address: l.local ? '0.0.0.0' : l.address,
      priority: l.priority,
      weight: l.weight,
    }));
  }

  // ---- EID-table maps -----------------------------------------------------------------------------

  /** vnet_lisp_eid_table_map */
  tableMap(isAdd: boolean, vni: number, table: number, isL2: boolean): number {
    if (!this.enabled) return LISP_DISABLED;
    const byVni = isL2 ? this.bdByVni : this.vrfByVni;
    if (!isL2 && (vni === 0 || table === 0)) return RV.UNSPECIFIED;
    const used = byVni.has(vni) || [...byVni.values()].includes(table);
    if (isAdd) {
      if (used) return RV.UNSPECIFIED;
      byVni.set(vni, table);
      if (isL2) this.tenantUp(`l2:${vni}`, `l2_lisp_gpe${vni}`, table);
      else this.tenantUp(`l3:${vni}`, `lisp_gpe${vni}`, null);
      return RV.OK;
    }
    if (byVni.get(vni) !== table || !used) return RV.UNSPECIFIED;
    this.tenantDown(`${isL2 ? 'l2' : 'l3'}:${vni}`);
    byVni.delete(vni);
    return RV.OK;
  }

  tableMaps(isL2: boolean): Fields[] {
    return [...(isL2 ? this.bdByVni : this.vrfByVni)].map(([vni, t]) => ({ vni, dp_table: t }));
  }

  // ---- mappings -----------------------------------------------------------------------------------

  private addMapping(m: Omit<Mapping, 'gid'>, gid: string): number {
    const i = this.mapPool.alloc();
    this.maps.set(i, { ...m, eid: stored(m.eid), gid });
    this.byGid.set(gid, i);
    return i;
  }

  private dropMapping(i: number): void {
    const m = this.maps.get(i) as Mapping;
    this.byGid.delete(m.gid);
    this.maps.delete(i);
    this.mapPool.release(i);
  }

  localEid(m: OneAddDelLocalEid): number {
    const gid = gidOf(m.vni, m.eid);
    if (gid === null) return RV.INVALID_VALUE;
    const ls = this.setByName(m.locator_set_name);
    if (ls === undefined) return RV.INVALID_VALUE;
    if (!this.enabled) return LISP_DISABLED;
    const mapped = m.eid.type === EID_MAC ? this.bdByVni.has(m.vni) : this.vrfByVni.has(m.vni);
    if (!mapped) return RV.INVALID_VALUE;
    const mi = this.byGid.get(gid);
    if (m.is_add) {
      if (mi !== undefined) return VALUE_EXIST;
      this.addMapping({ vni: m.vni, eid: m.eid, local: true, locatorSet: ls, action: 0, ttl: 0 }, gid);
      return RV.OK;
    }
    if (mi === undefined) return RV.INVALID_VALUE;
    // The forwarding entries of every remote an adjacency from this local EID was ever made for go
    // with it, whatever local EID they name now.
    for (const r of this.lclToRmt.get(mi) ?? []) this.dropFwd(r);
    this.lclToRmt.delete(mi);
    this.dropMapping(mi);
    return RV.OK;
  }

  remoteMapping(m: OneAddDelRemoteMapping): number {
    const gid = gidOf(m.vni, m.deid);
    if (gid === null) return RV.INVALID_VALUE;
    let mi = this.byGid.get(gid);
    if (!m.is_add) {
      // The handler deletes the adjacency first, which needs LISP and the remote EID.
      if (!this.enabled) return LISP_DISABLED;
      if (mi === undefined) return RV.UNSPECIFIED;
      this.dropFwd(mi);
      this.dropRemote(mi);
      return m.del_all ? this.clearRemotes() : RV.OK;
    }
    if (!this.enabled) return LISP_DISABLED;
    const rlocs = m.rlocs.slice(0, m.rloc_num);
    // A local route only while the interface is up (an admin-down one's address is not local).
    const up = (sw: number): boolean => this.vpp.ifs.get(sw)?.adminUp === true;
    if (rlocs.some((r) => this.vpp.ip.isLocal(r.ip_address, up))) return LISP_RLOC_LOCAL;
    const locators: Locator[] = [];
    // vnet_lisp_add_del_locator stops at a duplicate, keeping those before it.
    for (const r of rlocs) {
      if (locators.some((l) => l.address === r.ip_address)) break;
      locators.push({ local: false, swIfIndex: 0, address: r.ip_address, ...r });
    }
    if (mi !== undefined) {
      const old = this.maps.get(mi) as Mapping;
      old.action = m.action;
      old.ttl = NO_INDEX;
      (this.sets.get(old.locatorSet) as LocatorSet).locators = locators;
    } else {
      const ls = this.setPool.alloc();
      this.sets.set(ls, { name: null, locators });
      mi = this.addMapping(
        { vni: m.vni, eid: m.deid, local: false, locatorSet: ls, action: m.action, ttl: NO_INDEX },
        gid,
      );
    }
    return m.del_all ? this.clearRemotes() : RV.OK;
  }

  /** The remote's anonymous locator set stays (VPP 26.06 never frees one: `<remote-N>` keep counting). */
  private dropRemote(mi: number): void {
    this.dropMapping(mi);
  }

  private clearRemotes(): number {
    for (const [i, m] of [...this.maps]) {
      if (m.local) continue;
      this.dropFwd(i);
      this.dropRemote(i);
    }
    return RV.OK;
  }

  adjacency(m: OneAddDelAdjacency): number {
    const rgid = gidOf(m.vni, m.reid);
    const lgid = gidOf(m.vni, m.leid);
    if (rgid === null || lgid === null) return RV.INVALID_VALUE;
    if (!this.enabled) return LISP_DISABLED;
    const remote = this.byGid.get(rgid);
    if (remote === undefined) return RV.UNSPECIFIED;
    if (!m.is_add) {
      this.dropFwd(remote);
      return RV.OK;
    }
    const local = this.byGid.get(lgid);
    if (local === undefined) return RV.UNSPECIFIED;
    const mapped = m.reid.type === EID_MAC ? this.bdByVni.has(m.vni) : this.vrfByVni.has(m.vni);
    if (!mapped) {
      this.dropFwd(remote);
      return RV.OK;
    }
    // The entry is replaced in place: the VNI keeps its interfaces.
    this.fwd.delete(remote);
    this.addFwd(remote, local, m.vni);
    return RV.OK;
  }

  adjacencies(vni: number): Fields[] {
    const out: Fields[] = [];
    for (const f of this.fwd.values()) {
      const r = this.maps.get(f.remote);
      const l = this.maps.get(f.local);
      const asPrefix = (e: Eid): Eid => (e.type === EID_MAC ? { type: EID_PREFIX, address: e.address } : e);
      if (r && l && r.vni === vni) out.push({ reid: asPrefix(r.eid), leid: asPrefix(l.eid) });
    }
    return out;
  }

  eids(m: OneEidTableDump): Fields[] {
    let list: Mapping[];
    if (m.eid_set) {
      const gid = gidOf(m.vni, m.eid);
      const mi = gid === null ? undefined : this.byGid.get(gid);
      list = mi === undefined ? [] : [this.maps.get(mi) as Mapping];
    } else {
      list = this.mapPool.inUse().map((i) => this.maps.get(i) as Mapping);
    }
    return list.map((x) => ({
      locator_set_index: (this.sets.get(x.locatorSet) as LocatorSet).locators.length
        ? x.locatorSet
        : NO_INDEX,
      action: x.action,
      is_local: x.local,
      is_src_dst: false,
      vni: x.vni,
      deid: ZERO_EID,
      seid: x.eid,
      ttl: x.ttl,
      authoritative: 0,
      key: { id: 0, key: new Uint8Array(64) },
    }));
  }
}

export const LISP_HANDLERS: Record<string, Handler> = {
  one_enable_disable: (vpp, msg) => vpp.lisp.enable((msg as unknown as OneEnableDisable).is_enable),

  show_one_status: (vpp) => ({ retval: 0, feature_status: vpp.lisp.enabled, gpe_status: vpp.lisp.enabled }),

  one_add_del_locator_set(vpp, msg) {
    const m = msg as unknown as OneAddDelLocatorSet;
    const locators: Locator[] = [];
    for (const l of m.locators.slice(0, m.locator_num)) {
      if (!vpp.ifs.get(l.sw_if_index)) return { retval: RV.INVALID_SW_IF_INDEX, ls_index: NO_INDEX };
      locators.push({
        local: true,
        swIfIndex: l.sw_if_index,
        address: '',
        priority: l.priority,
        weight: l.weight,
      });
    }
    const [rv, ls] = vpp.lisp.addDelLocatorSet(m.is_add, m.locator_set_name, locators);
    return { retval: rv, ls_index: ls };
  },

  one_locator_set_dump: (vpp, msg) => vpp.lisp.locatorSets((msg as unknown as OneLocatorSetDump).filter),

  one_locator_dump: (vpp, msg) => vpp.lisp.locators(msg as unknown as OneLocatorDump),

  one_eid_table_add_del_map(vpp, msg) {
    const m = msg as unknown as OneEidTableAddDelMap;
    return vpp.lisp.tableMap(m.is_add, m.vni, m.dp_table, m.is_l2);
  },

  one_eid_table_map_dump: (vpp, msg) => vpp.lisp.tableMaps((msg as unknown as OneEidTableMapDump).is_l2),

  one_add_del_local_eid: (vpp, msg) => vpp.lisp.localEid(msg as unknown as OneAddDelLocalEid),

  one_eid_table_dump: (vpp, msg) => vpp.lisp.eids(msg as unknown as OneEidTableDump),

  one_add_del_remote_mapping: (vpp, msg) => vpp.lisp.remoteMapping(msg as unknown as OneAddDelRemoteMapping),

  one_add_del_adjacency: (vpp, msg) => vpp.lisp.adjacency(msg as unknown as OneAddDelAdjacency),

  one_adjacencies_get(vpp, msg) {
    const adjacencies = vpp.lisp.adjacencies((msg as unknown as OneAdjacenciesGet).vni);
    return { retval: 0, count: adjacencies.length, adjacencies };
  },
};
