/**
 * Bond interfaces as vnet/bonding keeps them (cli.c, bond_api.c, device.c) and the LACP state the
 * lacp plugin reports for their members (lacp.c, cli.c's lacp_dump_ifs), VPP 26.06:
 * - a bond is an Ethernet hardware interface `BondEthernet<id>` (device class "bond"); its device
 *   instance comes from a pool, its id is the one asked for or else the device instance (-147 when
 *   that id is in use); mode LACP needs the lacp plugin (-30 without), a mode outside 1..5 or a load
 *   balancing above l23 is -73. Round-robin, broadcast and active-backup modes replace lb with their
 *   own (rr, bc, ab).
 * - its MAC is 02:fe and 4 random bytes until the first member comes: the bond takes that member's
 *   MAC, later members take the bond's (with a custom MAC every member takes it); a detached member
 *   gets its own back.
 * - a member is active (collecting and distributing) while it is admin up and its link is up (and,
 *   in LACP mode, while its partner agrees: see `LacpPartner`); the bond's link is up while it is
 *   admin up and has an active member.
 * - members are listed in the order they were added, a detached one's place taken by the last
 *   (vec_del1); the LACP dump walks the member pool (slots reused most recently freed first).
 *
 * The simulator has no LACP peer of its own: a test says what is at the other end of a member's
 * cable with `setPartner` (a switch or another host answering LACP), else the member settles in
 * the state VPP reaches without a partner (defaulted, never collecting).
 */
import type {
  BondAddMember,
  BondCreate2,
  BondDelete,
  BondDetachMember,
  SwBondInterfaceDump,
  SwMemberInterfaceDump,
} from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX, randomMac, type HwIf, type SwIf } from './interfaces.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

export const BOND_MODE = { ROUND_ROBIN: 1, ACTIVE_BACKUP: 2, XOR: 3, BROADCAST: 4, LACP: 5 } as const;
export const BOND_LB = { L2: 0, L34: 1, L23: 2, RR: 3, BC: 4, AB: 5 } as const;

/** LACP actor/partner state bits (lacp/protocol.h). */
export const LACP_STATE = {
  ACTIVITY: 1,
  TIMEOUT: 2,
  AGGREGATION: 4,
  SYNCHRONIZATION: 8,
  COLLECTING: 16,
  DISTRIBUTING: 32,
  DEFAULTED: 64,
  EXPIRED: 128,
} as const;
/** rx machine states (lacp/rx_machine.h). */
const RX = { EXPIRED: 2, DEFAULTED: 4, CURRENT: 5 } as const;
/** mux machine states (lacp/mux_machine.h). */
const MUX = { DETACHED: 0, COLLECTING_DISTRIBUTING: 3 } as const;
/** periodic tx machine states (lacp/ptx_machine.h). */
const PTX = { NO_PERIODIC: 0, FAST_PERIODIC: 1, SLOW_PERIODIC: 2 } as const;
const DEFAULT_SYSTEM_PRIORITY = 0xffff;
const DEFAULT_PORT_PRIORITY = 0x00ff;

/** What answers LACP at the other end of a member's link. */
export interface LacpPartner {
  system: string;
  key: number;
  portNumber: number;
  systemPriority?: number;
  portPriority?: number;
  /** Its actor state bits; default: active, short timeout, in sync, collecting and distributing. */
  state?: number;
}

export interface BondIf {
  id: number;
  devInstance: number;
  hw: HwIf;
  mode: number;
  lb: number;
  numaOnly: boolean;
  useCustomMac: boolean;
  adminUp: boolean;
  /** Member sw_if_indexes in VPP's order. */
  members: number[];
  /** Port numbers (from 1) in use by LACP members. */
  ports: Set<number>;
  /** Members collecting and distributing (VPP's active_members). */
  active: Set<number>;
}

export interface Member {
  swIfIndex: number;
  bond: BondIf;
  /** Slot in the member pool (the LACP dump's order). */
  slot: number;
  passive: boolean;
  longTimeout: boolean;
  weight: number;
  /** The member's MAC before it joined (given back when it leaves). */
  ownMac: string;
  portNumber: number;
  /** The bond's MAC when LACP started on the member: the actor's system id. */
  actorSystem: string;
  /** Set the first time it becomes active (the main thread's NUMA node is every member's here). */
  localNuma: boolean;
}

export class Bonds {
  private readonly devPool = new IndexPool();
  private readonly memberPool = new IndexPool();
  /** By device instance. */
  private readonly byDev = new Map<number, BondIf>();
  private readonly idsUsed = new Set<number>();
  private readonly members = new Map<number, Member>();
  /** By member hardware name: what is at the other end of its cable. */
  private readonly partners = new Map<string, LacpPartner>();

  constructor(private readonly vpp: VppState) {}

  private bondOf(swIfIndex: number): BondIf | undefined {
    const s = this.vpp.ifs.get(swIfIndex);
    if (!s || s.hw.kind !== 'bond') return undefined;
    return this.byDev.get(s.hw.devInstance);
  }

  create(m: BondCreate2, lacpLoaded: boolean): { rv: number; swIfIndex: number } {
    const fail = (rv: number) => ({ rv, swIfIndex: 0 });
    if (m.mode === BOND_MODE.LACP && !lacpLoaded) return fail(RV.FEATURE_DISABLED);
    if (m.mode > BOND_MODE.LACP || m.mode < BOND_MODE.ROUND_ROBIN) return fail(RV.INVALID_ARGUMENT);
    if (m.lb > BOND_LB.L23) return fail(RV.INVALID_ARGUMENT);
    const dev = this.devPool.alloc();
    const id = m.id === NO_INDEX ? dev : m.id;
    if (this.idsUsed.has(id)) {
      this.devPool.release(dev);
      return fail(RV.INSTANCE_IN_USE);
    }
    this.idsUsed.add(id);
    const lb =
      m.mode === BOND_MODE.ROUND_ROBIN
        ? BOND_LB.RR
        : m.mode === BOND_MODE.BROADCAST
          ? BOND_LB.BC
          : m.mode === BOND_MODE.ACTIVE_BACKUP
            ? BOND_LB.AB
            : m.lb;
    const hw = this.vpp.ifs.newHw(
      'bond',
      'bond',
      `BondEthernet${id}`,
      m.use_custom_mac ? m.mac_address : randomMac(),
      dev,
    );
    const bond: BondIf = {
      id,
      devInstance: dev,
      hw,
      mode: m.mode,
      lb,
      numaOnly: m.numa_only,
      useCustomMac: m.use_custom_mac,
      adminUp: false,
      members: [],
      ports: new Set(),
      active: new Set(),
    };
    this.byDev.set(dev, bond);
    const s = this.vpp.ifs.createHw(hw, 'normal');
    return { rv: RV.OK, swIfIndex: s.index };
  }

  delete(swIfIndex: number): number {
    const bond = this.bondOf(swIfIndex);
    if (!bond) return RV.INVALID_SW_IF_INDEX;
    for (const mi of [...bond.members]) this.detach(this.members.get(mi) as Member);
    this.byDev.delete(bond.devInstance);
    this.idsUsed.delete(bond.id);
    this.devPool.release(bond.devInstance);
    this.vpp.ifs.deleteHw(bond.hw);
    return RV.OK;
  }

  addMember(m: BondAddMember): number {
    const bond = this.bondOf(m.bond_sw_if_index);
    const s = this.vpp.ifs.get(m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    if (!bond) return RV.INVALID_INTERFACE;
    if (this.members.has(m.sw_if_index)) return RV.VALUE_EXIST;
    if (s.hw.kind === 'bond') return RV.INVALID_INTERFACE;
    const hw = s.hw;
    const member: Member = {
      swIfIndex: s.index,
      bond,
      slot: this.memberPool.alloc(),
      passive: m.is_passive,
      longTimeout: m.is_long_timeout,
      weight: 0,
      ownMac: hw.mac,
      portNumber: 0,
      actorSystem: '',
      localNuma: false,
    };
    this.members.set(s.index, member);
    bond.members.push(s.index);
    if (bond.useCustomMac) hw.mac = bond.hw.mac;
    else if (bond.members.length === 1) bond.hw.mac = hw.mac;
    else hw.mac = bond.hw.mac;
    if (bond.mode === BOND_MODE.LACP) {
      let p = 1;
      while (bond.ports.has(p)) p++;
      bond.ports.add(p);
      member.portNumber = p;
      member.actorSystem = bond.hw.mac;
    }
    this.refresh(bond);
    return RV.OK;
  }

  detachMember(swIfIndex: number): number {
    if (!this.vpp.ifs.get(swIfIndex)) return RV.INVALID_SW_IF_INDEX;
    const member = this.members.get(swIfIndex);
    if (!member) return RV.INVALID_INTERFACE;
    this.detach(member);
    return RV.OK;
  }

  private detach(member: Member): void {
    const bond = member.bond;
    const i = bond.members.indexOf(member.swIfIndex);
    // vec_del1: the last element takes the deleted one's place.
    const last = bond.members.pop() as number;
    if (i < bond.members.length) bond.members[i] = last;
    bond.ports.delete(member.portNumber);
    this.members.delete(member.swIfIndex);
    this.memberPool.release(member.slot);
    const s = this.vpp.ifs.get(member.swIfIndex);
    if (s) s.hw.mac = member.ownMac;
    this.refresh(bond);
  }

  /** sw_interface_set_flags on a bond or a member. */
  adminChanged(s: SwIf): void {
    if (s.hw.kind === 'bond') {
      const bond = this.byDev.get(s.hw.devInstance);
      if (!bond) return;
      bond.adminUp = s.adminUp;
      // bond_interface_admin_up_down: up with an active member brings the link up; down leaves it.
      if (bond.adminUp && bond.active.size > 0) this.vpp.ifs.setLink(bond.hw, true);
      return;
    }
    const m = this.members.get(s.index);
    if (m) this.refresh(m.bond);
  }

  /** A member's link came up or went down. */
  linkChanged(hw: HwIf): void {
    if (hw.kind === 'bond') return;
    const m = this.members.get(hw.swIfIndex);
    if (m) this.refresh(m.bond);
  }

  /** An interface is being deleted: a member leaves its bond first (bond_member_interface_add_del). */
  interfaceDeleted(s: SwIf): void {
    const m = this.members.get(s.index);
    if (m) this.detach(m);
  }

  setPartner(memberName: string, partner: LacpPartner | null): void {
    if (partner) this.partners.set(memberName, partner);
    else this.partners.delete(memberName);
    for (const m of this.members.values())
      if (this.vpp.ifs.get(m.swIfIndex)?.hw.name === memberName) this.refresh(m.bond);
  }

  private portEnabled(m: Member): boolean {
    const s = this.vpp.ifs.get(m.swIfIndex);
    return s !== undefined && s.adminUp && s.hw.linkUp;
  }

  private partnerOf(m: Member): LacpPartner | undefined {
    const s = this.vpp.ifs.get(m.swIfIndex);
    return s ? this.partners.get(s.hw.name) : undefined;
  }

  /** Whether the member collects and distributes. */
  active(m: Member): boolean {
    if (!this.portEnabled(m)) return false;
    if (m.bond.mode !== BOND_MODE.LACP) return true;
    const p = this.partnerOf(m);
    if (!p) return false;
    const st = p.state ?? defaultPartnerState();
    return (st & LACP_STATE.SYNCHRONIZATION) !== 0 && (m.passive ? (st & LACP_STATE.ACTIVITY) !== 0 : true);
  }

  /**
   * Members start or stop collecting/distributing; the bond's link goes up with its first active
   * member (while admin up) and down with its last (bond_hw_if_set_flags_cb).
   */
  private refresh(bond: BondIf): void {
    const before = bond.active.size;
    for (const i of bond.members) {
      const m = this.members.get(i) as Member;
      if (this.active(m)) {
        if (!bond.active.has(i)) {
          bond.active.add(i);
          m.localNuma = true;
        }
      } else bond.active.delete(i);
    }
    for (const i of [...bond.active]) if (!bond.members.includes(i)) bond.active.delete(i);
    if (before > 0 && bond.active.size === 0) this.vpp.ifs.setLink(bond.hw, false);
    else if (before === 0 && bond.active.size > 0 && bond.adminUp) this.vpp.ifs.setLink(bond.hw, true);
  }

  // --- dumps ---

  bondDetails(filter: number): Fields[] {
    const out: Fields[] = [];
    for (const dev of this.devPool.inUse()) {
      const b = this.byDev.get(dev) as BondIf;
      if (filter !== NO_INDEX && b.hw.swIfIndex !== filter) continue;
      out.push({
        sw_if_index: b.hw.swIfIndex,
        id: b.id,
        mode: b.mode,
        lb: b.lb,
        numa_only: b.numaOnly,
        active_members: b.active.size,
        members: b.members.length,
        interface_name: b.hw.name,
      });
    }
    return out;
  }

  memberDetails(bondSwIfIndex: number): Fields[] {
    const bond = this.bondOf(bondSwIfIndex);
    if (!bond) return [];
    return bond.members.map((i) => {
      const m = this.members.get(i) as Member;
      return {
        sw_if_index: i,
        interface_name: (this.vpp.ifs.get(i) as SwIf).hw.name,
        is_passive: m.passive,
        is_long_timeout: m.longTimeout,
        is_local_numa: m.localNuma,
        weight: m.weight,
      };
    });
  }

  lacpDetails(): Fields[] {
    const bySlot = [...this.members.values()]
      .filter((m) => m.bond.mode === BOND_MODE.LACP)
      .sort((a, b) => a.slot - b.slot);
    return bySlot.map((m) => {
      const s = this.vpp.ifs.get(m.swIfIndex) as SwIf;
      const enabled = this.portEnabled(m);
      const partner = enabled ? this.partnerOf(m) : undefined;
      const active = m.bond.active.has(m.swIfIndex);
      let actor = LACP_STATE.AGGREGATION;
      if (!m.longTimeout) actor |= LACP_STATE.TIMEOUT;
      if (!m.passive) actor |= LACP_STATE.ACTIVITY;
      // Recorded from VPP 26.06: a member whose port is disabled (admin or link down) sits in the rx
      // machine's EXPIRED state, defaulted and expired, its partner's record only "short timeout".
      if (!enabled) actor |= LACP_STATE.EXPIRED | LACP_STATE.DEFAULTED;
      else if (!partner) actor |= LACP_STATE.DEFAULTED;
      if (active) actor |= LACP_STATE.SYNCHRONIZATION | LACP_STATE.COLLECTING | LACP_STATE.DISTRIBUTING;
      const pst = partner ? (partner.state ?? defaultPartnerState()) : enabled ? 0 : LACP_STATE.TIMEOUT;
      return {
        sw_if_index: m.swIfIndex,
        interface_name: s.hw.name,
        rx_state: !enabled ? RX.EXPIRED : partner ? RX.CURRENT : RX.DEFAULTED,
        tx_state: 0,
        mux_state: active ? MUX.COLLECTING_DISTRIBUTING : MUX.DETACHED,
        ptx_state: !enabled
          ? PTX.NO_PERIODIC
          : partner && (pst & LACP_STATE.TIMEOUT) === 0
            ? PTX.SLOW_PERIODIC
            : PTX.FAST_PERIODIC,
        bond_interface_name: m.bond.hw.name,
        actor_system_priority: DEFAULT_SYSTEM_PRIORITY,
        actor_system: m.actorSystem,
        actor_key: m.bond.hw.swIfIndex,
        actor_port_priority: DEFAULT_PORT_PRIORITY,
        actor_port_number: m.portNumber,
        actor_state: actor,
        partner_system_priority: partner?.systemPriority ?? DEFAULT_SYSTEM_PRIORITY,
        partner_system: partner?.system ?? '00:00:00:00:00:00',
        partner_key: partner?.key ?? m.bond.hw.swIfIndex,
        partner_port_priority: partner?.portPriority ?? DEFAULT_PORT_PRIORITY,
        partner_port_number: partner?.portNumber ?? m.portNumber,
        partner_state: pst,
      };
    });
  }
}

function defaultPartnerState(): number {
  return (
    LACP_STATE.ACTIVITY |
    LACP_STATE.TIMEOUT |
    LACP_STATE.AGGREGATION |
    LACP_STATE.SYNCHRONIZATION |
    LACP_STATE.COLLECTING |
    LACP_STATE.DISTRIBUTING
  );
}

export const BOND_HANDLERS: Record<string, Handler> = {
  bond_create2(vpp, msg) {
    const c = vpp.bonds.create(msg as unknown as BondCreate2, !vpp.opts.withoutGroups.has('lacp'));
    return { retval: c.rv, sw_if_index: c.swIfIndex };
  },
  bond_delete: (vpp, msg) => vpp.bonds.delete((msg as unknown as BondDelete).sw_if_index),
  bond_add_member: (vpp, msg) => vpp.bonds.addMember(msg as unknown as BondAddMember),
  bond_detach_member: (vpp, msg) => vpp.bonds.detachMember((msg as unknown as BondDetachMember).sw_if_index),
  sw_bond_interface_dump(vpp, msg) {
    const filter = (msg as unknown as SwBondInterfaceDump).sw_if_index;
    // An index that names no interface: VALIDATE_SW_IF_INDEX ends the dump with no details.
    if (filter !== NO_INDEX && !vpp.ifs.get(filter)) return [];
    return vpp.bonds.bondDetails(filter);
  },
  sw_member_interface_dump: (vpp, msg) =>
    vpp.bonds.memberDetails((msg as unknown as SwMemberInterfaceDump).sw_if_index),
  sw_interface_lacp_dump: (vpp) => vpp.bonds.lacpDetails(),
};
