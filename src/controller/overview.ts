// GET /v1/overview and the dashboard's live feed: the cloud at a glance from what this controller
// already holds in memory (the agents' liveness and reported states, StateView), so serving it costs
// no etcd request however often a browser asks.
import type { HostStatus } from '../model/keyspace.ts';
import { type StateEvent, type StateView, eventId } from './state.ts';

/** A port as Neutron would show it: ACTIVE (ready), ERROR (the agent reports an error), DOWN. */
export type PortStatus = 'ACTIVE' | 'ERROR' | 'DOWN';

export interface OverviewHost {
  host: string;
  agent_version: string | null;
  vpp: { connected: boolean; version: string | null };
  physnets: string[];
  network_types: string[];
  started_at: string | null;
  /** The agent's own summary (absent from agents that predate it). */
  status: HostStatus | null;
  /** The liveness value is malformed. */
  error: string | null;
}

export interface OverviewObject {
  kind: StateEvent['kind'];
  id: string;
  host: string;
  revision: number | null;
  status: PortStatus;
  error: string | null;
}

export interface Overview {
  at: string;
  controller: { id: string; leader: boolean; etcd: 'connected' | 'disconnected'; sync_needed: boolean };
  /** Live hosts only: a host whose lease ended is not known any more. */
  hosts: OverviewHost[];
  ports: Record<PortStatus, number> & { total: number };
  /** Ports, routers and floating IPs with an error, by kind then id. */
  failing: OverviewObject[];
  /** Every port's reported state (at most `limit`; `ports_truncated` tells how many were left out). */
  port_states: OverviewObject[];
  ports_truncated: number;
}

export interface OverviewSource {
  id: string;
  isLeader(): boolean;
  syncNeeded(): boolean;
  state: StateView;
}

const idOf = (e: StateEvent): string => eventId(e);

const statusOf = (e: StateEvent): PortStatus => (e.error ? 'ERROR' : e.ready ? 'ACTIVE' : 'DOWN');

const byKindThenId = (a: OverviewObject, b: OverviewObject): number =>
  a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id) || a.host.localeCompare(b.host);

export function overview(src: OverviewSource, limit = 1000): Overview {
  const objects = src.state.objects().map((e): OverviewObject => ({
    kind: e.kind,
    id: idOf(e),
    host: e.host,
    revision: e.revision,
    status: statusOf(e),
    error: e.error,
  }));
  const ports = objects.filter((o) => o.kind === 'port').sort(byKindThenId);
  const counts = { total: ports.length, ACTIVE: 0, ERROR: 0, DOWN: 0 };
  for (const p of ports) counts[p.status]++;
  return {
    at: new Date().toISOString(),
    controller: {
      id: src.id,
      leader: src.isLeader(),
      etcd: src.state.connected ? 'connected' : 'disconnected',
      sync_needed: src.syncNeeded(),
    },
    hosts: src.state.hosts().map((h) => ({
      host: h.host,
      agent_version: h.agent_version ?? null,
      vpp: { connected: h.vpp?.connected ?? false, version: h.vpp?.version ?? null },
      physnets: h.physnets ?? [],
      network_types: h.network_types ?? [],
      started_at: h.started_at ?? null,
      status: h.status ?? null,
      error: h.error ?? null,
    })),
    ports: counts,
    failing: objects.filter((o) => o.error !== null).sort(byKindThenId),
    port_states: ports.slice(0, limit),
    ports_truncated: Math.max(0, ports.length - limit),
  };
}
