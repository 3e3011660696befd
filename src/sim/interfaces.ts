/**
 * Interfaces as VPP's vnet keeps them: a sw_if_index pool (freed indexes reused most recently
 * freed first), hardware interfaces with their device-specific naming, sub-interfaces hanging off
 * a hardware interface, admin state on the sw interface and link state on the hardware one.
 * Device behaviour follows each VPP driver: loopback, tap, af_packet and VXLAN links follow admin
 * state (tap and af_packet come up linked), a vhost-user link is up only while admin up AND a guest
 * is connected.
 *
 * Sub-interface match entries (subint.ts) live on the Ethernet hardware interface.
 */
import { randomBytes } from 'node:crypto';
import { EV } from './events.ts';
import { IndexPool, LowestFree } from './pool.ts';
import { RV } from './retval.ts';
import { MATCH, SUB_IF, subintConfig, type SubintSlot } from './subint.ts';
import type { VppState } from './state.ts';

export type DevKind =
  'local' | 'nic' | 'loopback' | 'tap' | 'vhost' | 'afpacket' | 'vxlan' | 'lisp' | 'pipe' | 'bond' | 'gre';
/** How a member floods in a bridge domain (VPP's vnet_flood_class_t). */
export type FloodClass = 'normal' | 'bvi' | 'no_flood' | 'tunnel_normal' | 'tunnel_master';

export const NO_INDEX = 0xffffffff;
/** Ethernet interfaces come up with a 9000-byte max frame (link_mtu) and L3 MTU. */
export const ETH_MTU = 9000;
const LOOPBACK_MAX_INSTANCE = 16 * 1024;
const TAP_MAX_INSTANCE = 8192;
export const ZERO_MAC = '00:00:00:00:00:00';

export interface TapInfo {
  id: number;
  hostIfName: string;
  hostMac: string;
  hostMtu: number;
  hostNamespace: string;
  hostBridge: string;
  hostIp4Prefix: string;
  hostIp6Prefix: string;
  rxRing: number;
  txRing: number;
  flags: number;
}

export interface VhostInfo {
  sockFilename: string;
  isServer: boolean;
  guestConnected: boolean;
}

export interface HwIf {
  kind: DevKind;
  /** Device class name (sw_interface_details.interface_dev_type). */
  devType: string;
  /** Hardware name; sub-interfaces are named `<name>.<sub id>`. */
  name: string;
  swIfIndex: number;
  /** '' for interfaces without an Ethernet address (local0, tun, af_packet in IP mode). */
  mac: string;
  linkUp: boolean;
  linkMtu: number;
  /** sub id -> sw_if_index */
  subs: Map<number, number>;
  /** Its subint configs by key (subintConfig); none for non-Ethernet interfaces (local0, tun). */
  slots: Map<string, SubintSlot>;
  devInstance: number;
  tap?: TapInfo;
  vhost?: VhostInfo;
  afpacketHost?: string;
}

export interface SwIf {
  index: number;
  hw: HwIf;
  isSub: boolean;
  sup: number;
  subId: number;
  /** Raw vnet sub-interface flags, same bits as sub_if_flags in the API. */
  subFlags: number;
  outerVlan: number;
  innerVlan: number;
  adminUp: boolean;
  mtu: number[];
  tag: string;
  floodClass: FloodClass;
  /** A pipe's end (VNET_SW_INTERFACE_TYPE_PIPE): dumped with type IF_API_TYPE_PIPE. */
  pipeEnd?: true;
}

const TAP_FLAG_TUN = 1 << 3;
const TAP_FLAG_ATTACH = 1 << 4;

/** A MAC VPP would pick at random (02:fe + 4 random bytes); the value is arbitrary in VPP too. */
export function randomMac(): string {
  const b = randomBytes(4);
  return `02:fe:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

export interface Created {
  rv: number;
  swIfIndex: number;
}

export class Interfaces {
  /** Indexed by sw_if_index; holes are free slots. */
  readonly sw: (SwIf | undefined)[] = [];
  private readonly swPool = new IndexPool();
  private readonly loopInstances = new LowestFree(LOOPBACK_MAX_INSTANCE);
  private readonly tapIds = new LowestFree(TAP_MAX_INSTANCE + 1);
  private readonly vhostPool = new IndexPool();
  private readonly afpacketPool = new IndexPool();
  private readonly vhostBySock = new Map<string, HwIf>();
  private readonly afpacketByHost = new Map<string, HwIf>();
  /** (sup sw_if_index, sub id) of every sub-interface, as vnet's sw_if_index_by_sup_and_sub. */
  private readonly subKeys = new Set<string>();

  constructor(private readonly vpp: VppState) {
    const local = this.newHw('local', 'local', 'local0', '', 0);
    const sw = this.newSw(local, false);
    sw.mtu = [0, 0, 0, 0];
    vpp.opts.nics.forEach((name, i) => {
      // A cabled NIC: link up, admin down until configured, a stable MAC per position.
      const hw = this.newHw(
        'nic',
        'dpdk',
        name,
        `02:fe:4e:49:43:${(i + 1).toString(16).padStart(2, '0')}`,
        i,
      );
      hw.linkUp = true;
      this.newSw(hw, false);
    });
  }

  get(i: number): SwIf | undefined {
    return this.sw[i];
  }

  /** Interfaces in sw_if_index order (VPP's pool_foreach). */
  *all(): IterableIterator<SwIf> {
    for (const s of this.sw) if (s) yield s;
  }

  name(s: SwIf): string {
    return s.isSub ? `${s.hw.name}.${s.subId}` : s.hw.name;
  }

  newHw(kind: DevKind, devType: string, name: string, mac: string, devInstance: number): HwIf {
    return {
      kind,
      devType,
      name,
      swIfIndex: NO_INDEX,
      mac,
      linkUp: false,
      linkMtu: kind === 'local' ? 0 : ETH_MTU,
      subs: new Map(),
      slots: new Map(),
      devInstance,
    };
  }

  newSw(hw: HwIf, isSub: boolean): SwIf {
    const index = this.swPool.alloc();
    const s: SwIf = {
      index,
      hw,
      isSub,
      sup: index,
      subId: 0,
      subFlags: 0,
      outerVlan: 0,
      innerVlan: 0,
      adminUp: false,
      mtu: isSub ? [0, 0, 0, 0] : [ETH_MTU, 0, 0, 0],
      tag: '',
      floodClass: 'normal',
    };
    if (!isSub) {
      hw.swIfIndex = index;
      if (hw.mac !== '') hw.slots.set('untagged', { valid: true, match: MATCH.TAGS0, swIfIndex: NO_INDEX });
    }
    this.sw[index] = s;
    this.vpp.events.signal(index, EV.ADD);
    return s;
  }

  /** The subint config an interface's flags select (undefined for non-Ethernet or 'nyi' ones). */
  slotOf(s: SwIf): SubintSlot | undefined {
    if (s.hw.mac === '' || s.pipeEnd) return undefined;
    const cfg = s.isSub ? subintConfig(s.subFlags, s.outerVlan, s.innerVlan) : { key: 'untagged' };
    if (cfg === 'nyi') return undefined;
    let slot = s.hw.slots.get(cfg.key);
    if (!slot) s.hw.slots.set(cfg.key, (slot = { valid: false, match: 0, swIfIndex: NO_INDEX }));
    return slot;
  }

  setLink(hw: HwIf, up: boolean): void {
    if (hw.linkUp === up) return;
    hw.linkUp = up;
    this.vpp.events.signal(hw.swIfIndex, up ? EV.LINK_UP : EV.LINK_DOWN);
    this.vpp.bonds.linkChanged(hw);
  }

  /** sw_interface_set_flags: -1 when a sub-interface would go up under a down parent. */
  setAdmin(s: SwIf, up: boolean): number {
    if (s.isSub) {
      const sup = this.sw[s.sup] as SwIf;
      // vnet: a sub-interface may only match its parent's state, or go down under an up parent.
      if (up !== sup.adminUp && !(!up && sup.adminUp)) return RV.UNSPECIFIED;
    }
    if (s.adminUp === up) return RV.OK;
    s.adminUp = up;
    this.vpp.ip.adminChanged(s.index, up);
    // ethernet_sw_interface_up_down: the entry's frames land on it while it is up.
    const slot = this.slotOf(s);
    if (slot) slot.swIfIndex = up ? s.index : NO_INDEX;
    this.vpp.events.signal(s.index, up ? EV.ADMIN_UP : EV.ADMIN_DOWN);
    if (!s.isSub) {
      const hw = s.hw;
      switch (hw.kind) {
        case 'loopback':
        case 'tap':
        case 'afpacket':
        case 'vxlan':
        case 'lisp':
        case 'pipe':
        case 'gre':
          this.setLink(hw, up);
          break;
        case 'vhost':
          this.setLink(hw, up && (hw.vhost as VhostInfo).guestConnected);
          break;
        case 'local':
        case 'nic':
          // A NIC's link is its cable's, not its admin state's (it goes down with the admin state below).
          break;
        case 'bond':
          // A bond's link is its active members' (bond.ts), whatever its admin state.
          break;
      }
      if (!up && hw.kind !== 'bond') this.setLink(hw, false);
      this.vpp.bonds.adminChanged(s);
    }
    return RV.OK;
  }

  private deleteSw(s: SwIf): void {
    if (!s.isSub) this.vpp.bonds.interfaceDeleted(s);
    s.tag = '';
    if (s.adminUp) {
      s.adminUp = false;
      const up = this.slotOf(s);
      if (up) up.swIfIndex = NO_INDEX;
      this.vpp.events.signal(s.index, EV.ADMIN_DOWN);
    }
    this.vpp.l2.interfaceDeleted(s);
    this.vpp.acl.interfaceDeleted(s.index);
    this.vpp.ip.interfaceDeleted(s.index);
    this.vpp.nat.interfaceDeleted(s.index);
    // ethernet_sw_interface_add_del: the entry it selects is cleared, whoever else shares it.
    const slot = this.slotOf(s);
    if (slot) {
      slot.valid = false;
      slot.match = 0;
    }
    // VPP 26.06 sends sw_interface_event with deleted=true (also for each sub-interface of a
    // deleted parent), batched like any other change.
    this.vpp.events.signal(s.index, EV.DEL);
    if (s.isSub) {
      s.hw.subs.delete(s.subId);
      this.subKeys.delete(`${s.sup}/${s.subId}`);
    }
    this.sw[s.index] = undefined;
    this.swPool.release(s.index);
  }

  deleteHw(hw: HwIf): void {
    this.setLink(hw, false);
    for (const id of [...hw.subs.keys()].sort((a, b) => a - b)) {
      const sub = this.sw[hw.subs.get(id) as number];
      if (sub) this.deleteSw(sub);
    }
    this.deleteSw(this.sw[hw.swIfIndex] as SwIf);
  }

  createHw(hw: HwIf, floodClass: FloodClass): SwIf {
    const s = this.newSw(hw, false);
    s.floodClass = floodClass;
    return s;
  }

  // --- loopback (vnet/ethernet/interface.c) ---

  createLoopback(mac: string, isSpecified: boolean, userInstance: number): Created {
    let instance: number;
    if (isSpecified) instance = this.loopInstances.take(userInstance) ? userInstance : -1;
    else instance = this.loopInstances.alloc();
    if (instance < 0) return { rv: RV.INVALID_REGISTRATION, swIfIndex: NO_INDEX };
    // A zero MAC means VPP's default: de:ad:00:00:00:<instance>.
    const addr = mac === ZERO_MAC ? `de:ad:00:00:00:${(instance & 0xff).toString(16).padStart(2, '0')}` : mac;
    const hw = this.newHw('loopback', 'Loopback', `loop${instance}`, addr, instance);
    // Loopbacks do not flood until they become a BVI.
    return { rv: RV.OK, swIfIndex: this.createHw(hw, 'no_flood').index };
  }

  deleteLoopback(i: number): number {
    const s = this.sw[i];
    // A sub-interface's index names its loopback: VPP deletes the parent.
    if (!s || s.hw.kind !== 'loopback') return RV.INVALID_SW_IF_INDEX;
    this.loopInstances.release(s.hw.devInstance);
    this.deleteHw(s.hw);
    return RV.OK;
  }

  // --- sub-interfaces ---

  /**
   * create_subif / create_vlan_subif after their own checks. `errRv` is what the handler answers
   * when vnet_create_sw_interface fails (-1 for create_subif, -31 for create_vlan_subif); the reply
   * names the index VPP allocated and freed again, or ~0 when it failed before allocating one.
   */
  createSub(
    parent: SwIf,
    id: number,
    flags: number,
    outer: number,
    inner: number,
    errRv: number = RV.UNSPECIFIED,
  ): Created {
    const hw = parent.hw;
    const key = `${hw.swIfIndex}/${id}`;
    if (this.subKeys.has(key)) return { rv: RV.VLAN_ALREADY_EXISTS, swIfIndex: NO_INDEX };
    // vnet_create_sw_interface: "inner-dot1q any exact-match is unsupported", before any index.
    if (
      flags & SUB_IF.TWO_TAGS &&
      flags & SUB_IF.EXACT_MATCH &&
      flags & (SUB_IF.INNER_VLAN_ID_ANY | SUB_IF.OUTER_VLAN_ID_ANY)
    )
      return { rv: errRv, swIfIndex: NO_INDEX };
    const cfg = hw.mac === '' ? null : subintConfig(flags, outer, inner);
    if (cfg === 'nyi') {
      // "not implemented yet": the add callbacks fail, and so do the delete callbacks, before the
      // one that would signal an event. The index was taken and is free again.
      const idx = this.swPool.alloc();
      this.swPool.release(idx);
      return { rv: errRv, swIfIndex: idx };
    }
    const s = this.newSw(hw, true);
    s.sup = hw.swIfIndex;
    s.subId = id;
    s.subFlags = flags;
    s.outerVlan = outer;
    s.innerVlan = inner;
    if (cfg) {
      const slot = this.slotOf(s) as SubintSlot;
      if (slot.valid) {
        // "vlan is already in use": the delete callbacks clear the entry, the index is freed.
        this.deleteSw(s);
        return { rv: errRv, swIfIndex: s.index };
      }
      slot.valid = true;
      slot.match = cfg.match;
      slot.swIfIndex = NO_INDEX;
    }
    hw.subs.set(id, s.index);
    this.subKeys.add(key);
    return { rv: RV.OK, swIfIndex: s.index };
  }

  deleteSub(i: number): number {
    const s = this.sw[i];
    if (!s) return RV.INVALID_SW_IF_INDEX;
    if (!s.isSub) return RV.INVALID_SUB_SW_IF_INDEX;
    this.deleteSw(s);
    return RV.OK;
  }

  /** Number of VLAN tags a sub-interface matches exactly (for tag-rewrite checks). */
  configuredTags(s: SwIf): number {
    if (!s.isSub || s.subFlags & SUB_IF.NO_TAGS) return 0;
    if (s.subFlags & SUB_IF.ONE_TAG) return s.subFlags & SUB_IF.OUTER_VLAN_ID_ANY ? 0 : 1;
    if (s.subFlags & SUB_IF.TWO_TAGS) {
      if (s.subFlags & SUB_IF.OUTER_VLAN_ID_ANY) return 0;
      return s.subFlags & SUB_IF.INNER_VLAN_ID_ANY ? 1 : 2;
    }
    return 0;
  }

  // --- tap v2 (plugins/tap) ---

  createTap(a: {
    id: number;
    mac: string | null;
    hostIfName: string | null;
    hostMac: string | null;
    hostMtu: number;
    hostNamespace: string;
    hostBridge: string;
    hostIp4Prefix: string;
    hostIp6Prefix: string;
    rxRing: number;
    txRing: number;
    flags: number;
  }): Created {
    // The id is only marked in use once the tap exists.
    let id = a.id;
    if (id !== NO_INDEX) {
      if (this.tapIds.has(id)) return { rv: RV.INVALID_INTERFACE, swIfIndex: NO_INDEX };
    } else {
      id = this.tapIds.alloc();
      if (id >= 0) this.tapIds.release(id);
    }
    if (id < 0 || id > TAP_MAX_INSTANCE) return { rv: RV.UNSPECIFIED, swIfIndex: NO_INDEX };
    if (a.flags & TAP_FLAG_ATTACH && a.hostIfName === null)
      return { rv: RV.NO_MATCHING_INTERFACE, swIfIndex: NO_INDEX };
    // What VPP answers on a host without /dev/vhost-net.
    if (!this.vpp.opts.vhostNet) return { rv: RV.SYSCALL_ERROR_1, swIfIndex: NO_INDEX };
    this.tapIds.take(id);
    const tun = (a.flags & TAP_FLAG_TUN) !== 0;
    const hw = this.newHw(
      'tap',
      tun ? 'tun' : 'tap',
      `${tun ? 'tun' : 'tap'}${id}`,
      tun ? '' : (a.mac ?? randomMac()),
      id,
    );
    hw.tap = {
      id,
      // Without a name the kernel picks one; VPP reports whatever it got.
      hostIfName: a.hostIfName ?? `tap${id}`,
      hostMac: tun ? ZERO_MAC : (a.hostMac ?? randomMac()),
      hostMtu: a.hostMtu,
      hostNamespace: a.hostNamespace,
      hostBridge: a.hostBridge,
      hostIp4Prefix: a.hostIp4Prefix,
      hostIp6Prefix: a.hostIp6Prefix,
      rxRing: a.rxRing,
      txRing: a.txRing,
      flags: a.flags,
    };
    const s = this.createHw(hw, 'normal');
    // The kernel's tap carrier is up at creation, and VPP says so.
    this.setLink(hw, true);
    return { rv: RV.OK, swIfIndex: s.index };
  }

  deleteTap(i: number): number {
    const s = this.sw[i];
    if (!s || s.hw.kind !== 'tap') return RV.INVALID_SW_IF_INDEX;
    const hw = s.hw;
    this.setLink(hw, false);
    this.setAdmin(this.sw[hw.swIfIndex] as SwIf, false);
    this.tapIds.release((hw.tap as TapInfo).id);
    this.deleteHw(hw);
    return RV.OK;
  }

  taps(): SwIf[] {
    const out: SwIf[] = [];
    for (const s of this.all()) if (!s.isSub && s.hw.kind === 'tap') out.push(s);
    // tap_dump_ifs walks the tap pool; instances are numbered like their ids here.
    return out.sort((x, y) => x.hw.devInstance - y.hw.devInstance);
  }

  // --- vhost-user (plugins/vhost) ---

  createVhost(a: {
    sockFilename: string;
    isServer: boolean;
    mac: string | null;
    renumber: boolean;
    customDevInstance: number;
  }): Created {
    if (a.sockFilename === '') return { rv: RV.INVALID_ARGUMENT, swIfIndex: NO_INDEX };
    const existing = this.vhostBySock.get(a.sockFilename);
    if (existing) return { rv: RV.IF_ALREADY_EXISTS, swIfIndex: existing.swIfIndex };
    // A server binds its socket first: bind() failing is VPP's SYSCALL_ERROR_2.
    if (a.isServer && !this.vpp.canBind(a.sockFilename))
      return { rv: RV.SYSCALL_ERROR_2, swIfIndex: NO_INDEX };
    const inst = this.vhostPool.alloc();
    const hw = this.newHw(
      'vhost',
      'vhost-user',
      `VirtualEthernet0/0/${a.renumber ? a.customDevInstance : inst}`,
      a.mac ?? randomMac(),
      inst,
    );
    hw.vhost = { sockFilename: a.sockFilename, isServer: a.isServer, guestConnected: false };
    this.vhostBySock.set(a.sockFilename, hw);
    return { rv: RV.OK, swIfIndex: this.createHw(hw, 'normal').index };
  }

  deleteVhost(i: number): number {
    const s = this.sw[i];
    if (!s || s.hw.kind !== 'vhost') return RV.INVALID_SW_IF_INDEX;
    const hw = s.hw;
    this.vhostBySock.delete((hw.vhost as VhostInfo).sockFilename);
    this.deleteHw(hw);
    this.vhostPool.release(hw.devInstance);
    return RV.OK;
  }

  vhosts(): SwIf[] {
    const out: SwIf[] = [];
    for (const s of this.all()) if (!s.isSub && s.hw.kind === 'vhost') out.push(s);
    return out.sort((x, y) => x.hw.devInstance - y.hw.devInstance);
  }

  /** A guest attaching to (or leaving) a vhost-user socket; false when no interface uses it. */
  setGuest(sockFilename: string, connected: boolean): boolean {
    const hw = this.vhostBySock.get(sockFilename);
    if (!hw) return false;
    (hw.vhost as VhostInfo).guestConnected = connected;
    const s = this.sw[hw.swIfIndex] as SwIf;
    this.setLink(hw, connected && s.adminUp);
    return true;
  }

  // --- af_packet (plugins/af_packet) ---

  createAfPacket(a: { hostIfName: string; mac: string | null; ipMode: boolean }): Created {
    const existing = this.afpacketByHost.get(a.hostIfName);
    if (existing) return { rv: RV.IF_ALREADY_EXISTS, swIfIndex: existing.swIfIndex };
    if (!this.vpp.hostInterfaceExists(a.hostIfName)) return { rv: RV.INVALID_INTERFACE, swIfIndex: NO_INDEX };
    const inst = this.afpacketPool.alloc();
    const hw = this.newHw(
      'afpacket',
      'af-packet',
      `host-${a.hostIfName}`,
      a.ipMode ? '' : (a.mac ?? randomMac()),
      inst,
    );
    hw.afpacketHost = a.hostIfName;
    this.afpacketByHost.set(a.hostIfName, hw);
    const s = this.createHw(hw, 'normal');
    this.setLink(hw, true);
    return { rv: RV.OK, swIfIndex: s.index };
  }

  deleteAfPacket(hostIfName: string): number {
    const hw = this.afpacketByHost.get(hostIfName);
    if (!hw) return RV.SYSCALL_ERROR_1;
    this.afpacketByHost.delete(hostIfName);
    this.deleteHw(hw);
    this.afpacketPool.release(hw.devInstance);
    return RV.OK;
  }

  afpackets(): SwIf[] {
    const out: SwIf[] = [];
    for (const s of this.all()) if (!s.isSub && s.hw.kind === 'afpacket') out.push(s);
    return out.sort((x, y) => x.hw.devInstance - y.hw.devInstance);
  }

  // --- attributes ---

  /** sw_interface_set_mac_address: only an Ethernet hardware interface has a MAC to change. */
  setMac(s: SwIf, mac: string): number {
    if (s.isSub || s.hw.mac === '') return RV.UNIMPLEMENTED;
    const old = s.hw.mac;
    s.hw.mac = mac;
    // Only a loopback's device class tells L2 (its BVI entry) about the change.
    if (s.hw.kind === 'loopback') this.vpp.l2.macChanged(s, old);
    return RV.OK;
  }

  /** The MAC of the interface's hardware parent, zero when it has none. */
  macOf(s: SwIf): string {
    return s.hw.mac === '' ? ZERO_MAC : s.hw.mac;
  }
}
