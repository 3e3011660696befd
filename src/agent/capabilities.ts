// What this host can offer Neutron, from the VPP message groups the connected VPP has
// (src/vpp/groups.ts): the vif types and features advertised in its HostState, which the driver
// checks before binding a port here. One table, so a feature and the groups it needs are said once.
import { HOST_FEATURES, VIF_TYPES, type HostFeature, type VifType } from '../model/keyspace.ts';
import type { GroupAvailability, GroupName } from '../vpp/groups.ts';
import type { TapBackend } from './config.ts';

export interface HostCapabilities {
  vif_types: VifType[];
  features: HostFeature[];
}

/**
 * The groups that can make each vif type's interface (any one will do). A tap port's depends on how
 * the agent makes its kernel side: tap_backend = tap is VPP's tap, veth a veth pair on VPP's
 * af_packet; unknown, either.
 */
const VIF_MADE_BY: Record<VifType, (tapBackend: TapBackend | undefined) => GroupName[]> = {
  vhostuser: () => ['vhost_user'],
  tap: (b) => (b === 'tap' ? ['tap'] : b === 'veth' ? ['af_packet'] : ['tap', 'af_packet']),
  // A loopback (core) as the bridge's BVI, in a VRF table with its addresses (ip).
  router: () => ['ip'],
  // A VLAN sub-interface (create_vlan_subif, core) of a parent's: a VM (vhost-user) or tap port.
  subport: (b) => ['vhost_user', ...VIF_MADE_BY.tap(b)],
};

/** The groups each feature needs (all of them). */
const FEATURE_NEEDS: Record<HostFeature, GroupName[]> = {
  port_security: ['acl'],
  nat: ['nat', 'ip'],
  qos: ['policer'],
};

/**
 * The vif types and features a host offers with a VPP that has `groups` (VppClient.groups).
 * `undefined` (not yet connected to VPP): everything netvpp supports, as before groups were
 * checked; the value is narrowed as soon as the agent has connected and republishes its state.
 */
export function hostCapabilities(
  groups: GroupAvailability | undefined,
  tapBackend?: TapBackend,
): HostCapabilities {
  const has = (g: GroupName): boolean => groups === undefined || groups[g]?.available === true;
  return {
    vif_types: VIF_TYPES.filter((v) => VIF_MADE_BY[v](tapBackend).some(has)),
    features: HOST_FEATURES.filter((f) => FEATURE_NEEDS[f].every(has)),
  };
}
