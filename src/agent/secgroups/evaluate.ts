// What VPP's ACL plugin would do with one packet on an interface's ACL list (first match across the
// list's ACLs, in order; nothing matched means drop). For tests and for explaining a drop to an
// operator; the dataplane itself is VPP's.
import type { AclRule } from '../../vpp/binapi/types.ts';
import { type Family, normalize, parsePrefix } from './prefix.ts';
import { PROTO_ICMP, PROTO_ICMP6, PROTO_TCP, PROTO_UDP } from './rules.ts';

export interface Packet {
  src: string;
  dst: string;
  proto: number;
  /** TCP/UDP source port, or ICMP type. */
  sport?: number;
  /** TCP/UDP destination port, or ICMP code. */
  dport?: number;
}

export interface Verdict {
  /** 0 deny, 1 permit, 2 permit and open a session. No match is a deny with acl and rule -1. */
  action: number;
  /** Position of the matching ACL in the list, and of the rule in it. */
  acl: number;
  rule: number;
}

function inPrefix(addr: string, prefixText: string, family: Family): boolean {
  const p = parsePrefix(prefixText);
  const a = parsePrefix(addr);
  if (!p || !a || p.family !== family || a.family !== family) return false;
  return normalize({ ...a, len: p.len }).addr === normalize(p).addr;
}

/** The L4 values VPP extracts: ports for TCP/UDP, type/code for ICMP of the family, else zeros. */
function l4Values(pkt: Packet, family: Family): [number, number] {
  const icmp = family === 4 ? PROTO_ICMP : PROTO_ICMP6;
  if (pkt.proto === PROTO_TCP || pkt.proto === PROTO_UDP || pkt.proto === icmp)
    return [pkt.sport ?? 0, pkt.dport ?? 0];
  return [0, 0];
}

export function ruleMatches(r: AclRule, pkt: Packet): boolean {
  const family = parsePrefix(pkt.src)?.family;
  if (family === undefined || parsePrefix(r.src_prefix)?.family !== family) return false;
  if (!inPrefix(pkt.src, r.src_prefix, family) || !inPrefix(pkt.dst, r.dst_prefix, family)) return false;
  if (r.proto === 0) return true;
  if (r.proto !== pkt.proto) return false;
  const [p0, p1] = l4Values(pkt, family);
  return (
    p0 >= r.srcport_or_icmptype_first &&
    p0 <= r.srcport_or_icmptype_last &&
    p1 >= r.dstport_or_icmpcode_first &&
    p1 <= r.dstport_or_icmpcode_last
  );
}

/** Evaluates a packet against an interface's list of ACLs (each a list of rules). */
export function evaluate(list: readonly (readonly AclRule[])[], pkt: Packet): Verdict {
  for (const [a, acl] of list.entries()) {
    for (const [i, r] of acl.entries())
      if (ruleMatches(r, pkt)) return { action: r.is_permit, acl: a, rule: i };
  }
  return { action: 0, acl: -1, rule: -1 };
}
