/**
 * IPv6 router advertisements (vnet/ip6-nd/ip6_ra.c, ip6_nd_api.c). An interface has RA state while
 * IPv6 is enabled on it (its first IPv6 address makes it, its last one's removal drops it with its
 * prefixes: ip6_link.c's delegate); without it every call is -62 (IP6_NOT_ENABLED), a bad
 * sw_if_index -2. The state starts as ip6_ra_link_enable leaves it: not sending (send_radv 0),
 * intervals 200 / 150 s, router lifetime 600 s, hop limit 64, the link-layer option on, 3 initial
 * adverts 16 s apart, the interface's MTU, no prefix.
 *
 * sw_interface_ip6nd_ra_config (ip6_ra_config): sending turns on with any call, then each flag given
 * sets its setting (is_no: back to the default: suppress → sending on, managed/other/send_unicast/
 * cease → off, ll_option → the option on); a max interval without a min gets 3/4 of it; intervals
 * and lifetime are kept when 0 (or reset by is_no); -7 when the lifetime is not above the max
 * interval, the min interval above 3/4 of the max or under 3, over 3 initial adverts or an initial
 * interval over 16 s. sw_interface_ip6nd_ra_prefix (ip6_ra_prefix): adds (L and A set, lifetimes
 * 30 days / 7 days; with use_default nothing else is read) or changes a prefix: no_advertise,
 * off_link or no_onlink, no_autoconfig clear its bits; lifetimes as given (either ~0: both
 * infinite, no decrement); is_no deletes it (-7 when absent, -8 with another length; a change with
 * another length -8). Prefixes dump in pool order (freed slots reused most recently freed first);
 * interfaces in the RA pool's order. Times (last/next adverts, expiry) and the counters of sent
 * adverts are what VPP's clock made them: reported 0 here.
 */
import type {
  SwInterfaceIp6ndRaConfig,
  SwInterfaceIp6ndRaPrefix,
  SwInterfaceIp6ndRaDump,
} from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

const IP6_NOT_ENABLED = -62;
const DEF_MAX = 200;
const DEF_MIN = 0.75 * DEF_MAX;
const DEF_LIFETIME = 3 * DEF_MAX;
const MAX_LIFETIME = 9000;
const MAX_INITIAL_COUNT = 3;
const MAX_INITIAL_INTERVAL = 16;
const DEF_VALID = 30 * 24 * 3600;
const DEF_PREF = 7 * 24 * 3600;
const INFINITE = 0xffffffff;

interface RaPrefix {
  address: string;
  len: number;
  onlink: boolean;
  autonomous: boolean;
  valid: number;
  preferred: number;
  decrement: boolean;
  enabled: boolean;
}

interface Radv {
  sw: number;
  poolIndex: number;
  sendRadv: boolean;
  managed: boolean;
  other: boolean;
  llOption: boolean;
  sendUnicast: boolean;
  cease: boolean;
  maxInterval: number;
  minInterval: number;
  lifetime: number;
  initialCount: number;
  initialInterval: number;
  mtu: number;
  prefixes: Map<number, RaPrefix>;
  prefixPool: IndexPool;
}

export class RouterAdverts {
  private readonly bySw = new Map<number, Radv>();
  private readonly pool = new IndexPool();

  /** IPv6 on an interface enabled (with its MTU) or disabled. */
  link(sw: number, enabled: boolean, mtu: number): void {
    const cur = this.bySw.get(sw);
    if (!enabled) {
      if (cur) this.pool.release(cur.poolIndex);
      this.bySw.delete(sw);
      return;
    }
    if (cur) return;
    this.bySw.set(sw, {
      sw,
      poolIndex: this.pool.alloc(),
      sendRadv: false,
      managed: false,
      other: false,
      llOption: true,
      sendUnicast: false,
      cease: false,
      maxInterval: DEF_MAX,
      minInterval: DEF_MIN,
      lifetime: DEF_LIFETIME,
      initialCount: MAX_INITIAL_COUNT,
      initialInterval: MAX_INITIAL_INTERVAL,
      mtu,
      prefixes: new Map(),
      prefixPool: new IndexPool(),
    });
  }

  config(m: SwInterfaceIp6ndRaConfig): number {
    const r = this.bySw.get(m.sw_if_index);
    if (!r) return IP6_NOT_ENABLED;
    const no = m.is_no;
    r.sendRadv = true;
    let minI = m.min_interval;
    // The API's u32: 3/4 of 30 is 22.
    if (m.max_interval !== 0 && minI === 0) minI = Math.trunc(0.75 * m.max_interval);
    const maxI = m.max_interval !== 0 ? (no ? DEF_MAX : m.max_interval) : r.maxInterval;
    minI = minI !== 0 ? (no ? DEF_MIN : minI) : r.minInterval;
    let lifetime = m.default_router !== 0 ? (no ? DEF_LIFETIME : m.lifetime) : r.lifetime;
    if (lifetime) {
      if (lifetime > MAX_LIFETIME) lifetime = MAX_LIFETIME;
      if (lifetime <= maxI) return RV.INVALID_VALUE;
    }
    if (minI !== 0 && (minI > 0.75 * maxI || minI < 3)) return RV.INVALID_VALUE;
    if (m.initial_count > MAX_INITIAL_COUNT || m.initial_interval > MAX_INITIAL_INTERVAL)
      return RV.INVALID_VALUE;
    const flag = (given: number, cur: boolean, whenNo: boolean): boolean =>
      given === 1 ? whenNo === no : cur;
    r.sendRadv = m.suppress === 1 ? no : r.sendRadv;
    r.managed = flag(m.managed, r.managed, false);
    r.other = flag(m.other, r.other, false);
    r.llOption = m.ll_option === 1 ? no : r.llOption;
    r.sendUnicast = flag(m.send_unicast, r.sendUnicast, false);
    r.cease = flag(m.cease, r.cease, false);
    r.minInterval = minI;
    r.maxInterval = maxI;
    r.lifetime = lifetime;
    r.initialCount = m.initial_count !== 0 ? (no ? MAX_INITIAL_COUNT : m.initial_count) : r.initialCount;
    r.initialInterval =
      m.initial_interval !== 0 ? (no ? MAX_INITIAL_INTERVAL : m.initial_interval) : r.initialInterval;
    if (m.cease === 1 && no) r.sendRadv = true;
    return RV.OK;
  }

  prefix(m: SwInterfaceIp6ndRaPrefix): number {
    const r = this.bySw.get(m.sw_if_index);
    if (!r) return IP6_NOT_ENABLED;
    const [address, lenText] = m.prefix.split('/');
    const len = Number(lenText);
    const found = [...r.prefixes].find(([, p]) => p.address === address);
    if (m.is_no) {
      if (!found) return RV.INVALID_VALUE;
      if (found[1].len !== len) return RV.INVALID_VALUE_2;
      r.prefixes.delete(found[0]);
      r.prefixPool.release(found[0]);
      return RV.OK;
    }
    let p: RaPrefix;
    if (!found) {
      p = {
        address,
        len,
        onlink: true,
        autonomous: true,
        valid: DEF_VALID,
        preferred: DEF_PREF,
        decrement: true,
        enabled: true,
      };
      r.prefixes.set(r.prefixPool.alloc(), p);
      if (m.use_default) return RV.OK;
    } else {
      p = found[1];
      if (p.len !== len) return RV.INVALID_VALUE_2;
    }
    if (m.val_lifetime === INFINITE || m.pref_lifetime === INFINITE) {
      p.valid = INFINITE;
      p.preferred = INFINITE;
      p.decrement = false;
    } else {
      p.valid = m.val_lifetime;
      p.preferred = m.pref_lifetime;
    }
    p.enabled = !m.no_advertise;
    p.onlink = !(m.off_link || m.no_onlink);
    p.autonomous = !m.no_autoconfig;
    return RV.OK;
  }

  private details(r: Radv): Fields {
    const prefixes = [...r.prefixes].sort(([a], [b]) => a - b).map(([, p]) => p);
    return {
      sw_if_index: r.sw,
      cur_hop_limit: 64,
      adv_managed_flag: r.managed,
      adv_other_flag: r.other,
      adv_router_lifetime: r.lifetime,
      adv_neighbor_reachable_time: 0,
      adv_retransmit_interval: 0,
      adv_link_mtu: r.mtu,
      send_radv: r.sendRadv,
      cease_radv: r.cease,
      send_unicast: r.sendUnicast,
      adv_link_layer_address: r.llOption,
      max_radv_interval: r.maxInterval,
      min_radv_interval: r.minInterval,
      last_radv_time: 0,
      last_multicast_time: 0,
      next_multicast_time: 0,
      initial_adverts_count: r.initialCount,
      initial_adverts_interval: r.initialInterval,
      initial_adverts_sent: false,
      n_advertisements_sent: 0,
      n_solicitations_rcvd: 0,
      n_solicitations_dropped: 0,
      n_prefixes: prefixes.length,
      prefixes: prefixes.map((p) => ({
        prefix: `${p.address}/${p.len}`,
        onlink_flag: p.onlink,
        autonomous_flag: p.autonomous,
        val_lifetime: p.valid,
        pref_lifetime: p.preferred,
        valid_lifetime_expires: 0,
        pref_lifetime_expires: 0,
        decrement_lifetime_flag: p.decrement,
        no_advertise: !p.enabled,
      })),
    };
  }

  dump(sw: number): Fields[] {
    const all = [...this.bySw.values()].sort((a, b) => a.poolIndex - b.poolIndex);
    return all.filter((r) => sw === 0xffffffff || r.sw === sw).map((r) => this.details(r));
  }
}

export const RA_HANDLERS: Record<string, Handler> = {
  sw_interface_ip6nd_ra_config(vpp, msg) {
    const m = msg as unknown as SwInterfaceIp6ndRaConfig;
    if (!vpp.ifs.get(m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return vpp.ra.config(m);
  },
  sw_interface_ip6nd_ra_prefix(vpp, msg) {
    const m = msg as unknown as SwInterfaceIp6ndRaPrefix;
    if (!vpp.ifs.get(m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return vpp.ra.prefix(m);
  },
  sw_interface_ip6nd_ra_dump(vpp: VppState, msg) {
    return vpp.ra.dump((msg as unknown as SwInterfaceIp6ndRaDump).sw_if_index);
  },
};
