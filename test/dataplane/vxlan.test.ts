// Real dataplane, real packets: a VXLAN network between two real VPPs, each the VPP of one compute
// node with its own agent. The underlay is a Linux bridge in a namespace, one veth per VTEP, whose
// other ends VPP opens as af_packet interfaces (made here, as an operator would; the agents put the
// VTEP addresses on them). The VMs are network namespaces holding the Neutron end of each tap port
// (veth backend). Checks, counting pings: a VM on each node reach each other; ARP is answered by
// VPP's termination (the remote VM answering no ARP at all), and an address no port has gets no
// answer; a Linux VXLAN device as a third VTEP (a host netvpp does not manage, published as the
// agents would see it) exchanges pings with both VMs; a host's last port leaving removes its
// tunnels. test/agent/vxlan.test.ts checks the same objects on simulated VPPs.
//
// Runs only with NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET (two real VPPs with the vxlan,
// acl and af_packet plugins, on this host), as root, with `ip` and `ping`; skips saying why otherwise.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.ts';
import { linuxHostNet } from '../../src/agent/host-net.ts';
import {
  encodeValue,
  keys,
  PREFIX,
  type HostState,
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
  vxlan_tunnel_v2_dump,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP2_SOCKET, REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { secGroup, vmPort, vxlanNet } from '../agent/helpers/fixtures.ts';
import { rule as anyRule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';

const VNI = 5001;
const NS_UNDERLAY = 'nvt-vx-ul';
const NS_K3 = 'nvt-vx-k3';
const ALL = 0xffffffff;
// The underlay is TEST-NET-2: this host's own network may well be TEST-NET-1 (192.0.2.0/24), and
// its kernel would then answer ARP for its address on VPP's ends of the underlay.
/** The two VPP nodes: agent host name, VTEP, VM namespace, underlay veth (VPP's end; the bridge gets <veth>b). */
const NODES = [
  { host: 'compute1', vtep: '198.51.100.1', ns: 'nvt-vx-vm1', veth: 'nvtvx1', ip: '10.78.0.11' },
  { host: 'compute2', vtep: '198.51.100.2', ns: 'nvt-vx-vm2', veth: 'nvtvx2', ip: '10.78.0.12' },
] as const;
/** The kernel VTEP, a stand-in host netvpp does not manage. */
const K3 = { host: 'compute3', vtep: '198.51.100.3', veth: 'nvtvx3', dev: 'vx5001', ip: '10.78.0.13' };
const K3_MAC = '02:fe:78:00:00:13';
const K3_PORT = '0d0d0d0d-0000-4000-8000-000000000003';
/** An address of compute2's VM in its allowed address pairs: not ARP-terminated, so its ARP floods. */
const VIP = '10.78.0.50';
/** An address no port has. */
const NOBODY = '10.78.0.99';
const N = 10;
const TCP_PORT = 5001;
/** Bytes sent over one TCP connection (many full-size segments, offloaded by the sending kernel). */
const TCP_BYTES = 1 << 20;

// TCP between two VMs: the server counts what it receives until the client closes, and answers with
// the count; the client sends TCP_BYTES and prints the answer.
const TCP_SERVER = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(1)
s.settimeout(20)
print('ready', flush=True)
c, _ = s.accept()
c.settimeout(20)
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
c.sendall(str(n).encode())
c.close()
`;
const TCP_CLIENT = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
c.sendall(b'x' * int(sys.argv[3]))
c.shutdown(socket.SHUT_WR)
print(c.recv(64).decode())
`;

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

const isSocket = (p: string): boolean => {
  try {
    return statSync(p).isSocket();
  } catch {
    return false;
  }
};

const skip =
  !REAL_VPP_SOCKET || !REAL_VPP2_SOCKET
    ? 'needs two real VPPs (NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET)'
    : REAL_VPP_SOCKET === REAL_VPP2_SOCKET || !isSocket(REAL_VPP_SOCKET) || !isSocket(REAL_VPP2_SOCKET)
      ? 'NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET must name the API sockets of two different VPPs'
      : process.getuid?.() !== 0
        ? 'needs root (network namespaces, veth pairs, a bridge, a VXLAN device)'
        : !has('ip') || !has('ping')
          ? 'needs ip and ping'
          : false;

function sh(cmd: string, ok = false): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0 && !ok) throw new Error(`${cmd}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

interface Pings {
  sent: number;
  received: number;
}

/** `count` pings from namespace `ns` to `ip`, 1 s each at most. */
function ping(ns: string, ip: string, count: number): Pings {
  const out = sh(`ip netns exec ${ns} ping -n -c ${count} -i 0.2 -W 1 ${ip}`, true);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
}

describe('real dataplane: a VXLAN network between two real VPPs', { skip }, () => {
  let etcd: EtcdProcess;
  let store: Store;
  let dir = '';
  const ops: VppClient[] = [];
  const agents: Agent[] = [];
  const net = vxlanNet(VNI);
  const subnet = '0e0e0e0e-0000-4000-8000-000000000001';
  const icmpIn = anyRule({ protocol: 1, remote_ip_prefix: '0.0.0.0/0' });
  const egress = [anyRule({ direction: 'egress' }), anyRule({ direction: 'egress', ethertype: 'IPv6' })];
  const tcpIn = anyRule({
    protocol: 6,
    port_range_min: TCP_PORT,
    port_range_max: TCP_PORT,
    remote_ip_prefix: '0.0.0.0/0',
  });
  const sg: SecurityGroup = secGroup([...egress, icmpIn, tcpIn]);
  /** The VM port on each node, and its Neutron-side tap name. */
  const ports: PortBinding[] = [];
  const vmIf = (p: PortBinding) => (p.tap as { host_ifname: string }).host_ifname;
  const bound = new Set<number>();

  const put = async (key: string, value: unknown): Promise<void> => {
    await store.put(key, encodeValue(key, value as never));
  };
  const overlayEntry = (host: string, p: PortBinding): OverlayPort => ({
    host,
    mac: p.mac,
    ips: p.fixed_ips.map((f) => f.ip_address),
    revision: p.revision,
  });

  /** What the controller writes: the binding and the port's overlay entry, in one transaction. */
  const bind = async (i: number) => {
    const p = ports[i];
    const { host } = NODES[i];
    const k = keys.overlayPort(p.network_id, p.port_id);
    await store.txnBatch([
      {
        op: 'put',
        key: keys.portBinding(host, p.port_id),
        value: encodeValue(keys.portBinding(host, p.port_id), p),
      },
      { op: 'put', key: k, value: encodeValue(k, overlayEntry(host, p)) },
    ]);
    bound.add(i);
  };
  const unbind = async (i: number) => {
    const p = ports[i];
    await store.txnBatch([
      { op: 'delete', key: keys.portBinding(NODES[i].host, p.port_id) },
      { op: 'delete', key: keys.overlayPort(p.network_id, p.port_id) },
    ]);
    bound.delete(i);
  };

  const ready = (i: number) =>
    waitFor(
      `port ${ports[i].port_id} ready on ${NODES[i].host}`,
      async () => {
        const { kv } = await store.get(keys.portState(NODES[i].host, ports[i].port_id));
        return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
      },
      60_000,
    );

  /** Remote VTEPs of node i's tunnels of the network. */
  const tunnels = async (i: number): Promise<string[]> =>
    (await ops[i].dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }))
      .filter((t) => t.vni === VNI)
      .map((t) => t.dst_address)
      .sort();
  const tunnelsTo = (i: number, want: string[]) =>
    waitFor(
      `${NODES[i].host}'s tunnels to exactly ${want.join(', ') || 'nobody'}`,
      async () => JSON.stringify(await tunnels(i)) === JSON.stringify([...want].sort()),
      30_000,
    );

  /**
   * Pings that must all be answered. VPP drops the packet that makes it resolve a neighbour (the
   * peer's VTEP on the underlay, on first use): one ping first, retried until answered, then N.
   */
  const reach = async (t: TestContext, what: string, ns: string, ip: string) => {
    let tries = 0;
    await waitFor(`${what}: a first reply`, () => (tries++, ping(ns, ip, 1).received === 1), 20_000);
    const r = ping(ns, ip, N);
    t.diagnostic(`${what}: ${r.received}/${r.sent} replies (first reply at try ${tries})`);
    assert.deepEqual(r, { sent: N, received: N }, what);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netvpp-vxlan-'));
    cleanNet();
    // The underlay: a bridge in its own namespace, one veth per VTEP.
    sh(`ip netns add ${NS_UNDERLAY}`);
    sh(`ip -n ${NS_UNDERLAY} link add br0 type bridge && ip -n ${NS_UNDERLAY} link set br0 up`);
    for (const n of NODES) {
      sh(`ip link add ${n.veth} type veth peer name ${n.veth}b netns ${NS_UNDERLAY}`);
      // VPP's end: the host's kernel stays out of the underlay (no ARP answers, no IPv6 of its own).
      sh(`sysctl -qw net.ipv4.conf.${n.veth}.arp_ignore=8 net.ipv6.conf.${n.veth}.disable_ipv6=1`);
      sh(`ip -n ${NS_UNDERLAY} link set ${n.veth}b master br0 up && ip link set ${n.veth} up`);
      sh(`ip netns add ${n.ns} && ip -n ${n.ns} link set lo up`);
    }
    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    for (const [i, socket] of [REAL_VPP_SOCKET, REAL_VPP2_SOCKET].entries()) {
      const op = await VppClient.connect({ socket, name: `vxlan-test-${i + 1}` });
      ops.push(op);
      // The operator's underlay interface (the agent sets it up and gives it the VTEP address), as
      // VPP's `create host-interface` makes it: checksum offload and GSO on (the kernel VTEP's UDP
      // checksum is left to fill in by its veth), ring sizes VPP's (a tx frame holds a GSO packet).
      await op.request(af_packet_create_v3, {
        mode: 1,
        flags: AfPacketFlags.AF_PACKET_API_FLAG_QDISC_BYPASS | AfPacketFlags.AF_PACKET_API_FLAG_CKSUM_GSO,
        host_if_name: NODES[i].veth,
        use_random_hw_addr: true,
      });
    }
    await put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' });
    await put(keys.secGroup(sg.id), sg);
    for (const [i, n] of NODES.entries()) {
      const p = vmPort(net, {
        vif_type: 'tap',
        vhostuser: null,
        fixed_ips: [{ subnet_id: subnet, ip_address: n.ip }],
        security_groups: [sg.id],
        allowed_address_pairs: i === 1 ? [{ ip_address: VIP, mac_address: '' }] : [],
      });
      p.tap = { host_ifname: `tap${p.port_id.slice(0, 11)}` };
      if (i === 1) p.allowed_address_pairs[0].mac_address = p.mac;
      ports.push(p);
      const a = new Agent(
        {
          host: n.host,
          etcd: { endpoints: etcd.endpoints },
          vppSocket: [REAL_VPP_SOCKET, REAL_VPP2_SOCKET][i],
          physnets: new Map(),
          vhostUserDir: dir,
          tapBackend: 'veth',
          tapBackendSetting: 'veth',
          vxlan: { localIp: n.vtep, underlay: { name: `host-${n.veth}`, prefixLen: 24 } },
          logLevel: 'warn',
          health: null,
          configFile: null,
        },
        { hostNet: linuxHostNet() },
      );
      agents.push(a);
      a.start();
    }
    for (const i of [0, 1]) await bind(i);
    for (const [i, n] of NODES.entries()) {
      await ready(i);
      // The VM takes Neutron's end of the veth (it has the port's MAC already) and the port's address,
      // as a DHCP agent would give it.
      const tap = vmIf(ports[i]);
      sh(`ip link set ${tap} netns ${n.ns}`);
      sh(`ip -n ${n.ns} addr add ${n.ip}/24 dev ${tap} && ip -n ${n.ns} link set ${tap} up`);
      if (i === 1) sh(`ip -n ${n.ns} addr add ${VIP}/24 dev ${tap}`);
    }
  });

  after(async () => {
    try {
      // Ports unbound first, so the agents take their objects out of VPP.
      for (const i of [...bound]) await unbind(i).catch(() => undefined);
      for (const [i, op] of ops.entries())
        await waitFor(
          `${NODES[i].host}'s ports gone`,
          async () => (await op.dump(sw_interface_dump, {})).every((d) => !d.tag.startsWith('netvpp:')),
          20_000,
        ).catch(() => undefined);
    } finally {
      for (const a of agents) await a.stop().catch(() => undefined);
      for (const [i, op] of ops.entries()) {
        if (!op.connected) continue;
        await op.request(af_packet_delete, { host_if_name: NODES[i].veth }).catch(() => undefined);
        await op.close();
      }
      cleanNet();
      // A tap never moved into its VM (a failure before) is still here, with its pair.
      for (const p of ports) sh(`ip link del ${vmIf(p)}`, true);
      store?.close();
      await etcd?.destroy();
      if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a VM on each node: pings cross the tunnels both ways', async (t) => {
    await tunnelsTo(0, [NODES[1].vtep]);
    await tunnelsTo(1, [NODES[0].vtep]);
    await reach(t, 'compute1 VM → compute2 VM', NODES[0].ns, NODES[1].ip);
    await reach(t, 'compute2 VM → compute1 VM', NODES[1].ns, NODES[0].ip);
  });

  it(
    'a TCP connection from a VM on one node to a VM on the other carries every byte',
    {
      skip: has('python3') ? false : 'needs python3 for the TCP ends',
      // VPP opens a tap port's veth without checksum offload (af_packet flags 0), so it never learns
      // that the sender's kernel left the TCP checksum to fill in, and forwards it unfilled: the
      // receiver drops every segment (TcpInCsumErrors). Offload on (VPP's own default) brings GSO,
      // which VPP then hands VXLAN-encapsulated and unsegmented to an af_packet underlay.
      todo: 'TCP over a veth-backed tap port: checksums left unfilled',
    },
    async (t) => {
      const server = spawn(
        'ip',
        ['netns', 'exec', NODES[1].ns, 'python3', '-c', TCP_SERVER, String(TCP_PORT)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      server.stdout.on('data', (d: Buffer) => (out += d.toString()));
      server.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const done = new Promise<void>((resolve) => server.on('close', () => resolve()));
      t.after(async () => {
        server.kill();
        await done;
      });
      await waitFor('the TCP server listening', () => out.startsWith('ready') || err !== '', 10_000);
      assert.equal(err, '', 'the TCP server');
      const r = spawnSync(
        'ip',
        [
          'netns',
          'exec',
          NODES[0].ns,
          'python3',
          '-c',
          TCP_CLIENT,
          NODES[1].ip,
          String(TCP_PORT),
          String(TCP_BYTES),
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      const got = Number(r.stdout.trim());
      const csum = /TcpInCsumErrors\s+(\d+)/.exec(
        sh(`ip netns exec ${NODES[1].ns} nstat -az TcpInCsumErrors`, true),
      );
      t.diagnostic(`compute2 VM: ${csum?.[1] ?? '?'} TCP segments dropped for a bad checksum`);
      t.diagnostic(`compute1 VM → compute2 VM over TCP: ${got}/${TCP_BYTES} bytes ${r.stderr.trim()}`);
      assert.equal(got, TCP_BYTES, `bytes the server received (client: ${r.stderr.trim() || 'ok'})`);
    },
  );

  it('ARP is answered by VPP: the remote VM answering no ARP is still reached, an address nobody terminates is not', async (t) => {
    const [vm1, vm2] = NODES;
    const tap1 = vmIf(ports[0]);
    const tap2 = vmIf(ports[1]);
    // Before: the VIP (in compute2's allowed address pairs, not terminated) is reached, its ARP
    // flooded over the tunnel and answered by the VM itself.
    await reach(t, 'compute1 VM → VIP on compute2 VM, which answers ARP', vm1.ns, VIP);
    // The VM on compute2 stops answering ARP (arp_ignore 8: never), and both VMs forget their neighbours.
    sh(`ip netns exec ${vm2.ns} sysctl -qw net.ipv4.conf.${tap2}.arp_ignore=8`);
    t.after(() => void sh(`ip netns exec ${vm2.ns} sysctl -qw net.ipv4.conf.${tap2}.arp_ignore=0`, true));
    sh(`ip -n ${vm1.ns} neigh flush dev ${tap1} && ip -n ${vm2.ns} neigh flush dev ${tap2}`);
    await reach(t, 'compute1 VM → compute2 VM, answering no ARP', vm1.ns, vm2.ip);
    const neigh = sh(`ip -n ${vm1.ns} neigh show ${vm2.ip} dev ${tap1}`);
    assert.match(neigh, new RegExp(`lladdr ${ports[1].mac}`), `compute1 VM's neighbour entry: ${neigh}`);
    // The VM really answers no ARP: its VIP, which VPP does not terminate, is not reached now.
    for (const [what, ip] of [
      ['VIP on compute2 VM, answering no ARP', VIP],
      ['an address no port has', NOBODY],
    ] as const) {
      const r = ping(vm1.ns, ip, 3);
      const state = sh(`ip -n ${vm1.ns} neigh show ${ip} dev ${tap1}`).trim();
      t.diagnostic(`compute1 VM → ${what}: ${r.received}/${r.sent} replies; neighbour: ${state || 'none'}`);
      assert.equal(r.received, 0, `${what}: no reply`);
      assert.doesNotMatch(state, /lladdr/, `${what}: no ARP answer`);
    }
  });

  it('a Linux VXLAN device as a third VTEP exchanges pings with the VMs on both nodes', async (t) => {
    // On the underlay bridge, in its own namespace: head-end replication to both VPP VTEPs by
    // all-zero FDB entries, its MAC and address in the VM subnet on the VXLAN device itself.
    sh(`ip netns add ${NS_K3}`);
    sh(`ip -n ${NS_K3} link add ${K3.veth} type veth peer name ${K3.veth}b netns ${NS_UNDERLAY}`);
    sh(`ip -n ${NS_UNDERLAY} link set ${K3.veth}b master br0 up`);
    sh(`ip -n ${NS_K3} addr add ${K3.vtep}/24 dev ${K3.veth} && ip -n ${NS_K3} link set ${K3.veth} up`);
    sh(
      `ip -n ${NS_K3} link add ${K3.dev} address ${K3_MAC} type vxlan id ${VNI} local ${K3.vtep} dstport 4789 dev ${K3.veth}`,
    );
    for (const n of NODES) sh(`bridge -n ${NS_K3} fdb append 00:00:00:00:00:00 dev ${K3.dev} dst ${n.vtep}`);
    sh(`ip -n ${NS_K3} addr add ${K3.ip}/24 dev ${K3.dev} && ip -n ${NS_K3} link set ${K3.dev} up`);
    // compute3 as the agents would see it: alive with its VTEP, and a port on the network.
    const alive: HostState = {
      host: K3.host,
      physnets: [],
      network_types: ['vxlan'],
      vif_types: ['tap'],
      vtep: K3.vtep,
      agent_version: 'stand-in',
      vpp: { connected: true, version: null },
      started_at: new Date().toISOString(),
    };
    await put(keys.hostAlive(K3.host), alive);
    await put(keys.overlayPort(net.id, K3_PORT), { host: K3.host, mac: K3_MAC, ips: [K3.ip], revision: 1 });
    await tunnelsTo(0, [NODES[1].vtep, K3.vtep]);
    await tunnelsTo(1, [NODES[0].vtep, K3.vtep]);
    for (const n of NODES) {
      await reach(t, `${n.host} VM → compute3 (kernel VTEP)`, n.ns, K3.ip);
      await reach(t, `compute3 (kernel VTEP) → ${n.host} VM`, NS_K3, n.ip);
    }
  });

  it("a host's last port unbound: its peers' tunnels to it go, the rest of the network still works", async (t) => {
    await unbind(1);
    // compute2 has no port on the network: its bridge and tunnels are gone; compute1 keeps compute3.
    await tunnelsTo(0, [K3.vtep]);
    await tunnelsTo(1, []);
    await reach(t, 'compute1 VM → compute3 (kernel VTEP), compute2 gone', NODES[0].ns, K3.ip);
  });
});

/** Removes every namespace and veth this test makes (leftovers of an earlier run, too). */
function cleanNet(): void {
  for (const ns of [NS_K3, NS_UNDERLAY, ...NODES.map((n) => n.ns)]) sh(`ip netns del ${ns}`, true);
  for (const n of NODES) sh(`ip link del ${n.veth}`, true);
}
