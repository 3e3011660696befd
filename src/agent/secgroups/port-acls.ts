// Which ACLs a port's VPP interface carries, in which order. The port refers to shared ACLs by key
// (their tag); the agent resolves keys to VPP ACL indices for acl_interface_set_acl_list.
import type { PortBinding, SecurityGroup } from '../../model/keyspace.ts';
import { baseTag, macipTag, relatedTag, sgTag } from './tags.ts';

/**
 * Neutron trusts ports whose device_owner starts with "network:" (DHCP servers, router interfaces and
 * gateways): only admins can create them and its own firewalls never filter them. They must send what
 * the base ACLs deny to VMs (DHCP replies, router advertisements), so netvpp leaves them unfiltered too.
 */
export const TRUSTED_OWNER_PREFIX = 'network:';

/** acl_interface_set_acl_list counts the input and output ACLs of an interface in one u8. */
export const MAX_ACLS_PER_INTERFACE = 255;

export class PortAclError extends Error {
  override name = 'PortAclError';
}

/** Whether the port gets ACLs and anti-spoofing: port security on, and not a trusted network:* port. */
export function isFilteredPort(b: Pick<PortBinding, 'port_security_enabled' | 'device_owner'>): boolean {
  return b.port_security_enabled && !b.device_owner.startsWith(TRUSTED_OWNER_PREFIX);
}

export type GroupLookup = (sgId: string) => SecurityGroup | undefined;

export interface PortAcls {
  /** false: port security off or a trusted port — both lists empty, no MAC-IP ACL. */
  filtered: boolean;
  /**
   * ACL keys (tags) for the VPP interface's INPUT list, i.e. traffic from the VM — Neutron's egress:
   * base egress, [related egress], then each group's egress ACL.
   */
  input: string[];
  /** ACL keys for the OUTPUT list (traffic to the VM, Neutron's ingress), in the same pattern. */
  output: string[];
  /** Key of the port's MAC-IP ACL (rules from compileAntiSpoof), or null when unfiltered. */
  macip: string | null;
  /** The port's security groups, sorted and without duplicates. */
  groups: string[];
  /**
   * Groups the port uses whose definition the agent hasn't got yet. Their keys are in the lists but no
   * such ACL exists, so the lists can't be applied: the port must stay not-ready (fail closed).
   */
  missingGroups: string[];
}

/**
 * A filtered port's lists always hold at least the base ACLs, so a port with no groups passes only
 * DHCP/ND traffic: VPP's ACL plugin drops what no ACL in a non-empty list permits. Every security group
 * rule is a permit, so the order of groups has no effect on what passes; they are sorted by id so that
 * Neutron listing them in another order changes nothing in VPP.
 * Throws PortAclError when the port has more groups than VPP can attach to one interface.
 */
export function compilePortAcls(binding: PortBinding, groups: GroupLookup): PortAcls {
  if (!isFilteredPort(binding)) {
    return { filtered: false, input: [], output: [], macip: null, groups: [], missingGroups: [] };
  }
  const ids = [...new Set(binding.security_groups.map((g) => g.toLowerCase()))].sort();
  const known = ids.map((id) => groups(id));
  const missingGroups = ids.filter((_id, i) => known[i] === undefined);
  // Neutron refuses to mix stateful and stateless groups on a port; if it happens anyway, the port
  // counts as stateful (its sessions would need the ICMP errors just the same).
  const stateful = known.some((g) => g?.stateful === true);
  const input = [
    baseTag('egress'),
    ...(stateful ? [relatedTag('egress')] : []),
    ...ids.map((id) => sgTag(id, 'egress')),
  ];
  const output = [
    baseTag('ingress'),
    ...(stateful ? [relatedTag('ingress')] : []),
    ...ids.map((id) => sgTag(id, 'ingress')),
  ];
  if (input.length + output.length > MAX_ACLS_PER_INTERFACE)
    throw new PortAclError(
      `port ${binding.port_id} has ${ids.length} security groups; VPP can attach at most ` +
        `${Math.floor(MAX_ACLS_PER_INTERFACE / 2) - (stateful ? 2 : 1)} to one interface`,
    );
  return { filtered: true, input, output, macip: macipTag(binding.port_id), groups: ids, missingGroups };
}
