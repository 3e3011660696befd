// What the agent says about itself: GET /health (agentHealth) and the liveness key's value
// (hostStateValue), built from the parts the Agent holds. Pure, so the agent keeps only the wiring.
import { encodeValue, keys, type HostState, type HostStatus, type WorkProgress } from '../model/keyspace.ts';
import { progressJson } from '../util/progress.ts';
import type { VppClient } from '../vpp/client.ts';
import type { AgentHealth, ResyncStats } from './agent-types.ts';
import { hostCapabilities } from './capabilities.ts';
import type { AgentConfig } from './config.ts';
import type { DesiredState } from './desired.ts';
import type { Reconciler } from './engine/reconciler.ts';
import type { DesiredFeed } from './feed.ts';
import { supportedNetworkTypes } from './nettypes/index.ts';
import type { Readiness } from './readiness.ts';

export const AGENT_VERSION = '0.1.0';

export interface HealthParts {
  host: string;
  feed: DesiredFeed;
  /** Deletions a diff without the hold would make. */
  held: number;
  failures: Reconciler['failures'];
  statuses: Iterable<Readiness['statuses'] extends Map<string, infer S> ? S : never>;
  desired: DesiredState;
  vpp: AgentHealth['vpp'];
  liveness: string;
  lastResync: ResyncStats | null;
  progress: WorkProgress | null;
  passes: AgentHealth['passes'];
}

/** At most this many failing and refused objects are listed. */
const LISTED = 50;

export function agentHealth(p: HealthParts): AgentHealth {
  const etcd = {
    connected: p.feed.connected,
    desiredLoaded: p.feed.complete,
    watchedGroups: p.feed.watchedGroups,
    watchedOverlay: p.feed.watchedOverlay,
    events: { ...p.feed.events },
  };
  let total = 0;
  let ready = 0;
  let errored = 0;
  for (const st of p.statuses) {
    total++;
    if (st.ready) ready++;
    else if (st.error) errored++;
  }
  const gate = p.feed.gate;
  return {
    ok: etcd.connected && p.vpp.connected,
    host: p.host,
    etcd,
    deletions: { allowed: !gate.holding, syncMarker: gate.describe(), held: p.held },
    vpp: p.vpp,
    liveness: p.liveness,
    ports: { total, ready, errored, pending: total - ready - errored },
    failing: [...p.failures]
      .slice(0, LISTED)
      .map(([key, f]) => ({ key, error: f.error, attempts: f.attempts })),
    refused: [...p.desired.memberErrors, ...p.desired.overlay.errors]
      .slice(0, LISTED)
      .map(([key, error]) => ({ key, error })),
    lastResync: p.lastResync,
    progress: progressJson(p.progress),
    passes: { ...p.passes },
  };
}

/** The liveness key's value: what this host offers, for binding and for `netvpp status`. */
export function hostStateValue(p: {
  config: AgentConfig;
  groups: VppClient['groups'] | undefined;
  vpp: HostState['vpp'];
  startedAt: string;
  status?: HostStatus;
}): string {
  const types = supportedNetworkTypes(
    p.groups ? new Set(Object.entries(p.groups).flatMap(([g, st]) => (st.available ? [g] : []))) : null,
    p.config,
  );
  const vtep = p.config.vxlan?.localIp;
  const v: HostState = {
    host: p.config.host,
    physnets: [...p.config.physnets.keys()],
    network_types: types,
    // Peers tunnel to this address only while this host can carry an overlay type.
    ...(vtep !== undefined && (types.includes('vxlan') || types.includes('gpe')) ? { vtep } : {}),
    ...hostCapabilities(p.groups, p.config.tapBackend),
    agent_version: AGENT_VERSION,
    vpp: p.vpp,
    started_at: p.startedAt,
    ...(p.status ? { status: p.status } : {}),
  };
  return encodeValue(keys.hostAlive(p.config.host), v);
}
