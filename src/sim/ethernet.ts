// Which sw_if_index a received frame lands on, as VPP's ethernet-input decides it from the frame's
// VLAN tags and the receiving interface's sub-interfaces (src/vnet/ethernet/node.c, eth_identify_subint
// and the vector path; ethernet.h's match order). The simulator has no packet path; this answers the
// one question netvpp's VLAN-tag guard depends on: does a tagged frame from a port reach its bridge?
import type { Interfaces, SwIf } from './interfaces.ts';
import { SUB_IF } from './interfaces.ts';

export interface VlanTag {
  /** 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number;
  vid: number;
}

export type Driver = 'vector' | 'per-packet';

export interface Ingress {
  /** The interface the frame is input on; null when dropped before one is chosen. */
  swIfIndex: number | null;
  /** Set when ethernet-input drops it (VPP's error counter name). */
  drop?: 'subinterface down' | 'unknown vlan' | 'interface down';
  /** Whether the frame reaches L2 input (a bridge) on swIfIndex, tags still on. */
  l2: boolean;
}

/**
 * vhost-user and tap input frames as one vector for one interface (VPP's SINGLE_SW_IF_IDX path),
 * af_packet per packet; they differ for a single VLAN 0 tag.
 */
export function driverOf(s: SwIf): Driver {
  return s.hw.kind === 'vhost' || s.hw.kind === 'tap' ? 'vector' : 'per-packet';
}

export function ethernetInput(
  ifs: Interfaces,
  bridged: (swIfIndex: number) => boolean,
  rxSwIfIndex: number,
  tags: readonly VlanTag[],
): Ingress {
  const main = ifs.get(rxSwIfIndex);
  if (!main || main.isSub) return { swIfIndex: null, drop: 'unknown vlan', l2: false };
  const subs = [...main.hw.subs.values()].map((i) => ifs.get(i) as SwIf);
  const land = (s: SwIf): Ingress =>
    s.adminUp
      ? { swIfIndex: s.index, l2: bridged(s.index) }
      : { swIfIndex: s.index, drop: s.isSub ? 'subinterface down' : 'interface down', l2: false };
  const mainL2 = bridged(main.index);
  if (tags.length === 0) return land(main);
  // The vector path hands a single priority tag (VLAN 0) to the main interface without a lookup.
  if (tags.length === 1 && tags[0].vid === 0 && driverOf(main) === 'vector') return land(main);
  const [outer, inner] = tags;
  const ad = outer.tpid === 0x88a8;
  const sameType = (s: SwIf) => ((s.subFlags & SUB_IF.DOT1AD) !== 0) === ad;
  const isDefault = (s: SwIf) => (s.subFlags & SUB_IF.DEFAULT) !== 0;
  // Most specific first: both tags, outer + any inner, one tag, the default sub-interface.
  if (tags.length >= 2) {
    const two = subs.find(
      (s) =>
        !isDefault(s) &&
        sameType(s) &&
        (s.subFlags & SUB_IF.TWO_TAGS) !== 0 &&
        s.outerVlan === outer.vid &&
        ((s.subFlags & SUB_IF.INNER_VLAN_ID_ANY) !== 0 || s.innerVlan === inner.vid) &&
        (tags.length === 2 || (s.subFlags & SUB_IF.EXACT_MATCH) === 0),
    );
    if (two) return land(two);
  }
  const one = subs.find(
    (s) =>
      !isDefault(s) &&
      sameType(s) &&
      (s.subFlags & SUB_IF.ONE_TAG) !== 0 &&
      s.outerVlan === outer.vid &&
      (tags.length === 1 || (s.subFlags & SUB_IF.EXACT_MATCH) === 0),
  );
  if (one) return land(one);
  const dflt = subs.find((s) => isDefault(s) && main.hw.defaultSubMatches);
  if (dflt) return land(dflt);
  // An L2-mode main interface takes every frame nothing more specific took, tags and all.
  if (mainL2) return land(main);
  return { swIfIndex: null, drop: 'unknown vlan', l2: false };
}
