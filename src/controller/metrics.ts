// The controller's Prometheus metrics and its liveness/readiness endpoints (docs/operations.md):
//   GET /metrics        Prometheus text
//   GET /health/live    200 while the process answers
//   GET /health/ready   200 once connected to etcd with the agents' state loaded (reads can be
//                       served; leading is not required: a follower is ready too)
// They sit in front of the REST API (http.ts), which keeps GET /v1/health for the driver.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppliedStats } from './intake.ts';
import type { BacklogFigures } from './journal-backlog.ts';

export interface MetricsSource {
  id: string;
  isLeader(): boolean;
  syncNeeded(): boolean;
  /** Connected to etcd with the state/ watch loaded. */
  connected(): boolean;
  hostsAlive(): number;
  /** The driver's journal backlog as its last batch reported it (null: never reported). */
  journalBacklog(): BacklogFigures | null;
  /** Keys a full sync in progress has written, of how many (null: none in progress). */
  syncWrites(): { done: number; total: number | null } | null;
}

/**
 * What woke the driver's journal forwarder before it sent a batch (the `trigger` of POST /v1/journal,
 * docs/controller-api.md): a commit in its own process, the wake-up datagram of another
 * neutron-server process, its poll timer, more rows after a batch, a retry, its start.
 */
export const JOURNAL_TRIGGERS = ['commit', 'wakeup', 'poll', 'more', 'retry', 'start'] as const;

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly rows: Counter<'kind' | 'result'>;
  private readonly batches: Counter<'trigger'>;
  private readonly durations: Histogram<'kind'>;

  constructor(private readonly src: MetricsSource) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ controller: src.id });
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    gauge('netvpp_controller_leader', '1 while this controller is the leader', () =>
      src.isLeader() ? 1 : 0,
    );
    gauge('netvpp_controller_etcd_connected', '1 while connected to etcd (agent state loaded)', () =>
      src.connected() ? 1 : 0,
    );
    gauge('netvpp_controller_sync_needed', '1 while a full sync from Neutron is needed', () =>
      src.syncNeeded() ? 1 : 0,
    );
    gauge('netvpp_controller_hosts_alive', 'Hosts with a live agent (state/<host>/alive)', () =>
      src.hostsAlive(),
    );
    gauge(
      'netvpp_controller_driver_journal_backlog_rows',
      "Rows waiting in the driver's journal table after the last batch (as the driver reported it)",
      () => src.journalBacklog()?.rows ?? 0,
    );
    gauge(
      'netvpp_controller_driver_journal_oldest_row_age_seconds',
      "Age of the oldest row waiting in the driver's journal (0 when none waits; an upper bound between batches)",
      () => src.journalBacklog()?.oldest_age_seconds ?? 0,
    );
    gauge('netvpp_controller_sync_in_progress', '1 while this controller applies a full sync', () =>
      src.syncWrites() ? 1 : 0,
    );
    gauge(
      'netvpp_controller_sync_writes_done',
      'Desired-state keys the full sync in progress has written so far (0 when none runs)',
      () => src.syncWrites()?.done ?? 0,
    );
    this.rows = new Counter({
      name: 'netvpp_controller_journal_rows_total',
      help: 'Rows applied, rejected (bad input), stale (older than applied) or unchanged (applied before), by journal or full sync',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.batches = new Counter({
      name: 'netvpp_controller_journal_batches_total',
      help: "Journal batches received, by what woke the driver's forwarder (commit, wakeup, poll, more, retry, start, other)",
      labelNames: ['trigger'],
      registers,
    });
    this.durations = new Histogram({
      name: 'netvpp_controller_batch_duration_seconds',
      help: 'Duration of journal batches and full syncs (etcd writes included)',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
  }

  /** A journal batch arrived; a trigger this controller does not know (or none) counts as `other`. */
  journalBatch(trigger: unknown): void {
    const known = (JOURNAL_TRIGGERS as readonly unknown[]).includes(trigger);
    this.batches.inc({ trigger: known ? (trigger as string) : 'other' });
  }

  /** Intake's report of a batch or a sync. */
  applied(a: AppliedStats): void {
    this.rows.inc({ kind: a.kind, result: 'applied' }, a.applied);
    this.rows.inc({ kind: a.kind, result: 'rejected' }, a.rejected);
    this.rows.inc({ kind: a.kind, result: 'stale' }, a.stale);
    this.rows.inc({ kind: a.kind, result: 'unchanged' }, a.unchanged);
    this.durations.observe({ kind: a.kind }, a.ms / 1000);
  }

  /** Serves /metrics and /health/{live,ready}; false for every other request. */
  route(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body) + '\n');
    };
    if (req.method !== 'GET') return false;
    if (path === '/health/live') send(200, { status: 'alive' });
    else if (path === '/health/ready') {
      const ready = this.src.connected();
      send(ready ? 200 : 503, {
        ready,
        etcd: ready ? 'connected' : 'disconnected',
        leader: this.src.isLeader(),
      });
    } else if (path === '/metrics') {
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(text);
        },
        (e: unknown) => send(500, { error: e instanceof Error ? e.message : String(e) }),
      );
    } else return false;
    return true;
  }
}
