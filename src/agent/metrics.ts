// The agent's Prometheus metrics (GET /metrics on the health endpoint; docs/operations.md). Gauges
// are read from the agent at scrape time (health(), the reconciler, the VPP call totals), so the
// agent's hot paths keep no metrics of their own; the durations come from its 'worked' and 'synced'
// events.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Agent, AgentHealth, ResyncStats } from './agent.ts';

/** Ready: the desired state is loaded, the first resync is done, and VPP is connected. */
export function isReady(h: AgentHealth): boolean {
  return h.etcd.desiredLoaded && h.lastResync !== null && h.vpp.connected;
}

export function agentMetrics(agent: Agent): Registry {
  const registers = [new Registry()];
  const [reg] = registers;
  reg.setDefaultLabels({ host: agent.config.host });
  // Process metrics, nodejs_eventloop_lag_seconds among them.
  collectDefaultMetrics({ register: reg });
  // One health() per scrape, shared by the gauges below.
  let cached: { at: number; h: AgentHealth } | undefined;
  const health = (): AgentHealth => {
    const now = Date.now();
    if (!cached || now - cached.at > 100) cached = { at: now, h: agent.health() };
    return cached.h;
  };
  const flag = (name: string, help: string, value: (h: AgentHealth) => boolean) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value(health()) ? 1 : 0);
      },
    });

  new Gauge({
    name: 'netvpp_agent_ports',
    help: 'Ports bound to this host, by state (ready, error, pending)',
    labelNames: ['state'],
    registers,
    collect() {
      const p = health().ports;
      this.set({ state: 'ready' }, p.ready);
      this.set({ state: 'error' }, p.errored);
      this.set({ state: 'pending' }, p.pending);
    },
  });
  new Gauge({
    name: 'netvpp_agent_failing_objects',
    help: 'VPP objects whose last operation failed and that are being retried',
    registers,
    collect() {
      this.set(agent.reconciler.failures.size);
    },
  });
  new Gauge({
    name: 'netvpp_agent_held_deletions',
    help: 'Objects nobody desires kept in VPP while deletions are held (no meta/synced)',
    registers,
    collect() {
      this.set(health().deletions.held);
    },
  });
  flag(
    'netvpp_agent_deletions_allowed',
    '1 when etcd holds a trusted sync marker',
    (h) => h.deletions.allowed,
  );
  flag('netvpp_agent_etcd_connected', '1 while the agent is connected to etcd', (h) => h.etcd.connected);
  flag('netvpp_agent_vpp_connected', '1 while the agent is connected to VPP', (h) => h.vpp.connected);
  flag(
    'netvpp_agent_desired_loaded',
    '1 once the desired state has been read from etcd',
    (h) => h.etcd.desiredLoaded,
  );
  flag(
    'netvpp_agent_ready',
    '1 when ready (desired state loaded, first resync done, VPP connected)',
    isReady,
  );

  const calls = new Counter({
    name: 'netvpp_agent_vpp_calls_total',
    help: 'VPP API calls (requests and dumps) since start, by message',
    labelNames: ['message'],
    registers,
    collect() {
      calls.reset();
      for (const [message, t] of agent.vppTotals.byName) calls.inc({ message }, t.calls);
    },
  });
  const failures = new Counter({
    name: 'netvpp_agent_vpp_call_failures_total',
    help: 'VPP API calls that failed (an error reply or no reply in time), by message',
    labelNames: ['message'],
    registers,
    collect() {
      failures.reset();
      for (const [message, t] of agent.vppTotals.byName)
        if (t.failures > 0) failures.inc({ message }, t.failures);
    },
  });

  const pass = new Histogram({
    name: 'netvpp_agent_pass_duration_seconds',
    help: 'Duration of reconcile passes (full: resync or etcd re-read; incremental: what changed)',
    labelNames: ['kind'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
    registers,
  });
  const resync = new Histogram({
    name: 'netvpp_agent_resync_duration_seconds',
    help: 'Duration of resyncs (VPP dumped, compiled, diffed, applied), by reason',
    labelNames: ['reason'],
    buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers,
  });
  const passes = new Counter({
    name: 'netvpp_agent_passes_total',
    help: 'Reconcile passes since start (full or incremental)',
    labelNames: ['kind'],
    registers,
  });
  agent.on('worked', (w: { full: boolean; ms: number }) => {
    const kind = w.full ? 'full' : 'incremental';
    pass.observe({ kind }, w.ms / 1000);
    passes.inc({ kind });
  });
  agent.on('synced', (s: ResyncStats) => resync.observe({ reason: s.reason }, s.ms / 1000));
  return reg;
}
