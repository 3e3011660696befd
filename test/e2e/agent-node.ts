// One compute node for end-to-end tests: a VPP simulator with the operator's uplink, the real netvpp
// agent (src/agent) with its own etcd client, and a stand-in for Nova/QEMU that connects a guest to the vhost-user socket of every vhost-user
// port bound to the node (the agent reports such a port ready only once its guest is there).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.ts';
import { linuxHostNet, RecordingHostNet, type HostNet } from '../../src/agent/host-net.ts';
import { decodeValue, keys, PREFIX } from '../../src/model/keyspace.ts';
import { loadVerifier } from '../../src/model/signing.ts';
import { startSimulator, type Sim } from '../../src/sim/index.ts';
import { openStore, watchPrefixes, type PrefixWatcher, type Store } from '../../src/store/index.ts';
import type { Mirror, SubInterface } from './netvpp-stack.ts';
import {
  acl_dump,
  acl_interface_list_dump,
  bridge_domain_dump,
  create_loopback_instance,
  one_eid_table_dump,
  one_locator_dump,
  policer_dump,
  sw_interface_dump,
  sw_interface_span_dump,
  vxlan_tunnel_v2_dump,
  type AclRule,
  type PolicerDetails,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import type { GroupName } from '../../src/vpp/groups.ts';
import { sleep } from './neutron-harness.ts';

const UPLINK = 'loop0';

export interface AgentNodeOptions {
  etcdEndpoints: string[];
  host: string;
  physnets: string[];
  /** VXLAN tunnel endpoint: the node gets an underlay interface (loop1) and carries vxlan networks. */
  vtep?: string;
  vhostUserDir: string;
  /** Message groups the node's VPP lacks (the simulator leaves their messages out). */
  withoutGroups?: GroupName[];
  /** `[security] verify_keys`: the agent takes only desired state signed by these keys. */
  verifyKeys?: string;
  /** `veth`: tap ports are veth pairs in the kernel (removed again at stop); default: VPP taps only. */
  tapBackend?: 'veth';
  /** A real VPP (its API socket) instead of a simulator; the node's uplink loop0 must not exist yet. */
  vppSocket?: string;
}

/** The kernel's veth pairs, each one made remembered so stop() removes what the test left. */
function trackedHostNet(made: Set<string>): HostNet {
  const real = linuxHostNet();
  return {
    async ensureVeth(nsSide, vppSide, mac, mtu) {
      made.add(vppSide);
      await real.ensureVeth(nsSide, vppSide, mac, mtu);
    },
    async deleteVeth(vppSide) {
      await real.deleteVeth(vppSide);
      made.delete(vppSide);
    },
  };
}

/** The VPP interface that carries a node's VXLAN tunnels. */
const UNDERLAY = 'loop1';

export class AgentNode {
  private sim: Sim | undefined;
  private dir: string | undefined;
  private operator: VppClient | undefined;
  private agent: Agent | undefined;
  private hypervisor: PrefixWatcher | undefined;
  private store: Store | undefined;
  private agentStore: Store | undefined;
  private stopped = false;
  private readonly veths = new Set<string>();
  private socket = '';

  constructor(private readonly o: AgentNodeOptions) {}

  get host(): string {
    return this.o.host;
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'netvpp-e2e-sim-'));
    if (!this.o.vppSocket)
      this.sim = await startSimulator({
        socket: join(this.dir, 'api.sock'),
        withoutGroups: this.o.withoutGroups,
      });
    const socket = this.o.vppSocket ?? (this.sim as Sim).socket;
    this.operator = await VppClient.connect({ socket, name: 'operator' });
    // the operator's uplink: every physnet of this node is carried by it
    await this.ensureLoop(0, '02:fe:00:00:00:01');
    if (this.o.vtep) await this.ensureLoop(1, '02:fe:00:00:00:02');
    // The agent's store is opened here with the keyspace's namespace: Agent opens its own without one
    // (keys at the etcd root, which the controller never sees). TODO(lead): drop `store` once the
    // agent opens its store with `namespace: PREFIX` itself.
    this.agentStore = openStore({ endpoints: this.o.etcdEndpoints, namespace: PREFIX });
    this.socket = socket;
    this.agent = this.makeAgent();
    this.agent.start();

    // Nova boots the VM: QEMU (the vhost-user server) gets its guest going on the socket.
    const sim = this.sim;
    if (!sim) return; // a real VPP: the test boots its own guests
    const store = (this.store = openStore({ endpoints: this.o.etcdEndpoints, namespace: PREFIX }));
    this.hypervisor = watchPrefixes(store, {
      prefixes: [keys.hostPortBindings(this.o.host)],
      onEvent: (ev) => {
        const kvs = ev.type === 'put' ? [ev] : ev.type === 'resync' ? ev.changed : [];
        for (const kv of kvs) {
          const b = decodeValue('portBinding', kv.value);
          const socket = b.ok ? b.value.vhostuser?.socket : undefined;
          if (socket) void this.connectGuest(sim, socket);
        }
      },
    });
    await this.hypervisor.ready;
  }

  private makeAgent(): Agent {
    return new Agent(
      {
        host: this.o.host,
        etcd: { endpoints: this.o.etcdEndpoints },
        vppSocket: this.socket,
        physnets: new Map(this.o.physnets.map((p) => [p, UPLINK])),
        vhostUserDir: this.o.vhostUserDir,
        tapBackend: this.o.tapBackend ?? 'tap',
        tapBackendSetting: this.o.tapBackend ?? 'tap',
        logLevel: 'warn',
        health: null,
        configFile: null,
        vxlan: this.o.vtep ? { localIp: this.o.vtep, underlay: { name: UNDERLAY, prefixLen: 24 } } : null,
        verifier: this.o.verifyKeys ? loadVerifier([this.o.verifyKeys]) : null,
      },
      {
        hostNet: this.o.tapBackend === 'veth' ? trackedHostNet(this.veths) : new RecordingHostNet(),
        livenessTtlSec: 5,
        store: this.agentStore,
      },
    );
  }

  /** The agent process alone goes down (its liveness key with it); its VPP and kernel interfaces stay. */
  async stopAgent(): Promise<void> {
    await this.agent?.stop();
    this.agent = undefined;
  }

  /** The agent comes back after stopAgent. */
  startAgent(): void {
    if (this.agent) return;
    this.agent = this.makeAgent();
    this.agent.start();
  }

  /** The agent process alone restarts (its VPP, kernel interfaces and etcd state stay). */
  async restartAgent(): Promise<void> {
    await this.agent?.stop();
    this.agent = this.makeAgent();
    this.agent.start();
  }

  /**
   * After a restart of a real VPP: the operator reconnects (retrying while VPP starts) and makes the
   * node's uplinks again, as an operator's VPP start-up configuration would.
   */
  async vppRestarted(limitMs = 120_000): Promise<void> {
    const op = this.operator as VppClient;
    const until = Date.now() + limitMs;
    for (;;) {
      try {
        await op.reconnect();
        break;
      } catch (e) {
        if (Date.now() > until) throw e;
        await sleep(250);
      }
    }
    await this.ensureLoop(0, '02:fe:00:00:00:01');
    if (this.o.vtep) await this.ensureLoop(1, '02:fe:00:00:00:02');
  }

  /** A loopback of the operator's (a real VPP may still have it from an earlier run). */
  private async ensureLoop(instance: number, mac: string): Promise<void> {
    const op = this.operator as VppClient;
    const ifs = await op.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
    if (ifs.some((d) => d.interface_name === `loop${instance}`)) return;
    await op.request(create_loopback_instance, {
      mac_address: mac,
      is_specified: true,
      user_instance: instance,
    });
  }

  /** Retries until the agent has made the port's vhost-user interface (or the node stops). */
  private async connectGuest(sim: Sim, socket: string): Promise<void> {
    for (let i = 0; i < 600 && !this.stopped; i++) {
      if (sim.connectGuest(socket)) return;
      await sleep(100);
    }
  }

  /** The ACL rules VPP applies on the port's interface (both directions), as the operator sees them. */
  async portAclRules(portId: string): Promise<AclRule[]> {
    const op = this.operator as VppClient;
    const ifs = await op.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
    const port = ifs.find((d) => d.tag === `netvpp:port:${portId}`);
    if (!port) return [];
    const lists = await op.dump(acl_interface_list_dump, { sw_if_index: port.sw_if_index });
    const applied = new Set(lists.flatMap((l) => l.acls.slice(0, l.count)));
    const acls = await op.dump(acl_dump, { acl_index: 0xffffffff });
    return acls.filter((a) => applied.has(a.acl_index)).flatMap((a) => a.r);
  }

  /** The remote VTEPs of the VXLAN tunnels this node's VPP has for `vni`, sorted. */
  async vxlanPeers(vni: number): Promise<string[]> {
    const op = this.operator as VppClient;
    const tunnels = await op.dump(vxlan_tunnel_v2_dump, { sw_if_index: 0xffffffff });
    return tunnels
      .filter((t) => t.vni === vni)
      .map((t) => t.dst_address)
      .sort();
  }

  /**
   * The remote mappings this node's VPP has in LISP for a gpe network's VNI, as `<mac> <rloc>`
   * (the peer port's MAC and its host's VTEP), sorted.
   */
  async gpeRemotes(vni: number): Promise<string[]> {
    const op = this.operator as VppClient;
    // VPP 26.06 does not apply the dump's filter: is_local tells.
    const eids = await op.dump(one_eid_table_dump, { eid_set: false, filter: 0 });
    const out: string[] = [];
    for (const e of eids) {
      if (e.is_local || e.vni !== vni || e.locator_set_index === 0xffffffff) continue;
      const locs = await op.dump(one_locator_dump, { ls_index: e.locator_set_index, is_index_set: true });
      for (const l of locs) out.push(`${e.seid.address.mac ?? ''} ${l.ip_address}`);
    }
    return out.sort();
  }

  /** The trunk sub-ports' sub-interfaces of the port's interface (the VLAN-tag guard left out), by VLAN. */
  async subInterfaces(parentPortId: string): Promise<SubInterface[]> {
    const op = this.operator as VppClient;
    const ifs = await op.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
    const parent = ifs.find((d) => d.tag === `netvpp:port:${parentPortId}`);
    if (!parent) return [];
    const bds = await op.dump(bridge_domain_dump, { bd_id: 0xffffffff, sw_if_index: 0xffffffff });
    const bdTags = new Map(
      bds.flatMap((b) => b.sw_if_details.map((m) => [m.sw_if_index, b.bd_tag] as const)),
    );
    return ifs
      .filter((d) => d.sup_sw_if_index === parent.sw_if_index && d.tag.startsWith('netvpp:subport:'))
      .map((d) => ({
        tag: d.tag,
        vlan: d.sub_outer_vlan_id,
        pop: d.vtr_op === 3,
        adminUp: (d.flags & 1) !== 0,
        bridge: bdTags.get(d.sw_if_index) ?? null,
      }))
      .sort((a, b) => a.vlan - b.vlan);
  }

  /** The device-level SPAN mirrors of this node's VPP, ends named by their tags. */
  async mirrors(): Promise<Mirror[]> {
    const op = this.operator as VppClient;
    const ifs = await op.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
    const tag = new Map(ifs.map((d) => [d.sw_if_index, d.tag || `#${d.sw_if_index}`]));
    const spans = await op.dump(sw_interface_span_dump, { is_l2: false });
    return spans
      .map((m) => ({
        from: tag.get(m.sw_if_index_from) ?? `#${m.sw_if_index_from}`,
        to: tag.get(m.sw_if_index_to) ?? `#${m.sw_if_index_to}`,
        state: m.state,
      }))
      .sort((a, b) => a.from.localeCompare(b.from));
  }

  /** The netvpp policers of this node's VPP, by name. */
  async policers(): Promise<Map<string, PolicerDetails>> {
    const op = this.operator as VppClient;
    const all = await op.dump(policer_dump, { match_name_valid: false, match_name: '' });
    return new Map(all.filter((p) => p.name.startsWith('netvpp:')).map((p) => [p.name, p]));
  }

  failVpp(message: string, retval: number): void {
    this.sim?.failEvery(message, retval);
  }

  clearVppFaults(): void {
    this.sim?.clearFaults();
  }

  vppCalls(message: string): number {
    return this.sim?.counters()[message] ?? 0;
  }

  /** Like a node that dies: the agent stops, its liveness key goes with its lease. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.hypervisor?.close();
    this.store?.close();
    await this.agent?.stop();
    this.agentStore?.close();
    await this.operator?.close();
    await this.sim?.stop();
    for (const v of this.veths) spawnSync('ip', ['link', 'del', 'dev', v]);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
