/**
 * The nat44_ed plugin's configuration as nat44_ed.c / nat44_ed_api.c keep it (VPP 26.06):
 *
 * - Off until nat44_ed_plugin_enable_disable(enable): every other write is -126 (UNSUPPORTED)
 *   while it is off; a second enable is -170 (FEATURE_ALREADY_ENABLED), a disable while off -169;
 *   the STATIC_MAPPING_ONLY and CONNECTION_TRACKING flags are -126. Disabling drops static
 *   mappings, addresses and interfaces. `nat44_show_running_config` reports the enable's
 *   sessions (0 → 63 × 1024) and the bihash buckets they give; sessions is 0 while off (rconfig
 *   is cleared; buckets are 0 until the first enable and keep its value after a disable), so `sessions > 0` tells
 *   that NAT is on without writing anything.
 * - Interfaces: a pool (freed slots reused, most recently freed first); inside and outside are
 *   flags of one record; adding a side it has is 0; deleting a record it lacks is -6; a bad
 *   sw_if_index -2. Deleting a VPP interface drops its record (nat44_ed_sw_interface_add_del).
 * - Addresses: a vector (a delete moves the last one into its place, vec_del1); a duplicate is
 *   -81, deleting one absent -6; vrf_id ~0 = any tenant VRF, else that VRF's table (created if
 *   missing, as fib_table_find_or_create_and_lock does); the dump reports vrf_id ~0 or the table.
 * - Static mappings: a pool; an address-only mapping is keyed by its external address (-81 for a
 *   second with it) and by (local address, VRF) (-81 for a second local in one VRF); deleting
 *   needs the external address (-6 when none) — the pool entry found by it goes. vrf_id ~0 falls
 *   back to the inside VRF given at enable. Dump: vrf_id, addresses, flags (ADDR_ONLY), tag.
 *   Deleting a mapping flushes its sessions (the simulator keeps no sessions).
 * - Output-feature interfaces (nat44_ed_add_del_output_interface): a pool of their own; a bad
 *   sw_if_index -2 (checked first), -126 while off, -81 for an interface already in either pool
 *   (and an inside/outside feature on an output-feature interface is -81 too), deleting one absent
 *   -6. Listed by nat44_ed_output_interface_get (details, then the reply with the cursor). Deleting
 *   the VPP interface or disabling NAT drops them.
 */
import type {
  Nat44EdAddDelOutputInterface,
  Nat44AddDelAddressRange,
  Nat44AddDelStaticMappingV2,
  Nat44EdPluginEnableDisable,
  Nat44InterfaceAddDelFeature,
} from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX } from './interfaces.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

const NAT_IS_ADDR_ONLY = 8;
const NAT_IS_TWICE_NAT = 1;
const NAT_IS_OUTSIDE = 16;
const NAT_IS_INSIDE = 32;
const NAT44_IS_STATIC_MAPPING_ONLY = 2;
const NAT44_IS_CONNECTION_TRACKING = 4;
const NAT44_IS_ENDPOINT_DEPENDENT = 1;
const DEFAULT_SESSIONS = 63 * 1024;

/** nat/lib/lib.h nat_calc_bihash_buckets. */
export function bihashBuckets(n: number): number {
  const elts = Math.floor(n / 2.5);
  let lower = 1;
  while (lower * 2 < elts) lower *= 2;
  const upper = 2 * lower;
  return upper - elts < elts - lower ? upper : lower;
}

interface NatIf {
  swIfIndex: number;
  inside: boolean;
  outside: boolean;
}

interface StaticMapping {
  local: string;
  external: string;
  vrfId: number;
  flags: number;
  protocol: number;
  localPort: number;
  externalPort: number;
  tag: string;
}

export class Nat44 {
  enabled = false;
  private config = { inside_vrf: 0, outside_vrf: 0, sessions: 0 };
  /** 0 until the first enable, then that enable's (a disable leaves it, as on VPP 26.06). */
  private buckets = 0;
  /** Like the buckets: 0 until the first enable sets VPP's defaults, kept after a disable. */
  private timeouts = { udp: 0, tcp_established: 0, tcp_transitory: 0, icmp: 0 };
  private ifPool = new IndexPool();
  private ifs = new Map<number, NatIf>();
  private outPool = new IndexPool();
  private outs = new Map<number, number>();
  private addresses: { addr: string; vrfId: number; twice: boolean }[] = [];
  private smPool = new IndexPool();
  private sms = new Map<number, StaticMapping>();

  enableDisable(m: Nat44EdPluginEnableDisable): number {
    if (m.enable) {
      if (m.flags & (NAT44_IS_STATIC_MAPPING_ONLY | NAT44_IS_CONNECTION_TRACKING)) return RV.UNSUPPORTED;
      if (this.enabled) return RV.FEATURE_ALREADY_ENABLED;
      this.enabled = true;
      this.config = {
        inside_vrf: m.inside_vrf,
        outside_vrf: m.outside_vrf,
        sessions: m.sessions || DEFAULT_SESSIONS,
      };
      this.buckets = bihashBuckets(this.config.sessions);
      this.timeouts = { udp: 300, tcp_established: 7440, tcp_transitory: 240, icmp: 60 };
      return RV.OK;
    }
    if (!this.enabled) return RV.FEATURE_ALREADY_DISABLED;
    this.enabled = false;
    this.config = { inside_vrf: 0, outside_vrf: 0, sessions: 0 };
    this.ifPool = new IndexPool();
    this.ifs.clear();
    this.outPool = new IndexPool();
    this.outs.clear();
    this.addresses = [];
    this.smPool = new IndexPool();
    this.sms.clear();
    return RV.OK;
  }

  runningConfig(): Fields {
    return {
      retval: 0,
      inside_vrf: this.config.inside_vrf,
      outside_vrf: this.config.outside_vrf,
      users: 0,
      sessions: this.config.sessions,
      user_sessions: 0,
      user_buckets: 0,
      translation_buckets: this.buckets,
      forwarding_enabled: false,
      // VPP 26.06 reports true whether on or off (recorded, l3-nat/nat44.json).
      ipfix_logging_enabled: true,
      timeouts: { ...this.timeouts },
      log_level: 0,
      flags: NAT44_IS_ENDPOINT_DEPENDENT,
    };
  }

  interfaceAddDel(vpp: VppState, m: Nat44InterfaceAddDelFeature): number {
    if (!vpp.ifs.get(m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    if (!this.enabled) return RV.UNSUPPORTED;
    const inside = (m.flags & NAT_IS_INSIDE) !== 0;
    const slot = [...this.ifs].find(([, i]) => i.swIfIndex === m.sw_if_index);
    if (m.is_add) {
      if (this.outputSlot(m.sw_if_index) !== undefined) return RV.VALUE_EXIST;
      if (slot) {
        if (inside) slot[1].inside = true;
        else slot[1].outside = true;
        return RV.OK;
      }
      this.ifs.set(this.ifPool.alloc(), { swIfIndex: m.sw_if_index, inside, outside: !inside });
      return RV.OK;
    }
    if (!slot) return RV.NO_SUCH_ENTRY;
    const [idx, i] = slot;
    if (i.inside && i.outside) {
      if (inside) i.inside = false;
      else i.outside = false;
    } else {
      this.ifs.delete(idx);
      this.ifPool.release(idx);
    }
    return RV.OK;
  }

  interfaceDeleted(sw: number): void {
    for (const [idx, i] of this.ifs)
      if (i.swIfIndex === sw) {
        this.ifs.delete(idx);
        this.ifPool.release(idx);
      }
    const out = this.outputSlot(sw);
    if (out !== undefined) {
      this.outs.delete(out);
      this.outPool.release(out);
    }
  }

  private outputSlot(sw: number): number | undefined {
    return [...this.outs].find(([, s]) => s === sw)?.[0];
  }

  outputInterfaceAddDel(vpp: VppState, m: Nat44EdAddDelOutputInterface): number {
    if (!vpp.ifs.get(m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    if (!this.enabled) return RV.UNSUPPORTED;
    const slot = this.outputSlot(m.sw_if_index);
    if (m.is_add) {
      if (slot !== undefined || [...this.ifs.values()].some((i) => i.swIfIndex === m.sw_if_index))
        return RV.VALUE_EXIST;
      this.outs.set(this.outPool.alloc(), m.sw_if_index);
      return RV.OK;
    }
    if (slot === undefined) return RV.NO_SUCH_ENTRY;
    this.outs.delete(slot);
    this.outPool.release(slot);
    return RV.OK;
  }

  outputInterfacesGet(): Fields[] {
    return [...this.outs].sort(([a], [b]) => a - b).map(([, sw]) => ({ sw_if_index: sw }));
  }

  interfacesDump(): Fields[] {
    return [...this.ifs]
      .sort(([a], [b]) => a - b)
      .map(([, i]) => ({
        sw_if_index: i.swIfIndex,
        flags: (i.inside ? NAT_IS_INSIDE : 0) | (i.outside ? NAT_IS_OUTSIDE : 0),
      }));
  }

  addressRange(vpp: VppState, m: Nat44AddDelAddressRange): number {
    const first = toNum(m.first_ip_address);
    const count = toNum(m.last_ip_address) - first + 1;
    const twice = (m.flags & NAT_IS_TWICE_NAT) !== 0;
    for (let n = 0; n < count; n++) {
      const addr = toAddr(first + n);
      if (!this.enabled && m.is_add) return RV.UNSUPPORTED;
      const j = this.addresses.findIndex((a) => a.addr === addr && a.twice === twice);
      if (m.is_add) {
        if (j >= 0) return RV.VALUE_EXIST;
        // fib_table_find_or_create_and_lock: the tenant VRF's table comes into being if missing.
        if (m.vrf_id !== NO_INDEX && !vpp.ip.hasTable(m.vrf_id, false))
          vpp.ip.tableAddDel(m.vrf_id, false, true);
        this.addresses.push({ addr, vrfId: m.vrf_id, twice });
      } else {
        if (j < 0) return RV.NO_SUCH_ENTRY;
        const last = this.addresses.pop() as (typeof this.addresses)[number];
        if (j < this.addresses.length) this.addresses[j] = last;
      }
    }
    return RV.OK;
  }

  addressesDump(): Fields[] {
    const rows = [...this.addresses.filter((a) => !a.twice), ...this.addresses.filter((a) => a.twice)];
    return rows.map((a) => ({ ip_address: a.addr, flags: a.twice ? NAT_IS_TWICE_NAT : 0, vrf_id: a.vrfId }));
  }

  staticMapping(m: Nat44AddDelStaticMappingV2): number {
    if (!this.enabled) return RV.UNSUPPORTED;
    const addrOnly = (m.flags & NAT_IS_ADDR_ONLY) !== 0;
    const ePort = addrOnly ? 0 : m.external_port;
    const lPort = addrOnly ? 0 : m.local_port;
    const proto = addrOnly ? 0 : m.protocol;
    const vrfId = m.vrf_id === NO_INDEX ? this.config.inside_vrf : m.vrf_id;
    const byExternal = [...this.sms].find(
      ([, s]) => s.external === m.external_ip_address && s.externalPort === ePort && s.protocol === proto,
    );
    if (m.is_add) {
      if (byExternal) return RV.VALUE_EXIST;
      const byLocal = [...this.sms].some(
        ([, s]) =>
          s.local === m.local_ip_address &&
          s.localPort === lPort &&
          s.protocol === proto &&
          s.vrfId === vrfId,
      );
      if (byLocal) return RV.VALUE_EXIST;
      this.sms.set(this.smPool.alloc(), {
        local: m.local_ip_address,
        external: m.external_ip_address,
        vrfId,
        flags: m.flags & NAT_IS_ADDR_ONLY,
        protocol: proto,
        localPort: lPort,
        externalPort: ePort,
        tag: m.tag,
      });
      return RV.OK;
    }
    if (!byExternal) return RV.NO_SUCH_ENTRY;
    this.sms.delete(byExternal[0]);
    this.smPool.release(byExternal[0]);
    return RV.OK;
  }

  staticMappingsDump(): Fields[] {
    return [...this.sms]
      .sort(([a], [b]) => a - b)
      .map(([, s]) => ({
        flags: s.flags,
        local_ip_address: s.local,
        external_ip_address: s.external,
        protocol: s.protocol,
        local_port: s.localPort,
        external_port: s.externalPort,
        external_sw_if_index: NO_INDEX,
        vrf_id: s.vrfId,
        tag: s.tag,
      }));
  }
}

function toNum(a: string): number {
  return a.split('.').reduce((n, x) => n * 256 + Number(x), 0);
}

function toAddr(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export const NAT_HANDLERS: Record<string, Handler> = {
  nat44_ed_plugin_enable_disable: (vpp, msg) =>
    vpp.nat.enableDisable(msg as unknown as Nat44EdPluginEnableDisable),
  nat44_show_running_config: (vpp) => vpp.nat.runningConfig(),
  nat44_interface_add_del_feature: (vpp, msg) =>
    vpp.nat.interfaceAddDel(vpp, msg as unknown as Nat44InterfaceAddDelFeature),
  nat44_interface_dump: (vpp) => vpp.nat.interfacesDump(),
  nat44_ed_add_del_output_interface: (vpp, msg) =>
    vpp.nat.outputInterfaceAddDel(vpp, msg as unknown as Nat44EdAddDelOutputInterface),
  nat44_ed_output_interface_get: (vpp) => vpp.nat.outputInterfacesGet(),
  nat44_add_del_address_range: (vpp, msg) =>
    vpp.nat.addressRange(vpp, msg as unknown as Nat44AddDelAddressRange),
  nat44_address_dump: (vpp) => vpp.nat.addressesDump(),
  nat44_add_del_static_mapping_v2: (vpp, msg) =>
    vpp.nat.staticMapping(msg as unknown as Nat44AddDelStaticMappingV2),
  nat44_static_mapping_dump: (vpp) => vpp.nat.staticMappingsDump(),
};
