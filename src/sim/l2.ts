/**
 * L2 bridging as vnet/l2 keeps it (l2_bd.c, l2_input.c, l2_vtr.c): bridge domains in a vector
 * indexed by the lowest free bd_index (index 0 is the hidden drop domain bd_id 0), a feature
 * bitmap per domain, members ordered [BVI, normal and multicast tunnels..., unicast tunnels...,
 * no-flood...], per-interface L2 input config and vlan tag-rewrite config kept by sw_if_index (the
 * rewrite survives the interface unless the interface goes back to L3, exactly like VPP's l2output
 * config vector).
 */
import { L2_INPUT_FEAT } from '../vpp/l2-input-features.ts';
import { NO_INDEX, type SwIf } from './interfaces.ts';
import { bviMac } from './l2fib.ts';
import { LowestFree } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

export const L2_BD_ID_MAX = (1 << 24) - 1;

/** L2INPUT_FEAT_* bits (vnet/l2/l2_input.h). */
const FEAT = L2_INPUT_FEAT;
/** A domain's bitmap when it comes to life: everything but ARP termination and UU forwarding. */
const BD_DEFAULT_FEATURES = ~(FEAT.ARP_TERM | FEAT.UU_FWD | FEAT.ARP_UFWD) >>> 0;

/** bd_flags in the API -> feature bits. */
const API_FLAG_FEAT: [number, number][] = [
  [1, FEAT.LEARN],
  [2, FEAT.FWD],
  [4, FEAT.FLOOD],
  [8, FEAT.UU_FLOOD],
  [16, FEAT.ARP_TERM],
  [32, FEAT.ARP_UFWD],
];

export const PORT_NORMAL = 0;
export const PORT_BVI = 1;
export const PORT_UU_FWD = 2;

export interface BridgeDomain {
  index: number;
  bdId: number;
  /** 0 = not a live domain (deleted, or created by a member and not yet set up). */
  features: number;
  macAge: number;
  tag: string;
  bvi: number;
  uuFwd: number;
  /** sw_if_index of members in VPP's flood-vector order. */
  members: number[];
  noFloodCount: number;
  /** Unicast tunnels (VNET_FLOOD_CLASS_TUNNEL_NORMAL) among the members. */
  tunNormalCount: number;
}

interface L2InputConfig {
  bridged: boolean;
  bdIndex: number;
  shg: number;
  /** The interface's own L2 input feature bitmap (l2input_intf_bitmap_enable, l2_flags). */
  features: number;
  /** In L2 cross-connect mode: where what it receives goes (output_sw_if_index); else NO_INDEX. */
  xc: number;
}

/** What joining a bridge turns on in the interface's bitmap (set_int_l2_mode). */
const JOIN_FEATURES =
  FEAT.FWD |
  FEAT.UU_FLOOD |
  FEAT.UU_FWD |
  FEAT.FLOOD |
  FEAT.LEARN |
  FEAT.ARP_UFWD |
  FEAT.ARP_TERM |
  FEAT.DROP;
/** l2_flags' API bits → feature bits (LEARN, FWD, FLOOD, UU_FLOOD, ARP_TERM). */
const L2_FLAGS_FEAT: [number, number][] = [
  [1, FEAT.LEARN],
  [2, FEAT.FWD],
  [4, FEAT.FLOOD],
  [8, FEAT.UU_FLOOD],
  [16, FEAT.ARP_TERM],
];

export interface Vtr {
  op: number;
  pushDot1q: boolean;
  tag1: number;
  tag2: number;
}

const VTR_POP_NEEDS: Record<number, number> = { 3: 1, 4: 2, 5: 1, 6: 1, 7: 2, 8: 2 };
/** Tags an operation pushes (and therefore reports back in dumps). */
const VTR_PUSHES: Record<number, number> = { 1: 1, 2: 2, 5: 1, 6: 2, 7: 1, 8: 2 };

export interface BdArgs {
  isAdd: boolean;
  bdId: number;
  flood: boolean;
  uuFlood: boolean;
  forward: boolean;
  learn: boolean;
  arpTerm: boolean;
  arpUfwd: boolean;
  macAge: number;
  tag: string;
}

export class L2 {
  readonly bds: BridgeDomain[] = [];
  private readonly indexes = new LowestFree(0x7fffffff);
  private readonly byId = new Map<number, number>();
  private readonly input = new Map<number, L2InputConfig>();
  private readonly vtrs = new Map<number, Vtr>();
  /** bd_get_unused_id's static seed: VPP's choice of bd_id is this LCG from 0 at each start. */
  private seed = 0;

  constructor(private readonly vpp: VppState) {
    const bd0 = this.addIndex(0);
    bd0.features = FEAT.DROP;
  }

  private addIndex(bdId: number): BridgeDomain {
    const index = this.indexes.alloc();
    const bd: BridgeDomain = {
      index,
      bdId,
      features: 0,
      // VPP leaves a reused slot's mac_age as it was.
      macAge: this.bds[index]?.macAge ?? 0,
      tag: '',
      bvi: NO_INDEX,
      uuFwd: NO_INDEX,
      members: [],
      noFloodCount: 0,
      tunNormalCount: 0,
    };
    this.bds[index] = bd;
    this.byId.set(bdId, index);
    return bd;
  }

  /** bd_validate: a domain that is not live yet gets VPP's defaults. */
  private validate(bd: BridgeDomain): void {
    if (bd.features !== 0) return;
    bd.features = BD_DEFAULT_FEATURES;
    bd.bvi = NO_INDEX;
    bd.uuFwd = NO_INDEX;
    bd.members = [];
    bd.noFloodCount = 0;
    bd.tunNormalCount = 0;
  }

  find(bdId: number): BridgeDomain | undefined {
    const i = this.byId.get(bdId);
    return i === undefined ? undefined : this.bds[i];
  }

  /** bd_get_unused_id: random_u32 LCG, then seed, seed+1, seed-1, seed+2 ... within 24 bits. */
  unusedId(): number {
    for (let j = 0; j < 1 << 10; j++) {
      this.seed = (Math.imul(1664525, this.seed) + 1013904223) >>> 0;
      for (let i = 0; i < 1 << 10; i++) {
        this.seed = (this.seed + (2 * (i % 2) - 1) * i) >>> 0;
        this.seed = (this.seed & L2_BD_ID_MAX) >>> 0;
        if (this.seed === 0) continue;
        if (!this.byId.has(this.seed)) return this.seed;
      }
    }
    return NO_INDEX;
  }

  setFlags(bd: BridgeDomain, feats: number, enable: boolean): number {
    this.validate(bd);
    bd.features = (enable ? bd.features | feats : bd.features & ~feats) >>> 0;
    return bd.features;
  }

  /** bd_add_del */
  addDel(a: BdArgs): number {
    const bd = this.find(a.bdId);
    if (a.isAdd) {
      if (bd) return RV.BD_ALREADY_EXISTS;
      if (a.bdId > L2_BD_ID_MAX) return RV.BD_ID_EXCEED_MAX;
      const n = this.addIndex(a.bdId);
      let on = 0;
      let off = 0;
      const pick = (v: boolean, f: number): void => {
        if (v) on |= f;
        else off |= f;
      };
      pick(a.flood, FEAT.FLOOD);
      pick(a.uuFlood, FEAT.UU_FLOOD);
      pick(a.forward, FEAT.FWD);
      pick(a.learn, FEAT.LEARN);
      pick(a.arpTerm, FEAT.ARP_TERM);
      pick(a.arpUfwd, FEAT.ARP_UFWD);
      if (on) this.setFlags(n, on, true);
      if (off) this.setFlags(n, off, false);
      n.macAge = a.macAge;
      n.tag = a.tag;
      return RV.OK;
    }
    if (!bd) return RV.NO_SUCH_ENTRY;
    if (bd.index === 0) return RV.BD_NOT_MODIFIABLE;
    if (bd.members.length > 0) return RV.BD_IN_USE;
    this.vpp.l2fib.bdDeleted(bd.index);
    this.byId.delete(bd.bdId);
    this.indexes.release(bd.index);
    bd.bdId = NO_INDEX;
    bd.features = 0;
    bd.tag = '';
    bd.members = [];
    return RV.OK;
  }

  /** bridge_flags: returns [retval, resulting feature bitmap]. */
  bridgeFlags(bdId: number, apiFlags: number, isSet: boolean): [number, number] {
    if (bdId === 0) return [RV.BD_NOT_MODIFIABLE, 0];
    const bd = this.find(bdId);
    if (!bd) return [RV.NO_SUCH_ENTRY, 0];
    let feats = 0;
    for (const [api, f] of API_FLAG_FEAT) if (apiFlags & api) feats |= f;
    return [RV.OK, this.setFlags(bd, feats, isSet)];
  }

  /** Live domains in bd_index order, bd 0 hidden (bridge_domain_dump). */
  *live(): IterableIterator<BridgeDomain> {
    for (const bd of this.bds) if (bd && bd.features !== 0 && bd.bdId > 0 && bd.bdId !== NO_INDEX) yield bd;
  }

  feature(
    bd: BridgeDomain,
    name: 'flood' | 'uu_flood' | 'forward' | 'learn' | 'arp_term' | 'arp_ufwd',
  ): boolean {
    const bit = {
      flood: FEAT.FLOOD,
      uu_flood: FEAT.UU_FLOOD,
      forward: FEAT.FWD,
      learn: FEAT.LEARN,
      arp_term: FEAT.ARP_TERM,
      arp_ufwd: FEAT.ARP_UFWD,
    }[name];
    return (bd.features & bit) !== 0;
  }

  shg(swIfIndex: number): number {
    return this.input.get(swIfIndex)?.shg ?? 0;
  }

  private addMember(bd: BridgeDomain, s: SwIf): void {
    let ix: number;
    switch (s.floodClass) {
      case 'no_flood':
        bd.noFloodCount++;
        ix = bd.members.length;
        break;
      case 'bvi':
        ix = 0;
        break;
      case 'normal':
      case 'tunnel_master':
        ix = bd.members.length - bd.tunNormalCount - bd.noFloodCount;
        break;
      case 'tunnel_normal':
        ix = bd.members.length - bd.noFloodCount;
        bd.tunNormalCount++;
        break;
    }
    bd.members.splice(ix, 0, s.index);
  }

  private removeMember(bd: BridgeDomain, s: SwIf): void {
    const ix = bd.members.indexOf(s.index);
    if (ix < 0) return;
    if (s.floodClass === 'no_flood') bd.noFloodCount--;
    if (s.floodClass === 'tunnel_normal') bd.tunNormalCount--;
    bd.members.splice(ix, 1);
  }

  /** sw_interface_set_l2_bridge (after the sw_if_index check). */
  setBridge(s: SwIf, bdId: number, portType: number, shg: number, enable: boolean): number {
    if (portType !== PORT_NORMAL && portType !== PORT_BVI && portType !== PORT_UU_FWD)
      return RV.INVALID_VALUE;
    if (!enable) return this.setMode(s, false, 0, portType, 0);
    if (bdId > L2_BD_ID_MAX) return RV.BD_ID_EXCEED_MAX;
    // Joining a domain that does not exist creates it with VPP's defaults.
    const bd = this.find(bdId) ?? this.addIndex(bdId);
    return this.setMode(s, true, bd.index, portType, shg);
  }

  private cfgOf(s: SwIf): L2InputConfig {
    let cfg = this.input.get(s.index);
    if (!cfg)
      this.input.set(s.index, (cfg = { bridged: false, bdIndex: 0, shg: 0, features: 0, xc: NO_INDEX }));
    return cfg;
  }

  /** set_int_l2_mode's first step: out of the bridge domain it is in, if any. */
  private leaveBridge(s: SwIf, cfg: L2InputConfig): void {
    if (cfg.bridged) {
      const old = this.bds[cfg.bdIndex];
      this.removeMember(old, s);
      if (old.bvi === s.index) {
        old.bvi = NO_INDEX;
        this.vpp.l2fib.del(bviMac(s.hw.mac), old.index, s.index);
        // A former BVI no longer receives floods.
        s.floodClass = 'no_flood';
      }
      if (old.uuFwd === s.index) {
        old.uuFwd = NO_INDEX;
        old.features = (old.features & ~FEAT.UU_FWD) >>> 0;
      }
    }
    cfg.bridged = false;
  }

  /** set_int_l2_mode for bridge and L3 modes. */
  private setMode(s: SwIf, bridge: boolean, bdIndex: number, portType: number, shg: number): number {
    const cfg = this.cfgOf(s);
    this.leaveBridge(s, cfg);
    cfg.xc = NO_INDEX;
    cfg.features = (cfg.features & ~FEAT.XCONNECT) >>> 0;
    if (!bridge) {
      cfg.bridged = false;
      cfg.bdIndex = 0;
      cfg.shg = 0;
      cfg.features = FEAT.DROP;
      // L3 mode wipes the interface's L2 output config, tag rewrite included.
      this.vtrs.delete(s.index);
      return RV.OK;
    }
    cfg.bridged = true;
    cfg.bdIndex = bdIndex;
    cfg.features = (cfg.features | JOIN_FEATURES) >>> 0;
    const bd = this.bds[bdIndex];
    this.validate(bd);
    if (portType === PORT_BVI) {
      if (bd.bvi !== NO_INDEX) return RV.BD_ALREADY_HAS_BVI;
      bd.bvi = s.index;
      // The BVI's MAC is a static L2 FIB entry of the domain.
      this.vpp.l2fib.add(bviMac(s.hw.mac), bd.index, s.index, { static: true, filter: false, bvi: true });
      s.floodClass = 'bvi';
    } else if (portType === PORT_UU_FWD) {
      bd.uuFwd = s.index;
      bd.features = (bd.features | FEAT.UU_FWD) >>> 0;
    }
    if (portType !== PORT_UU_FWD) this.addMember(bd, s);
    cfg.shg = shg;
    return RV.OK;
  }

  /** l2_flags: sets or clears the interface's own input features; returns its bitmap. */
  interfaceFlags(sw: number, apiBits: number, isSet: boolean): number {
    let cfg = this.input.get(sw);
    if (!cfg) this.input.set(sw, (cfg = { bridged: false, bdIndex: 0, shg: 0, features: 0, xc: NO_INDEX }));
    let bits = 0;
    for (const [api, f] of L2_FLAGS_FEAT) if (apiBits & api) bits |= f;
    cfg.features = (isSet ? cfg.features | bits : cfg.features & ~bits) >>> 0;
    return cfg.features;
  }

  /** l2_flags_get: the interface's input bitmap. */
  inputFeatures(sw: number): number {
    return this.input.get(sw)?.features ?? 0;
  }

  /** Whether the interface is in L2 bridge mode. */
  bridged(swIfIndex: number): boolean {
    return this.input.get(swIfIndex)?.bridged === true;
  }

  /** l2input_interface_mac_change: a BVI's L2 FIB entry follows its new MAC. */
  macChanged(s: SwIf, oldMac: string): void {
    const cfg = this.input.get(s.index);
    if (!cfg?.bridged || this.bds[cfg.bdIndex].bvi !== s.index) return;
    this.vpp.l2fib.del(bviMac(oldMac), cfg.bdIndex, s.index);
    this.vpp.l2fib.add(bviMac(s.hw.mac), cfg.bdIndex, s.index, { static: true, filter: false, bvi: true });
  }

  interfaceDeleted(s: SwIf): void {
    const cfg = this.input.get(s.index);
    if (cfg?.bridged || (cfg && cfg.xc !== NO_INDEX)) this.setMode(s, false, 0, PORT_NORMAL, 0);
  }

  /**
   * sw_interface_set_l2_xconnect (after both sw_if_index checks), set_int_l2_mode MODE_L2_XC: the
   * interface leaves its bridge, what it receives goes to `tx` (one way: `tx` keeps its own mode),
   * bridging features off, XCONNECT and DROP on. `tx` null: back to L3 (MODE_L3).
   */
  setXconnect(s: SwIf, tx: number | null): number {
    if (tx === null) return this.setMode(s, false, 0, PORT_NORMAL, 0);
    const cfg = this.cfgOf(s);
    this.leaveBridge(s, cfg);
    cfg.bdIndex = 0;
    cfg.shg = 0;
    cfg.features =
      (((cfg.features | FEAT.DROP) & ~(FEAT.LEARN | FEAT.FWD | FEAT.FLOOD)) | FEAT.XCONNECT) >>> 0;
    cfg.xc = tx;
    return RV.OK;
  }

  /** l2_xconnect_dump: every cross-connected interface in index order, with its output. */
  xconnects(): { rx: number; tx: number }[] {
    return [...this.input]
      .filter(([, c]) => c.xc !== NO_INDEX)
      .sort(([a], [b]) => a - b)
      .map(([rx, c]) => ({ rx, tx: c.xc }));
  }

  /** l2_interface_vlan_tag_rewrite (after the sw_if_index check). */
  setVtr(s: SwIf, op: number, pushDot1q: number, tag1: number, tag2: number): number {
    if (!Number.isInteger(op) || op < 0 || op > 8) return RV.INVALID_VALUE;
    if (s.hw.mac === '') return RV.INVALID_INTERFACE;
    const need = VTR_POP_NEEDS[op] ?? 0;
    if (need > this.vpp.ifs.configuredTags(s)) return RV.INVALID_VLAN_TAG_COUNT;
    if (op === 0) this.vtrs.delete(s.index);
    else this.vtrs.set(s.index, { op, pushDot1q: pushDot1q !== 0, tag1: tag1 & 0xffff, tag2: tag2 & 0xffff });
    return RV.OK;
  }

  /** What l2vtr_get reports: pushed tags only, zeros when disabled. */
  vtrOf(s: SwIf): Vtr {
    const v = s.hw.mac === '' ? undefined : this.vtrs.get(s.index);
    if (!v) return { op: 0, pushDot1q: false, tag1: 0, tag2: 0 };
    const pushes = VTR_PUSHES[v.op] ?? 0;
    return {
      op: v.op,
      pushDot1q: pushes > 0 && v.pushDot1q,
      tag1: pushes > 0 ? v.tag1 : 0,
      tag2: pushes > 1 ? v.tag2 : 0,
    };
  }
}
