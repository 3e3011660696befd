// Starts and stops a real neutron-server (Debian's Zed) with the netvpp ML2 driver for end-to-end
// tests: a throw-away MariaDB on tmpfs, `neutron-db-manage upgrade heads` (Neutron's schema plus the
// networking-netvpp branch), then neutron-server on a free loopback port with ML2 (flat, vlan),
// mechanism driver netvpp and noauth. Configuration comes from scripts/neutron/etc/, shared with
// scripts/neutron/start.sh. Everything started here is stopped by its own PID / process group.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from '../../src/util/reaper.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NEUTRON_ETC = join(REPO_ROOT, 'scripts', 'neutron', 'etc');
/** Debian's interpreter: a pyenv or venv python on PATH has no Neutron. */
export const PYTHON = '/usr/bin/python3';
const MARIADBD = '/usr/sbin/mariadbd';
const MARIADB_INSTALL_DB = '/usr/bin/mariadb-install-db';
const MARIADB_CLIENT = '/usr/bin/mariadb';
const OPENSTACK = '/usr/bin/openstack';

/**
 * Python processes load the driver from this tree whichever copy pip registered: the entry points
 * (from any editable install of networking-netvpp) only name modules, which PYTHONPATH resolves here.
 */
export const DRIVER_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  PYTHONPATH: [join(REPO_ROOT, 'neutron'), process.env.PYTHONPATH].filter(Boolean).join(':'),
};

const PROBE = `
import importlib.util, json, os, sys
from importlib.metadata import entry_points
out = {}
out['neutron'] = importlib.util.find_spec('neutron') is not None
spec = importlib.util.find_spec('networking_netvpp')
out['driver_dir'] = os.path.realpath(os.path.dirname(spec.origin)) if spec else None
out['entry_point'] = any(e.name == 'netvpp' for e in entry_points(group='neutron.ml2.mechanism_drivers'))
print(json.dumps(out))
`;

/** Why Neutron end-to-end tests cannot run here, or null when they can. */
export function neutronUnavailableReason(): string | null {
  const install = 'run scripts/neutron/install.sh (as root) first';
  for (const bin of [PYTHON, MARIADBD, MARIADB_INSTALL_DB, MARIADB_CLIENT, OPENSTACK]) {
    if (!existsSync(bin)) return `${bin} is missing (neutron-server/MariaDB not installed: ${install})`;
  }
  const r = spawnSync(PYTHON, ['-c', PROBE], { encoding: 'utf8', timeout: 30_000, env: DRIVER_ENV });
  if (r.status !== 0) return `${PYTHON} could not probe for Neutron: ${r.stderr.trim().split('\n').pop()}`;
  const probe = JSON.parse(r.stdout) as { neutron: boolean; driver_dir: string | null; entry_point: boolean };
  if (!probe.neutron) return `python3-neutron is not installed: ${install}`;
  if (!probe.driver_dir || !probe.entry_point)
    return `the networking-netvpp driver is not installed: ${install}`;
  const here = join(REPO_ROOT, 'neutron', 'networking_netvpp');
  if (probe.driver_dir !== here) {
    return `python3 loads networking_netvpp from ${probe.driver_dir}, not from this tree (${here})`;
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export { sleep } from '../../src/util/wait.ts';
import { pollUntil, sleep } from '../../src/util/wait.ts';

/** A convergence wait, not a timing assertion (polls every 200 ms by default). */
export const waitFor = <T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  limitMs = 60_000,
  everyMs = 200,
): Promise<T> => pollUntil(what, probe, limitMs, everyMs);

function render(template: string, vars: Record<string, string>): string {
  let text = readFileSync(join(NEUTRON_ETC, template), 'utf8');
  for (const [k, v] of Object.entries(vars)) text = text.split(`@${k}@`).join(v);
  const left = /@[A-Z_]+@/.exec(text);
  if (left) throw new Error(`${template}: no value for ${left[0]}`);
  return text;
}

export function tailFile(path: string, lines: number): string {
  if (!existsSync(path)) return `(${path} does not exist)`;
  return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
}

/** A child process in its own process group, output appended to a log file. */
export class Daemon {
  child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private forget: () => void = () => undefined;

  constructor(
    readonly name: string,
    readonly logFile: string,
  ) {}

  start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
    const fd = openSync(this.logFile, 'a');
    // detached: own process group, so a stop (or kill -9) reaches the workers it forks too
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true, env });
    closeSync(fd);
    this.child = child;
    // A file stopped by the runner's timeout must not leave Neutron or MariaDB running for the rest.
    const pid = child.pid;
    if (pid !== undefined) this.forget = killOnExit(() => process.kill(-pid, 'SIGKILL'));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  }

  /** SIGTERM, then SIGKILL for whatever of the group is left after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.child) return;
    if (this.running) {
      this.signalGroup('SIGTERM');
      const timer = sleep(graceMs).then(() => 'timeout');
      if ((await Promise.race([this.exited.then(() => 'exited'), timer])) === 'timeout') {
        this.signalGroup('SIGKILL');
        await this.exited;
      }
    }
    // workers that outlived their parent
    this.signalGroup('SIGKILL');
    this.forget();
    this.child = null;
  }

  /** kill -9 of the whole process group: a crash, no cleanup of any kind. */
  async kill9(): Promise<void> {
    if (!this.child) return;
    this.signalGroup('SIGKILL');
    await this.exited;
    this.forget();
    this.child = null;
  }
}

export interface MariaDbOptions {
  /** tmpfs keeps Neutron's 200+ migrations at about 3 s instead of about 30 s */
  baseDir?: string;
  logDir: string;
}

export class MariaDb {
  port = 0;
  readonly datadir: string;
  private readonly daemon: Daemon;
  private readonly cnf: string;

  constructor(private readonly opts: MariaDbOptions) {
    const base = opts.baseDir ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
    this.datadir = mkdtempSync(join(base, 'netvpp-mariadb-'));
    this.cnf = join(opts.logDir, 'mariadb.cnf');
    this.daemon = new Daemon('mariadb', join(opts.logDir, 'mariadb.log'));
  }

  get socket(): string {
    return join(this.datadir, 'mysqld.sock');
  }

  async start(): Promise<void> {
    const asRoot = process.getuid?.() === 0;
    const userArgs = asRoot ? ['--user=mysql'] : [];
    const init = spawnSync(MARIADB_INSTALL_DB, [...userArgs, `--datadir=${this.datadir}`, '--skip-test-db'], {
      encoding: 'utf8',
    });
    if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout}`);
    this.port = await freePort();
    writeFileSync(this.cnf, render('mariadb.cnf.in', { DATADIR: this.datadir, DB_PORT: String(this.port) }));
    this.daemon.start(MARIADBD, [`--defaults-file=${this.cnf}`, ...userArgs]);
    await waitFor(
      'MariaDB to accept connections',
      () => {
        if (!this.daemon.running) throw new Error(`mariadbd exited:\n${tailFile(this.daemon.logFile, 20)}`);
        return this.trySql('SELECT 1') === null ? undefined : true;
      },
      30_000,
      100,
    );
    this.sql(
      "CREATE DATABASE neutron CHARACTER SET utf8mb4; CREATE USER 'neutron'@'127.0.0.1' IDENTIFIED BY 'neutronpw'; " +
        "GRANT ALL PRIVILEGES ON neutron.* TO 'neutron'@'127.0.0.1';",
    );
  }

  private trySql(query: string, database = ''): string | null {
    const args = [`--socket=${this.socket}`, '--batch', '--skip-column-names', '-e', query];
    if (database) args.push(database);
    const r = spawnSync(MARIADB_CLIENT, args, { encoding: 'utf8' });
    return r.status === 0 ? r.stdout : null;
  }

  /** Runs SQL as the database's root user; returns tab-separated rows. */
  sql(query: string, database = ''): string {
    const args = [`--socket=${this.socket}`, '--batch', '--skip-column-names', '-e', query];
    if (database) args.push(database);
    const r = spawnSync(MARIADB_CLIENT, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`SQL failed (${query}): ${r.stderr}`);
    return r.stdout;
  }

  async stop(): Promise<void> {
    await this.daemon.stop(20_000);
    rmSync(this.datadir, { recursive: true, force: true });
  }
}

export interface NeutronOptions {
  /** the netvpp controller the driver talks to */
  controllerUrl: string;
  /** `[ml2_netvpp] auth_token_file` and `ca_file` (none: a noauth, plain-HTTP controller) */
  controllerTokenFile?: string;
  controllerCaFile?: string;
  /** vhost-user socket directory written into binding:vif_details */
  vhostSocketDir?: string;
  /**
   * oslo.messaging transport (default fake://: no RPC between processes); a rabbit:// URL
   * (test/e2e/rabbitmq.ts) for Neutron's DHCP agent, and the DHCP notifications on with it.
   */
  transportUrl?: string;
  /** keep logs and configs here (default: a new directory under the OS temp dir) */
  workDir?: string;
  debug?: boolean;
  log?: (msg: string) => void;
  /** `[ml2_netvpp]` options over those of scripts/neutron/etc/ml2_conf.ini.in (setDriverOptions) */
  driverOptions?: Record<string, string | number>;
}

const WRAPPERS: Record<string, string> = {
  // python3-neutron alone has no console scripts (they come with neutron-common)
  'neutron-server': 'from neutron.cmd.eventlet.server import main',
  'neutron-db-manage': 'from neutron.db.migration.cli import main',
};

/** MariaDB + neutron-server with the netvpp driver. */
export class NeutronEnv {
  readonly workDir: string;
  readonly db: MariaDb;
  apiPort = 0;
  private readonly server: Daemon;
  private readonly log: (msg: string) => void;
  private configArgs: string[] = [];
  private driverOptions: Record<string, string | number>;

  constructor(readonly opts: NeutronOptions) {
    this.driverOptions = { ...opts.driverOptions };
    this.workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'netvpp-neutron-'));
    for (const d of ['etc', 'logs', 'bin', 'state/lock'])
      mkdirSync(join(this.workDir, d), { recursive: true });
    this.db = new MariaDb({ logDir: join(this.workDir, 'logs') });
    this.server = new Daemon('neutron-server', join(this.workDir, 'logs', 'neutron-server.stdout'));
    this.log = opts.log ?? ((m) => console.log(`[neutron] ${m}`));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get serverLog(): string {
    return join(this.workDir, 'logs', 'neutron-server.log');
  }

  get serverPid(): number | undefined {
    return this.server.pid;
  }

  /** The last lines of neutron-server's log, for failure messages. */
  tailServerLog(lines = 40): string {
    return tailFile(this.serverLog, lines);
  }

  /** Every line of neutron-server's log (across restarts), for failure diagnostics. */
  serverLogLines(): string[] {
    return existsSync(this.serverLog) ? readFileSync(this.serverLog, 'utf8').split('\n') : [];
  }

  static async start(opts: NeutronOptions): Promise<NeutronEnv> {
    const env = new NeutronEnv(opts);
    try {
      await env.up();
    } catch (e) {
      await env.stop();
      throw e;
    }
    return env;
  }

  /** MariaDB, schema, neutron-server: what `NeutronEnv.start` does for an env built with `new`. */
  async up(): Promise<void> {
    let t = Date.now();
    const lap = (what: string): void => {
      this.log(`${what} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      t = Date.now();
    };
    await this.db.start();
    lap(`MariaDB up on 127.0.0.1:${this.db.port} (datadir ${this.db.datadir})`);
    // one port for the server's whole life, so restarts keep the endpoint
    this.apiPort = await freePort();
    this.writeConfig();
    await this.run('neutron-db-manage', [...this.configArgs, 'upgrade', 'heads'], 'db-manage.log');
    lap('neutron-db-manage upgrade heads (neutron + networking-netvpp)');
    await this.startServer();
    lap(`neutron-server answering on ${this.endpoint}`);
  }

  private writeConfig(): void {
    const etc = join(this.workDir, 'etc');
    const vars = {
      API_PORT: String(this.apiPort),
      ETC: etc,
      WORK: this.workDir,
      DEBUG: this.opts.debug ? 'true' : 'false',
      DB_PORT: String(this.db.port),
      CONTROLLER_URL: this.opts.controllerUrl,
      TOKEN_FILE: this.opts.controllerTokenFile ?? '',
      CA_FILE: this.opts.controllerCaFile ?? '',
      SOCKET_DIR: this.opts.vhostSocketDir ?? '/var/run/netvpp/vhost',
      TRANSPORT_URL: this.opts.transportUrl ?? 'fake://',
      DHCP_AGENT_NOTIFICATION: this.opts.transportUrl ? 'true' : 'false',
    };
    writeFileSync(join(etc, 'api-paste.ini'), readFileSync(join(NEUTRON_ETC, 'api-paste.ini')));
    writeFileSync(join(etc, 'neutron.conf'), render('neutron.conf.in', vars));
    writeFileSync(join(etc, 'ml2_conf.ini'), render('ml2_conf.ini.in', vars));
    for (const [name, line] of Object.entries(WRAPPERS)) {
      writeFileSync(join(this.workDir, 'bin', name), `#!${PYTHON}\nimport sys\n${line}\nsys.exit(main())\n`, {
        mode: 0o755,
      });
    }
    this.writeDriverOptions();
    this.configArgs = [
      '--config-file',
      join(etc, 'neutron.conf'),
      '--config-file',
      join(etc, 'ml2_conf.ini'),
      // last: its options win
      '--config-file',
      join(etc, 'ml2_netvpp-overrides.ini'),
    ];
  }

  private writeDriverOptions(): void {
    const lines = Object.entries(this.driverOptions).map(([k, v]) => `${k} = ${String(v)}`);
    writeFileSync(
      join(this.workDir, 'etc', 'ml2_netvpp-overrides.ini'),
      ['[ml2_netvpp]', ...lines, ''].join('\n'),
    );
  }

  /** Replaces the `[ml2_netvpp]` overrides; neutron-server reads them at its next start. */
  setDriverOptions(options: Record<string, string | number>): void {
    this.driverOptions = { ...options };
    if (this.configArgs.length) this.writeDriverOptions();
  }

  private async run(name: string, args: string[], logName: string): Promise<void> {
    const logFile = join(this.workDir, 'logs', logName);
    const d = new Daemon(name, logFile);
    d.start(join(this.workDir, 'bin', name), args, DRIVER_ENV);
    const child = d.child as ChildProcess;
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    if (code !== 0) throw new Error(`${name} exited with ${code}:\n${tailFile(logFile, 30)}`);
  }

  /** Starts neutron-server (again, after stopServer or killServer) on the same port. */
  async startServer(): Promise<void> {
    if (this.server.running) throw new Error('neutron-server is already running');
    this.server.start(join(this.workDir, 'bin', 'neutron-server'), this.configArgs, DRIVER_ENV);
    await waitFor(
      `neutron-server to answer on ${this.endpoint}`,
      async () => {
        if (!this.server.running) {
          throw new Error(`neutron-server exited:\n${this.tailServerLog(30)}`);
        }
        try {
          const r = await fetch(`${this.endpoint}/v2.0/networks`, { signal: AbortSignal.timeout(2000) });
          return r.ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      // NETVPP_E2E_SERVER_START_MS: a longer limit for a machine that is busy with other work
      Number(process.env.NETVPP_E2E_SERVER_START_MS ?? 300_000),
      100,
    );
  }

  async stopServer(): Promise<void> {
    await this.server.stop();
  }

  /** kill -9 of neutron-server and its workers. */
  async killServer(): Promise<void> {
    await this.server.kill9();
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.stop();
    if (!process.env.NETVPP_E2E_KEEP) rmSync(this.workDir, { recursive: true, force: true });
    else this.log(`kept logs in ${this.workDir}`);
  }

  /** Runs the openstack CLI against this server (noauth); returns stdout. */
  async openstack(...args: string[]): Promise<string> {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OS_')) env[k] = v;
    const argv = ['--os-auth-type', 'none', '--os-endpoint', this.endpoint, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(OPENSTACK, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code === 0) resolve(out);
        else reject(new Error(`openstack ${args.join(' ')} failed (${code}): ${err.trim() || out.trim()}`));
      });
    });
  }

  /** The openstack CLI with `-f json`, parsed. */
  async openstackJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
    return JSON.parse(await this.openstack(...args, '-f', 'json')) as T;
  }

  /** Neutron's REST API directly (noauth needs no token): much faster than the CLI. */
  async api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.endpoint}/v2.0${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      // NETVPP_E2E_API_TIMEOUT_MS: a longer limit for a machine that is busy with other work
      signal: AbortSignal.timeout(Number(process.env.NETVPP_E2E_API_TIMEOUT_MS ?? 60_000)),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Rows of the driver's journal that the controller has not acknowledged yet. */
  journalBacklog(): number {
    return Number(this.db.sql('SELECT COUNT(*) FROM netvpp_journal', 'neutron').trim());
  }
}
