// The chaos run's stack: a 3-member etcd cluster (real etcd processes, peers through proxies), 2
// controllers and one agent per host, each a process of its own (`netvpp controller`, `netvpp agent`
// with an ini file, as an operator runs them) so a fault can SIGKILL or SIGSTOP it. Every agent and
// controller reaches etcd through its own proxies (test/chaos/proxy.ts), one per member, which a
// fault can cut or turn into a blackhole. Each agent's VPP is a simulator in this process, so a write
// hook can SIGKILL the agent at an exact write and the oracle can read VPP at any moment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig } from '../../src/agent/config.ts';
import { PREFIX } from '../../src/model/keyspace.ts';
import type { WriteHook } from '../../src/sim/server.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { create_loopback_instance, sw_interface_dump } from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { spawnAgent, verifyErrors, type ChildAgent } from '../agent/helpers/faults.ts';
import { vppTarget, type VppTarget } from '../helpers/vpp.ts';
import { EtcdCluster } from './etcd-cluster.ts';
import { ControllerProcess } from './controller-process.ts';
import { ClientLink } from './proxy.ts';

export const UPLINK = 'loop0';
/** The agents' VPP request timeout (s): a reply delayed past it is a timed-out write that happened. */
export const AGENT_VPP_TIMEOUT_S = 1;

export interface Host {
  name: string;
  vpp: VppTarget;
  operator: VppClient;
  agent: ChildAgent;
  /** The agent's road to etcd. */
  link: ClientLink;
  /** Every agent process that ran here (their logs are checked for verify differences). */
  past: ChildAgent[];
  /** Called after every write VPP carries out (faults and the in-run checks add theirs). */
  hooks: Set<WriteHook>;
  /** Agent processes started here. */
  starts: number;
  /** What happened to the host and when (ms), newest last: agent starts, VPP crashes (for diagnostics). */
  timeline: { at: number; what: string }[];
}

export class ChaosStack {
  readonly controllers: ControllerProcess[] = [];
  readonly hosts: Host[] = [];

  private constructor(
    readonly etcd: EtcdCluster,
    readonly store: Store,
    readonly dir: string,
  ) {}

  static async start(hostCount: number): Promise<ChaosStack> {
    const etcd = await EtcdCluster.start(3);
    const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX, requestTimeoutMs: 5000 });
    const s = new ChaosStack(etcd, store, mkdtempSync(join(tmpdir(), 'netvpp-chaos-')));
    try {
      const ctl = Array.from({ length: 2 }, async (_, i) => {
        const link = await ClientLink.start(etcd.endpoints);
        return ControllerProcess.start({ dir: s.dir, id: `ctl${i + 1}`, link, electionTtlSec: 3 });
      });
      s.controllers.push(...(await Promise.all(ctl)));
      for (let i = 1; i <= hostCount; i++) {
        const vpp = await vppTarget();
        if (!vpp.sim) throw new Error('the chaos run needs the simulator (NETVPP_TEST_VPP_SOCKET is set)');
        const operator = await VppClient.connect({ socket: vpp.socket, name: 'operator' });
        const link = await ClientLink.start(etcd.endpoints);
        const h: Host = {
          name: `compute${i}`,
          vpp,
          operator,
          agent: null as unknown as ChildAgent,
          link,
          past: [],
          hooks: new Set(),
          starts: 0,
          timeline: [],
        };
        vpp.sim.onWrite((w) => {
          let verdict: 'cut' | undefined;
          for (const hook of [...h.hooks]) if (hook(w) === 'cut') verdict = 'cut';
          return verdict;
        });
        await s.makeUplink(h);
        s.startAgent(h);
        s.hosts.push(h);
      }
      await Promise.all(s.controllers.map((c) => c.answering()));
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  get controllerUrls(): string[] {
    return this.controllers.map((c) => c.url);
  }

  /** The operator's uplink (loop0), made again after a VPP restart. */
  async makeUplink(h: Host): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!h.operator.connected) await h.operator.reconnect();
        const all = await h.operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
        if (all.some((d) => d.interface_name === UPLINK)) return;
        await h.operator.request(create_loopback_instance, {
          mac_address: '02:fe:00:00:00:01',
          is_specified: true,
          user_instance: 0,
        });
        return;
      } catch (e) {
        if (attempt > 100) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** The agent's configuration as `netvpp plan`/`audit` take it (etcd reached directly). */
  config(h: { name: string; vpp: VppTarget }): AgentConfig {
    return {
      host: h.name,
      etcd: { endpoints: this.etcd.endpoints },
      vppSocket: h.vpp.socket,
      physnets: new Map([['physnet1', UPLINK]]),
      vhostUserDir: '/tmp',
      tapBackend: 'tap',
      tapBackendSetting: 'tap',
      logLevel: 'warn',
      health: null,
      configFile: null,
    };
  }

  /** Starts `netvpp agent` for the host (its earlier process, if any, must be gone). */
  startAgent(h: Host): void {
    if (h.agent) h.past.push(h.agent);
    h.timeline.push({ at: Date.now(), what: `agent${h.starts + 1} started` });
    h.agent = spawnAgent({
      dir: this.dir,
      name: `${h.name}-agent${++h.starts}`,
      host: h.name,
      etcdEndpoints: h.link.endpoints,
      vppSocket: h.vpp.socket,
      physnets: `physnet1:${UPLINK}`,
      agentLines: ['tap_backend = tap', 'vhost_user_dir = /tmp'],
      vppLines: [`api_timeout = ${AGENT_VPP_TIMEOUT_S}`],
    });
  }

  /** Lines of every agent's log where an incremental pass differed from a full compile. */
  verifyErrors(h: Host): string[] {
    return [...h.past, h.agent].flatMap((a) => verifyErrors(a.log()).map((l) => `${a.logFile}: ${l}`));
  }

  /** The controller that says it leads, if one answers. */
  async leadingController(): Promise<ControllerProcess | undefined> {
    for (const c of this.controllers) if (await c.leads()) return c;
    return undefined;
  }

  /** Stops everything; with keepLogs, the processes' logs stay (their directory is printed). */
  async stop(o: { keepLogs?: boolean } = {}): Promise<void> {
    for (const h of this.hosts) {
      await h.agent?.stop();
      await h.operator.close();
      await h.vpp.stop();
      await h.link.close();
    }
    for (const c of this.controllers) {
      await c.stop();
      await c.link.close();
    }
    this.store.close();
    await this.etcd.stop();
    if (o.keepLogs) console.error(`chaos: the agents' and controllers' logs are in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
