// Who may read and write which keys of the keyspace, as etcd roles (`netvpp etcd-setup`), built from
// the key builders of keyspace.ts so a new key is covered where it is defined. A host's agent reads
// its own desired state, the global objects it watches, hosts' liveness (peers' VTEPs) and the sync
// marker, and writes only under state/<host>/; the controller reads and writes the whole keyspace.
import { keys } from './keyspace.ts';

export type Access = 'read' | 'readwrite';

/** One grant, relative to the keyspace's PREFIX: a prefix (ends in `/`) or one exact key. */
export interface Grant {
  key: string;
  prefix: boolean;
  access: Access;
  why: string;
}

export const CONTROLLER_ROLE = 'netvpp-controller';
export const CONTROLLER_USER = 'netvpp-controller';
export const hostRole = (host: string): string => `netvpp-host-${host}`;
export const hostUser = (host: string): string => `netvpp-host-${host}`;

export function controllerGrants(): Grant[] {
  return [{ key: '', prefix: true, access: 'readwrite', why: 'the whole keyspace' }];
}

export function hostGrants(host: string): Grant[] {
  return [
    { key: keys.hostNodes(host), prefix: true, access: 'read', why: 'its desired state' },
    { key: keys.secGroups, prefix: true, access: 'read', why: 'security groups its ports use' },
    { key: keys.remoteGroups, prefix: true, access: 'read', why: 'remote-group members its rules use' },
    { key: keys.overlays, prefix: true, access: 'read', why: 'ports of its overlay networks' },
    { key: keys.qosPolicies, prefix: true, access: 'read', why: 'QoS policies its ports use' },
    // etcd grants ranges, not patterns: `state/*/alive` can only be had as all of state/.
    { key: keys.state, prefix: true, access: 'read', why: "peers' liveness (their VTEPs)" },
    // As a prefix: the agent's watcher lists and watches it as one (nothing else starts with it).
    { key: keys.syncMarker, prefix: true, access: 'read', why: 'whether deletions may be applied' },
    { key: keys.hostState(host), prefix: true, access: 'readwrite', why: 'its own state and liveness' },
  ];
}
