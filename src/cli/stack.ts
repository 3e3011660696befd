/**
 * Pieces of a local netvpp stack for the demos and benchmarks (never for production): the controller
 * in-process, waiting until it leads; a compute node made of a VPP simulator with an uplink NIC, the
 * real agent, and a stand-in for Nova/QEMU that attaches a guest to every vhost-user port bound to
 * the node (the agent reports such a port ready only once its guest is there); and a stack of
 * clean-ups that also runs when the user presses Ctrl-C.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, DEFAULTS as CONTROLLER_DEFAULTS } from '../controller/controller.ts';
import { startAgent, type RunningAgent } from '../agent/run.ts';
import type { AgentConfig } from '../agent/config.ts';
import { decodeValue, keys, PREFIX } from '../model/keyspace.ts';
import { startSimulator, type Sim } from '../sim/index.ts';
import { openStore, watchPrefixes, type PrefixWatcher, type Store } from '../store/index.ts';
import { logger, type Level } from '../util/log.ts';

/** The demo node's physical NIC, as VPP names a virtio NIC at PCI 0000:00:08.0. */
export const DEMO_UPLINK = 'GigabitEthernet0/8/0';

import { pollUntil as until, sleep } from '../util/wait.ts';

/** Starts a controller in this process on `bindPort` (0: any free port) and waits until it leads. */
export async function startLocalController(etcdEndpoints: string[], bindPort = 0): Promise<Controller> {
  const controller = await Controller.start(
    { ...CONTROLLER_DEFAULTS, bindPort, etcd: { endpoints: etcdEndpoints } },
    logger('controller'),
  );
  try {
    await until('the controller becoming leader', async () => {
      const r = await fetch(`${controller.url}/v1/health`, { signal: AbortSignal.timeout(2000) });
      const h = (await r.json()) as { leader?: boolean };
      return h.leader ? true : undefined;
    });
  } catch (e) {
    await controller.stop();
    throw e;
  }
  return controller;
}

/** Waits until `controllerUrl` reports a live agent on `host` (Neutron binds only to such hosts). */
export async function waitHostAlive(controllerUrl: string, host: string, limitMs = 30_000): Promise<void> {
  await until(
    `the controller seeing the agent on ${host}`,
    async () => {
      const r = await fetch(`${controllerUrl}/v1/hosts/${encodeURIComponent(host)}`, {
        signal: AbortSignal.timeout(2000),
      });
      return r.ok ? true : undefined;
    },
    limitMs,
  );
}

export interface SimNodeOptions {
  host: string;
  etcdEndpoints: string[];
  /** The node's files: the simulator's API socket and the vhost-user socket directory. */
  dir: string;
  /** physnet → VPP interface; default physnet1 on DEMO_UPLINK. The NICs are present at start. */
  physnets?: Map<string, string>;
  /** Serve the agent's health endpoint on a free loopback port. */
  health?: boolean;
  logLevel?: Level;
}

export interface SimNode {
  readonly host: string;
  readonly sim: Sim;
  readonly agent: RunningAgent;
  /** The directory the agent accepts vhost-user sockets in (Neutron's vhostuser_socket_dir). */
  readonly vhostDir: string;
  stop(): Promise<void>;
}

/** A compute node: VPP simulator + netvpp agent + a guest on every vhost-user port bound here. */
export async function startSimNode(o: SimNodeOptions): Promise<SimNode> {
  const physnets = o.physnets ?? new Map([['physnet1', DEMO_UPLINK]]);
  const vhostDir = join(o.dir, 'vhost');
  mkdirSync(vhostDir, { recursive: true });
  const sim = await startSimulator({
    socket: join(o.dir, 'vpp-api.sock'),
    nics: [...new Set(physnets.values())],
  });
  const config: AgentConfig = {
    host: o.host,
    etcd: { endpoints: o.etcdEndpoints },
    vppSocket: sim.socket,
    physnets,
    vhostUserDir: vhostDir,
    tapBackend: 'tap',
    tapBackendSetting: 'tap',
    logLevel: o.logLevel ?? 'warn',
    health: o.health ? { host: '127.0.0.1', port: 0 } : null,
    configFile: null,
  };
  let agent: RunningAgent | undefined;
  let guests: GuestConnector | undefined;
  try {
    agent = await startAgent(config);
    guests = await connectGuests(o.etcdEndpoints, o.host, sim);
  } catch (e) {
    await agent?.stop();
    await sim.stop();
    throw e;
  }
  const running = agent;
  const connector = guests;
  return {
    host: o.host,
    sim,
    agent: running,
    vhostDir,
    async stop() {
      await connector.stop();
      await running.stop();
      await sim.stop();
    },
  };
}

interface GuestConnector {
  stop(): Promise<void>;
}

/**
 * Nova boots a VM on every vhost-user port bound to `host`: its QEMU brings a guest up on the socket
 * as soon as the agent has made the interface (looked for until then, for at most a minute).
 */
async function connectGuests(etcdEndpoints: string[], host: string, sim: Sim): Promise<GuestConnector> {
  const store: Store = openStore({ endpoints: etcdEndpoints, namespace: PREFIX });
  const log = logger(`nova.${host}`);
  let stopped = false;
  // Checked every few ms at first: the benchmarks time the agent up to this moment, and QEMU, which
  // waits on the socket, is that quick too.
  const connect = async (socket: string): Promise<void> => {
    for (const t0 = Date.now(); !stopped && Date.now() - t0 < 60_000;) {
      if (sim.connectGuest(socket)) return;
      await sleep(Date.now() - t0 < 2000 ? 2 : 100);
    }
  };
  let watcher: PrefixWatcher;
  try {
    watcher = watchPrefixes(store, {
      prefixes: [keys.hostPortBindings(host)],
      log: (msg, err) =>
        log.warn(msg, err ? { error: err instanceof Error ? err.message : String(err) } : {}),
      onEvent: (ev) => {
        const kvs = ev.type === 'put' ? [ev] : ev.type === 'resync' ? ev.changed : [];
        for (const kv of kvs) {
          const b = decodeValue('portBinding', kv.value);
          const socket = b.ok ? b.value.vhostuser?.socket : undefined;
          if (socket) void connect(socket);
        }
      },
    });
    await watcher.ready;
  } catch (e) {
    store.close();
    throw e;
  }
  return {
    async stop() {
      stopped = true;
      await watcher.close();
      store.close();
    },
  };
}

/**
 * What a demo started, stopped in reverse order. Ctrl-C (or SIGTERM) while the stack starts makes
 * `check()` throw, so the caller's `finally` stops what is already up instead of leaving daemons.
 */
export class Teardown {
  private readonly steps: { what: string; stop: () => Promise<void> }[] = [];
  private signalled: NodeJS.Signals | null = null;
  private readonly waiters: (() => void)[] = [];
  private readonly onSignal = (s: NodeJS.Signals): void => {
    if (this.signalled) return;
    this.signalled = s;
    this.opts.onSignal?.(s);
    for (const w of this.waiters.splice(0)) w();
  };

  constructor(
    private readonly warn: (msg: string) => void = (m) => console.error(m),
    private readonly opts: { onSignal?: (s: NodeJS.Signals) => void } = {},
  ) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  add(what: string, stop: () => Promise<void>): void {
    this.steps.push({ what, stop });
  }

  /** The stop signal that came in, if any. */
  get stoppedBy(): NodeJS.Signals | null {
    return this.signalled;
  }

  /** Throws when a stop signal came in. */
  check(): void {
    if (this.signalled) throw new Error(`stopped by ${this.signalled}`);
  }

  /** Resolves on Ctrl-C / SIGTERM. */
  signal(): Promise<void> {
    if (this.signalled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async run(): Promise<void> {
    for (const s of this.steps.splice(0).reverse()) {
      try {
        await s.stop();
      } catch (e) {
        this.warn(`stopping ${s.what} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
