// The host part of keyspace v1: what a host is and says about itself. Its liveness record
// (`state/<host>/alive`: the network types, VIF types and features it offers), the status summary
// and progress it reports there, and an operator's resync request (`nodes/<host>/resync`).
// keyspace.ts re-exports it and owns the keys these values live at.
import { bondStateSchema, type BondState } from './keyspace-bonds.ts';
import {
  arrayOf,
  bool,
  type Check,
  hostName,
  int,
  ipAddress,
  isoTime,
  KEY_SEGMENT_RE,
  literal,
  nullable,
  obj,
  optional,
  str,
} from './validate.ts';

export type NetworkType = 'flat' | 'vlan' | 'vxlan' | 'gpe';
/**
 * `router`: a Neutron router's interface on this network, a BVI in VPP (docs/l3.md). `subport`: a
 * trunk's sub-port, a VLAN sub-interface of its parent port's interface (docs/trunks.md).
 */
export type VifType = 'vhostuser' | 'tap' | 'router' | 'subport';
export const NETWORK_TYPES: readonly NetworkType[] = ['flat', 'vlan', 'vxlan', 'gpe'];
/** Overlay types: a segment that spans hosts, its ports published under global/overlay/. */
export const OVERLAY_NETWORK_TYPES: readonly NetworkType[] = ['vxlan', 'gpe'];
export const VIF_TYPES: readonly VifType[] = ['vhostuser', 'tap', 'router', 'subport'];
/**
 * What a host's VPP can do beyond plain L2 ports, advertised in HostState.features.
 * `port_security`: security groups and anti-spoofing (VPP's acl plugin).
 * `nat`: SNAT and floating IPs on routers (VPP's nat44_ed plugin).
 * `qos`: bandwidth limits and DSCP marking of ports (VPP's policer plugin; docs/qos.md).
 */
export type HostFeature = 'port_security' | 'nat' | 'qos';
export const HOST_FEATURES: readonly HostFeature[] = ['port_security', 'nat', 'qos'];

/** Physnet names end up in VPP tags (64 bytes), so they are kept short. */
export const MAX_PHYSNET_LENGTH = 32;

/** `state/<host>/alive`, lease-backed: present exactly while the agent on <host> is alive. */
export interface HostState {
  host: string;
  physnets: string[];
  network_types: NetworkType[];
  vif_types: VifType[];
  /**
   * The host's VXLAN tunnel endpoint address ([vxlan] local_ip), when it carries overlay networks.
   * Peers on a shared overlay network make a tunnel to it while this key exists.
   */
  vtep?: string;
  /**
   * Features this host offers (HOST_FEATURES; names a newer agent adds are kept, so an older
   * controller passes them on). Absent: an agent from before features were advertised, which
   * offered every feature of its time.
   */
  features?: string[];
  agent_version: string;
  vpp: { connected: boolean; version: string | null };
  started_at: string;
  /** The agent's own summary for `netvpp status`; absent from agents that predate it. */
  status?: HostStatus;
}

/**
 * HostState.status: what the agent's GET /health says in brief, rewritten (on the liveness key)
 * when it changes, at most every few seconds.
 */
export interface HostStatus {
  /** Ports bound here: ready, with an error, or neither yet (pending). */
  ports: { total: number; ready: number; errored: number; pending: number };
  /** VPP objects failing and retried. */
  failing: number;
  /** Objects kept in VPP only because deletions are held. */
  held: number;
  /** Desired state loaded, first resync done, VPP connected (GET /health/ready). */
  ready: boolean;
  /** The last resync: why, when it ended, how long it took. */
  last_resync: { reason: string; at: string; ms: number } | null;
  /** Long work in progress (a resync), or null; absent from agents that predate it. */
  progress?: WorkProgress | null;
  /** [agent] bonds as VPP has them: each member's part and its LACP partner; absent without bonds. */
  bonds?: BondState[];
}

/**
 * Long work in progress, as a daemon reports it (agent: HostStatus and GET /health; controller:
 * GET /v1/health). Rate and ETA follow from it (src/util/progress.ts), so readers agree.
 */
export interface WorkProgress {
  /** What: `resync` (agent), `full-sync` (controller). */
  what: string;
  /** The step now, e.g. `reading VPP`, `applying`. */
  phase: string;
  done: number;
  /** null while not known yet (VPP still being read). */
  total: number | null;
  started_at: string;
  /** When these figures were taken. */
  at: string;
}

/**
 * `nodes/<host>/resync`: an operator's request (`netvpp resync --host`) that the agent on <host>
 * re-read VPP and do a full pass; it acts on every new value.
 */
export interface ResyncRequest {
  at: string;
  by: string;
}

const count = int(0, Number.MAX_SAFE_INTEGER);
export const physnetNameSchema: Check<string> = str({
  min: 1,
  max: MAX_PHYSNET_LENGTH,
  pattern: KEY_SEGMENT_RE,
  what: 'a physnet name',
});
export const networkTypeSchema: Check<NetworkType> = literal(...NETWORK_TYPES);
export const vifTypeSchema: Check<VifType> = literal(...VIF_TYPES);
const featureName = str({ min: 1, max: 64, pattern: /^[a-z][a-z0-9_]*$/, what: 'a feature name' });

export const workProgressSchema: Check<WorkProgress> = obj<WorkProgress>({
  what: str({ max: 64 }),
  phase: str({ max: 128 }),
  done: count,
  total: nullable(count),
  started_at: isoTime,
  at: isoTime,
});

export const hostStatusSchema: Check<HostStatus> = obj<HostStatus>({
  ports: obj<HostStatus['ports']>({ total: count, ready: count, errored: count, pending: count }),
  failing: count,
  held: count,
  ready: bool,
  last_resync: nullable(
    obj<NonNullable<HostStatus['last_resync']>>({ reason: str({ max: 64 }), at: isoTime, ms: count }),
  ),
  progress: optional(nullable(workProgressSchema), null),
  bonds: optional(arrayOf(bondStateSchema, { max: 16 }), undefined),
});

export const resyncRequestSchema: Check<ResyncRequest> = obj<ResyncRequest>({
  at: isoTime,
  by: str({ max: 255 }),
});

export const hostStateSchema: Check<HostState> = obj<HostState>({
  host: hostName,
  physnets: arrayOf(physnetNameSchema),
  network_types: arrayOf(networkTypeSchema),
  vif_types: arrayOf(vifTypeSchema),
  vtep: optional(ipAddress, undefined),
  features: optional(arrayOf(featureName, { max: 64 }), undefined),
  agent_version: str({ max: 255 }),
  vpp: obj<HostState['vpp']>({ connected: bool, version: nullable(str({ max: 255 })) }),
  started_at: isoTime,
  status: optional(hostStatusSchema, undefined),
});
