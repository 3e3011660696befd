/**
 * VXLAN tunnels as the vxlan plugin keeps them (plugins/vxlan/vxlan.c vnet_vxlan_add_del_tunnel,
 * vxlan_api.c), with their API handlers.
 *
 * - A tunnel is found by its decap key, not by instance or sw_if_index: IPv4 unicast by
 *   (dst, src, src_port, encap table, vni), IPv4 multicast and every IPv6 tunnel by dst without
 *   src. So deleting takes the same addresses, src_port and table; an IPv6 delete matches
 *   whatever src it names, and a second IPv6 tunnel to one dst and vni is "tunnel exists".
 *   The key keeps 24 bits of the vni (VPP shifts it into the VXLAN header's place).
 * - Ports 0 mean 4789, IPv4 and IPv6 alike (vnet/udp/udp_local.h; 4790 is VXLAN-GPE's);
 *   decap_next_index ~0 means l2-input (1); 0 is error-drop and is accepted; 2 and above are -76.
 * - Tunnels sit in a pool (dev_instance, reused most recently freed first); the name is
 *   `vxlan_tunnel<instance>`, instance the one asked for or else the dev_instance; an instance in
 *   use is -147, including a dev_instance another tunnel took by asking for it.
 * - The interface is an Ethernet one with a random 02:fe MAC (is_l3: no MAC), device class
 *   "VXLAN", created admin up (so link up: the device's link follows admin state). It floods as
 *   a tunnel: unicast ones after every other flooding member of a bridge domain.
 * - Deleting brings it down and deletes the interface, taking its bridge membership with it; L2 FIB
 *   entries pointing at it stay (see l2fib.ts). The reply names the deleted tunnel's sw_if_index.
 * - The encap source need not be a local address: VPP only counts it as a VTEP.
 */
import { ip6ToBytes } from '../vpp/codec/addresses.ts';
import type { VxlanAddDelTunnelV3, VxlanTunnelV2Dump } from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX, randomMac, type Created, type SwIf } from './interfaces.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

/** VXLAN's port, over IPv4 and IPv6 alike. */
const UDP_PORT_VXLAN = 4789;
/** vxlan4/6-input's next nodes: error-drop, l2-input. */
const DECAP_NEXT_L2_INPUT = 1;
const DECAP_N_NEXT = 2;

export interface TunnelArgs {
  isAdd: boolean;
  instance: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  mcastSwIfIndex: number;
  encapVrfId: number;
  decapNext: number;
  vni: number;
  isL3: boolean;
}

export interface Tunnel {
  devInstance: number;
  userInstance: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  mcastSwIfIndex: number;
  encapVrfId: number;
  decapNext: number;
  vni: number;
  swIfIndex: number;
  key: string;
}

/**
 * An address as VPP holds it (ip46_address_t): an IPv6 address whose first 96 bits are zero reads
 * as IPv4 to ip46_address_is_ip4, and is reported as one.
 */
function ip46(text: string): { ip4: boolean; text: string; mcast: boolean } {
  if (!text.includes(':')) return { ip4: true, text, mcast: (Number(text.split('.')[0]) & 0xf0) === 0xe0 };
  const b = new Uint8Array(16);
  ip6ToBytes(text, b, 0);
  if (b.subarray(0, 12).every((x) => x === 0)) return ip46(b.subarray(12).join('.'));
  return { ip4: false, text, mcast: b[0] === 0xff };
}

const fail = (rv: number): Created => ({ rv, swIfIndex: NO_INDEX });

export class Vxlan {
  private readonly pool = new IndexPool();
  private readonly tunnels = new Map<number, Tunnel>();
  private readonly instances = new Set<number>();
  private readonly byKey = new Map<string, Tunnel>();
  private readonly bySw = new Map<number, Tunnel>();

  constructor(private readonly vpp: VppState) {}

  /** vxlan_add_del_tunnel_clean_input, then vnet_vxlan_add_del_tunnel. */
  addDel(a: TunnelArgs): Created {
    const src = ip46(a.src);
    const dst = ip46(a.dst);
    const ip6 = !src.ip4;
    if (!this.vpp.ip.hasTable(a.encapVrfId, ip6)) return fail(RV.NO_SUCH_FIB);
    if (src.ip4 !== dst.ip4) return fail(RV.INVALID_VALUE);
    if (src.text === dst.text) return fail(RV.SAME_SRC_DST);
    if (dst.mcast && !this.vpp.ifs.get(a.mcastSwIfIndex)) return fail(RV.INVALID_SW_IF_INDEX);
    const srcPort = a.srcPort || UDP_PORT_VXLAN;
    const dstPort = a.dstPort || UDP_PORT_VXLAN;
    const local = ip6 || dst.mcast ? '' : src.text;
    const key = `${dst.text}/${local}/${srcPort}/${a.encapVrfId}/${ip6 ? 6 : 4}/${a.vni & 0xffffff}`;
    const found = this.byKey.get(key);
    if (!a.isAdd) return found ? this.remove(found) : fail(RV.NO_SUCH_ENTRY);
    if (found) return fail(RV.TUNNEL_EXIST);
    const decapNext = a.decapNext === NO_INDEX ? DECAP_NEXT_L2_INPUT : a.decapNext;
    if (decapNext >= DECAP_N_NEXT) return fail(RV.INVALID_DECAP_NEXT);
    const devInstance = this.pool.alloc();
    const userInstance = a.instance === NO_INDEX ? devInstance : a.instance;
    if (this.instances.has(userInstance)) {
      this.pool.release(devInstance);
      return fail(RV.INSTANCE_IN_USE);
    }
    this.instances.add(userInstance);
    const ifs = this.vpp.ifs;
    const hw = ifs.newHw(
      'vxlan',
      'VXLAN',
      `vxlan_tunnel${userInstance}`,
      a.isL3 ? '' : randomMac(),
      devInstance,
    );
    if (a.isL3) hw.linkMtu = 0;
    const s = ifs.createHw(hw, dst.mcast ? 'tunnel_master' : 'tunnel_normal');
    if (a.isL3) s.mtu = [0, 0, 0, 0];
    const t: Tunnel = {
      devInstance,
      userInstance,
      src: src.text,
      dst: dst.text,
      srcPort,
      dstPort,
      mcastSwIfIndex: a.mcastSwIfIndex,
      encapVrfId: a.encapVrfId,
      decapNext,
      vni: a.vni,
      swIfIndex: s.index,
      key,
    };
    this.tunnels.set(devInstance, t);
    this.byKey.set(key, t);
    this.bySw.set(s.index, t);
    ifs.setAdmin(s, true);
    return { rv: RV.OK, swIfIndex: s.index };
  }

  private remove(t: Tunnel): Created {
    const ifs = this.vpp.ifs;
    const s = ifs.get(t.swIfIndex) as SwIf;
    ifs.setAdmin(s, false);
    this.bySw.delete(t.swIfIndex);
    this.byKey.delete(t.key);
    ifs.deleteHw(s.hw);
    this.instances.delete(t.userInstance);
    this.tunnels.delete(t.devInstance);
    this.pool.release(t.devInstance);
    return { rv: RV.OK, swIfIndex: t.swIfIndex };
  }

  /** Tunnels in pool order (vxlan_tunnel_v2_dump with ~0). */
  all(): Tunnel[] {
    return this.pool.inUse().map((i) => this.tunnels.get(i) as Tunnel);
  }

  bySwIfIndex(i: number): Tunnel | undefined {
    return this.bySw.get(i);
  }
}

function details(t: Tunnel): Fields {
  return {
    sw_if_index: t.swIfIndex,
    instance: t.userInstance,
    src_address: t.src,
    dst_address: t.dst,
    src_port: t.srcPort,
    dst_port: t.dstPort,
    mcast_sw_if_index: t.mcastSwIfIndex,
    encap_vrf_id: t.encapVrfId,
    decap_next_index: t.decapNext,
    vni: t.vni,
  };
}

export const VXLAN_HANDLERS: Record<string, Handler> = {
  vxlan_add_del_tunnel_v3(vpp, msg) {
    const m = msg as unknown as VxlanAddDelTunnelV3;
    const c = vpp.vxlan.addDel({
      isAdd: m.is_add,
      instance: m.instance,
      src: m.src_address,
      dst: m.dst_address,
      srcPort: m.src_port,
      dstPort: m.dst_port,
      mcastSwIfIndex: m.mcast_sw_if_index,
      encapVrfId: m.encap_vrf_id,
      decapNext: m.decap_next_index,
      vni: m.vni,
      isL3: m.is_l3,
    });
    return { retval: c.rv, sw_if_index: c.swIfIndex };
  },

  vxlan_tunnel_v2_dump(vpp, msg) {
    const m = msg as unknown as VxlanTunnelV2Dump;
    if (m.sw_if_index === NO_INDEX) return vpp.vxlan.all().map(details);
    const t = vpp.vxlan.bySwIfIndex(m.sw_if_index);
    return t ? [details(t)] : [];
  },
};
