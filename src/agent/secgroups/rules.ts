// Building blocks for VPP ACL rules, and the checks VPP's ACL plugin applies when it receives them
// (acl_add_list / macip_acl_add_list), so that a bad rule is an error on its object before any call.
import { AclAction, type AclRule, type MacipAclRule } from '../../vpp/binapi/types.ts';
import {
  anyPrefix,
  comparePrefix,
  type Family,
  formatPrefix,
  normalize,
  parsePrefix,
  type Prefix,
} from './prefix.ts';

export const DENY = AclAction.ACL_ACTION_API_DENY;
export const PERMIT = AclAction.ACL_ACTION_API_PERMIT;
/** Permit and create a session: the reply traffic is then allowed in the other direction. */
export const PERMIT_REFLECT = AclAction.ACL_ACTION_API_PERMIT_REFLECT;

export const PROTO_ANY = 0;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMP6 = 58;

export interface Range {
  first: number;
  last: number;
}
export const ALL_PORTS: Range = { first: 0, last: 65535 };
/** ICMP type or code, any value. VPP compares the 8-bit type/code against these 16-bit ranges. */
export const ANY_ICMP: Range = { first: 0, last: 255 };
export const one = (n: number): Range => ({ first: n, last: n });

export interface RuleSpec {
  action: number;
  family: Family;
  proto: number;
  src?: Prefix;
  dst?: Prefix;
  /** Source port, or ICMP type. */
  sport?: Range;
  /** Destination port, or ICMP code. */
  dport?: Range;
}

/** One VPP rule; unset prefixes are the family's "any", unset ranges are 0..65535. */
export function aclRule(s: RuleSpec): AclRule {
  const sport = s.sport ?? ALL_PORTS;
  const dport = s.dport ?? ALL_PORTS;
  return {
    is_permit: s.action,
    src_prefix: formatPrefix(normalize(s.src ?? anyPrefix(s.family))),
    dst_prefix: formatPrefix(normalize(s.dst ?? anyPrefix(s.family))),
    proto: s.proto,
    srcport_or_icmptype_first: sport.first,
    srcport_or_icmptype_last: sport.last,
    dstport_or_icmpcode_first: dport.first,
    dstport_or_icmpcode_last: dport.last,
    tcp_flags_mask: 0,
    tcp_flags_value: 0,
  };
}

/** A prefix parsed strictly for VPP: a CIDR with no host bits set. */
function vppPrefix(text: string): Prefix | string {
  if (!text.includes('/')) return `${JSON.stringify(text)} has no prefix length`;
  const p = parsePrefix(text);
  if (!p) return `${JSON.stringify(text)} is not a prefix`;
  if (normalize(p).addr !== p.addr) return `${JSON.stringify(text)} has host bits set`;
  return p;
}

const inRange = (n: number, max: number): boolean => Number.isInteger(n) && n >= 0 && n <= max;

/** Why VPP would refuse this rule (or why it could never match), or null when it is fine. */
export function aclRuleProblem(r: AclRule): string | null {
  if (!inRange(r.is_permit, 2)) return `is_permit ${r.is_permit} is not 0, 1 or 2`;
  const src = vppPrefix(r.src_prefix);
  if (typeof src === 'string') return `src_prefix ${src}`;
  const dst = vppPrefix(r.dst_prefix);
  if (typeof dst === 'string') return `dst_prefix ${dst}`;
  if (src.family !== dst.family) return 'src_prefix and dst_prefix are of different families';
  if (!inRange(r.proto, 255)) return `proto ${r.proto} is not 0..255`;
  const ranges: [string, number, number][] = [
    ['srcport_or_icmptype', r.srcport_or_icmptype_first, r.srcport_or_icmptype_last],
    ['dstport_or_icmpcode', r.dstport_or_icmpcode_first, r.dstport_or_icmpcode_last],
  ];
  for (const [name, first, last] of ranges) {
    if (!inRange(first, 65535) || !inRange(last, 65535))
      return `${name} ${first}..${last} is not within 0..65535`;
    if (first > last) return `${name} range ${first}..${last} is empty`;
  }
  if (!inRange(r.tcp_flags_mask, 255) || !inRange(r.tcp_flags_value, 255)) return 'tcp flags are not 0..255';
  return null;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function macipRuleProblem(r: MacipAclRule): string | null {
  if (!inRange(r.is_permit, 1)) return `is_permit ${r.is_permit} is not 0 or 1`;
  if (!MAC_RE.test(r.src_mac)) return `src_mac ${JSON.stringify(r.src_mac)} is not a lower-case MAC`;
  if (!MAC_RE.test(r.src_mac_mask))
    return `src_mac_mask ${JSON.stringify(r.src_mac_mask)} is not a lower-case MAC`;
  const p = vppPrefix(r.src_prefix);
  if (typeof p === 'string') return `src_prefix ${p}`;
  return null;
}

function cmpNum(a: number, b: number): number {
  return a - b;
}

/** A total order on rules, so that the same set of rules always comes out in the same order. */
export function compareAclRule(a: AclRule, b: AclRule): number {
  const pa = [parsePrefix(a.src_prefix), parsePrefix(a.dst_prefix)];
  const pb = [parsePrefix(b.src_prefix), parsePrefix(b.dst_prefix)];
  return (
    cmpNum(pa[0]?.family ?? 0, pb[0]?.family ?? 0) ||
    cmpNum(a.is_permit, b.is_permit) ||
    cmpNum(a.proto, b.proto) ||
    cmpNum(a.srcport_or_icmptype_first, b.srcport_or_icmptype_first) ||
    cmpNum(a.srcport_or_icmptype_last, b.srcport_or_icmptype_last) ||
    cmpNum(a.dstport_or_icmpcode_first, b.dstport_or_icmpcode_first) ||
    cmpNum(a.dstport_or_icmpcode_last, b.dstport_or_icmpcode_last) ||
    comparePrefixOrText(pa[0], pb[0], a.src_prefix, b.src_prefix) ||
    comparePrefixOrText(pa[1], pb[1], a.dst_prefix, b.dst_prefix) ||
    cmpNum(a.tcp_flags_mask, b.tcp_flags_mask) ||
    cmpNum(a.tcp_flags_value, b.tcp_flags_value)
  );
}

function comparePrefixOrText(a: Prefix | null, b: Prefix | null, ta: string, tb: string): number {
  if (a && b) return comparePrefix(a, b);
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}
