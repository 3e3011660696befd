/**
 * Sub-interface matching as vnet/ethernet keeps it (node.c, ethernet_sw_interface_get_config): every
 * Ethernet hardware interface has match entries ("subint configs") — one for untagged frames (the
 * main interface's), one shared default, and per 802.1Q/802.1ad VLAN a single-tag, an any-inner and
 * per inner VLAN a double-tag entry. A sub-interface takes the entry its flags and VLANs name; two
 * sub-interfaces naming one entry is "vlan is already in use": VPP allocates the second one's
 * sw_if_index, runs the delete callbacks (which clear the shared entry: the first one no longer
 * matches, and a third create succeeds) and frees the index again, answering -1 with that index.
 */

export const SUB_IF = {
  NO_TAGS: 1,
  ONE_TAG: 2,
  TWO_TAGS: 4,
  DOT1AD: 8,
  EXACT_MATCH: 16,
  DEFAULT: 32,
  OUTER_VLAN_ID_ANY: 64,
  INNER_VLAN_ID_ANY: 128,
  MASK_VNET: 254,
} as const;

/** SUBINT_CONFIG_MATCH_<n>_TAG: which tag counts an entry takes. */
export const MATCH = { TAGS0: 1, TAGS1: 2, TAGS2: 4, TAGS3: 8 } as const;

/** A subint_config_t: valid (flags != 0), the tag counts it takes, and the sw_if_index frames land on. */
export interface SubintSlot {
  valid: boolean;
  match: number;
  /** The admin-up interface on this entry; ~0 while down (frames that match are "subinterface down"). */
  swIfIndex: number;
}

/**
 * The entry a sub-interface's flags and VLANs select, or 'nyi' for the "any" matches VPP does not
 * implement (it creates and frees the interface: -1, no event). Keys: `untagged`, `default`,
 * `<q|ad>/<outer>/1` (one tag), `<q|ad>/<outer>/*` (two, any inner), `<q|ad>/<outer>/<inner>`.
 */
export function subintConfig(
  flags: number,
  outer: number,
  inner: number,
): { key: string; match: number } | 'nyi' {
  const { TAGS0, TAGS1, TAGS2, TAGS3 } = MATCH;
  if (flags & SUB_IF.DEFAULT) return { key: 'default', match: TAGS1 | TAGS2 | TAGS3 };
  if (flags & SUB_IF.NO_TAGS || flags === 0) return { key: 'untagged', match: TAGS0 };
  const t = flags & SUB_IF.DOT1AD ? 'ad' : 'q';
  const exact = (flags & SUB_IF.EXACT_MATCH) !== 0;
  if (flags & SUB_IF.ONE_TAG) {
    if (flags & SUB_IF.OUTER_VLAN_ID_ANY) return 'nyi';
    return { key: `${t}/${outer}/1`, match: exact ? TAGS1 : TAGS1 | TAGS2 | TAGS3 };
  }
  // Anything else is read as two tags (EXACT_MATCH alone included).
  if (flags & SUB_IF.OUTER_VLAN_ID_ANY && flags & SUB_IF.INNER_VLAN_ID_ANY) return 'nyi';
  const key = flags & SUB_IF.INNER_VLAN_ID_ANY ? `${t}/${outer}/*` : `${t}/${outer}/${inner}`;
  return { key, match: exact ? TAGS2 : TAGS2 | TAGS3 };
}
