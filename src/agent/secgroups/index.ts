// Security groups and anti-spoofing: pure functions from etcd values to VPP ACL content. The agent's
// compile step calls compileHostAcls (or the per-object functions); nothing here talks to VPP or etcd.
import type { PortBinding } from '../../model/keyspace.ts';
import type { AclRule, MacipAclRule } from '../../vpp/binapi/types.ts';
import { compileAntiSpoof } from './anti-spoof.ts';
import { compileBaseAcls, compileRelatedAcls } from './base-acls.ts';
import { compileGroupAcls, type MemberLookup, type UnsupportedRule } from './group-acls.ts';
import { compilePortAcls, type GroupLookup, PortAclError, type PortAcls } from './port-acls.ts';
import { baseTag, DIRECTIONS, relatedTag, sgTag } from './tags.ts';

export { compileAntiSpoof, eui64LinkLocal } from './anti-spoof.ts';
export { compileBaseAcls, compileRelatedAcls, type DirectionalAcls } from './base-acls.ts';
export {
  compileGroupAcls,
  remoteGroupsOf,
  type GroupAcls,
  type MemberLookup,
  type UnsupportedRule,
} from './group-acls.ts';
export {
  compilePortAcls,
  isFilteredPort,
  MAX_ACLS_PER_INTERFACE,
  PortAclError,
  TRUSTED_OWNER_PREFIX,
  type GroupLookup,
  type PortAcls,
} from './port-acls.ts';
export { aclRuleProblem, compareAclRule, macipRuleProblem } from './rules.ts';
export {
  aclTag,
  baseTag,
  DIRECTIONS,
  MAX_TAG_BYTES,
  macipTag,
  parseAclTag,
  relatedTag,
  sgTag,
  TAG_OWNER,
  type AclKey,
  type Direction,
} from './tags.ts';

export interface HostAcls {
  /** Every ACL the host's filtered ports use, by key (its VPP tag) → rules, in key order. */
  acls: Map<string, AclRule[]>;
  /** Every filtered port's MAC-IP ACL, by key → rules. */
  macips: Map<string, MacipAclRule[]>;
  /** ACL lists of every port that compiled, by port id. */
  ports: Map<string, PortAcls>;
  /** Ports that can't be filtered as asked (too many groups), by port id → error; not in `ports`. */
  portErrors: Map<string, string>;
  /** Rules VPP can't express, by group id (left out of the group's ACLs). */
  unsupported: Map<string, UnsupportedRule[]>;
}

/**
 * Everything security-related a host needs: the base (and ICMP-error) ACLs once, two ACLs per group
 * used by a local filtered port, one MAC-IP ACL per filtered port. ACLs nobody uses are not produced,
 * so the agent's diff deletes them. Same input, same output — key for key, rule for rule.
 */
export function compileHostAcls(
  bindings: Iterable<PortBinding>,
  groups: GroupLookup,
  members: MemberLookup,
): HostAcls {
  const ports = new Map<string, PortAcls>();
  const portErrors = new Map<string, string>();
  const macips = new Map<string, MacipAclRule[]>();
  const sorted = [...bindings].sort((a, b) => (a.port_id < b.port_id ? -1 : a.port_id > b.port_id ? 1 : 0));
  for (const b of sorted) {
    let p: PortAcls;
    try {
      p = compilePortAcls(b, groups);
    } catch (e) {
      if (!(e instanceof PortAclError)) throw e;
      portErrors.set(b.port_id, e.message);
      continue;
    }
    ports.set(b.port_id, p);
    if (p.macip !== null) macips.set(p.macip, compileAntiSpoof(b));
  }

  const used = new Set<string>();
  for (const p of ports.values()) for (const key of [...p.input, ...p.output]) used.add(key);
  const acls = new Map<string, AclRule[]>();
  const unsupported = new Map<string, UnsupportedRule[]>();
  const base = compileBaseAcls();
  const related = compileRelatedAcls();
  for (const d of DIRECTIONS) {
    if (used.has(baseTag(d))) acls.set(baseTag(d), base[d]);
    if (used.has(relatedTag(d))) acls.set(relatedTag(d), related[d]);
  }
  const groupIds = [...new Set([...ports.values()].flatMap((p) => p.groups))].sort();
  for (const id of groupIds) {
    const sg = groups(id);
    if (!sg) continue;
    const compiled = compileGroupAcls(sg, members);
    for (const d of DIRECTIONS) acls.set(sgTag(id, d), compiled[d]);
    if (compiled.unsupported.length) unsupported.set(id, compiled.unsupported);
  }
  return {
    acls: new Map([...acls].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    macips,
    ports,
    portErrors,
    unsupported,
  };
}
export { evaluate, ruleMatches, type Packet, type Verdict } from './evaluate.ts';
