// Which sw_if_index a received frame lands on, as VPP's ethernet-input decides it from the frame's
// VLAN tags and the receiving interface's subint configs (src/vnet/ethernet/node.c: parse_header,
// identify_subint and the vector path eth_input_tag_lookup; ethernet.h: eth_identify_subint). The
// simulator has no packet path; this answers the one question netvpp's VLAN-tag guard depends on:
// does a tagged frame from a port reach its bridge?
import type { Interfaces, SwIf } from './interfaces.ts';
import { NO_INDEX } from './interfaces.ts';
import { MATCH, type SubintSlot } from './subint.ts';

export interface VlanTag {
  /** 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number;
  vid: number;
}

export type Driver = 'vector' | 'per-packet';

export interface Ingress {
  /** The interface the frame is input on; null when dropped without one (VPP's ~0). */
  swIfIndex: number | null;
  /** Set when ethernet-input drops it (VPP's error counter name). */
  drop?: 'subinterface down' | 'unknown vlan' | 'interface down';
  /** Whether the frame reaches L2 input (a bridge) on swIfIndex, tags still on. */
  l2: boolean;
}

const TPID_VLAN = 0x8100;
const TPID_DOT1AD = 0x88a8;
/** ethernet_frame_is_tagged: the outer ethertypes read as a VLAN tag. */
const TAGGED = new Set([TPID_VLAN, TPID_DOT1AD, 0x9100, 0x9200]);

/**
 * vhost-user and tap input frames as one vector for one interface (VPP's SINGLE_SW_IF_IDX path),
 * af_packet per packet; they differ for a single VLAN 0 tag and for three or more tags.
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
  // A driver does not poll an admin-down interface: nothing is input at all.
  if (!main.adminUp) return { swIfIndex: null, drop: 'interface down', l2: false };
  const mainL2 = bridged(main.index);
  const land = (slot: SubintSlot): Ingress =>
    slot.swIfIndex === NO_INDEX
      ? { swIfIndex: null, drop: 'subinterface down', l2: false }
      : { swIfIndex: slot.swIfIndex, l2: bridged(slot.swIfIndex) };

  // parse_header: what counts as a tag is the outer one if its ethertype is a VLAN's, then each
  // next one only if it is 802.1Q (0x8100); the per-packet path tells 3+ tags from 2, the vector
  // path does not.
  let match: number = MATCH.TAGS0;
  let outer = 0;
  let inner = 0;
  const [sent, t2, t3] = tags;
  // af_packet: the kernel takes the outer tag off into metadata and VPP's af_packet input puts it
  // back as 802.1Q, whatever its TPID was (seen on a real VPP: test/dataplane/vlan-hop.test.ts).
  const t1 =
    sent && main.hw.kind === 'afpacket' && (sent.tpid === TPID_VLAN || sent.tpid === TPID_DOT1AD)
      ? { tpid: TPID_VLAN, vid: sent.vid }
      : sent;
  if (t1 && TAGGED.has(t1.tpid)) {
    outer = t1.vid & 0xfff;
    if (t2?.tpid === TPID_VLAN) {
      inner = t2.vid & 0xfff;
      match = t3?.tpid === TPID_VLAN && driverOf(main) === 'per-packet' ? MATCH.TAGS3 : MATCH.TAGS2;
    } else if (outer !== 0) match = MATCH.TAGS1;
    // A single priority tag (VLAN 0): the vector path hands it to the main interface without a
    // lookup; the per-packet path matches it against any valid entry, most specific first.
    else if (driverOf(main) === 'vector') return { swIfIndex: main.index, l2: mainL2 };
    else match = 0;
  }
  const t = t1?.tpid === TPID_DOT1AD ? 'ad' : 'q';
  // eth_identify_subint: double tag, outer + any inner, single tag, default, untagged.
  for (const key of [`${t}/${outer}/${inner}`, `${t}/${outer}/*`, `${t}/${outer}/1`, 'default', 'untagged']) {
    const slot = main.hw.slots.get(key);
    if (!slot?.valid) continue;
    // An L2-mode main interface takes frames with any number of tags (set_l2_mode, is_port).
    const takes = slot.match | (key === 'untagged' && mainL2 ? MATCH.TAGS1 | MATCH.TAGS2 | MATCH.TAGS3 : 0);
    if ((takes & match) === match) return land(slot);
  }
  return { swIfIndex: null, drop: 'unknown vlan', l2: false };
}
