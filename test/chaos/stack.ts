// The chaos run's stack, all in this process except etcd: a 3-member etcd cluster (real etcd
// processes), 2 controllers (leader election between them), and one agent per host, each on its own
// VPP simulator with the operator's uplink. Agents and controllers run in-process, so their "kill"
// is stop() and a fresh start (see docs/chaos.md).
import { Agent } from '../../src/agent/agent.ts';
import type { AgentConfig } from '../../src/agent/config.ts';
import { RecordingHostNet } from '../../src/agent/host-net.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { PREFIX } from '../../src/model/keyspace.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { create_loopback_instance, sw_interface_dump } from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { startController } from '../controller/helpers.ts';
import { vppTarget, type VppTarget } from '../helpers/vpp.ts';
import { EtcdCluster } from './etcd-cluster.ts';

export const UPLINK = 'loop0';

export interface Host {
  name: string;
  vpp: VppTarget;
  operator: VppClient;
  agent: Agent;
  /** Every agent that ran here (their verification failures are checked at the end). */
  past: Agent[];
}

export class ChaosStack {
  readonly hostNet = new RecordingHostNet();
  controllers: Controller[] = [];
  readonly hosts: Host[] = [];
  private nextController = 0;

  private constructor(
    readonly etcd: EtcdCluster,
    readonly store: Store,
  ) {}

  static async start(hostCount: number): Promise<ChaosStack> {
    const etcd = await EtcdCluster.start(3);
    const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX, requestTimeoutMs: 5000 });
    const s = new ChaosStack(etcd, store);
    for (let i = 0; i < 2; i++) await s.addController();
    for (let i = 1; i <= hostCount; i++) {
      const vpp = await vppTarget();
      const operator = await VppClient.connect({ socket: vpp.socket, name: 'operator' });
      const h: Host = { name: `compute${i}`, vpp, operator, agent: null as unknown as Agent, past: [] };
      await s.makeUplink(h);
      h.agent = s.newAgent(h);
      s.hosts.push(h);
    }
    return s;
  }

  async addController(): Promise<void> {
    const c = await startController(this.etcd.endpoints, {
      id: `ctl${++this.nextController}`,
      electionTtlSec: 3,
      etcd: { endpoints: this.etcd.endpoints, requestTimeoutMs: 3000 },
    });
    this.controllers.push(c);
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

  newAgent(h: { name: string; vpp: VppTarget }): Agent {
    const a = new Agent(this.config(h), {
      hostNet: this.hostNet,
      backoff: { minMs: 50, maxMs: 1000 },
      vppRetryMinMs: 20,
      vppRetryMaxMs: 500,
      livenessTtlSec: 5,
      // Every incremental pass is checked against a full compile, diff and readiness.
      verify: true,
    });
    a.start();
    return a;
  }

  async restartAgent(h: Host): Promise<void> {
    await h.agent.stop();
    h.past.push(h.agent);
    h.agent = this.newAgent(h);
  }

  async stop(): Promise<void> {
    for (const h of this.hosts) {
      await h.agent.stop();
      await h.operator.close();
      await h.vpp.stop();
    }
    for (const c of this.controllers) await c.stop();
    this.store.close();
    await this.etcd.stop();
  }
}
