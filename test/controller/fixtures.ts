// Neutron dicts and journal rows as the ML2 driver sends them (docs/controller-api.md).

export const NET = '0b8e7f3a-5c4d-4e2f-8a1b-9c0d1e2f3a4b';
export const SUBNET = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
export const SG1 = 'c0ffee00-1111-4222-8333-444455556666';
export const SG2 = 'c0ffee00-7777-4888-9999-aaaabbbbcccc';

/** A deterministic UUID for test object `n`. */
export function uid(n: number): string {
  const h = n.toString(16).padStart(12, '0');
  return `6f1c0a52-1b5e-4bd4-9a8e-${h}`;
}

export const PORT = uid(1);

export function neutronPort(over: Record<string, unknown> = {}): Record<string, unknown> {
  const id = (over.id as string | undefined) ?? PORT;
  return {
    id,
    name: '',
    network_id: NET,
    mac_address: 'fa:16:3e:00:00:01',
    fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.5' }],
    device_owner: 'compute:nova',
    device_id: 'vm-1',
    admin_state_up: true,
    status: 'DOWN',
    security_groups: [SG1],
    port_security_enabled: true,
    allowed_address_pairs: [],
    'binding:host_id': 'compute1',
    'binding:vif_type': 'vhostuser',
    'binding:vnic_type': 'normal',
    'binding:vif_details': { vhostuser_socket: `/var/run/netvpp/${id}`, vhostuser_mode: 'server' },
    'netvpp:network': {
      id: NET,
      network_type: 'vlan',
      physical_network: 'physnet1',
      segmentation_id: 100,
      mtu: 1500,
    },
    revision_number: 1,
    ...over,
  };
}

let nextRowId = 1;

export function row(
  resource: string,
  op: string,
  data: Record<string, unknown> | null,
  revision: number | null = (data?.revision_number as number | undefined) ?? null,
  resourceId: string = (data?.id as string | undefined) ?? PORT,
): Record<string, unknown> {
  return { id: nextRowId++, resource, op, resource_id: resourceId, revision, data };
}

export function portRow(over: Record<string, unknown> = {}, op = 'update'): Record<string, unknown> {
  return row('port', op, neutronPort(over));
}

export function sgDict(
  id: string,
  revision: number,
  rules: Record<string, unknown>[],
): Record<string, unknown> {
  return { id, name: 'web', stateful: true, revision_number: revision, security_group_rules: rules };
}

export function sgRule(n: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: uid(1000 + n),
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 'tcp',
    port_range_min: 22,
    port_range_max: 22,
    remote_ip_prefix: null,
    remote_group_id: null,
    ...over,
  };
}

export function networkDict(id: string, revision: number, mtu: number): Record<string, unknown> {
  return { id, name: 'net', mtu, revision_number: revision, 'provider:network_type': 'vlan' };
}
