// What the real-packets tests between two real VPPs share (test/dataplane/vxlan.test.ts, gpe.test.ts):
// two compute nodes, each a real VPP with its own agent started in-process, one etcd; an underlay
// that is a Linux bridge in a namespace, one veth per VTEP, whose other ends VPP opens as af_packet
// interfaces (made here, as an operator would; the agents put the VTEP addresses on them); a VM per
// node, a network namespace holding the Neutron end of its tap port (veth backend). Shell helpers,
// pings counted, the controller's writes (binding and overlay entry in one transaction), cleanup
// that leaves nothing in either VPP or in the host's network.
import { vethAgent } from './agent.ts';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import {
  encodeValue,
  keys,
  PREFIX,
  type HostState,
  type NetworkType,
  type OverlayPort,
  type PortBinding,
  type SecurityGroup,
} from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import {
  AfPacketFlags,
  af_packet_create_v3,
  af_packet_delete,
  sw_interface_dump,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP2_SOCKET, REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { vmPort, type NetworkSpec } from '../agent/helpers/fixtures.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, sh } from './shell.ts';

const isSocket = (p: string): boolean => {
  try {
    return statSync(p).isSocket();
  } catch {
    return false;
  }
};

/** Why a test between two real VPPs can't run here (false: it can). `needs`: what root is for. */
export function twoVppSkip(needs: string): string | false {
  return !REAL_VPP_SOCKET || !REAL_VPP2_SOCKET
    ? 'needs two real VPPs (NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET)'
    : REAL_VPP_SOCKET === REAL_VPP2_SOCKET || !isSocket(REAL_VPP_SOCKET) || !isSocket(REAL_VPP2_SOCKET)
      ? 'NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET must name the API sockets of two different VPPs'
      : process.getuid?.() !== 0
        ? `needs root (${needs})`
        : !has('ip') || !has('ping')
          ? 'needs ip and ping'
          : false;
}

export { has, sh };

export interface Pings {
  sent: number;
  received: number;
}

/** `count` pings from namespace `ns` to `ip`, 1 s each at most. `opts`: more of ping's options. */
export function ping(ns: string, ip: string, count: number, opts = ''): Pings {
  const out = sh(`ip netns exec ${ns} ping -n -c ${count} -i 0.2 -W 1 ${opts} ${ip}`, true);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
}

/** Pings `reach` sends once the first one is answered. */
export const N = 10;

/** One VPP node: agent host name, VTEP, VM namespace, underlay veth (VPP's end; the bridge gets <veth>b), VM address. */
export interface NodeSpec {
  host: string;
  vtep: string;
  ns: string;
  veth: string;
  ip: string;
}

export interface TwoNodesOptions {
  /** For the temporary directory and the API clients' names. */
  name: string;
  nodes: readonly [NodeSpec, NodeSpec];
  /** The underlay bridge's namespace. */
  underlayNs: string;
  /** Namespaces the test makes itself (removed with the rest, leftovers of an earlier run too). */
  moreNs?: string[];
  net: NetworkSpec;
  subnet: string;
  sg: SecurityGroup;
  /** Changes node i's port binding (made with the VM's address and the security group). */
  port?: (i: number, p: PortBinding) => void;
  /** After node i's VM has its tap and address. */
  vmReady?: (i: number, tap: string) => void;
}

/** Two real VPP nodes with a VM each on one overlay network; `setup` in `before`, `teardown` in `after`. */
export class TwoNodes {
  etcd!: EtcdProcess;
  store!: Store;
  readonly ops: VppClient[] = [];
  readonly agents: Agent[] = [];
  /** The VM port on each node. */
  readonly ports: PortBinding[] = [];
  private readonly bound = new Set<number>();
  private dir = '';

  constructor(readonly o: TwoNodesOptions) {}

  get nodes(): readonly [NodeSpec, NodeSpec] {
    return this.o.nodes;
  }

  /** The Neutron-side tap of a port (in its VM's namespace once set up). */
  vmIf = (p: PortBinding): string => (p.tap as { host_ifname: string }).host_ifname;

  async put(key: string, value: unknown): Promise<void> {
    await this.store.put(key, encodeValue(key, value as never));
  }

  /** A host netvpp does not manage, as the agents would see it: alive with its VTEP. */
  async putAlive(host: string, vtep: string, networkTypes: NetworkType[]): Promise<void> {
    const alive: HostState = {
      host,
      physnets: [],
      network_types: networkTypes,
      vif_types: ['tap'],
      vtep,
      agent_version: 'stand-in',
      vpp: { connected: true, version: null },
      started_at: new Date().toISOString(),
    };
    await this.put(keys.hostAlive(host), alive);
  }

  /** What the controller writes: node i's binding and its port's overlay entry, in one transaction. */
  async bind(i: number): Promise<void> {
    const p = this.ports[i];
    const { host } = this.nodes[i];
    const k = keys.overlayPort(p.network_id, p.port_id);
    const entry: OverlayPort = {
      host,
      mac: p.mac,
      ips: p.fixed_ips.map((f) => f.ip_address),
      revision: p.revision,
    };
    await this.store.txnBatch([
      {
        op: 'put',
        key: keys.portBinding(host, p.port_id),
        value: encodeValue(keys.portBinding(host, p.port_id), p),
      },
      { op: 'put', key: k, value: encodeValue(k, entry) },
    ]);
    this.bound.add(i);
  }

  async unbind(i: number): Promise<void> {
    const p = this.ports[i];
    await this.store.txnBatch([
      { op: 'delete', key: keys.portBinding(this.nodes[i].host, p.port_id) },
      { op: 'delete', key: keys.overlayPort(p.network_id, p.port_id) },
    ]);
    this.bound.delete(i);
  }

  async ready(i: number): Promise<void> {
    await waitFor(
      `port ${this.ports[i].port_id} ready on ${this.nodes[i].host}`,
      async () => {
        const { kv } = await this.store.get(keys.portState(this.nodes[i].host, this.ports[i].port_id));
        return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
      },
      60_000,
    );
  }

  /**
   * Pings that must all be answered. VPP drops the packet that makes it resolve a neighbour (the
   * peer's VTEP on the underlay, on first use): one ping first, retried until answered, then N.
   */
  async reach(t: TestContext, what: string, ns: string, ip: string): Promise<Pings> {
    let tries = 0;
    await waitFor(`${what}: a first reply`, () => (tries++, ping(ns, ip, 1).received === 1), 20_000);
    const r = ping(ns, ip, N);
    t.diagnostic(`${what}: ${r.received}/${r.sent} replies (first reply at try ${tries})`);
    assert.deepEqual(r, { sent: N, received: N }, what);
    return r;
  }

  async setup(): Promise<void> {
    const { nodes, underlayNs, net, sg } = this.o;
    this.dir = mkdtempSync(join(tmpdir(), `netvpp-${this.o.name}-`));
    this.cleanNet();
    // The underlay: a bridge in its own namespace, one veth per VTEP.
    sh(`ip netns add ${underlayNs}`);
    sh(`ip -n ${underlayNs} link add br0 type bridge && ip -n ${underlayNs} link set br0 up`);
    for (const n of nodes) {
      sh(`ip link add ${n.veth} type veth peer name ${n.veth}b netns ${underlayNs}`);
      // VPP's end: the host's kernel stays out of the underlay (no ARP answers, no IPv6 of its own).
      sh(`sysctl -qw net.ipv4.conf.${n.veth}.arp_ignore=8 net.ipv6.conf.${n.veth}.disable_ipv6=1`);
      sh(`ip -n ${underlayNs} link set ${n.veth}b master br0 up && ip link set ${n.veth} up`);
      sh(`ip netns add ${n.ns} && ip -n ${n.ns} link set lo up`);
    }
    this.etcd = await startEtcd();
    this.store = openStore({ endpoints: this.etcd.endpoints, namespace: PREFIX });
    const sockets = [REAL_VPP_SOCKET, REAL_VPP2_SOCKET];
    for (const [i, socket] of sockets.entries()) {
      const op = await VppClient.connect({ socket, name: `${this.o.name}-test-${i + 1}` });
      this.ops.push(op);
      // The operator's underlay interface (the agent sets it up and gives it the VTEP address), as
      // VPP's `create host-interface` makes it: checksum offload and GSO on (a kernel VTEP's UDP
      // checksum is left to fill in by its veth), ring sizes VPP's (a tx frame holds a GSO packet).
      await op.request(af_packet_create_v3, {
        mode: 1,
        flags: AfPacketFlags.AF_PACKET_API_FLAG_QDISC_BYPASS | AfPacketFlags.AF_PACKET_API_FLAG_CKSUM_GSO,
        host_if_name: nodes[i].veth,
        use_random_hw_addr: true,
      });
    }
    await this.put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' });
    await this.put(keys.secGroup(sg.id), sg);
    for (const [i, n] of nodes.entries()) {
      const p = vmPort(net, {
        vif_type: 'tap',
        vhostuser: null,
        fixed_ips: [{ subnet_id: this.o.subnet, ip_address: n.ip }],
        security_groups: [sg.id],
      });
      this.o.port?.(i, p);
      p.tap = { host_ifname: `tap${p.port_id.slice(0, 11)}` };
      this.ports.push(p);
      const a = vethAgent({
        host: n.host,
        endpoints: this.etcd.endpoints,
        vppSocket: sockets[i],
        physnets: new Map(),
        vhostUserDir: this.dir,
        vxlan: { localIp: n.vtep, underlay: { name: `host-${n.veth}`, prefixLen: 24 } },
      });
      this.agents.push(a);
      a.start();
    }
    for (const i of [0, 1]) await this.bind(i);
    for (const [i, n] of nodes.entries()) {
      await this.ready(i);
      // The VM takes Neutron's end of the veth (it has the port's MAC already) and the port's address,
      // as a DHCP agent would give it.
      const tap = this.vmIf(this.ports[i]);
      sh(`ip link set ${tap} netns ${n.ns}`);
      sh(`ip -n ${n.ns} addr add ${n.ip}/24 dev ${tap} && ip -n ${n.ns} link set ${tap} up`);
      this.o.vmReady?.(i, tap);
    }
  }

  async teardown(): Promise<void> {
    try {
      // Ports unbound first, so the agents take their objects out of VPP.
      for (const i of [...this.bound]) await this.unbind(i).catch(() => undefined);
      for (const [i, op] of this.ops.entries())
        await waitFor(
          `${this.nodes[i].host}'s ports gone`,
          async () => (await op.dump(sw_interface_dump, {})).every((d) => !d.tag.startsWith('netvpp:')),
          20_000,
        ).catch(() => undefined);
    } finally {
      for (const a of this.agents) await a.stop().catch(() => undefined);
      for (const [i, op] of this.ops.entries()) {
        if (!op.connected) continue;
        await op.request(af_packet_delete, { host_if_name: this.nodes[i].veth }).catch(() => undefined);
        await op.close();
      }
      this.cleanNet();
      // A tap never moved into its VM (a failure before) is still here, with its pair.
      for (const p of this.ports) sh(`ip link del ${this.vmIf(p)}`, true);
      this.store?.close();
      await this.etcd?.destroy();
      if (this.dir && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Removes every namespace and veth the test makes (leftovers of an earlier run, too). */
  cleanNet(): void {
    const { nodes, underlayNs, moreNs = [] } = this.o;
    for (const ns of [...moreNs, underlayNs, ...nodes.map((n) => n.ns)]) sh(`ip netns del ${ns}`, true);
    for (const n of nodes) sh(`ip link del ${n.veth}`, true);
  }
}
