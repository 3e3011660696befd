// The agent: etcd (desired) → compile → diff against VPP (actual) → apply → port state in etcd.
//
// One worker loop does the VPP work, so resync, passes and re-reads never overlap. It wakes on a
// change in etcd, a VPP (re)connect, an interface event, or a retry timer; changes that arrive during a
// pass are taken together by the next one. Nothing is compiled (and so nothing deleted) before the full
// desired state has been read.
//
// A resync (start, VPP restart or reconnection, an etcd re-read) compiles, diffs and checks readiness
// for the whole host. Every other pass is incremental: it recompiles what the changes touch, diffs
// those keys plus what was left out of sync, and re-checks the ports whose keys changed — the same
// result for the cost of the change (see HostCompiler, outOfSync). With `verify` each incremental
// pass is also checked against a full compile, diff and readiness (tests run with it).
import { EventEmitter } from 'node:events';
import { agentHealth, hostStateValue } from './agent-health.ts';
import { keys, PREFIX, type BondState, type HostStatus } from '../model/keyspace.ts';
import { readBondStates } from './lacp-status.ts';
import { keepLeaseKey, openStore, type LeaseKey, type Store } from '../store/index.ts';
import { RouterElections } from './ha.ts';
import { sendTakeoverGarps } from './garp.ts';
import { logger, type Logger } from '../util/log.ts';
import {
  IfStatusFlags,
  show_version,
  sw_interface_event,
  want_interface_events,
  type SwInterfaceEvent,
} from '../vpp/binapi/index.ts';
import type { VppClient } from '../vpp/client.ts';
import { connectVpp } from './vpp-connect.ts';
import { ActualState, readActual } from './engine/actual.ts';
import { compile, compileOptionsOf, HostCompiler, type CompileDelta, type Compiled } from './compile.ts';
import { type AgentConfig, vxlanRead } from './config.ts';
import { DesiredState } from './desired.ts';
import { DesiredFeed } from './feed.ts';
import type { SyncGateState } from './sync-gate.ts';
import type { AgentHealth, ResyncStats } from './agent-types.ts';
import { Readiness } from './readiness.ts';
import { linuxHostNet, type HostNet } from './host-net.ts';
import { heldDeletions, type DiffInput } from './engine/diff.ts';
import { refreshInterfaces, unexplained } from './engine/interfaces.ts';
import { compareWithFull } from './engine/verify.ts';
import { Reconciler, type BackoffOptions, type PassSummary } from './engine/reconciler.ts';
import { FIP_STATES, TAPFLOW_STATES, PortStateReporter, ROUTER_STATES } from './report.ts';
import { CountingVpp, VppCallTotals } from './vpp-api.ts';
import { DEFAULT_VPP_CONNECTIONS, VppLanes } from './vpp-lanes.ts';
import { ensureAclReclassify } from './vpp-settings.ts';
import { VppSession } from './vpp-session.ts';
import { VppDisconnectedError } from '../vpp/errors.ts';
import { AgentStatus } from './status.ts';
import { ProgressTracker } from '../util/progress.ts';

export type { AgentHealth, PortCounts, ResyncStats } from './agent-types.ts';

export { AGENT_VERSION } from './agent-health.ts';
const LINK_UP = IfStatusFlags.IF_STATUS_API_FLAG_LINK_UP;

export interface AgentOptions {
  /** An open store with namespace PREFIX; default: opened from the configuration, closed by stop(). */
  store?: Store;
  hostNet?: HostNet;
  log?: Logger;
  backoff?: BackoffOptions;
  /** VPP reconnect back-off bounds (ms). */
  vppRetryMinMs?: number;
  vppRetryMaxMs?: number;
  /** TTL of the liveness key (s). */
  livenessTtlSec?: number;
  /** How long a security group nobody uses stays watched (ms). */
  groupDropAfterMs?: number;
  /**
   * Check every incremental pass against a full compile, diff and readiness; a difference is logged as
   * an error, kept in `verifyFailures`, and the next pass is a full one. Default: NETVPP_AGENT_VERIFY=1.
   */
  verify?: boolean;
  /** How often (ms) the bonds' LACP state is read for the status (default 5000). */
  bondPollMs?: number;
}

/**
 * Events: 'synced' (ResyncStats) after the first pass following each resync; 'pass' after every pass;
 * 'worked' ({full, ms}: the whole pass, VPP read-back and report included); 'idle' whenever the loop
 * has nothing left to do.
 */
export class Agent extends EventEmitter {
  readonly desired: DesiredState;
  readonly reconciler: Reconciler;
  /** A resync in progress (GET /health, HostStatus): VPP read, then the plan's ops applied. */
  readonly progress = new ProgressTracker((p) => this.emit('progress', p));
  private readonly log: Logger;
  private readonly store: Store;
  private readonly ownsStore: boolean;
  private readonly hostNet: HostNet;
  private readonly feed: DesiredFeed;
  private readonly reporter: PortStateReporter;
  private readonly l3Reporters: {
    routers: PortStateReporter;
    fips: PortStateReporter;
    tapflows: PortStateReporter;
  };
  private liveness: LeaseKey | undefined;
  private elections: RouterElections | undefined;
  /** HA routers that became active here and have not announced their addresses yet. */
  private readonly garpPending = new Set<string>();
  private client: VppClient | undefined;
  private vpp: CountingVpp | undefined;
  /** The current connection as the agent's work sees it (ended when it is lost: vpp-session.ts). */
  private session: VppSession | undefined;
  /** The extra connections of [vpp] connections (closed when the main one is lost). */
  private lanes: VppLanes | undefined;
  private vppConnected = false;
  private vppVersion: string | null = null;
  private actual: ActualState | undefined;
  private resyncReason: ResyncStats['reason'] | undefined;
  private readonly compiler: HostCompiler;
  /** Whether `compiler` holds a compile of the current desired state (else the next pass rebuilds). */
  private compiled = false;
  /** desired.version the compiled state is of. */
  private compiledVersion = -1;
  private warned = new Set<string>();
  /** Every port's last status, and the status of each key ports need, as last seen (for deltas). */
  private readonly readiness: Readiness;
  /** Readiness still to recompute: everything, or these ports and the ports needing these keys. */
  private readonly verify: boolean;
  /** Why the next pass must be a full one, when not for a VPP resync (logged). */
  private fullWhy: string | undefined;
  /** The next pass diffs the whole host even if it compiles only what changed (deletion gate moved). */
  private diffAll = false;
  private passes = { full: 0, incremental: 0 };
  /** What `verify` found (empty when the incremental path agreed with the full one every time). */
  readonly verifyFailures: string[] = [];
  private stopped = false;
  private wanted = false;
  private wake: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private reportWanted = false;
  private reportRetry: NodeJS.Timeout | undefined;
  private loopDone: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private busy = false;
  private idle = false;
  /** sw_if_indexes whose events the agent's record does not explain. */
  private readonly dirtyIfs = new Map<number, number>();
  private startedAt = new Date().toISOString();
  lastResync: ResyncStats | null = null;
  /** Every VPP call since start, and its failures, by message (GET /metrics). */
  readonly vppTotals = new VppCallTotals();
  /** The summary on the liveness key, and resync requests (status.ts). */
  private status: { view: AgentStatus; last?: HostStatus } | undefined;
  private resyncRequested = false;
  /** [agent] bonds as VPP last showed them (HostStatus.bonds); undefined without bonds or VPP. */
  bondStates: BondState[] | undefined;
  private bondPoll: NodeJS.Timeout | undefined;

  constructor(
    readonly config: AgentConfig,
    private readonly opts: AgentOptions = {},
  ) {
    super();
    this.log = opts.log ?? logger('agent');
    this.ownsStore = !opts.store;
    if (opts.store && opts.store.namespace !== PREFIX) {
      throw new Error(
        `the agent's store must be opened with namespace ${PREFIX} (got ${JSON.stringify(opts.store.namespace)})`,
      );
    }
    this.store = opts.store ?? openStore({ ...config.etcd, namespace: PREFIX });
    this.hostNet = opts.hostNet ?? linuxHostNet();
    this.desired = new DesiredState(config.host, config.verifier ?? null, (key, error) =>
      this.log.warn('refused a value of etcd: its signature does not check out', { key, error }),
    );
    this.compiler = new HostCompiler(compileOptionsOf(config));
    this.verify = opts.verify ?? process.env.NETVPP_AGENT_VERIFY === '1';
    this.reconciler = new Reconciler(opts.backoff);
    this.reconciler.progress = this.progress;
    this.readiness = new Readiness(this.reconciler);
    this.reporter = new PortStateReporter(this.store, config.host, this.log.child('report'));
    this.l3Reporters = {
      routers: new PortStateReporter(this.store, config.host, this.log.child('report'), ROUTER_STATES),
      fips: new PortStateReporter(this.store, config.host, this.log.child('report'), FIP_STATES),
      tapflows: new PortStateReporter(this.store, config.host, this.log.child('report'), TAPFLOW_STATES),
    };
    this.feed = new DesiredFeed(this.store, this.desired, () => this.kick(), this.log.child('etcd'), {
      ...(opts.groupDropAfterMs !== undefined ? { dropAfterMs: opts.groupDropAfterMs } : {}),
      onGate: (state, why) => this.onGate(state, why),
    });
  }

  /** Deletions held or released: either way the next pass looks at the whole host. */
  private onGate(state: SyncGateState, why: string): void {
    if (state === 'synced') {
      this.log.info('etcd holds the complete desired state (meta/synced): deletions go ahead', { why });
    } else if (state !== 'loading') {
      // At start before the driver's first sync this is expected; later it means etcd lost data.
      const level = this.lastResync === null && state === 'absent' ? 'info' : 'warn';
      this.log[level](
        'etcd may hold only part of the desired state: holding deletions until a full sync from Neutron ' +
          'writes meta/synced',
        { why, state },
      );
    }
    // The gate is not an input of compile: the compiled state stands, only the diff must be whole.
    this.diffAll = true;
    this.kick();
  }

  /** The compiled state as diff sees it: with deletions held while etcd may be partial. */
  private diffInput(compiled: Compiled): Compiled & DiffInput {
    return this.feed.gate.holding ? { ...compiled, holdDeletes: true } : compiled;
  }

  /** Starts watching etcd, connecting to VPP and reconciling; returns at once. */
  start(): void {
    this.log.info('starting', {
      host: this.config.host,
      physnets: [...this.config.physnets].map(([p, i]) => `${p}:${i}`).join(','),
      vpp: this.config.vppSocket,
      tap_backend: this.config.tapBackend,
      signatures: this.config.verifier ? `required (keys ${this.config.verifier.kids.join(', ')})` : 'off',
    });
    this.startedAt = new Date().toISOString();
    this.feed.start();
    this.liveness = keepLeaseKey(this.store, {
      key: keys.hostAlive(this.config.host),
      value: this.hostState(),
      ttlSec: this.opts.livenessTtlSec ?? 30,
      log: (msg) => this.log.warn(msg),
    });
    this.elections = new RouterElections(
      this.store,
      this.config.host,
      this.config.haLeaseTtlSec ?? 6,
      (id, active, takeover) => {
        this.desired.setHaActive(id, active);
        if (active && takeover) this.garpPending.add(id);
        else this.garpPending.delete(id);
        this.kick();
      },
      this.log.child('ha'),
    );
    this.connecting = this.connectVpp();
    this.loopDone = this.loop();
    const view = new AgentStatus(this, this.store, (s) => this.publishStatus(s), this.log.child('status'));
    this.status = { view };
    if (this.config.bonds?.size) {
      this.bondPoll = setInterval(() => void this.pollBonds(), this.opts.bondPollMs ?? 5000);
      this.bondPoll.unref();
    }
  }

  /** Reads the bonds' state (LACP partners change without any event the agent sees). */
  async pollBonds(): Promise<BondState[] | undefined> {
    const bonds = this.config.bonds;
    if (!bonds?.size || !this.vppConnected || !this.vpp || this.stopped) return this.bondStates;
    try {
      const s = (await readBondStates(this.vpp, bonds)) ?? undefined;
      if (JSON.stringify(s) !== JSON.stringify(this.bondStates)) {
        this.bondStates = s;
        this.status?.view.note();
      }
    } catch (e) {
      this.log.debug('could not read the bonds', { error: (e as Error).message });
    }
    return this.bondStates;
  }

  private publishStatus(s: HostStatus): void {
    if (this.status) this.status.last = s;
    void this.liveness?.update(this.hostState());
  }

  /** `netvpp resync --host`: the next pass reads VPP back and goes over everything, failures at once. */
  requestResync(): void {
    this.resyncRequested = true;
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bondPoll) clearInterval(this.bondPoll);
    this.wake?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.reportRetry) clearTimeout(this.reportRetry);
    await this.loopDone;
    // Resigning hands an HA router to its standby at once (no lease to wait out).
    await this.elections?.close();
    await this.connecting?.catch(() => undefined);
    await this.status?.view.close();
    await this.feed.close();
    await this.liveness?.close();
    await this.lanes?.close();
    await this.client?.close();
    if (this.ownsStore) this.store.close();
  }

  /**
   * Resolves when the loop has nothing to do (now, or next time): after the first resync, that means
   * etcd read and VPP as close to it as it gets. Right after start() it may resolve before etcd or VPP
   * was read (nothing is wanted yet): wait for 'synced' for the first pass.
   */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', resolve));
  }

  get vppClient(): VppClient | undefined {
    return this.client;
  }

  /** The actual state as the agent knows it (for tests and `netvpp plan`). */
  get actualState(): ActualState | undefined {
    return this.actual;
  }

  /** The compiled desired state (updated in place by each pass). */
  get compiledState(): Compiled | undefined {
    return this.compiled ? this.compiler.compiled : undefined;
  }

  health(): AgentHealth {
    const gate = this.feed.gate;
    return agentHealth({
      host: this.config.host,
      feed: this.feed,
      // What a diff without the hold would delete.
      held:
        gate.holding && this.actual && this.compiled
          ? heldDeletions(this.compiler.compiled, this.actual).length
          : 0,
      failures: this.reconciler.failures,
      statuses: this.readiness.statuses.values(),
      desired: this.desired,
      vpp: { connected: this.vppConnected, version: this.vppVersion, socket: this.config.vppSocket },
      liveness: this.liveness?.state ?? 'lost',
      lastResync: this.lastResync,
      progress: this.progress.snapshot(),
      passes: this.passes,
    });
  }

  // ---- VPP connection ----------------------------------------------------------------------------

  private async connectVpp(): Promise<void> {
    const got = await connectVpp({
      socket: this.config.vppSocket,
      timeoutMs: this.config.vppRequestTimeoutMs,
      log: this.log,
      minMs: this.opts.vppRetryMinMs ?? 200,
      maxMs: this.opts.vppRetryMaxMs ?? 5000,
      client: this.client,
      stopped: () => this.stopped,
      sleep: (ms) => this.sleep(ms),
      onNewClient: async (c) => {
        this.client = c;
        c.on('disconnected', (err: Error) => this.onVppDisconnected(err));
        await c.subscribe(want_interface_events, { pid: process.pid }, sw_interface_event, (ev) =>
          this.onInterfaceEvent(ev),
        );
      },
      onConnected: async (c) => {
        await this.lanes?.close();
        const n = this.config.vppConnections ?? DEFAULT_VPP_CONNECTIONS;
        this.lanes = n > 1 ? await VppLanes.open(c, n, this.config.vppRequestTimeoutMs, this.log) : undefined;
        this.session?.end();
        this.session = new VppSession(this.lanes ?? c);
        this.vpp = new CountingVpp(this.session, this.vppTotals);
        this.vppVersion = (await c.request(show_version, {})).version;
        try {
          await ensureAclReclassify(this.vpp, this.log);
        } catch (e) {
          // Not a reason to leave VPP unmanaged: security groups still apply to new flows.
          this.log.warn('cannot check or set ACL session reclassification in VPP', {
            error: (e as Error).message,
          });
        }
      },
    });
    if (got === null) return;
    const { restarted } = got;
    if (this.stopped) return;
    this.vppConnected = true;
    this.log.info('connected to VPP', { version: this.vppVersion, socket: this.config.vppSocket });
    this.resyncReason =
      this.lastResync === null && this.actual === undefined
        ? 'start'
        : restarted
          ? 'vpp-restart'
          : 'vpp-reconnect';
    if (restarted) this.reconciler.reset();
    this.actual = undefined;
    this.dirtyIfs.clear();
    void this.liveness?.update(this.hostState());
    this.kick();
  }

  private onVppDisconnected(err: Error): void {
    if (this.stopped) return;
    this.vppConnected = false;
    // Whatever is still running on the lost connection stops there (it knew the old VPP).
    this.session?.end();
    this.actual = undefined;
    this.dirtyIfs.clear();
    void this.lanes?.close();
    this.lanes = undefined;
    this.log.warn('lost the connection to VPP; reconnecting', { error: err.message });
    void this.liveness?.update(this.hostState());
    this.connecting = this.connectVpp();
  }

  /**
   * VPP's interface events carry the changes of a batch, not the state: ADMIN_UP / LINK_UP say that
   * the interface went up, but a missing bit may mean "went down" or "did not change". So an event
   * the agent's own record explains is taken as is; any other is checked with a dump of that
   * interface before the next pass (a guest connecting, someone else flipping the admin state).
   */
  private onInterfaceEvent(ev: SwInterfaceEvent): void {
    const a = this.actual;
    if (!a) return;
    if ((ev.flags & LINK_UP) !== 0 && a.linkUp.get(ev.sw_if_index) !== true) {
      // Settings waiting for the link (a vhost-user port's rx-mode) are applied by the next pass.
      if (a.setLink(ev.sw_if_index, true)) this.kick();
      this.scheduleReport();
    }
    // Judged later, in the loop: the reply that explains it may be processed just after the event.
    if (ev.deleted || unexplained(a, ev.sw_if_index, ev.flags)) {
      this.dirtyIfs.set(ev.sw_if_index, ev.deleted ? -1 : ev.flags);
      this.kick();
    }
  }

  /** Re-reads interfaces whose events the agent's own record does not explain. */
  private async refreshInterfaces(vpp: CountingVpp, a: ActualState): Promise<void> {
    const dirty = new Map(this.dirtyIfs);
    this.dirtyIfs.clear();
    const notes = await refreshInterfaces(vpp, a, dirty);
    for (const n of notes) this.log.warn(n.message, { key: n.key, sw_if_index: n.swIfIndex });
    if (dirty.size > 0) this.scheduleReport();
  }

  private hostState(): string {
    return hostStateValue({
      config: this.config,
      groups: this.client?.groups,
      vpp: { connected: this.vppConnected, version: this.vppVersion },
      startedAt: this.startedAt,
      ...(this.status?.last ? { status: this.status.last } : {}),
    });
  }

  // ---- the worker loop ---------------------------------------------------------------------------

  private kick(): void {
    this.wanted = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref?.();
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.wanted && !this.reportWanted) {
        this.idle = true;
        this.emit('idle');
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.wanted || this.reportWanted || this.stopped) resolve();
        });
        this.wake = undefined;
        this.idle = false;
        continue;
      }
      const full = this.wanted;
      this.wanted = false;
      this.reportWanted = false;
      if (!this.vppConnected || !this.vpp || !this.feed.complete) continue;
      this.busy = true;
      try {
        if (full) await this.work(this.vpp);
        else await this.report(false);
      } catch (e) {
        this.log.error('reconcile pass failed; retrying', { error: (e as Error).message });
        // What the failed pass took from the change journal is lost: start over from everything.
        this.compiled = false;
        this.fullWhy = 'after a failed pass';
        this.retryIn(1000);
      } finally {
        this.busy = false;
      }
    }
  }

  /** One pass; a resync's progress is on while it runs, with a 'progress' event every second. */
  private async work(vpp: CountingVpp): Promise<void> {
    const tick = setInterval(() => {
      if (this.progress.active) this.emit('progress', this.progress.snapshot());
    }, 1000);
    try {
      await this.workOnce(vpp);
    } finally {
      clearInterval(tick);
      this.progress.finish();
    }
  }

  private async workOnce(vpp: CountingVpp): Promise<void> {
    const started = Date.now();
    let reason: ResyncStats['reason'] | undefined;
    if (this.resyncRequested) {
      this.resyncRequested = false;
      this.actual = undefined;
      this.resyncReason = 'requested';
      this.reconciler.reset();
    }
    if (!this.actual) {
      reason = this.resyncReason ?? 'vpp-reconnect';
      vpp.take();
      this.progress.start('resync', 'reading VPP');
      this.log.info('resync: reading VPP', { reason });
      const session = this.session;
      const read = await readActual(vpp, {
        physnets: this.config.physnets,
        bonds: this.config.bonds,
        ...vxlanRead(this.config),
      });
      // A read that outlived its connection describes a VPP that is gone: never the actual state.
      if (!session?.live || session !== this.session) {
        throw new VppDisconnectedError('the connection to VPP was lost while reading it back');
      }
      this.actual = read;
      this.log.info('resync: VPP read', { objects: this.actual.objects.size, ms: Date.now() - started });
      this.compiled = false;
    }
    if (this.dirtyIfs.size > 0) await this.refreshInterfaces(vpp, this.actual);
    const tCompile = Date.now();
    const changes = this.desired.takeChanges();
    this.elections?.update([...this.desired.routers].flatMap(([id, e]) => (e.ok && e.value.ha ? [id] : [])));
    this.compiledVersion = this.desired.version;
    // A resync, an etcd re-read or a failed pass: everything (the safety net). Else: what changed.
    const full = !this.compiled || changes.full;
    let delta: CompileDelta | undefined;
    if (full) {
      if (!reason) this.log.info('full pass', { why: this.fullWhy ?? 'etcd keys re-read' });
      this.fullWhy = undefined;
      this.compiler.rebuild(this.desired);
      this.compiled = true;
      this.passes.full++;
    } else {
      delta = this.compiler.update(this.desired, changes);
      this.passes.incremental++;
    }
    const compiled = this.compiler.compiled;
    if (full || changes.groups.size > 0 || changes.members.size > 0) {
      for (const [k, w] of compiled.warnings) {
        if (!this.warned.has(k)) this.log.warn(w);
      }
      this.warned = new Set(compiled.warnings.keys());
    }
    const actual = this.actual;
    const tPass = Date.now();
    const diffAll = full || this.diffAll;
    this.diffAll = false;
    const summary = await this.reconciler.pass(
      this.diffInput(compiled),
      { vpp, actual, hostNet: this.hostNet },
      diffAll ? undefined : delta?.keys,
    );
    const tReport = Date.now();
    if (summary.ops > 0) {
      this.log.debug('pass', { ...summary, checked: summary.checked?.size ?? 'all' });
      for (const [key, f] of this.reconciler.failures) {
        if (f.attempts === 1 || f.attempts % 10 === 0)
          this.log.warn(`failed: ${f.error}`, { key, attempts: f.attempts });
      }
    }
    this.emit('pass', summary);
    if (summary.aborted) return; // the disconnect handler re-reads VPP after reconnecting
    if (summary.uncertain > 0) {
      // A write that timed out may have happened (a late ACL or bridge would be duplicated by a
      // blind retry): read VPP back first; the failed objects keep their back-off meanwhile.
      this.log.warn('VPP did not answer some writes in time; reading VPP back before retrying them', {
        uncertain: summary.uncertain,
      });
      this.actual = undefined;
      this.resyncReason = 'uncertain-write';
      this.kick();
    }
    if (summary.nextRetryAt !== undefined) this.retryIn(summary.nextRetryAt - Date.now());
    // Progress may have unblocked deletes of objects that were still in use.
    if (summary.done > 0 && summary.blocked > 0) this.kick();
    if (reason) {
      const c = vpp.take();
      this.lastResync = {
        reason,
        ports: this.desired.bindings.size,
        calls: c.calls,
        writes: c.writes,
        ms: Date.now() - started,
      };
      this.log.info(
        `resync: ${this.lastResync.ports} ports, ${c.calls} calls (${c.writes} writes), ${(this.lastResync.ms / 1000).toFixed(1)} s`,
        { reason, failed: summary.failed, blocked: summary.blocked },
      );
      this.resyncReason = undefined;
      this.progress.finish();
      this.emit('synced', this.lastResync);
    }
    if (this.garpPending.size > 0) {
      const sent = await sendTakeoverGarps(vpp, actual, this.desired, this.garpPending, this.log.child('ha'));
      for (const id of sent) this.garpPending.delete(id);
      if (this.garpPending.size > 0) this.retryIn(500);
    }
    await this.report(full, delta?.ports, summary);
    this.emit('worked', { full, ms: Date.now() - started });
    this.log.debug('work', {
      full,
      compile_ms: tPass - tCompile,
      pass_ms: tReport - tPass,
      report_ms: Date.now() - tReport,
      ops: summary.ops,
      keys: summary.checked?.size ?? compiled.objects.size,
    });
  }

  private retryIn(ms: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.kick();
      },
      Math.max(10, ms),
    );
    this.retryTimer.unref?.();
  }

  /** Port states need recomputing (a link came up): done by the loop, without a pass. */
  private scheduleReport(): void {
    this.reportWanted = true;
    this.wake?.();
  }

  /**
   * Recomputes port states and writes what changed: every port's after a full pass; else those whose
   * plan changed (`ports`), whose link changed, or that need a key whose standing changed in the pass.
   */
  private async report(full: boolean, ports?: Iterable<string>, pass?: PassSummary): Promise<void> {
    // Kept until done: a report waits while the desired state is incomplete (a group loading).
    this.readiness.note(full || (pass !== undefined && pass.checked === null), ports, pass?.checked ?? []);
    const actual = this.actual;
    if (!this.compiled || !actual || !this.feed.complete) return;
    this.readiness.compute(this.compiler, actual, this.reporter, this.l3Reporters);
    // Not while a whole-host diff is pending (the gate moved during the pass): what the pass left
    // out of sync was judged with deletions held or released as they were then.
    if (this.verify && !this.diffAll && this.compiledVersion === this.desired.version)
      this.verifyIncremental(actual);
    const { routers, fips, tapflows } = this.l3Reporters;
    await Promise.all([this.reporter.flush(), routers.flush(), fips.flush(), tapflows.flush()]);
    // etcd unreachable: try the writes again later, without another pass over VPP.
    if (this.reporter.dirty + routers.dirty + fips.dirty + tapflows.dirty > 0 && !this.reportRetry) {
      this.reportRetry = setTimeout(() => {
        this.reportRetry = undefined;
        this.scheduleReport();
      }, 1000);
      this.reportRetry.unref?.();
    }
  }

  /**
   * `verify`: the incremental state (and what a full pass left out of sync) must be what a full
   * compile, diff and readiness give.
   */
  private verifyIncremental(actual: ActualState): void {
    const fullCompiled = compile(this.desired, this.compiler.opts);
    const problems = compareWithFull({
      incremental: this.compiler.compiled,
      full: fullCompiled,
      fullInput: this.diffInput(fullCompiled),
      actual,
      reconciler: this.reconciler,
      statuses: this.readiness.statuses,
    });
    if (problems.length === 0) return;
    const msg = problems.join('; ');
    this.verifyFailures.push(msg);
    this.log.error('verify: the incremental pass differs from a full one; doing a full pass', { msg });
    this.compiled = false;
    this.fullWhy = 'verify found a difference';
    this.kick();
  }
}
