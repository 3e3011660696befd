// Starts a real single-node etcd on loopback ports, for tests and the demo.
//
// Ports are picked at random *below* the kernel's ephemeral range and checked by binding: ports handed
// out by `listen(0)` come from the ephemeral range, where an outgoing client socket can take a stopped
// etcd's port before restart() rebinds it. A start that still collides (another test won the race) is
// retried with new ports.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../util/wait.ts';
import { killOnExit } from '../util/reaper.ts';

export interface EtcdProcessOptions {
  /** Data directory to use (kept by destroy()). Default: a fresh temp dir that destroy() removes. */
  dataDir?: string;
  /** etcd binary. Default: $NETVPP_ETCD_BIN or /usr/bin/etcd. */
  binary?: string;
  /** Write etcd's log to stderr instead of `<dataDir>/etcd.log`. */
  verbose?: boolean;
  /** Extra etcd flags (e.g. ['--max-txn-ops=64']). */
  extraArgs?: string[];
  /** How long to wait for /health. Default 20 s. */
  startTimeoutMs?: number;
  /**
   * Serve clients over TLS (endpoints become https://). With `caFile`, clients must present a
   * certificate signed by it (--client-cert-auth). Files are PEM paths.
   */
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

export interface EtcdProcess {
  /** Client URLs, e.g. ['http://127.0.0.1:23456']. Stable across restart(). */
  readonly endpoints: string[];
  /** Root of this instance's files: etcd data in `<dataDir>/etcd`, log in `<dataDir>/etcd.log`. */
  readonly dataDir: string;
  /** PID of the running etcd, undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM and wait for exit. Data is kept. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (a crash). Data is kept. */
  kill(): Promise<void>;
  /** Start again on the same ports; `wipeData` first deletes the data (etcd lost its disk). */
  restart(opts?: { wipeData?: boolean }): Promise<void>;
  /** Stop and remove the data dir if it was a temp dir made here. */
  destroy(): Promise<void>;
}

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    if (Number.isInteger(n) && n > 12000) return n;
  } catch {
    // not Linux: fall through
  }
  return 32768;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** `n` distinct free loopback ports below the ephemeral range (see the header). */
export async function pickLoopbackPorts(n: number): Promise<number[]> {
  const low = 10000;
  const high = ephemeralLow();
  const out: number[] = [];
  while (out.length < n) {
    const p = low + Math.floor(Math.random() * (high - low));
    if (!out.includes(p) && (await canBind(p))) out.push(p);
  }
  return out;
}

/** etcd's /health at `url` says true (the member has a leader). */
export function etcdHealthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet(`${url}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

class EtcdInstance implements EtcdProcess {
  private child: ChildProcess | undefined;
  endpoints: string[] = [];
  private clientPort = 0;
  private peerPort = 0;
  private metricsPort = 0;

  constructor(
    readonly dataDir: string,
    private readonly ownsDir: boolean,
    private readonly opts: EtcdProcessOptions,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  setPorts(client: number, peer: number, metrics: number): void {
    this.clientPort = client;
    this.peerPort = peer;
    this.metricsPort = metrics;
    this.endpoints = [`${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${client}`];
  }

  private logPath(): string {
    return join(this.dataDir, 'etcd.log');
  }

  /** Spawn etcd and wait for /health; throws StartError if it exits or times out. */
  async spawnOnce(): Promise<void> {
    const client = this.endpoints[0];
    const peer = `http://127.0.0.1:${this.peerPort}`;
    // /health is polled on a plain-HTTP metrics listener, so it works the same with client TLS.
    const metrics = `http://127.0.0.1:${this.metricsPort}`;
    const tls = this.opts.tls;
    const args = [
      '--name=netvpp-test',
      `--data-dir=${join(this.dataDir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--listen-metrics-urls=${metrics}`,
      ...(tls ? [`--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`] : []),
      ...(tls?.caFile ? [`--trusted-ca-file=${tls.caFile}`, '--client-cert-auth'] : []),
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=netvpp-test=${peer}`,
      '--initial-cluster-state=new',
      '--auto-compaction-retention=0',
      '--enable-v2=false',
      // A single member on loopback: a short election timeout makes start-up ~1 s faster.
      '--heartbeat-interval=25',
      '--election-timeout=250',
      ...(this.opts.extraArgs ?? []),
    ];
    const logFd = this.opts.verbose ? undefined : openSync(this.logPath(), 'a');
    const logStart = logFd === undefined ? 0 : readFileSync(this.logPath()).length;
    const child = spawn(this.opts.binary ?? process.env.NETVPP_ETCD_BIN ?? '/usr/bin/etcd', args, {
      stdio: ['ignore', logFd ?? 'inherit', logFd ?? 'inherit'],
    });
    if (logFd !== undefined) closeSync(logFd);
    const forget = killOnExit(() => child.kill('SIGKILL'));
    child.once('exit', forget);
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    this.child = child;

    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 20000);
    while (Date.now() < deadline) {
      if (spawnError) throw new StartError(`cannot start etcd: ${spawnError.message}`, false);
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = logFd === undefined ? '' : readFileSync(this.logPath(), 'utf8').slice(logStart);
        this.child = undefined;
        throw new StartError(
          `etcd exited with ${child.exitCode ?? child.signalCode} during start-up:\n${log.slice(-2000)}`,
          /address already in use/.test(log),
        );
      }
      if (await etcdHealthy(metrics)) return;
      await sleep(50);
    }
    child.kill('SIGKILL');
    await waitExit(child);
    this.child = undefined;
    throw new StartError(
      `etcd did not become healthy within the start timeout (log: ${this.logPath()})`,
      false,
    );
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill(sig);
    await waitExit(child);
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  async restart(opts: { wipeData?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.wipeData) rmSync(join(this.dataDir, 'etcd'), { recursive: true, force: true });
    // The ports were ours a moment ago; if something grabbed one meanwhile, wait a little for it.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.spawnOnce();
        return;
      } catch (e) {
        if (!(e instanceof StartError && e.portInUse && attempt < 20)) throw e;
        await sleep(250);
      }
    }
  }

  async destroy(): Promise<void> {
    await this.kill();
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Start etcd on free loopback ports and resolve once it answers /health. */
export async function startEtcd(opts: EtcdProcessOptions = {}): Promise<EtcdProcess> {
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'netvpp-etcd-'));
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });
  const inst = new EtcdInstance(dataDir, ownsDir, opts);
  for (let attempt = 0; ; attempt++) {
    const [client, peer, metrics] = await pickLoopbackPorts(3);
    inst.setPorts(client, peer, metrics);
    try {
      await inst.spawnOnce();
      return inst;
    } catch (e) {
      if (e instanceof StartError && e.portInUse && attempt < 10) continue;
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }
}
