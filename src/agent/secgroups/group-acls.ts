// One security group → two VPP ACLs (one per direction), shared by every port on the host that uses
// the group: a rule change rewrites the two ACLs in place (acl_add_replace keeps the index) and no
// port's ACL list changes.
import type { SecurityGroup, SecurityGroupRule } from '../../model/keyspace.ts';
import type { AclRule } from '../../vpp/binapi/types.ts';
import { aggregate, type Family, parsePrefix, type Prefix } from './prefix.ts';
import {
  ALL_PORTS,
  ANY_ICMP,
  aclRule,
  compareAclRule,
  one,
  PERMIT,
  PERMIT_REFLECT,
  PROTO_ANY,
  PROTO_ICMP,
  PROTO_ICMP6,
  PROTO_TCP,
  PROTO_UDP,
  type Range,
} from './rules.ts';
import type { Direction } from './tags.ts';

/** The addresses (plain or CIDR) of every port in a remote group. */
export type MemberLookup = (remoteGroupId: string) => readonly string[];

/** A Neutron rule (or part of one) that VPP cannot express; it is left out, so less is allowed. */
export interface UnsupportedRule {
  ruleId: string;
  reason: string;
}

export interface GroupAcls {
  /** Traffic to the VM (the agent puts this ACL on the VPP interface's OUTPUT list). */
  ingress: AclRule[];
  /** Traffic from the VM (VPP INPUT list). */
  egress: AclRule[];
  /** Rules left out, for the agent to log and report; empty for any rule Neutron itself accepts. */
  unsupported: UnsupportedRule[];
}

interface L4 {
  proto: number;
  sport: Range;
  dport: Range;
}

const FAMILY: Record<SecurityGroupRule['ethertype'], Family> = { IPv4: 4, IPv6: 6 };

/** Protocols whose ports VPP's ACL plugin reads from the packet (for any other, it sees port 0). */
const VPP_PORT_PROTOCOLS: ReadonlySet<number> = new Set([PROTO_TCP, PROTO_UDP]);
/** Protocols where Neutron accepts a port range but VPP can't match one: SCTP, DCCP, UDP-Lite. */
const OTHER_PORT_PROTOCOLS: ReadonlySet<number> = new Set([33, 132, 136]);

/** Protocol and port/ICMP fields of a rule, or why VPP can't express them. */
function l4Of(r: SecurityGroupRule, family: Family): L4 | string {
  let proto = r.protocol ?? PROTO_ANY;
  // Neutron lets "icmp" stand for ICMPv6 in an IPv6 rule.
  if (family === 6 && proto === PROTO_ICMP) proto = PROTO_ICMP6;
  const min = r.port_range_min;
  const max = r.port_range_max;
  const hasPorts = min !== null || max !== null;

  if (proto === PROTO_ICMP || proto === PROTO_ICMP6) {
    // port_range_min is the type and port_range_max the code; null is any. Type 0 (echo reply) is a
    // real type, not "any" (networking-vpp got this wrong).
    if (min === null)
      return max === null ? { proto, sport: ANY_ICMP, dport: ANY_ICMP } : 'an ICMP code needs a type';
    if (min > 255 || (max !== null && max > 255)) return 'ICMP type and code must be 0..255';
    return { proto, sport: one(min), dport: max === null ? ANY_ICMP : one(max) };
  }
  if (!hasPorts) return { proto, sport: ALL_PORTS, dport: ALL_PORTS };
  const first = min ?? (max as number);
  const last = max ?? (min as number);
  if (first > last) return `port range ${first}..${last} is empty`;
  if (VPP_PORT_PROTOCOLS.has(proto)) return { proto, sport: ALL_PORTS, dport: { first, last } };
  if (OTHER_PORT_PROTOCOLS.has(proto)) {
    // VPP reads no ports for these protocols, so a narrower range can't be enforced. Allowing the whole
    // protocol would open more than asked (networking-vpp did that); leaving the rule out fails closed.
    if (first === 0 && last === 65535) return { proto, sport: ALL_PORTS, dport: ALL_PORTS };
    return `VPP cannot match ports of protocol ${proto}; only the full range 0..65535 can be expressed`;
  }
  return `protocol ${proto === PROTO_ANY ? 'any' : proto} takes no port range`;
}

/** The remote side of a rule as prefixes of the rule's family; [] means "matches nobody". */
function remotesOf(
  r: SecurityGroupRule,
  family: Family,
  members: (groupId: string) => readonly string[],
  unsupported: UnsupportedRule[],
): Prefix[] {
  if (r.remote_group_id !== null) {
    const out: Prefix[] = [];
    for (const m of members(r.remote_group_id)) {
      const p = parsePrefix(m);
      if (!p)
        unsupported.push({
          ruleId: r.id,
          reason: `remote group member ${JSON.stringify(m)} is not an address`,
        });
      // A member of the other family simply doesn't take part in this rule.
      else if (p.family === family) out.push(p);
    }
    return out;
  }
  if (r.remote_ip_prefix !== null) {
    const p = parsePrefix(r.remote_ip_prefix);
    if (!p || p.family !== family) {
      unsupported.push({
        ruleId: r.id,
        reason: `remote_ip_prefix ${r.remote_ip_prefix} is not an ${r.ethertype} CIDR`,
      });
      return [];
    }
    return [p];
  }
  return [{ family, addr: 0n, len: 0 }];
}

function compileDirection(
  rules: readonly SecurityGroupRule[],
  direction: Direction,
  action: number,
  members: (groupId: string) => readonly string[],
  unsupported: UnsupportedRule[],
): AclRule[] {
  // Rules that differ only in their remote prefix are merged and their prefixes aggregated: all rules
  // of a group are permits with one action, so the union is exactly what the group allows.
  const shapes = new Map<string, { family: Family; l4: L4; remotes: Prefix[] }>();
  for (const r of rules) {
    if (r.direction !== direction) continue;
    const family = FAMILY[r.ethertype];
    const l4 = l4Of(r, family);
    if (typeof l4 === 'string') {
      unsupported.push({ ruleId: r.id, reason: l4 });
      continue;
    }
    const remotes = remotesOf(r, family, members, unsupported);
    if (remotes.length === 0) continue;
    const key = `${family}/${l4.proto}/${l4.sport.first}-${l4.sport.last}/${l4.dport.first}-${l4.dport.last}`;
    const shape = shapes.get(key);
    if (shape) shape.remotes.push(...remotes);
    else shapes.set(key, { family, l4, remotes: [...remotes] });
  }
  const out: AclRule[] = [];
  for (const { family, l4, remotes } of shapes.values()) {
    for (const remote of aggregate(remotes)) {
      // VPP sees the packet as it travels: to the VM the remote is the source, from the VM the
      // destination. The VM's side stays "any" — the ACL is shared; anti-spoofing pins the VM's addresses.
      out.push(
        aclRule({
          action,
          family,
          proto: l4.proto,
          sport: l4.sport,
          dport: l4.dport,
          ...(direction === 'ingress' ? { src: remote } : { dst: remote }),
        }),
      );
    }
  }
  return out.sort(compareAclRule);
}

/**
 * The two ACLs of a security group. Stateful groups use permit+reflect, so each permitted packet opens
 * a VPP session and its replies pass in the other direction; stateless groups use plain permit and,
 * as in Neutron, the user writes rules for the return traffic too (nothing is mirrored automatically).
 * The output depends only on what the group allows — not on rule ids or their order — so an unchanged
 * group compiles to identical rules and a resync writes nothing.
 */
export function compileGroupAcls(sg: SecurityGroup, members: MemberLookup): GroupAcls {
  const unsupported: UnsupportedRule[] = [];
  const action = sg.stateful ? PERMIT_REFLECT : PERMIT;
  const cache = new Map<string, readonly string[]>();
  const lookup = (id: string): readonly string[] => {
    let m = cache.get(id);
    if (!m) cache.set(id, (m = members(id)));
    return m;
  };
  return {
    ingress: compileDirection(sg.rules, 'ingress', action, lookup, unsupported),
    egress: compileDirection(sg.rules, 'egress', action, lookup, unsupported),
    unsupported,
  };
}

/** The remote groups a security group refers to (whose membership changes must recompile it). */
export function remoteGroupsOf(sg: SecurityGroup): string[] {
  return [
    ...new Set(sg.rules.flatMap((r) => (r.remote_group_id === null ? [] : [r.remote_group_id]))),
  ].sort();
}
