// `netvpp status`: the cloud as etcd shows it — every host (its agent alive or not, versions, VPP,
// port counts, failing objects, held deletions, last resync), the leading controller and the full
// sync from Neutron — and the ports whose agents report an error. Reads etcd, then asks the leading
// controller's GET /v1/health (public) for the driver's journal backlog and a full sync in progress.
import {
  type ControllerLeader,
  decodeValue,
  type HostStatus,
  keys,
  parseKey,
  type PortState,
  type SyncMarker,
} from '../model/keyspace.ts';
import type { Store } from '../store/index.ts';
import type { BacklogFigures } from '../controller/journal-backlog.ts';
import type { WorkProgress } from '../model/keyspace.ts';
import { formatProgress } from '../util/progress.ts';
import { controllerRequest } from './controller-request.ts';
import { formatBond } from '../agent/lacp-status.ts';
import { type CliIo, defaultIo, type HostArgs } from './inspect-host.ts';
import {
  CliError,
  clusterConfig,
  openClusterStore,
  reachEtcd,
  type ClusterConfig,
} from './cluster-config.ts';

export interface HostRow {
  host: string;
  /** The agent's liveness key exists. */
  alive: boolean;
  /** Set when the liveness value is unreadable. */
  error: string | null;
  agentVersion: string | null;
  startedAt: string | null;
  vpp: { connected: boolean; version: string | null } | null;
  /** Port bindings in etcd for the host (nodes/<host>/ports/). */
  bound: number;
  /** Port states the agent wrote (state/<host>/ports/). */
  reported: { ready: number; errored: number; pending: number };
  /** The agent's own summary (failing objects, held deletions, readiness, last resync), if it sends one. */
  status: HostStatus | null;
}

export interface PortError {
  host: string;
  portId: string;
  error: string;
}

export interface ClusterStatus {
  etcd: string;
  etcdRevision: number;
  leader: ControllerLeader | null;
  /** meta/synced: null when absent (agents hold deletions until the driver's full sync). */
  sync: { marker: SyncMarker | null; invalid: string | null };
  hosts: HostRow[];
  portErrors: PortError[];
  /** What the leader's GET /v1/health said; null without a leader. */
  controller: ControllerHealth | null;
}

export interface ControllerHealth {
  url: string;
  /** Why the leader could not be asked; null when it answered. */
  error: string | null;
  /** The driver's journal backlog; null when the driver has not reported one. */
  driverJournal: BacklogFigures | null;
  /** A full sync being applied now. */
  fullSync: WorkProgress | null;
}

/** The leader's GET /v1/health (no token needed); `caFile` verifies an https controller. */
export async function askController(url: string, caFile?: string): Promise<ControllerHealth> {
  const base = { url, driverJournal: null, fullSync: null };
  try {
    const r = await controllerRequest(
      `${url.replace(/\/+$/, '')}/v1/health`,
      { caFile },
      {
        signal: AbortSignal.timeout(3000),
      },
    );
    const b = (await r.json()) as { driver_journal?: BacklogFigures | null; full_sync?: WorkProgress | null };
    return { ...base, error: null, driverJournal: b.driver_journal ?? null, fullSync: b.full_sync ?? null };
  } catch (e) {
    return { ...base, error: e instanceof Error ? e.message : String(e) };
  }
}

export async function readStatus(
  store: Store,
  etcdAddress: string,
  ask: (url: string) => Promise<ControllerHealth> = (url) => askController(url),
): Promise<ClusterStatus> {
  const [state, nodes, leader, marker] = await Promise.all([
    store.getPrefix(keys.state),
    store.getPrefix(keys.nodes),
    store.get(keys.controllerLeader),
    store.get(keys.syncMarker),
  ]);
  const rows = new Map<string, HostRow>();
  const row = (host: string): HostRow => {
    let r = rows.get(host);
    if (!r) {
      r = {
        host,
        alive: false,
        error: null,
        agentVersion: null,
        startedAt: null,
        vpp: null,
        bound: 0,
        reported: { ready: 0, errored: 0, pending: 0 },
        status: null,
      };
      rows.set(host, r);
    }
    return r;
  };
  const portErrors: PortError[] = [];
  for (const kv of state.kvs) {
    const k = parseKey(kv.key);
    if (k?.kind === 'hostAlive') {
      const r = row(k.host);
      r.alive = true;
      const v = decodeValue('hostAlive', kv.value);
      if (!v.ok) {
        r.error = v.errors.map((e) => `${e.field} ${e.message}`).join('; ');
        continue;
      }
      r.agentVersion = v.value.agent_version;
      r.startedAt = v.value.started_at;
      r.vpp = v.value.vpp;
      r.status = v.value.status ?? null;
    } else if (k?.kind === 'portState') {
      const r = row(k.host);
      const v = decodeValue('portState', kv.value);
      const s: PortState | null = v.ok ? v.value : null;
      if (s?.ready) r.reported.ready++;
      else if (!s || s.error) {
        r.reported.errored++;
        portErrors.push({ host: k.host, portId: k.portId, error: s?.error ?? 'unreadable port state' });
      } else r.reported.pending++;
    }
  }
  for (const kv of nodes.kvs) {
    const k = parseKey(kv.key);
    if (k?.kind === 'portBinding') row(k.host).bound++;
  }
  const l = leader.kv ? decodeValue('controllerLeader', leader.kv.value) : null;
  const m = marker.kv ? decodeValue('syncMarker', marker.kv.value) : null;
  const controller = l?.ok ? await ask(l.value.url) : null;
  return {
    controller,
    etcd: etcdAddress,
    etcdRevision: Math.max(state.revision, nodes.revision),
    leader: l?.ok ? l.value : null,
    sync: {
      marker: m?.ok ? m.value : null,
      invalid: m && !m.ok ? m.errors.map((e) => `${e.field} ${e.message}`).join('; ') : null,
    },
    hosts: [...rows.values()].sort((a, b) => a.host.localeCompare(b.host)),
    portErrors: portErrors.sort((a, b) => a.host.localeCompare(b.host) || a.portId.localeCompare(b.portId)),
  };
}

const dash = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : String(v));

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

export function renderStatus(s: ClusterStatus): string[] {
  const lines = [`netvpp status (etcd ${s.etcd}, revision ${s.etcdRevision})`];
  lines.push(
    s.leader
      ? `controller: ${s.leader.id} leads (${s.leader.url}) since ${s.leader.since}`
      : 'controller: NO LEADER (no controller running, or none connected to etcd): Neutron changes wait',
  );
  const c = s.controller;
  if (c?.error) lines.push(`controller: the leader did not answer GET /v1/health (${c.error})`);
  const j = c?.driverJournal;
  if (c && !c.error)
    lines.push(
      !j
        ? 'journal:    no backlog reported by the driver yet'
        : j.rows === 0
          ? `journal:    empty (driver reported at ${j.reported_at})`
          : `journal:    ${j.rows} rows waiting in Neutron, oldest ${Math.round(j.oldest_age_seconds)} s (driver reported at ${j.reported_at})`,
    );
  if (c?.fullSync) lines.push(`in progress on the controller: ${formatProgress(c.fullSync)}`);
  const m = s.sync.marker;
  lines.push(
    m
      ? `full sync:  done ${m.at} by ${m.controller_id} (${m.neutron_rows} Neutron resources); deletions go ahead`
      : `full sync:  ${s.sync.invalid ? `marker unreadable (${s.sync.invalid})` : 'none yet'}: agents hold deletions until the driver's full sync`,
  );
  if (s.hosts.length === 0) lines.push('hosts: none (no agent has started, nothing is bound)');
  else {
    const rows = [
      [
        'HOST',
        'AGENT',
        'VERSION',
        'VPP',
        'BOUND',
        'READY',
        'ERROR',
        'PENDING',
        'FAILING',
        'HELD',
        'LAST RESYNC',
      ],
    ];
    for (const h of s.hosts) {
      const st = h.status;
      rows.push([
        h.host,
        h.error ? 'unreadable' : h.alive ? (st && !st.ready ? 'starting' : 'up') : 'DOWN',
        h.agentVersion ?? '-',
        h.vpp ? (h.vpp.connected ? `${h.vpp.version ?? '?'} connected` : 'DISCONNECTED') : '-',
        String(h.bound),
        String(h.reported.ready),
        String(h.reported.errored),
        String(h.reported.pending),
        dash(st?.failing),
        dash(st?.held),
        st?.last_resync
          ? `${st.last_resync.reason} ${st.last_resync.at} (${(st.last_resync.ms / 1000).toFixed(1)} s)`
          : '-',
      ]);
    }
    lines.push(...table(rows));
    for (const h of s.hosts)
      if (h.alive && h.status?.progress)
        lines.push(`in progress on ${h.host}: ${formatProgress(h.status.progress)}`);
    for (const h of s.hosts)
      if (h.alive && h.status?.bonds?.length) {
        lines.push(`bonds on ${h.host}:`);
        for (const b of h.status.bonds) lines.push(...formatBond(b));
      }
  }
  if (s.portErrors.length) {
    lines.push(`ports with errors (${s.portErrors.length}; netvpp port show <port-id> says more):`);
    for (const e of s.portErrors.slice(0, 20)) lines.push(`  ${e.portId} on ${e.host}: ${e.error}`);
    if (s.portErrors.length > 20)
      lines.push(`  … and ${s.portErrors.length - 20} more (--json lists them all)`);
  }
  return lines;
}

/** Connects, runs `fn`, closes; a bad configuration or an unreachable etcd is exit status 2. */
export async function withCluster(
  cmd: string,
  { args }: HostArgs,
  io: CliIo,
  fn: (store: Store, c: ClusterConfig) => Promise<number>,
): Promise<number> {
  let c: ClusterConfig;
  try {
    c = clusterConfig(args, io.env);
  } catch (e) {
    io.err(`netvpp ${cmd}: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const store = openClusterStore(c);
  try {
    await reachEtcd(c, store.revision());
    return await fn(store, c);
  } catch (e) {
    io.err(`netvpp ${cmd}: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof CliError ? 2 : 1;
  } finally {
    store.close();
  }
}

export function runStatus(a: HostArgs, io: CliIo = defaultIo): Promise<number> {
  return withCluster('status', a, io, async (store, c) => {
    const caFile = (io.env ?? process.env).NETVPP_CONTROLLER_CA_FILE || undefined;
    const s = await reachEtcd(
      c,
      readStatus(store, c.etcd.endpoints.join(','), (url) => askController(url, caFile)),
    );
    if (a.json) io.out(JSON.stringify(s, null, 2));
    else for (const l of renderStatus(s)) io.out(l);
    return 0;
  });
}
