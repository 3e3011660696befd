// A throw-away RabbitMQ (Debian's rabbitmq-server) on loopback, for the RPC between neutron-server
// and Neutron's DHCP agent: its own epmd on a free port (so nothing of it outlives the test), its
// own node name, data and logs in a temp dir, the default guest user (loopback only). Started and
// stopped by PID like MariaDB in neutron-harness.ts.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, freePort, tailFile, waitFor } from './neutron-harness.ts';

const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = '/usr/bin/epmd';

/** Why RabbitMQ cannot run here, or null. */
export function rabbitmqUnavailableReason(): string | null {
  for (const bin of [RABBITMQ_SERVER, EPMD])
    if (!existsSync(bin))
      return `${bin} is missing (Debian package rabbitmq-server: scripts/neutron/install.sh)`;
  return null;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class RabbitMq {
  port = 0;
  readonly dir: string;
  private readonly epmd: Daemon;
  private readonly server: Daemon;

  constructor(logDir?: string) {
    this.dir = mkdtempSync(join(tmpdir(), 'netvpp-rabbitmq-'));
    const logs = logDir ?? this.dir;
    this.epmd = new Daemon('epmd', join(logs, 'epmd.log'));
    this.server = new Daemon('rabbitmq', join(logs, 'rabbitmq.log'));
  }

  get url(): string {
    return `rabbit://guest:guest@127.0.0.1:${this.port}/`;
  }

  async start(): Promise<void> {
    const epmdPort = await freePort();
    this.port = await freePort();
    const distPort = await freePort();
    this.epmd.start(EPMD, ['-port', String(epmdPort)]);
    // before the broker: an Erlang node that finds no epmd starts its own, which nothing would stop
    await waitFor('epmd to listen', async () => ((await accepts(epmdPort)) ? true : undefined), 10_000, 50);
    writeFileSync(join(this.dir, 'enabled_plugins'), '[].\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: this.dir, // the Erlang cookie
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_NODENAME: `netvpp${this.port}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq'),
      RABBITMQ_PID_FILE: join(this.dir, 'rabbitmq.pid'),
    };
    this.server.start(RABBITMQ_SERVER, [], env);
    try {
      await waitFor(
        `RabbitMQ to accept connections on 127.0.0.1:${this.port}`,
        async () => {
          if (!this.server.running) throw new Error('rabbitmq-server exited');
          return (await accepts(this.port)) ? true : undefined;
        },
        300_000, // about 5 s on an idle machine; minutes on a loaded one
        250,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}:\n${tailFile(this.server.logFile, 20)}`);
    }
  }

  async stop(): Promise<void> {
    await this.server.stop(20_000);
    await this.epmd.stop(5_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
