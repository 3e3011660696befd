// A Neutron security-group rule with everything "any", for the security-group compiler tests.
import type { SecurityGroupRule } from '../../../src/model/keyspace.ts';

let nextId = 0;

export function rule(over: Partial<SecurityGroupRule>): SecurityGroupRule {
  nextId++;
  return {
    id: `00000000-0000-4000-8000-${nextId.toString().padStart(12, '0')}`,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    ...over,
  };
}
