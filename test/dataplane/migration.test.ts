// Real dataplane: Nova's live migration of a real guest between two real VPPs. Two compute nodes, each
// a real VPP (NETVPP_TEST_VPP_SOCKET, NETVPP_TEST_VPP2_SOCKET) with its own netvpp agent, one etcd;
// the flat physical network is a Linux bridge in a namespace (the physical switch) with one veth to
// each node, whose far ends the VPPs open as af_packet uplinks, and one to a "physnet host"
// namespace that pings the guest all along. The guest (guest.ts: Debian's kernel under QEMU TCG) is
// on a vhost-user port of the first VPP, QEMU the socket server as Nova runs it.
//
// The binding flow as the controller writes it when Nova calls Neutron: the destination's INACTIVE
// binding first (the second agent plumbs the port: vhost-user interface, bridge, ACLs — and VPP
// connects to the destination QEMU, started with `-incoming`), then QEMU's own live migration over a
// unix socket (`migrate` on the source's QMP), the source QEMU stopped, the destination binding
// activated (the source's turned inactive), the source binding deleted (the first agent takes the
// port out of its VPP). The ping from the physnet host is counted: lost pings are reported, and
// replies must come from the destination once the source is gone. The guest is the same one (a file
// written before is there after; it never rebooted). While QEMU migrates, VPP's side of the source
// port must have VHOST_F_LOG_ALL negotiated (VPP logs the guest pages it writes to).
//
// Skips, saying why, without two real VPPs, root, QEMU and the guest packages (guest.ts).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '../../src/agent/agent.ts';
import { encodeValue, keys, PREFIX, type PortBinding } from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import {
  acl_interface_list_dump,
  af_packet_create_v3,
  af_packet_delete,
  sw_interface_dump,
  sw_interface_vhost_user_dump,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP2_SOCKET, REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { flatNet, secGroup, vmPort } from '../agent/helpers/fixtures.ts';
import { rule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { vethAgent } from './agent.ts';
import { Guest, guestUnavailableReason } from './guest.ts';
import { Qmp, type MigrationInfo } from './qmp.ts';
import { twoVppSkip, sh } from './two-nodes.ts';

const HOSTS = ['mig-node1', 'mig-node2'] as const;
const SWITCH_NS = 'mig1-phys';
const PING_NS = 'mig1-ping';
/** VPP's ends of the physnet veths (the switch gets <name>b). */
const UPLINKS = ['mig1u1', 'mig1u2'] as const;
const PING_IF = 'mig1p';
const PINGER_IP = '10.79.0.1';
const GUEST_IP = '10.79.0.10';
const VHOST_F_LOG_ALL = 1 << 26;
/** The steady ping's interval, seconds (root may go below 0.2). */
const INTERVAL = 0.1;

const skip = twoVppSkip('network namespaces, veth pairs, QEMU') || (guestUnavailableReason() ?? false);

/** A ping left running: its replies by sequence number, as they come. */
class SteadyPing {
  private readonly child: ChildProcess;
  private out = '';
  readonly replied = new Set<number>();
  private readonly done: Promise<void>;

  constructor(ns: string, ip: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-i', String(INTERVAL), ip], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (b: Buffer) => {
      this.out += b.toString();
      for (const m of b.toString().matchAll(/icmp_seq=(\d+) /g)) this.replied.add(Number(m[1]));
    });
    this.done = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** The highest sequence number answered so far (0: none). */
  get last(): number {
    return Math.max(0, ...this.replied);
  }

  /** Stops it (SIGINT: ping prints its summary); what it sent and what came back. */
  async stop(): Promise<{ sent: number; received: number; lost: number[] }> {
    this.child.kill('SIGINT');
    await this.done;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(this.out);
    const sent = Number(m?.[1] ?? 0);
    const lost: number[] = [];
    for (let seq = 1; seq <= sent; seq++) if (!this.replied.has(seq)) lost.push(seq);
    return { sent, received: Number(m?.[2] ?? 0), lost };
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

describe('real dataplane: a real guest live-migrated by QEMU between two real VPPs', { skip }, () => {
  let etcd: EtcdProcess;
  let store: Store;
  let dir = '';
  const ops: VppClient[] = [];
  const agents: Agent[] = [];
  const guests: Guest[] = [];
  const qmps: Qmp[] = [];
  let pinger: SteadyPing | undefined;
  const net = flatNet('physnet1');
  const sg = secGroup([
    rule({ direction: 'ingress' }),
    rule({ direction: 'egress' }),
    rule({ direction: 'egress', ethertype: 'IPv6' }),
  ]);
  let src: PortBinding;

  const put = async (key: string, value: unknown): Promise<void> => {
    await store.put(key, encodeValue(key, value as never));
  };
  /** Node i's copy of the binding: its own socket path (both "hosts" share this machine's /run). */
  const on = (i: number, status?: 'inactive'): PortBinding => {
    const b: PortBinding = {
      ...src,
      vhostuser: { socket: join(dir, `vhost-node${i + 1}.sock`), mode: 'server' },
    };
    if (status) b.binding_status = status;
    return b;
  };
  const portIf = async (i: number): Promise<number | undefined> =>
    (await ops[i].dump(sw_interface_dump, {})).find((d) => d.tag === `netvpp:port:${src.port_id}`)
      ?.sw_if_index;
  const filtered = async (i: number, ifIndex: number): Promise<boolean> =>
    (await ops[i].dump(acl_interface_list_dump, { sw_if_index: ifIndex })).some((a) => a.count > 0);
  const ready = (i: number): Promise<true> =>
    waitFor(
      `the port ready on ${HOSTS[i]}`,
      async () => {
        const { kv } = await store.get(keys.portState(HOSTS[i], src.port_id));
        return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
      },
      300_000,
    );

  const cleanNet = (): void => {
    for (const ns of [SWITCH_NS, PING_NS]) sh(`ip netns del ${ns}`, true);
    for (const v of [...UPLINKS, PING_IF]) sh(`ip link del ${v}`, true);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netvpp-migration-'));
    cleanNet();
    sh(`ip netns add ${SWITCH_NS} && ip -n ${SWITCH_NS} link add br0 type bridge`);
    sh(`ip -n ${SWITCH_NS} link set br0 up`);
    for (const v of UPLINKS) {
      sh(`ip link add ${v} type veth peer name ${v}b netns ${SWITCH_NS}`);
      sh(`sysctl -qw net.ipv4.conf.${v}.arp_ignore=8 net.ipv6.conf.${v}.disable_ipv6=1`);
      sh(`ip -n ${SWITCH_NS} link set ${v}b master br0 up && ip link set ${v} up`);
    }
    sh(`ip netns add ${PING_NS} && ip -n ${PING_NS} link set lo up`);
    sh(`ip link add ${PING_IF} netns ${PING_NS} type veth peer name ${PING_IF}b netns ${SWITCH_NS}`);
    sh(`ip -n ${SWITCH_NS} link set ${PING_IF}b master br0 up`);
    sh(`ip -n ${PING_NS} addr add ${PINGER_IP}/24 dev ${PING_IF} && ip -n ${PING_NS} link set ${PING_IF} up`);

    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    for (const [i, socket] of [REAL_VPP_SOCKET, REAL_VPP2_SOCKET].entries()) {
      const op = await VppClient.connect({ socket, name: `migration-test-${i + 1}` });
      ops.push(op);
      await op.request(af_packet_create_v3, {
        mode: 1,
        host_if_name: UPLINKS[i],
        use_random_hw_addr: true,
        rx_frame_size: 2048,
        tx_frame_size: 2048,
        rx_frames_per_block: 32,
        tx_frames_per_block: 32,
      });
    }
    await put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' });
    await put(keys.secGroup(sg.id), sg);
    for (const [i, host] of HOSTS.entries()) {
      const a = vethAgent({
        host,
        endpoints: etcd.endpoints,
        vppSocket: [REAL_VPP_SOCKET, REAL_VPP2_SOCKET][i],
        physnets: new Map([['physnet1', `host-${UPLINKS[i]}`]]),
        vhostUserDir: dir,
      });
      agents.push(a);
      a.start();
    }
    src = vmPort(net, {
      fixed_ips: [{ subnet_id: '6d1c1c4e-7a43-4d44-9d7e-3f0b8a1e0a01', ip_address: GUEST_IP }],
      security_groups: [sg.id],
    });
  });

  after(async () => {
    pinger?.kill();
    for (const q of qmps) q.close();
    for (const g of guests) await g.stop();
    try {
      for (const host of HOSTS)
        await store?.delete(keys.portBinding(host, src.port_id)).catch(() => undefined);
      for (const i of ops.keys())
        await waitFor(`${HOSTS[i]}'s port gone`, async () => (await portIf(i)) === undefined, 20_000).catch(
          () => undefined,
        );
    } finally {
      for (const a of agents) await a.stop().catch(() => undefined);
      for (const [i, op] of ops.entries()) {
        if (!op.connected) continue;
        await op.request(af_packet_delete, { host_if_name: UPLINKS[i] }).catch(() => undefined);
        await op.close();
      }
      cleanNet();
      store?.close();
      await etcd?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'inactive binding plumbs the destination, QEMU migrates, activation, source binding deleted: the ping goes on',
    { timeout: 900_000 },
    async (t) => {
      const log = (m: string): void => t.diagnostic(m);
      // The guest boots on node 1 (QEMU waits for VPP to connect to its socket first).
      await put(keys.portBinding(HOSTS[0], src.port_id), on(0));
      const source = new Guest({
        name: 'mig-src',
        mac: src.mac,
        nic: { type: 'vhost-user', socket: on(0).vhostuser?.socket as string },
        dir,
        qmp: true,
      });
      guests.push(source);
      source.start();
      await ready(0);
      await source.ready();
      // No DHCP server here: the port's fixed IP, set by hand (the DHCP client stopped).
      await source.run(
        `kill $(pidof udhcpc); ip -4 addr flush dev eth0; ip addr add ${GUEST_IP}/24 dev eth0; ` +
          `echo before-migration > /tmp/marker; cat /proc/uptime`,
      );
      await waitFor(
        'the guest to reach the physnet host',
        async () => (await source.ping(PINGER_IP, 1)) === 1,
        60_000,
      );
      const qSrc = await Qmp.connect(source.qmpSocket);
      qmps.push(qSrc);

      // Nova: the destination's inactive binding; node 2 plumbs the port, filtering included, and
      // its VPP connects to the destination QEMU, which waits for the migration stream.
      const stream = join(dir, 'migration.sock');
      const dest = new Guest({
        name: 'mig-dst',
        mac: src.mac,
        nic: { type: 'vhost-user', socket: on(1).vhostuser?.socket as string },
        dir,
        qmp: true,
        incoming: `unix:${stream}`,
      });
      guests.push(dest);
      dest.start();
      await put(keys.portBinding(HOSTS[1], src.port_id), on(1, 'inactive'));
      const destIf = await waitFor(
        'the destination port plumbed and filtered on node 2',
        async () => {
          const idx = await portIf(1);
          return idx !== undefined && (await filtered(1, idx)) ? idx : undefined;
        },
        120_000,
      );
      const qDst = await Qmp.connect(dest.qmpSocket, 120_000); // answers once VPP connected
      qmps.push(qDst);
      assert.equal((await qDst.execute<{ status: string }>('query-status')).status, 'inmigrate');
      const srcIf = (await portIf(0)) as number;
      assert.ok(await filtered(0, srcIf), 'the source is filtered and untouched');

      // The steady ping from the physnet host, answered by the guest on node 1.
      pinger = new SteadyPing(PING_NS, GUEST_IP);
      await waitFor(
        'the steady ping answered before the migration',
        () => pinger && pinger.replied.size >= 10,
        60_000,
      );

      // QEMU's own live migration; VPP's side of the source port must log dirty pages meanwhile.
      const migrateAt = pinger.last;
      await qSrc.execute('migrate', { uri: `unix:${stream}` });
      let logAll = false;
      const info = await waitFor(
        'the migration to finish',
        async () => {
          const [v] = await ops[0].dump(sw_interface_vhost_user_dump, { sw_if_index: srcIf });
          if (v && v.features_first_32 & VHOST_F_LOG_ALL) logAll = true;
          const m = await qSrc.execute<MigrationInfo>('query-migrate');
          return m.status === 'completed' || m.status === 'failed' || m.status === 'cancelled'
            ? m
            : undefined;
        },
        600_000,
      );
      const migratedAt = pinger.last;
      assert.equal(info.status, 'completed', `migration ${info.status}: ${info['error-desc'] ?? ''}`);
      log(
        `QEMU migration: ${info['total-time']} ms in all, ${info.downtime} ms of downtime, ` +
          `${info.ram?.transferred} bytes of RAM in ${info.ram?.['dirty-sync-count']} dirty-page syncs`,
      );
      assert.ok(logAll, 'VHOST_F_LOG_ALL negotiated on the source port while QEMU migrated');
      await waitFor(
        'the destination guest running',
        async () => (await qDst.execute<{ status: string }>('query-status')).status === 'running',
        60_000,
      );

      // The source QEMU goes (libvirt destroys it); Nova activates the destination binding and
      // deletes the source's, which the controller writes as: destination active, source inactive,
      // then the source's binding gone.
      await source.stop();
      await store.txnBatch([
        {
          op: 'put',
          key: keys.portBinding(HOSTS[1], src.port_id),
          value: encodeValue(keys.portBinding(HOSTS[1], src.port_id), on(1)),
        },
        {
          op: 'put',
          key: keys.portBinding(HOSTS[0], src.port_id),
          value: encodeValue(keys.portBinding(HOSTS[0], src.port_id), on(0, 'inactive')),
        },
      ]);
      await ready(1);
      const activatedAt = pinger.last;
      await store.delete(keys.portBinding(HOSTS[0], src.port_id));
      await waitFor(
        'node 1 to take the port out of its VPP',
        async () => (await portIf(0)) === undefined,
        60_000,
      );
      assert.equal(await portIf(1), destIf, 'the destination keeps the interface it plumbed');

      // The ping goes on, answered from node 2 only now: 20 more replies after the source is gone.
      const gone = pinger.last;
      await waitFor(
        '20 more replies from the destination',
        () => pinger && pinger.last >= gone + 20,
        120_000,
      );
      const r = await pinger.stop();
      pinger = undefined;
      // Lost pings by phase, by the last sequence number answered when each step began.
      const phases: [string, number, number][] = [
        ['before the migration', 0, migrateAt],
        ['while QEMU migrated', migrateAt, migratedAt],
        ['migrated, until the destination was active', migratedAt, activatedAt],
        ['until the source binding was gone', activatedAt, gone],
        ['after', gone, Infinity],
      ];
      const byPhase = phases
        .map(([what, from, to]) => `${r.lost.filter((s) => s > from && s <= to).length} ${what}`)
        .join(', ');
      log(
        `steady ping every ${INTERVAL} s from the physnet host: ${r.sent} sent, ${r.received} answered, ` +
          `${r.sent - r.received} lost (${byPhase}; sequence numbers ${r.lost.join(', ') || 'none'})`,
      );
      assert.deepEqual(
        r.lost.filter((s) => s > gone && s <= gone + 20),
        [],
        'the 20 pings after the source was gone, all answered from the destination',
      );

      // The same guest, running on node 2: its file is there, it did not reboot, it reaches the host.
      await dest.ready();
      assert.equal((await dest.run('cat /tmp/marker')).out, 'before-migration');
      assert.equal(await dest.ping(PINGER_IP, 5), 5);
    },
  );
});
