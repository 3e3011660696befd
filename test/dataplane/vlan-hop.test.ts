// Real dataplane, real packets: VLAN hopping. A "VM" (a network namespace holding a tap port's
// Neutron end) sends N ARP requests of each kind from a raw socket — untagged, 802.1Q (VLAN 123),
// 802.1ad (VLAN 123), double-tagged (802.1ad 123 + 802.1Q 7) and priority-tagged (802.1Q VLAN 0) —
// and a raw socket on "the wire" (another namespace, on the far end of the veth whose af_packet
// interface is the flat network's physnet uplink) counts what VPP forwarded. The agent's VLAN-tag
// guard (an admin-down default sub-interface on the port, src/agent/kinds/tagdrop.ts) must let
// every untagged frame out and no tagged one; without the guard the tagged frames must leave (so
// the test can fail); the agent puts it back — at once, on VPP's deleted event, and at a restart.
// Tap ports with and without port security; and, with dpdk-testpmd as the VM, a vhost-user port,
// where a priority tag gets past the guard (the limit docs/agent.md states).
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the acl and af_packet plugins, on this
// host), as root, with `ip` and `python3`; skips saying why otherwise (the vhost-user case also
// needs dpdk-testpmd). Tap ports are veth-backed (tap_backend = veth: no /dev/vhost-net needed).
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { keys, type PortBinding, type SecurityGroup } from '../../src/model/keyspace.ts';
import { delete_subif, sw_interface_dump, type SwInterfaceDetails } from '../../src/vpp/binapi/index.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { flatNet, secGroup, vmPort } from '../agent/helpers/fixtures.ts';
import { rule as anyRule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, sh } from './shell.ts';
import { listen, vethLab, type Lab } from './veth-lab.ts';

const HOST = 'dataplane-vlan';
const NS_WIRE = 'nvt-vlan-wire';
const NS_VM = 'nvt-vlan-vm';
const UPLINK = 'nvtvw0'; // VPP's side; the wire namespace gets nvtvw1
const N = 5;
/** What the VM sends, by its place in the ARP target address 10.99.<kind>.<n>. */
const KINDS = {
  untagged: [],
  dot1q: [[0x8100, 123]],
  dot1ad: [[0x88a8, 123]],
  double: [
    [0x88a8, 123],
    [0x8100, 7],
  ],
  /** 802.1p: a priority tag, VLAN 0 (af_packet is VPP's per-packet path: the guard catches it). */
  priority: [[0x8100, 0]],
} as const;
type Kind = keyof typeof KINDS;

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, veth pairs, raw sockets)'
    : !has('ip') || !has('python3')
      ? 'needs ip and python3'
      : false;

// The VM: N ARP requests of each kind, from the port's MAC and address, on a raw socket — or, with
// "pcap:<file>" for the interface, written to a pcap file for testpmd to send.
const SEND = `
import socket, struct, sys, json
ifname, mac, ip, n, kinds = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), socket.inet_aton(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
frames = []
for ki, tags in enumerate(kinds):
    for k in range(n):
        arp = struct.pack('>HHBBH', 1, 0x0800, 6, 4, 1) + mac + ip + b'\\0' * 6 + bytes([10, 99, ki + 1, k + 1])
        frame = b'\\xff' * 6 + mac + b''.join(struct.pack('>HH', t, v) for t, v in tags) + b'\\x08\\x06' + arp
        frames.append(frame.ljust(60, b'\\0'))
if ifname.startswith('pcap:'):
    with open(ifname[5:], 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack('<IIII', 0, 0, len(fr), len(fr)) + fr)
else:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    for fr in frames:
        s.send(fr)
`;

// The wire: every frame for SECS seconds; the kernel takes the outer tag off into metadata, which
// PACKET_AUXDATA gives back (with its TPID). Prints [kind, n, [[tpid, vid], ...]] per ARP of ours.
const RECV = `
import socket, struct, sys, json, time
ifname, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((ifname, 0))
s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA
s.settimeout(0.1)
print('ready', flush=True)
out, end = [], time.time() + secs
while time.time() < end:
    try:
        data, anc, _, addr = s.recvmsg(4096, socket.CMSG_SPACE(20))
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    tags = []
    for level, kind, aux in anc:
        if level == 263 and kind == 8:
            status, _, _, _, _, tci, tpid = struct.unpack('IIIHHHH', aux[:20])
            if status & (1 << 4):
                tags.append([tpid if status & (1 << 6) else 0x8100, tci & 0xfff])
    off, et = 12, struct.unpack('>H', data[12:14])[0]
    while et in (0x8100, 0x88a8):
        tags.append([et, struct.unpack('>H', data[off + 2:off + 4])[0] & 0xfff])
        off += 4
        et = struct.unpack('>H', data[off:off + 2])[0]
    arp = data[off + 2:]
    if et == 0x0806 and len(arp) >= 28 and arp[24:26] == bytes([10, 99]):
        out.append([arp[26], arp[27], tags])
print(json.dumps(out), flush=True)
`;

interface Seen {
  /** Frames of each kind that reached the wire. */
  count: Record<Kind, number>;
  /** The tags they carried there, per kind (first frame's). */
  tags: Partial<Record<Kind, number[][]>>;
}

describe(
  'real dataplane: VLAN-tagged frames from a VM port never reach the network (VLAN hopping)',
  { skip },
  () => {
    let lab: Lab;
    const net = flatNet('physnet1');
    const egress = [anyRule({ direction: 'egress' }), anyRule({ direction: 'egress', ethertype: 'IPv6' })];
    const sg: SecurityGroup = secGroup(egress);

    const startAgent = (): Agent => lab.startAgent();
    const ready = (p: PortBinding, revision = p.revision) => lab.ready(p, revision);

    const portIf = async (p: PortBinding): Promise<SwInterfaceDetails> =>
      waitFor(`the interface of ${p.port_id}`, async () =>
        (await lab.op.dump(sw_interface_dump, {})).find((d) => d.tag === `netvpp:port:${p.port_id}`),
      );

    const guards = async (p: PortBinding): Promise<SwInterfaceDetails[]> => {
      const port = await portIf(p);
      return (await lab.op.dump(sw_interface_dump, {})).filter(
        (d) => d.sup_sw_if_index === port.sw_if_index && d.sw_if_index !== port.sw_if_index,
      );
    };

    /** The VM sends N frames of every kind; returns what the wire saw. */
    const exchange = async (send: () => void | Promise<void>): Promise<Seen> => {
      const received = await listen<[number, number, number[][]][]>(NS_WIRE, join(lab.dir, 'recv.py'), [
        'nvtvw1',
        '3',
      ]);
      await send();
      const frames = await received();
      const names = Object.keys(KINDS) as Kind[];
      const seen: Seen = { count: { untagged: 0, dot1q: 0, dot1ad: 0, double: 0, priority: 0 }, tags: {} };
      const distinct = new Set<string>();
      for (const [k, n, tags] of frames) {
        const kind = names[k - 1];
        if (!kind || distinct.has(`${k}.${n}`)) continue;
        distinct.add(`${k}.${n}`);
        seen.count[kind]++;
        seen.tags[kind] ??= tags;
      }
      return seen;
    };

    before(async () => {
      lab = await vethLab({
        host: HOST,
        client: 'vlan-hop-test',
        namespaces: [NS_WIRE, NS_VM],
        wire: { ns: NS_WIRE, peer: 'nvtvw1' },
        uplink: UPLINK,
        files: { 'send.py': SEND, 'recv.py': RECV },
      });
      await lab.put(keys.secGroup(sg.id), sg);
      startAgent();
    });

    after(async () => {
      await lab?.close();
    });

    /** What reaches the wire of each kind, as counts out of N. */
    type Counts = Record<Kind, number>;
    const blocked = (over: Partial<Counts> = {}): Counts => ({
      untagged: N,
      dot1q: 0,
      dot1ad: 0,
      double: 0,
      priority: 0,
      ...over,
    });

    /**
     * The guard's life on a bound port: there (and admin down), deleted behind the running agent's
     * back (VPP's deleted event: re-created at once), deleted with no agent (tagged frames hop),
     * the agent restarted (re-created). `send` makes the VM send N frames of each kind.
     */
    const scenario = async (
      t: TestContext,
      p: PortBinding,
      send: () => void | Promise<void>,
      expect: { guarded: Counts; unguarded: Counts; unguardedTags: Partial<Record<Kind, number[][]>> },
    ) => {
      const check = async (what: string, want: Counts, tags: Partial<Record<Kind, number[][]>> = {}) => {
        const seen = await exchange(send);
        const line = (k: Kind, n: number) => {
          const on = (seen.tags[k] ?? []).map(([tpid, vid]) => `0x${tpid.toString(16)}/${vid}`);
          return `${k} ${n}/${N}${on.length ? ` (on the wire ${on.join(' ')})` : ''}`;
        };
        t.diagnostic(
          `${what}: ${(Object.keys(KINDS) as Kind[]).map((k) => line(k, seen.count[k])).join(', ')}`,
        );
        assert.deepEqual(seen.count, want, what);
        for (const [k, v] of Object.entries(tags))
          assert.deepEqual(seen.tags[k as Kind], v, `${what}: ${k} tags`);
      };
      const [guard] = await guards(p);
      assert.equal(guard?.tag, `netvpp:tagdrop:${p.port_id}`, 'the guard is there');
      assert.equal(guard.flags & 1, 0, 'and admin down');
      await check('guard on', expect.guarded);

      // The agent running: VPP's deleted event brings the guard back at once.
      await lab.op.request(delete_subif, { sw_if_index: guard.sw_if_index });
      const back = await waitFor(
        'the guard re-created by the running agent',
        async () =>
          (await guards(p)).find((g) => g.tag === `netvpp:tagdrop:${p.port_id}` && (g.flags & 1) === 0),
        10_000,
      );
      await check('guard re-created on the deleted event', expect.guarded);

      // No agent to notice: without the guard, tagged frames hop onto the network.
      await lab.stopAgent();
      t.after(() => {
        if (!lab.agent) startAgent();
      });
      await lab.op.request(delete_subif, { sw_if_index: back.sw_if_index });
      assert.deepEqual(await guards(p), [], 'the guard deleted');
      await check('guard deleted, agent stopped', expect.unguarded, expect.unguardedTags);

      // The agent restarted finds it missing and creates it again.
      const agent = startAgent();
      await waitFor(
        'the guard re-created at the restart',
        async () => (await guards(p)).length === 1,
        30_000,
      );
      await agent.whenIdle();
      await check('agent restarted', expect.guarded);
    };

    const bind = async (t: TestContext, p: PortBinding) => {
      await lab.bind(p);
      t.after(async () => {
        await lab.store.delete(keys.portBinding(HOST, p.port_id));
        await waitFor(
          'the port removed',
          async () => (await lab.op.dump(sw_interface_dump, {})).every((d) => !d.tag.includes(p.port_id)),
          20_000,
        ).catch(() => undefined);
      });
    };

    for (const security of [true, false]) {
      it(`tap port (veth + af_packet), port security ${security ? 'on' : 'off'}: untagged frames pass, tagged ones only while the guard is gone`, async (t) => {
        const p = vmPort(net, {
          vif_type: 'tap',
          vhostuser: null,
          device_owner: 'compute:nova',
          fixed_ips: [{ subnet_id: net.id, ip_address: security ? '10.77.1.5' : '10.77.1.6' }],
          port_security_enabled: security,
          security_groups: security ? [sg.id] : [],
        });
        const vmIf = `tap${p.port_id.slice(0, 11)}`;
        p.tap = { host_ifname: vmIf };
        await bind(t, p);
        await ready(p);
        // Neutron's end of the veth goes into the VM (the VPP end stays: af_packet holds it).
        sh(`ip link set ${vmIf} netns ${NS_VM} && ip netns exec ${NS_VM} ip link set ${vmIf} up`);
        const kinds = JSON.stringify(Object.values(KINDS));
        const send = () =>
          void sh(
            `ip netns exec ${NS_VM} python3 ${join(lab.dir, 'send.py')} ${vmIf} ${p.mac} ${p.fixed_ips[0].ip_address} ${N} '${kinds}'`,
          );
        await scenario(t, p, send, {
          guarded: blocked(),
          // With port security the MAC-IP ACL has sessions for untagged frames, one 802.1Q tag and
          // 802.1ad + 802.1Q (acl.c); the double-tagged frame reaches it as 802.1Q + 802.1Q (below),
          // misses them and is an "input ACL table-miss drop". Without port security it leaves.
          unguarded: { untagged: N, dot1q: N, dot1ad: N, double: security ? 0 : N, priority: N },
          // The kernel takes the outer tag off into metadata and VPP's af_packet input puts it back
          // as 802.1Q whatever its TPID: the VM's 802.1ad VLAN 123 is 802.1Q VLAN 123 on the uplink.
          unguardedTags: { dot1q: [[0x8100, 123]], dot1ad: [[0x8100, 123]] },
        });
      });
    }

    it(
      'vhost-user port (testpmd as the VM, sending from a pcap file): the same, but for a priority tag',
      { skip: has('dpdk-testpmd') ? false : 'needs dpdk-testpmd (Debian package dpdk-dev) to play the VM' },
      async (t) => {
        const p = vmPort(net, {
          fixed_ips: [{ subnet_id: net.id, ip_address: '10.77.1.7' }],
          security_groups: [sg.id],
        });
        p.vhostuser = { socket: join(lab.dir, p.port_id), mode: 'server' };
        const pcap = join(lab.dir, 'vm.pcap');
        sh(
          `python3 ${join(lab.dir, 'send.py')} pcap:${pcap} ${p.mac} ${p.fixed_ips[0].ip_address} ${N} '${JSON.stringify(Object.values(KINDS))}'`,
        );
        await bind(t, p);
        // Port 0 reads the pcap file once each time it starts; io forwarding sends it out port 1, the
        // VM's NIC. As the vhost-user server it waits for VPP to connect before it prompts.
        const vm = spawn(
          'dpdk-testpmd',
          [
            '-l',
            '0-1',
            '--no-huge',
            '-m',
            '1024',
            '--no-pci',
            '--file-prefix',
            'nvt-vlanvm',
            '--single-file-segments',
            '--vdev',
            `net_pcap0,rx_pcap=${pcap},tx_pcap=${join(lab.dir, 'from-vpp.pcap')}`,
            '--vdev',
            `net_virtio_user0,path=${p.vhostuser.socket},server=1,queues=1,mac=${p.mac}`,
            '--',
            '-i',
            '--forward-mode=io',
            '--no-flush-rx',
            '--nb-cores=1',
            '--total-num-mbufs=8192',
          ],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        );
        let log = '';
        vm.stdout.on('data', (d: Buffer) => (log += d.toString()));
        vm.stderr.on('data', (d: Buffer) => (log += d.toString()));
        const exited = new Promise<void>((resolve) => vm.on('close', () => resolve()));
        t.after(async () => {
          vm.stdin.end('quit\n');
          const killer = setTimeout(() => vm.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        });
        const command = async (line: string) => {
          const mark = log.length;
          vm.stdin.write(`${line}\n`);
          await waitFor(`testpmd: ${line}`, () => log.indexOf('testpmd> ', mark) >= 0, 10_000);
        };
        await waitFor('testpmd up', () => log.includes('testpmd> '), 60_000);
        await ready(p);
        const send = async () => {
          await command('port stop 0');
          await command('port start 0');
          await command('start');
          await new Promise((r) => setTimeout(r, 500));
          await command('stop');
        };
        await scenario(t, p, send, {
          // VPP's vhost-user input hands a single VLAN 0 tag to the main interface without looking
          // for a sub-interface (the limit docs/agent.md states): priority-tagged frames get through.
          guarded: blocked({ priority: N }),
          // Here the tags reach VPP as sent. The MAC-IP ACL has sessions for untagged frames, one
          // 802.1Q tag and 802.1ad + 802.1Q (acl.c): a lone 802.1ad tag misses them and is dropped,
          // the other tagged frames from the port's MAC and address leave.
          unguarded: { untagged: N, dot1q: N, dot1ad: 0, double: N, priority: N },
          unguardedTags: {
            dot1q: [[0x8100, 123]],
            double: [
              [0x88a8, 123],
              [0x8100, 7],
            ],
          },
        });
      },
    );
  },
);
