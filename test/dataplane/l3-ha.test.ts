// Real dataplane, real packets: an HA router on two real VPPs ("network nodes"), failing over while
// a floating IP is pinged from outside. Each VPP has two physnets on af_packet uplinks: `ext` into a
// Linux bridge whose namespace is the external network (203.0.113.1, the router's next hop, pings
// from there), `tenant` into another bridge where the VM namespace sits (10.80.0.5, gateway
// 10.80.0.1). Both hosts carry the router (its documents and port bindings on both); their agents
// elect the active one, each in a process of its own. Then the active node dies: its uplinks cut
// off the wire and its agent killed (SIGKILL: no resign, the standby waits for the lease to run out). The pings that went unanswered and the time until replies came back are reported.
//
// Runs only with NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET (two real VPPs with the
// af_packet, nat44_ed and arping plugins), as root, with `ip` and `ping`; skips saying why otherwise.
import { vethAgent } from './agent.ts';
import type { ChildAgentConfig } from './agent-child.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '../../src/agent/agent.ts';
import {
  encodeValue,
  keys,
  PREFIX,
  type FloatingIpDoc,
  type PortBinding,
  type RouterActive,
  type RouterDoc,
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
import { flatNet, uuid, vmPort, type NetworkSpec } from '../agent/helpers/fixtures.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { twoVppSkip, sh } from './two-nodes.ts';

const skip = twoVppSkip('network namespaces, veth');
const HOSTS = ['ha-node1', 'ha-node2'];
const EXT_NS = 'haext';
const TEN_NS = 'haten';
const VM_NS = 'havm';
const FIP = '203.0.113.50';
const TTL = 4;
/** 0.1 s apart: 40 s, room for the lease to run out (TTL) and the takeover on a loaded host. */
const PINGS = 400;
const CHILD = fileURLToPath(new URL('./agent-child.ts', import.meta.url));

describe('real dataplane: an HA router fails over between two VPPs with its floating IP', { skip }, () => {
  let etcd: EtcdProcess;
  let store: Store;
  const ops: VppClient[] = [];
  const agents = new Map<string, Agent>();
  const children = new Map<string, ChildProcess>();
  const stopped = new Set<string>();
  let dir = '';
  const ext = flatNet('ext');
  const ten = flatNet('tenant');
  const r = uuid();
  const port = (
    net: NetworkSpec,
    address: string,
    mac: string,
    role: 'interface' | 'gateway',
  ): PortBinding => ({
    ...vmPort(net, { mac, fixed_ips: [{ subnet_id: net.id, ip_address: address.split('/')[0] }] }),
    vif_type: 'router',
    vhostuser: null,
    tap: null,
    device_owner: role === 'gateway' ? 'network:router_gateway' : 'network:router_interface',
    port_security_enabled: false,
    security_groups: [],
    router: { router_id: r, addresses: [address], role },
  });
  const rif = port(ten, '10.80.0.1/24', 'fa:16:3e:80:00:01', 'interface');
  const gw = port(ext, '203.0.113.10/24', 'fa:16:3e:80:00:02', 'gateway');
  const doc: RouterDoc = {
    router_id: r,
    admin_state_up: true,
    ha: true,
    gateway: {
      port_id: gw.port_id,
      network_id: ext.id,
      next_hops: ['203.0.113.1'],
      snat: true,
      addresses: ['203.0.113.10/24'],
    },
    routes: [],
    revision: 1,
  };
  const fip: FloatingIpDoc = {
    id: uuid(),
    router_id: r,
    floating_ip: FIP,
    fixed_ip: '10.80.0.5',
    port_id: uuid(),
    revision: 1,
  };
  const put = (key: string, v: unknown) => store.put(key, encodeValue(key, v as never));
  const veth = (i: number, net: 'e' | 't') => `ha${net}${i + 1}`;

  const configFor = (i: number): ChildAgentConfig => ({
    host: HOSTS[i],
    endpoints: etcd.endpoints,
    vppSocket: [REAL_VPP_SOCKET, REAL_VPP2_SOCKET][i],
    physnets: [
      ['ext', `host-${veth(i, 'e')}`],
      ['tenant', `host-${veth(i, 't')}`],
    ],
    vhostUserDir: dir,
    haLeaseTtlSec: TTL,
  });
  const agentFor = (i: number): Agent => {
    const c = configFor(i);
    return vethAgent({ ...c, physnets: new Map(c.physnets), logLevel: 'error' });
  };
  /** The agent of node i in a process of its own: the test kills it with SIGKILL. */
  const childFor = async (i: number): Promise<ChildProcess> => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(configFor(i))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((res, rej) => {
      p.stdout.on('data', (d: Buffer) => d.toString().includes('started') && res());
      p.once('exit', (code) => rej(new Error(`agent of ${HOSTS[i]} exited (${code})`)));
    });
    return p;
  };

  const cleanNet = (): void => {
    for (const ns of [EXT_NS, TEN_NS, VM_NS]) sh(`ip netns del ${ns}`, true);
    for (const i of [0, 1]) for (const n of ['e', 't'] as const) sh(`ip link del ${veth(i, n)}`, true);
  };

  before(async () => {
    cleanNet();
    dir = mkdtempSync(join(tmpdir(), 'netvpp-l3ha-'));
    for (const [ns, br] of [
      [EXT_NS, 'br0'],
      [TEN_NS, 'br0'],
    ]) {
      sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
      sh(`ip -n ${ns} link add ${br} type bridge && ip -n ${ns} link set ${br} up`);
    }
    // The external network's own host, on its bridge.
    sh(`ip -n ${EXT_NS} addr add 203.0.113.1/24 dev br0`);
    // The VM, on the tenant bridge.
    sh(`ip netns add ${VM_NS} && ip -n ${VM_NS} link set lo up`);
    sh(`ip link add havm0 type veth peer name havm0b netns ${TEN_NS}`);
    sh(`ip link set havm0 netns ${VM_NS}`);
    sh(`ip -n ${TEN_NS} link set havm0b master br0 up`);
    sh(`ip -n ${VM_NS} addr add 10.80.0.5/24 dev havm0 && ip -n ${VM_NS} link set havm0 up`);
    sh(`ip -n ${VM_NS} route add default via 10.80.0.1`);
    for (const i of [0, 1])
      for (const [n, ns] of [
        ['e', EXT_NS],
        ['t', TEN_NS],
      ] as const) {
        const v = veth(i, n);
        sh(`ip link add ${v} type veth peer name ${v}b netns ${ns}`);
        sh(`sysctl -qw net.ipv4.conf.${v}.arp_ignore=8 net.ipv6.conf.${v}.disable_ipv6=1`);
        sh(`ip -n ${ns} link set ${v}b master br0 up && ip link set ${v} up`);
      }
    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    await put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' });
    for (const [i, socket] of [REAL_VPP_SOCKET, REAL_VPP2_SOCKET].entries()) {
      const op = await VppClient.connect({ socket, name: `l3ha-test-${i + 1}` });
      ops.push(op);
      for (const n of ['e', 't'] as const)
        await op.request(af_packet_create_v3, {
          mode: 1,
          flags: AfPacketFlags.AF_PACKET_API_FLAG_QDISC_BYPASS,
          host_if_name: veth(i, n),
          use_random_hw_addr: true,
        });
      const host = HOSTS[i];
      children.set(host, await childFor(i));
      for (const p of [rif, gw]) await put(keys.portBinding(host, p.port_id), p);
      await put(keys.router(host, r), doc);
      await put(keys.floatingIp(host, fip.id), fip);
    }
    for (const host of HOSTS)
      await waitFor(
        `the floating IP ready on ${host}`,
        async () => {
          const { kv } = await store.get(keys.floatingIpState(host, fip.id));
          return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
        },
        60_000,
      );
  });

  after(async () => {
    try {
      for (const host of HOSTS) await store?.deletePrefix(keys.hostNodes(host));
      // The dead node's VPP still has the router: an agent started there again removes it.
      for (const [i, host] of HOSTS.entries())
        if (stopped.has(host)) {
          const a = agentFor(i);
          agents.set(host, a);
          a.start();
        }
      for (const op of ops)
        await waitFor(
          'the router gone from VPP',
          async () => (await op.dump(sw_interface_dump, {})).every((d) => !d.tag.startsWith('netvpp:')),
          30_000,
        ).catch(() => undefined);
    } finally {
      for (const c of children.values())
        if (c.exitCode === null && c.signalCode === null) {
          const gone = new Promise((res) => c.once('exit', res));
          c.kill('SIGTERM');
          await gone;
        }
      for (const a of agents.values()) await a.stop().catch(() => undefined);
      for (const [i, op] of ops.entries()) {
        for (const n of ['e', 't'] as const)
          await op.request(af_packet_delete, { host_if_name: veth(i, n) }).catch(() => undefined);
        await op.close();
      }
      cleanNet();
      store?.close();
      await etcd?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pings of the floating IP from outside continue on the standby once the active node dies', async (t) => {
    const holder = await waitFor('an elected active host', async () => {
      const { kv } = await store.get(keys.routerActive(r));
      return kv ? (JSON.parse(kv.value) as RouterActive).host : undefined;
    });
    const i = HOSTS.indexOf(holder);
    await waitFor(
      'the floating IP answering from outside',
      () => / 0% packet loss/.test(sh(`ip netns exec ${EXT_NS} ping -n -c 1 -W 1 ${FIP}`, true)),
      30_000,
    );
    // 0.1 s apart for 40 s; each reply's icmp_seq tells when replies stopped and came back.
    const pinger = spawn('ip', [
      'netns',
      'exec',
      EXT_NS,
      'ping',
      '-n',
      '-i',
      '0.1',
      '-W',
      '1',
      '-c',
      String(PINGS),
      FIP,
    ]);
    let out = '';
    pinger.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((res) => pinger.on('close', () => res()));
    await new Promise((res) => setTimeout(res, 3000));
    // The active node dies: off both wires, its agent gone.
    for (const n of ['e', 't'] as const)
      sh(`ip -n ${n === 'e' ? EXT_NS : TEN_NS} link set ${veth(i, n)}b down`);
    (children.get(holder) as ChildProcess).kill('SIGKILL');
    stopped.add(holder);
    await done;
    const seqs = [...out.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
    const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1] ?? 0);
    const lost = sent - seqs.length;
    let gap = 0;
    for (let k = 1; k < seqs.length; k++) gap = Math.max(gap, seqs[k] - seqs[k - 1] - 1);
    t.diagnostic(
      `HA failover (active ${holder} cut off and its agent killed, lease TTL ${TTL} s): ${lost} of ${sent} pings ` +
        `lost, longest gap ${gap} pings = ${(gap * 0.1).toFixed(1)} s`,
    );
    const now = await store.get(keys.routerActive(r));
    assert.equal((JSON.parse(now.kv?.value ?? '{}') as RouterActive).host, HOSTS[1 - i]);
    assert.ok(
      seqs.length > 0 && seqs[seqs.length - 1] > PINGS - 50,
      'replies again at the end, from the standby',
    );
    assert.ok(lost < sent / 2, `most pings answered (${lost} of ${sent} lost)`);
  });
});
