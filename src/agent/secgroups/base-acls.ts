// ACLs shared by every filtered port on a host, whatever its security groups: the traffic a VM needs to
// get an address and find its neighbours, and the server/router traffic a VM must never send. They
// come first in each port's lists (VPP takes the first matching rule across the list), so no security
// group rule can re-allow what they deny. They exist once per host and never change at run time.
import type { AclRule } from '../../vpp/binapi/types.ts';
import { parsePrefix, type Prefix } from './prefix.ts';
import {
  ANY_ICMP,
  aclRule,
  DENY,
  one,
  PERMIT,
  PROTO_ICMP,
  PROTO_ICMP6,
  PROTO_UDP,
  type RuleSpec,
} from './rules.ts';

const LINK_LOCAL6 = parsePrefix('fe80::/10') as Prefix;

// ICMPv6 types (RFC 4443, 4861, 2710, 3810).
const MLD_QUERY = 130;
const MLD_REPORT = 131;
const MLD_DONE = 132;
const ROUTER_SOLICIT = 133;
const ROUTER_ADVERT = 134;
const NEIGHBOUR_SOLICIT = 135;
const NEIGHBOUR_ADVERT = 136;
const MLD2_REPORT = 143;

const icmp6 = (action: number, type: number, src?: Prefix): RuleSpec => ({
  action,
  family: 6,
  proto: PROTO_ICMP6,
  sport: one(type),
  dport: ANY_ICMP,
  ...(src ? { src } : {}),
});

// Plain permits (never permit+reflect): these need no session and must not fill VPP's session table.

/** To the VM (VPP output list). */
const BASE_INGRESS: readonly RuleSpec[] = [
  // DHCP replies from servers (server port → client port).
  { action: PERMIT, family: 4, proto: PROTO_UDP, sport: one(67), dport: one(68) },
  { action: PERMIT, family: 6, proto: PROTO_UDP, sport: one(547), dport: one(546) },
  // Router advertisements: RFC 4861 has hosts drop any RA not sent from a link-local address.
  icmp6(PERMIT, ROUTER_ADVERT, LINK_LOCAL6),
  // Neighbour discovery: from any address (DAD probes come from ::).
  icmp6(PERMIT, NEIGHBOUR_SOLICIT),
  icmp6(PERMIT, NEIGHBOUR_ADVERT),
  // MLD queries (link-local by RFC 3810), so multicast-snooping switches keep the VM's groups.
  icmp6(PERMIT, MLD_QUERY, LINK_LOCAL6),
];

/** From the VM (VPP input list). Denies first. */
const BASE_EGRESS: readonly RuleSpec[] = [
  // A VM is not a DHCP server: drop server → client replies (Neutron drops exactly these).
  { action: DENY, family: 4, proto: PROTO_UDP, sport: one(67), dport: one(68) },
  { action: DENY, family: 6, proto: PROTO_UDP, sport: one(547), dport: one(546) },
  // ... nor a router: a rogue RA would make itself every VM's default gateway.
  icmp6(DENY, ROUTER_ADVERT),
  // DHCP requests (client port → server port).
  { action: PERMIT, family: 4, proto: PROTO_UDP, sport: one(68), dport: one(67) },
  { action: PERMIT, family: 6, proto: PROTO_UDP, sport: one(546), dport: one(547) },
  // Router solicitation and neighbour discovery.
  icmp6(PERMIT, ROUTER_SOLICIT),
  icmp6(PERMIT, NEIGHBOUR_SOLICIT),
  icmp6(PERMIT, NEIGHBOUR_ADVERT),
  // MLD listener reports and done messages (as Neutron allows).
  icmp6(PERMIT, MLD_REPORT),
  icmp6(PERMIT, MLD_DONE),
  icmp6(PERMIT, MLD2_REPORT),
];

// ICMP error messages. Conntrack lets them through as RELATED to a tracked flow; VPP's sessions can't
// match an error to the flow it is about, so without these a stateful port would drop Packet Too Big /
// Fragmentation Needed and path-MTU discovery would black-hole. Used only on ports whose groups are
// stateful (Neutron allows no RELATED traffic for stateless groups either).
const ICMP_ERRORS: readonly RuleSpec[] = [
  ...[3, 11, 12].map((t): RuleSpec => ({
    action: PERMIT,
    family: 4,
    proto: PROTO_ICMP,
    sport: one(t),
    dport: ANY_ICMP,
  })),
  // Destination unreachable, packet too big, time exceeded, parameter problem.
  ...[1, 2, 3, 4].map((t) => icmp6(PERMIT, t)),
];

export interface DirectionalAcls {
  ingress: AclRule[];
  egress: AclRule[];
}

/** The base ACLs (fresh copies; the order matters — denies before permits). */
export function compileBaseAcls(): DirectionalAcls {
  return { ingress: BASE_INGRESS.map(aclRule), egress: BASE_EGRESS.map(aclRule) };
}

/** ICMP-error ACLs for ports with stateful groups, the same in both directions. */
export function compileRelatedAcls(): DirectionalAcls {
  return { ingress: ICMP_ERRORS.map(aclRule), egress: ICMP_ERRORS.map(aclRule) };
}
