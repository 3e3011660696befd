// Neutron's own DHCP agent (Debian's neutron-dhcp-agent, Zed) for end-to-end tests, with dnsmasq
// and netvpp's interface driver (networking_netvpp.interface, loaded from this tree): it talks to
// neutron-server over RabbitMQ (rabbitmq.ts), plugs its qdhcp-<network> namespaces into the tap
// ports the netvpp agent of its host makes, and runs one dnsmasq per network there.
// Stopping it also stops the dnsmasq processes it started (by their pid files) and removes the
// namespaces of the networks it served, so nothing outlives the test.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Daemon, DRIVER_ENV, PYTHON, tailFile, waitFor } from './neutron-harness.ts';

const DHCP_AGENT_MAIN = 'from neutron.cmd.eventlet.agents.dhcp import main';

/** Why Neutron's DHCP agent cannot run here, or null. */
export function dhcpAgentUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces for the DHCP agent)';
  for (const bin of [
    '/usr/sbin/dnsmasq',
    '/usr/bin/neutron-dhcp-agent',
    '/usr/bin/sudo',
    '/usr/bin/privsep-helper',
  ]) {
    if (!existsSync(bin))
      return `${bin} is missing (Debian package neutron-dhcp-agent: scripts/neutron/install.sh)`;
  }
  return null;
}

export interface DhcpAgentOptions {
  /** Neutron's host name for the agent: the netvpp agent of the same host makes its taps. */
  host: string;
  transportUrl: string;
  /** neutron-server's work dir: the agent's config, logs and state go under it. */
  workDir: string;
  /** Serve 169.254.169.254 from the namespace (haproxy → neutron-metadata-agent; see docs/dhcp.md). */
  isolatedMetadata?: boolean;
}

export class DhcpAgent {
  private readonly daemon: Daemon;
  private readonly config: string;
  readonly stateDir: string;

  constructor(private readonly o: DhcpAgentOptions) {
    const base = join(o.workDir, `dhcp-agent-${o.host}`);
    this.stateDir = join(base, 'state');
    mkdirSync(join(this.stateDir, 'lock'), { recursive: true });
    // dnsmasq drops root for `nobody` before it reads its host and option files: every directory on
    // the way to them must let others through (a mkdtemp work dir is 0700: dnsmasq then serves no
    // address, "cannot read …/host: Permission denied"), as /var/lib/neutron is on a real node.
    for (const d of [o.workDir, base, this.stateDir]) chmodSync(d, statSync(d).mode | 0o111);
    this.config = join(base, 'dhcp_agent.ini');
    this.daemon = new Daemon('neutron-dhcp-agent', join(base, 'stdout.log'));
    writeFileSync(
      this.config,
      [
        '[DEFAULT]',
        `host = ${o.host}`,
        // by class path, so it loads from this tree; an installed driver also answers to `netvpp`
        'interface_driver = networking_netvpp.interface.NetvppInterfaceDriver',
        'dhcp_driver = neutron.agent.linux.dhcp.Dnsmasq',
        `enable_isolated_metadata = ${o.isolatedMetadata ? 'true' : 'false'}`,
        `transport_url = ${o.transportUrl}`,
        `state_path = ${this.stateDir}`,
        `dnsmasq_base_log_dir = ${join(this.stateDir, 'dnsmasq-log')}`,
        `log_file = ${this.logFile}`,
        'debug = true',
        'resync_interval = 2',
        'num_sync_threads = 2',
        '',
        '[agent]',
        // neutron-server's agent_down_time is 8 s in the e2e configuration
        'report_interval = 2',
        '',
        '[netvpp]',
        'plug_timeout = 30',
        '',
        '[oslo_concurrency]',
        `lock_path = ${join(this.stateDir, 'lock')}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(base, 'neutron-dhcp-agent'),
      `#!${PYTHON}\nimport sys\n${DHCP_AGENT_MAIN}\nsys.exit(main())\n`,
      { mode: 0o755 },
    );
  }

  get logFile(): string {
    return join(this.o.workDir, `dhcp-agent-${this.o.host}`, 'dhcp-agent.log');
  }

  tail(lines = 30): string {
    return tailFile(this.logFile, lines);
  }

  get running(): boolean {
    return this.daemon.running;
  }

  start(): void {
    this.daemon.start(
      join(this.o.workDir, `dhcp-agent-${this.o.host}`, 'neutron-dhcp-agent'),
      ['--config-file', this.config],
      DRIVER_ENV,
    );
  }

  /** SIGTERM (then SIGKILL) of the agent alone: its dnsmasq processes and namespaces stay, as on a restart. */
  async stop(): Promise<void> {
    await this.daemon.stop(10_000);
  }

  /** Networks the agent set dnsmasq up for (its state dir), with their dnsmasq pid when running. */
  networks(): { network: string; pid: number | null }[] {
    const dir = join(this.stateDir, 'dhcp');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((network) => {
      const pidFile = join(dir, network, 'pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
      return { network, pid: Number.isInteger(pid) && pid > 0 ? pid : null };
    });
  }

  /** What dnsmasq logged for a network (with --log-dhcp: every DHCPDISCOVER … DHCPACK). */
  dnsmasqLog(network: string): string {
    const f = join(this.stateDir, 'dnsmasq-log', network, 'dhcp_dns_log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** The agent, then its dnsmasq processes, then the namespaces of its networks. */
  async destroy(): Promise<void> {
    await this.stop();
    for (const { network, pid } of this.networks()) {
      if (pid !== null) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'delete', `qdhcp-${network}`]);
    }
  }

  /** Waits until neutron-server lists the agent alive (its state reports arrive over RabbitMQ). */
  async waitAlive(api: <T>(method: string, path: string) => Promise<T>): Promise<void> {
    await waitFor(
      `the DHCP agent on ${this.o.host} to report to neutron-server`,
      async () => {
        if (!this.daemon.running) throw new Error(`neutron-dhcp-agent exited:\n${this.tail(30)}`);
        const r = await api<{ agents: { alive: boolean }[] }>(
          'GET',
          `/agents?agent_type=${encodeURIComponent('DHCP agent')}&host=${this.o.host}`,
        );
        return r.agents.some((a) => a.alive) ? true : undefined;
      },
      90_000,
      500,
    );
  }
}
