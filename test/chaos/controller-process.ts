// A controller of the chaos run as a process of its own (`src/controller/main.ts --config-file`, as
// an operator runs it), reaching etcd through its ClientLink, on a fixed port so that a restarted
// process answers at the same URL. SIGKILL, SIGSTOP and SIGCONT are real signals.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../src/util/wait.ts';
import type { ClientLink } from './proxy.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Controller processes still running: killed if this process exits first. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ControllerProcessOptions {
  dir: string;
  id: string;
  link: ClientLink;
  electionTtlSec: number;
}

export class ControllerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Set while SIGSTOPped. */
  stopped = false;
  starts = 0;

  private constructor(
    private readonly o: ControllerProcessOptions,
    readonly port: number,
  ) {}

  static async start(o: ControllerProcessOptions): Promise<ControllerProcess> {
    const c = new ControllerProcess(o, await freePort());
    c.spawn();
    return c;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get id(): string {
    return this.o.id;
  }

  get link(): ClientLink {
    return this.o.link;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get logFile(): string {
    return join(this.o.dir, `${this.o.id}.log`);
  }

  private spawn(): void {
    const ini = join(this.o.dir, `${this.o.id}.ini`);
    writeFileSync(
      ini,
      [
        '# written by the chaos harness (test/chaos/controller-process.ts)',
        '[controller]',
        'bind_host = 127.0.0.1',
        `bind_port = ${this.port}`,
        `controller_id = ${this.o.id}`,
        `election_ttl = ${this.o.electionTtlSec}`,
        'auth_strategy = noauth',
        '',
        '[etcd]',
        `hosts = ${this.o.link.endpoints.map((u) => u.replace('http://', '')).join(',')}`,
        'request_timeout = 3',
        '',
      ].join('\n'),
    );
    const fd = openSync(this.logFile, 'a');
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('NETVPP_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
    env.NETVPP_LOG_LEVEL = 'info';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/controller/main.ts', '--config-file', ini],
      { cwd: REPO, stdio: ['ignore', fd, fd], env },
    );
    closeSync(fd);
    this.child = child;
    this.starts++;
    this.stopped = false;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    live.add(child);
    child.once('exit', () => live.delete(child));
  }

  /** GET /v1/health, or undefined while it does not answer. */
  async health(timeoutMs = 2000): Promise<{ leader?: boolean } | undefined> {
    if (this.stopped) return undefined;
    try {
      const r = await fetch(`${this.url}/v1/health`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await r.json()) as { leader?: boolean };
    } catch {
      return undefined;
    }
  }

  async leads(): Promise<boolean> {
    return (await this.health())?.leader === true;
  }

  /** Waits until the process answers HTTP. */
  async answering(limitMs = 60_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while ((await this.health()) === undefined) {
      if (this.child?.exitCode !== null) throw new Error(`${this.o.id} exited; see ${this.logFile}`);
      if (Date.now() > deadline) throw new Error(`${this.o.id} did not answer; see ${this.logFile}`);
      await sleep(100);
    }
  }

  /** SIGKILL, and waits until it is gone. */
  async kill(): Promise<void> {
    if (this.stopped) this.cont();
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** A new process on the same port (after kill()). */
  async restart(): Promise<void> {
    this.spawn();
    await this.answering();
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
    this.stopped = true;
  }

  cont(): void {
    this.child?.kill('SIGCONT');
    this.stopped = false;
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.stopped) this.cont();
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}
