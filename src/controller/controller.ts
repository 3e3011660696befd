// netvpp-controller: the REST API for the Neutron driver, backed by etcd. Every instance serves
// reads (hosts, port events, health); the one holding the election key also takes writes (journal,
// sync). Followers answer writes with 503 and the leader's URL, so the driver retries there.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createElection, type Election, openStore, type Store, type StoreOptions } from '../store/index.ts';
import { decodeValue, keys, PREFIX } from '../model/keyspace.ts';
import type { Signer } from '../model/signing.ts';
import { logger, type Logger } from '../util/log.ts';
import { portReport, renderPort } from '../cli/port-show.ts';
import { TokenFile } from './auth.ts';
import { Dashboard } from './dashboard.ts';
import { apiHandler, onClientError } from './http.ts';
import { Intake } from './intake.ts';
import { SyncPages } from './sync-pages.ts';
import { type MarkerChange, MarkerView } from './marker.ts';
import { ControllerMetrics } from './metrics.ts';
import { StateView } from './state.ts';

export interface ControllerConfig {
  bindHost: string;
  /** 0 picks a free port (tests). */
  bindPort: number;
  /** URL other parties use to reach this instance; default http://<bind_host>:<port>. */
  advertiseUrl: string | null;
  /** This instance's name in the election; default <hostname>:<pid>. */
  id: string | null;
  etcd: StoreOptions;
  /** Leader lease TTL: a dead leader is replaced after at most this long. */
  electionTtlSec: number;
  /** Deleted resources are remembered this long so late rows can't revive them. */
  tombstoneTtlSec: number;
  maxBodyBytes: number;
  maxPollSec: number;
  /** Most journal rows in one request. */
  maxRows: number;
  /** Most journal/sync requests waiting for their turn; more are answered 429. */
  maxQueued: number;
  /** Share (0..1) of the desired state a full sync may delete before it is held for confirmation. */
  syncDeleteLimit: number;
  /** A journal batch deleting at most this many desired-state keys is never held. */
  journalDeleteMinKeys: number;
  /** A full sync deleting at most this many desired-state keys, and not every one, is never held. */
  syncDeleteMinKeys: number;
  /** File of the driver tokens accepted (auth.ts); null: every request is accepted (noauth). */
  authTokenFile: string | null;
  /** Read-only tokens for the dashboard (dashboard.ts), besides the driver's; null: none. */
  dashboardTokenFile: string | null;
  /** Serve HTTPS with this certificate (chain) and key, PEM files; null: plain HTTP. */
  tls: { certFile: string; keyFile: string } | null;
  /** [security] signing_key_file: every value written to etcd is signed; null: written unsigned. */
  signer: Signer | null;
}

export const DEFAULTS: ControllerConfig = {
  bindHost: '127.0.0.1',
  bindPort: 9797,
  advertiseUrl: null,
  id: null,
  etcd: { endpoints: ['http://127.0.0.1:2379'] },
  electionTtlSec: 10,
  tombstoneTtlSec: 86400,
  maxBodyBytes: 64 * 1024 * 1024,
  maxPollSec: 300,
  maxRows: 1000,
  maxQueued: 8,
  syncDeleteLimit: 0.5,
  journalDeleteMinKeys: 100,
  syncDeleteMinKeys: 10,
  authTokenFile: null,
  dashboardTokenFile: null,
  tls: null,
  signer: null,
};

export class Controller {
  readonly url: string;
  readonly id: string;
  private readonly store: Store;
  private readonly state: StateView;
  private readonly intake: Intake;
  private readonly syncPages: SyncPages;
  private readonly marker: MarkerView;
  private readonly election: Election;
  readonly metrics: ControllerMetrics;
  private dashboard: Dashboard | undefined;
  private stopping = false;
  private lostWake: (() => void) | undefined;
  private electionLoop: Promise<void> = Promise.resolve();
  private gcTimer: ReturnType<typeof setInterval> | undefined;
  private stallTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly cfg: ControllerConfig,
    private readonly server: Server,
    private readonly log: Logger,
  ) {
    const addr = server.address() as AddressInfo;
    this.url =
      cfg.advertiseUrl ??
      `${cfg.tls ? 'https' : 'http'}://${cfg.bindHost.includes(':') ? `[${cfg.bindHost}]` : cfg.bindHost}:${addr.port}`;
    this.id = cfg.id ?? `${hostname()}:${process.pid}`;
    this.store = openStore({ ...cfg.etcd, namespace: PREFIX });
    this.state = new StateView(this.store, log.child('state'));
    this.election = createElection(this.store, {
      key: keys.controllerLeader,
      value: JSON.stringify({ id: this.id, url: this.url, since: new Date().toISOString() }),
      ttlSec: cfg.electionTtlSec,
      onLost: (reason) => this.onLost(reason),
      log: (msg, err) => log.info(msg, err ? { error: err } : {}),
    });
    this.marker = new MarkerView(this.store, log.child('marker'), (change) => this.onMarker(change));
    this.metrics = new ControllerMetrics({
      id: this.id,
      isLeader: () => this.election.isLeader,
      syncNeeded: () => this.syncNeeded(),
      connected: () => this.state.connected,
      hostsAlive: () => this.state.hosts().length,
      journalBacklog: () => this.intake.backlog.figures(),
      syncWrites: () => {
        const p = this.intake.progress.snapshot();
        return p && { done: p.done, total: p.total };
      },
    });
    this.intake = new Intake({
      onApplied: (a) => this.metrics.applied(a),
      store: this.store,
      guard: () => this.election.guard,
      log: log.child('intake'),
      controllerId: this.id,
      revisions: this.marker,
      maxRows: cfg.maxRows,
      maxQueued: cfg.maxQueued,
      syncDeleteLimit: cfg.syncDeleteLimit,
      journalDeleteMinKeys: cfg.journalDeleteMinKeys,
      syncDeleteMinKeys: cfg.syncDeleteMinKeys,
      signer: cfg.signer,
    });
    this.syncPages = new SyncPages({ guard: () => this.election.guard });
  }

  /** The marker vanished or can't be trusted: the leader asks the driver for a full sync. */
  private onMarker(change: MarkerChange): void {
    if (!this.election.isLeader) return;
    const reason =
      change === 'reset'
        ? 'etcd went back in time (rebuilt, or restored from a backup)'
        : 'the sync marker disappeared from etcd';
    this.intake
      .requireSync(reason, change === 'reset')
      .catch((e: unknown) => this.log.warn('could not record that a sync is needed', { error: e }));
  }

  /** Whether a full sync is needed, as this instance knows it (the leader's word, else its watch). */
  private syncNeeded(): boolean {
    return this.intake.syncNeeded ?? this.marker.syncNeeded;
  }

  /** Listens, then connects to etcd and campaigns in the background (health shows progress). */
  static async start(cfg: ControllerConfig, log: Logger = logger('controller')): Promise<Controller> {
    // Read before listening: a bad token, certificate or key file stops the start.
    const auth = cfg.authTokenFile === null ? null : new TokenFile(cfg.authTokenFile, log.child('auth'));
    if (!auth)
      log.info('driver authentication is off (auth_strategy = noauth): anyone who reaches the API can write');
    const server = cfg.tls
      ? createHttpsServer({ cert: readFileSync(cfg.tls.certFile), key: readFileSync(cfg.tls.keyFile) })
      : createServer();
    server.keepAliveTimeout = 65_000;
    server.on('clientError', onClientError);
    // Long polls must outlive node's default request timeout.
    server.requestTimeout = (cfg.maxPollSec + 30) * 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.bindPort, cfg.bindHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const c = new Controller(cfg, server, log);
    const api = apiHandler({
      intake: c.intake,
      syncPages: c.syncPages,
      state: c.state,
      log,
      isLeader: () => c.election.isLeader,
      syncNeeded: () => c.syncNeeded(),
      leaderUrl: () => c.leaderUrl(),
      maxBodyBytes: cfg.maxBodyBytes,
      maxPollSec: cfg.maxPollSec,
      auth,
      onJournalBatch: (trigger) => c.metrics.journalBatch(trigger),
    });
    const readOnly =
      auth && cfg.dashboardTokenFile !== null
        ? new TokenFile(cfg.dashboardTokenFile, log.child('auth'))
        : null;
    const dashboard = (c.dashboard = new Dashboard({
      id: c.id,
      isLeader: () => c.election.isLeader,
      syncNeeded: () => c.syncNeeded(),
      state: c.state,
      auth,
      readOnly,
      tls: cfg.tls !== null,
      log: log.child('dashboard'),
      portChain: async (id) => {
        const report = await portReport(
          c.store,
          id,
          null,
          "VPP is read on the port's host (netvpp port show there)",
        );
        return { report, lines: renderPort(report) };
      },
    }));
    // /metrics and /health/{live,ready} first (metrics.ts), the dashboard, then the REST API.
    server.on('request', (req, res) => {
      if (!c.metrics.route(req, res) && !dashboard.route(req, res)) api(req, res);
    });
    log.info('listening', { url: c.url, id: c.id, etcd: cfg.etcd.endpoints.join(',') });
    c.watchStalls();
    void c.state.start().then(() => log.info('agent state loaded from etcd'));
    void c.marker.start();
    c.electionLoop = c.campaign();
    return c;
  }

  get isLeader(): boolean {
    return this.election.isLeader;
  }

  /**
   * Logs event-loop stalls of a second or more: past ~5 s gRPC's keepalive drops the etcd
   * connections and the election lease goes unrenewed, so a stall is the first thing to look for
   * when leadership was lost under load.
   */
  private watchStalls(): void {
    const every = 500;
    let last = performance.now();
    this.stallTimer = setInterval(() => {
      const now = performance.now();
      const late = now - last - every;
      last = now;
      if (late >= 1000) this.log.warn('event loop stalled', { ms: Math.round(late) });
    }, every);
    this.stallTimer.unref();
  }

  private async leaderUrl(): Promise<string | null> {
    const v = await this.election.leader();
    if (v === undefined) return null;
    const r = decodeValue('controllerLeader', v);
    return r.ok ? r.value.url : null;
  }

  private async campaign(): Promise<void> {
    this.log.info('standing for election');
    while (!this.stopping) {
      try {
        await this.election.campaign();
      } catch (e) {
        if (this.stopping) return;
        this.log.warn('campaign failed; retrying', { error: e });
        continue;
      }
      this.log.info('this controller is now the leader and accepts journal writes');
      // Before the term's first batch: is etcd's desired state known to be complete?
      this.intake
        .leading()
        .catch((e: unknown) => this.log.warn('could not check the sync marker; will retry', { error: e }));
      this.startGc();
      await new Promise<void>((resolve) => (this.lostWake = resolve));
      this.stopGc();
      if (!this.stopping) this.log.info('standing by for the next election');
    }
  }

  private onLost(reason: string): void {
    // Resigning on stop() ends the term too: that is not news worth a warning.
    if (this.stopping) this.log.info('leadership given up (stopping)', { reason });
    else this.log.warn('leadership lost', { reason });
    this.lostWake?.();
  }

  private startGc(): void {
    const ttlMs = this.cfg.tombstoneTtlSec * 1000;
    const every = Math.min(Math.max(ttlMs / 4, 1000), 3_600_000);
    this.gcTimer = setInterval(() => {
      this.intake
        .gcTombstones(ttlMs)
        .catch((e: unknown) => this.log.warn('tombstone cleanup failed', { error: e }));
    }, every);
    this.gcTimer.unref();
  }

  private stopGc(): void {
    clearInterval(this.gcTimer);
    this.gcTimer = undefined;
  }

  /** Stops serving; a leader resigns so a standby takes over at once. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('stopping');
    this.stopGc();
    clearInterval(this.stallTimer);
    this.server.closeIdleConnections();
    this.dashboard?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.state.stop();
    await this.marker.stop();
    // Long polls end once the state view stops; give in-flight writes a moment, then cut the rest.
    const cut = setTimeout(() => this.server.closeAllConnections(), 2000);
    await closed;
    clearTimeout(cut);
    await this.election.resign();
    this.lostWake?.();
    await this.electionLoop;
    this.store.close();
    this.log.info('stopped');
  }
}
