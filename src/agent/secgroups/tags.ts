// VPP tags of the ACLs netvpp owns. The agent finds its ACLs after a restart only by these tags (ACL
// indices are VPP's, and change when VPP restarts), and never touches an ACL whose tag it can't parse.
// A tag is also the ACL's key in the agent's object graph.
//
//   netvpp:sg:<sg uuid>:ingress      a security group's rules for traffic to the VM
//   netvpp:sg:<sg uuid>:egress       ... for traffic from the VM
//   netvpp:base:ingress|egress       DHCP / ND / RA rules every filtered port needs (one pair per host)
//   netvpp:related:ingress|egress    ICMP errors, standing in for conntrack's RELATED (stateful ports)
//   netvpp:macip:<port uuid>         a port's MAC-IP anti-spoofing ACL
//
// Directions are Neutron's, seen from the VM — never VPP's input/output, which are the other way round.

/** Neutron's direction: ingress = to the VM, egress = from the VM. */
export type Direction = 'ingress' | 'egress';
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

export type AclKey =
  | { kind: 'sg'; sgId: string; direction: Direction }
  | { kind: 'base'; direction: Direction }
  | { kind: 'related'; direction: Direction }
  | { kind: 'macip'; portId: string };

export const TAG_OWNER = 'netvpp';
/** VPP's tag field is 64 bytes and acl_add_replace refuses a tag without its NUL terminator. */
export const MAX_TAG_BYTES = 63;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UUID_RE = new RegExp(`^${UUID}$`);
const TAG_RE = new RegExp(
  `^${TAG_OWNER}:(?:sg:(${UUID}):(ingress|egress)|(base|related):(ingress|egress)|macip:(${UUID}))$`,
);

function uuid(what: string, id: string): string {
  // Ids in etcd values are lower-cased by the schema; anything else would not parse back.
  if (!UUID_RE.test(id))
    throw new Error(`${what} for an ACL tag must be a lower-case UUID: ${JSON.stringify(id)}`);
  return id;
}

/** The VPP tag of an ACL. Throws on an id that is not a lower-case UUID. */
export function aclTag(key: AclKey): string {
  if (key.kind === 'sg') return `${TAG_OWNER}:sg:${uuid('security group id', key.sgId)}:${key.direction}`;
  if (key.kind === 'macip') return `${TAG_OWNER}:macip:${uuid('port id', key.portId)}`;
  return `${TAG_OWNER}:${key.kind}:${key.direction}`;
}

/** The key an ACL tag names; null for a tag that is not netvpp's (leave that ACL alone). */
export function parseAclTag(tag: string): AclKey | null {
  const m = TAG_RE.exec(tag);
  if (!m) return null;
  if (m[1] !== undefined) return { kind: 'sg', sgId: m[1], direction: m[2] as Direction };
  if (m[3] !== undefined) return { kind: m[3] as 'base' | 'related', direction: m[4] as Direction };
  return { kind: 'macip', portId: m[5] };
}

export const sgTag = (sgId: string, direction: Direction): string => aclTag({ kind: 'sg', sgId, direction });
export const baseTag = (direction: Direction): string => aclTag({ kind: 'base', direction });
export const relatedTag = (direction: Direction): string => aclTag({ kind: 'related', direction });
export const macipTag = (portId: string): string => aclTag({ kind: 'macip', portId });
