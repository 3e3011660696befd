// What the agent reports about itself: its resync figures and its health (GET /health).
import type { SyncGate } from './sync-gate.ts';

export interface PortStatus {
  revision: number | null;
  ready: boolean;
  error: string | null;
}

export interface ResyncStats {
  /**
   * uncertain-write: a write's reply never came, so VPP is read back before anything is retried;
   * requested: an operator asked for it (`netvpp resync --host`).
   */
  reason: 'start' | 'vpp-restart' | 'vpp-reconnect' | 'uncertain-write' | 'requested';
  ports: number;
  /** VPP calls from the first dump to the end of the first pass. */
  calls: number;
  writes: number;
  ms: number;
}

export interface PortCounts {
  total: number;
  ready: number;
  errored: number;
  pending: number;
}

export interface AgentHealth {
  ok: boolean;
  host: string;
  etcd: {
    connected: boolean;
    desiredLoaded: boolean;
    watchedGroups: number;
    /** Overlay networks and peer hosts (their VTEPs) watched. */
    watchedOverlay: { networks: number; peers: number };
    /** etcd events received since start, by watch. */
    events: { host: number; groups: number; overlays: number; peers: number };
  };
  /**
   * Deletions wait while etcd's desired state is not known to be complete (no `meta/synced`, or
   * etcd lost data since the last one): `held` objects stay in VPP though nothing desires them.
   */
  deletions: { allowed: boolean; syncMarker: ReturnType<SyncGate['describe']>; held: number };
  vpp: { connected: boolean; version: string | null; socket: string };
  liveness: string;
  ports: PortCounts;
  /** Objects that failed and are being retried. */
  failing: { key: string; error: string; attempts: number }[];
  /**
   * Values of etcd refused that belong to no port here (a bad remote-group member, overlay port or
   * peer's liveness): why, by key. Bad bindings, groups, routers are errors on their object's state.
   */
  refused: { key: string; error: string }[];
  lastResync: ResyncStats | null;
  /** Passes since start: full (resync, etcd re-read, recovery) and incremental. */
  passes: { full: number; incremental: number };
}
