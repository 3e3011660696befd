// Builders for the etcd values agent tests write: port bindings and security groups as the
// controller would, with sensible defaults a test overrides field by field.
import { randomUUID } from 'node:crypto';
import type { PortBinding, SecurityGroup, SecurityGroupRule } from '../../../src/model/keyspace.ts';

export const VHOST_DIR = '/var/run/netvpp/vhost';

export const uuid = (): string => randomUUID();

let macSeq = 1;
export function nextMac(): string {
  const n = macSeq++;
  return `fa:16:3e:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff)
    .toString(16)
    .padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

export interface NetworkSpec {
  id: string;
  type: 'flat' | 'vlan' | 'vxlan' | 'gpe';
  physnet: string | null;
  /** VLAN id or VNI. */
  vlan: number | null;
  mtu: number;
}

export function vlanNet(vlan: number, physnet = 'physnet1', mtu = 1500): NetworkSpec {
  return { id: uuid(), type: 'vlan', physnet, vlan, mtu };
}

/** A VXLAN network (its MTU is the physnet's less VXLAN's 50 bytes, as Neutron computes it). */
export function vxlanNet(vni: number, mtu = 1450): NetworkSpec {
  return { id: uuid(), type: 'vxlan', physnet: null, vlan: vni, mtu };
}

export function gpeNet(vni: number, mtu = 1450): NetworkSpec {
  return { id: uuid(), type: 'gpe', physnet: null, vlan: vni, mtu };
}

export function flatNet(physnet = 'physnet1', mtu = 1500): NetworkSpec {
  return { id: uuid(), type: 'flat', physnet, vlan: null, mtu };
}

/** A vhost-user VM port on `net` (QEMU is the socket server). */
export function vmPort(net: NetworkSpec, over: Partial<PortBinding> = {}): PortBinding {
  const id = over.port_id ?? uuid();
  return {
    port_id: id,
    network_id: net.id,
    network_type: net.type,
    physnet: net.physnet,
    segmentation_id: net.vlan,
    mtu: net.mtu,
    mac: nextMac(),
    fixed_ips: [{ subnet_id: uuid(), ip_address: `10.0.${(macSeq >> 8) & 0xff}.${macSeq & 0xff}` }],
    vif_type: 'vhostuser',
    vhostuser: { socket: `${VHOST_DIR}/${id}`, mode: 'server' },
    tap: null,
    device_owner: 'compute:nova',
    admin_state_up: true,
    security_groups: [],
    port_security_enabled: true,
    allowed_address_pairs: [],
    revision: 1,
    ...over,
  };
}

/** A tap port as a DHCP agent's (trusted, network:dhcp). */
export function dhcpPort(net: NetworkSpec, over: Partial<PortBinding> = {}): PortBinding {
  const id = over.port_id ?? uuid();
  return vmPort(net, {
    port_id: id,
    vif_type: 'tap',
    vhostuser: null,
    tap: { host_ifname: 'tap' + id.slice(0, 11) },
    device_owner: 'network:dhcp',
    ...over,
  });
}

export function rule(over: Partial<SecurityGroupRule> = {}): SecurityGroupRule {
  return {
    id: uuid(),
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 6,
    port_range_min: 22,
    port_range_max: 22,
    remote_ip_prefix: null,
    remote_group_id: null,
    ...over,
  };
}

export function secGroup(rules: SecurityGroupRule[], over: Partial<SecurityGroup> = {}): SecurityGroup {
  return { id: uuid(), revision: 1, stateful: true, rules, ...over };
}

/** Neutron's default group: all egress, and ingress from members of the group itself. */
export function defaultGroup(): SecurityGroup {
  const id = uuid();
  return {
    id,
    revision: 1,
    stateful: true,
    rules: [
      rule({ direction: 'egress', protocol: null, port_range_min: null, port_range_max: null }),
      rule({
        direction: 'egress',
        ethertype: 'IPv6',
        protocol: null,
        port_range_min: null,
        port_range_max: null,
      }),
      rule({ protocol: null, port_range_min: null, port_range_max: null, remote_group_id: id }),
      rule({
        ethertype: 'IPv6',
        protocol: null,
        port_range_min: null,
        port_range_max: null,
        remote_group_id: id,
      }),
    ],
  };
}
