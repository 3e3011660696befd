// Real dataplane, real packets: a VXLAN network between two real VPPs, each the VPP of one compute
// node with its own agent. The underlay is a Linux bridge in a namespace, one veth per VTEP, whose
// other ends VPP opens as af_packet interfaces; the VMs are network namespaces holding the Neutron
// end of each tap port (veth backend): ./two-nodes.ts, shared with gpe.test.ts. Checks, counting pings: a VM on each node reach each other; ARP is answered by
// VPP's termination (the remote VM answering no ARP at all), and an address no port has gets no
// answer; a Linux VXLAN device as a third VTEP (a host netvpp does not manage, published as the
// agents would see it) exchanges pings with both VMs; a host's last port leaving removes its
// tunnels. test/agent/vxlan.test.ts checks the same objects on simulated VPPs.
//
// Runs only with NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET (two real VPPs with the vxlan,
// acl and af_packet plugins, on this host), as root, with `ip` and `ping`; skips saying why otherwise.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { keys, type SecurityGroup } from '../../src/model/keyspace.ts';
import { vxlan_tunnel_v2_dump } from '../../src/vpp/binapi/index.ts';
import { secGroup, vxlanNet } from '../agent/helpers/fixtures.ts';
import { rule as anyRule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, ping, sh, twoVppSkip, TwoNodes } from './two-nodes.ts';

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

describe(
  'real dataplane: a VXLAN network between two real VPPs',
  { skip: twoVppSkip('network namespaces, veth pairs, a bridge, a VXLAN device') },
  () => {
    const net = vxlanNet(VNI);
    const icmpIn = anyRule({ protocol: 1, remote_ip_prefix: '0.0.0.0/0' });
    const egress = [anyRule({ direction: 'egress' }), anyRule({ direction: 'egress', ethertype: 'IPv6' })];
    const tcpIn = anyRule({
      protocol: 6,
      port_range_min: TCP_PORT,
      port_range_max: TCP_PORT,
      remote_ip_prefix: '0.0.0.0/0',
    });
    const sg: SecurityGroup = secGroup([...egress, icmpIn, tcpIn]);
    const w = new TwoNodes({
      name: 'vxlan',
      nodes: NODES,
      underlayNs: NS_UNDERLAY,
      moreNs: [NS_K3],
      net,
      subnet: '0e0e0e0e-0000-4000-8000-000000000001',
      sg,
      port: (i, p) => {
        if (i === 1) p.allowed_address_pairs = [{ ip_address: VIP, mac_address: p.mac }];
      },
      vmReady: (i, tap) => {
        if (i === 1) sh(`ip -n ${NODES[1].ns} addr add ${VIP}/24 dev ${tap}`);
      },
    });
    const { ports, vmIf } = w;
    const reach = w.reach.bind(w);

    /** Remote VTEPs of node i's tunnels of the network. */
    const tunnels = async (i: number): Promise<string[]> =>
      (await w.ops[i].dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }))
        .filter((t) => t.vni === VNI)
        .map((t) => t.dst_address)
        .sort();
    const tunnelsTo = (i: number, want: string[]) =>
      waitFor(
        `${NODES[i].host}'s tunnels to exactly ${want.join(', ') || 'nobody'}`,
        async () => JSON.stringify(await tunnels(i)) === JSON.stringify([...want].sort()),
        30_000,
      );

    before(() => w.setup());
    after(() => w.teardown());

    it('a VM on each node: pings cross the tunnels both ways', async (t) => {
      await tunnelsTo(0, [NODES[1].vtep]);
      await tunnelsTo(1, [NODES[0].vtep]);
      await reach(t, 'compute1 VM → compute2 VM', NODES[0].ns, NODES[1].ip);
      await reach(t, 'compute2 VM → compute1 VM', NODES[1].ns, NODES[0].ip);
    });

    it(
      'a TCP connection from a VM on one node to a VM on the other carries every byte',
      {
        // VPP opens a tap port's veth without checksum offload (af_packet flags 0), so it can't learn
        // that a sender's kernel left the TCP checksum to fill in: the agent turns checksum offload off
        // on the namespace's end (src/agent/host-net.ts), or every segment would arrive corrupt.
        skip: !has('python3') ? 'needs python3 for the TCP ends' : !has('ethtool') ? 'needs ethtool' : false,
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
      for (const n of NODES)
        sh(`bridge -n ${NS_K3} fdb append 00:00:00:00:00:00 dev ${K3.dev} dst ${n.vtep}`);
      sh(`ip -n ${NS_K3} addr add ${K3.ip}/24 dev ${K3.dev} && ip -n ${NS_K3} link set ${K3.dev} up`);
      // compute3 as the agents would see it: alive with its VTEP, and a port on the network.
      await w.putAlive(K3.host, K3.vtep, ['vxlan']);
      await w.put(keys.overlayPort(net.id, K3_PORT), {
        host: K3.host,
        mac: K3_MAC,
        ips: [K3.ip],
        revision: 1,
      });
      await tunnelsTo(0, [NODES[1].vtep, K3.vtep]);
      await tunnelsTo(1, [NODES[0].vtep, K3.vtep]);
      for (const n of NODES) {
        await reach(t, `${n.host} VM → compute3 (kernel VTEP)`, n.ns, K3.ip);
        await reach(t, `compute3 (kernel VTEP) → ${n.host} VM`, NS_K3, n.ip);
      }
    });

    it("a host's last port unbound: its peers' tunnels to it go, the rest of the network still works", async (t) => {
      await w.unbind(1);
      // compute2 has no port on the network: its bridge and tunnels are gone; compute1 keeps compute3.
      await tunnelsTo(0, [K3.vtep]);
      await tunnelsTo(1, []);
      await reach(t, 'compute1 VM → compute3 (kernel VTEP), compute2 gone', NODES[0].ns, K3.ip);
    });
  },
);
