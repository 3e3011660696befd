// Real dataplane, real packets: QoS on a real VPP (docs/qos.md). Two VMs (network namespaces on tap
// ports: veth + af_packet) on one VLAN network; the sender's port has a QoS policy. A UDP flood from
// it loses most of its packets once a bandwidth limit is set (far more packets than the rate lets
// through in the time the flood takes: counts with generous bounds, no timing asserted), and what
// arrives carries the policy's DSCP (read with IP_RECVTOS in the receiving namespace).
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the af_packet and policer plugins), as
// root, with `ip` and `python3`; skips saying why otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import {
  encodeValue,
  keys,
  PREFIX,
  tapName,
  type PortBinding,
  type QosPolicy,
} from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { af_packet_create_v3, af_packet_delete, policer_dump } from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { uuid, vlanNet, vmPort } from '../agent/helpers/fixtures.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { vethAgent } from './agent.ts';
import { has, sh } from './shell.ts';

const HOST = 'qos-node';
const UPLINK = 'nvq-up0';
const WIRE = 'nvq-wire';
const PORT = 5201;
const FLOOD = 4000;
const SIZE = 1000;

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, veth)'
    : !has('ip') || !has('python3')
      ? 'needs ip and python3'
      : false;

/** Counts datagrams and their TOS bytes until 1.5 s pass without one; prints one JSON line. */
const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
n, tos, started = 0, {}, False
s.settimeout(30)
while True:
    try:
        d, anc, _, _ = s.recvmsg(4096, 64)
    except socket.timeout:
        break
    s.settimeout(1.5)
    n += 1
    for lvl, typ, data in anc:
        if lvl == socket.IPPROTO_IP and typ == socket.IP_TOS:
            tos[data[0]] = tos.get(data[0], 0) + 1
print(json.dumps({'count': n, 'tos': tos}), flush=True)
`;

const SENDER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = b'q' * int(sys.argv[4])
for i in range(int(sys.argv[3])):
    try:
        s.sendto(payload, (sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
`;

interface Vm {
  ns: string;
  port: PortBinding;
  ip: string;
}

/** Floods `to` from `from`; returns what the receiver counted. */
async function flood(from: Vm, to: Vm, n = FLOOD): Promise<{ count: number; tos: Record<string, number> }> {
  const rx = spawn('ip', ['netns', 'exec', to.ns, 'python3', '-c', RECEIVER, String(PORT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve) => {
    rx.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
  });
  const r = spawnSync('ip', [
    'netns',
    'exec',
    from.ns,
    'python3',
    '-c',
    SENDER,
    to.ip,
    String(PORT),
    String(n),
    String(SIZE),
  ]);
  if (r.status !== 0) throw new Error(`sender: ${r.stderr.toString()}`);
  await new Promise<void>((resolve) => rx.once('exit', () => resolve()));
  const line = out.split('\n').find((l) => l.startsWith('{')) as string;
  return JSON.parse(line) as { count: number; tos: Record<string, number> };
}

describe('real dataplane: a QoS policy limits what a VM sends and marks its DSCP', { skip }, () => {
  let etcd: EtcdProcess;
  let store: Store;
  let op: VppClient;
  let agent: Agent;
  let dir = '';
  const net = vlanNet(321);
  const policy: QosPolicy = { id: uuid(), revision: 1, egress: null, ingress: null, dscp_mark: null };
  const vm = (ns: string, ip: string): Vm => {
    const p = vmPort(net, {
      vif_type: 'tap',
      vhostuser: null,
      fixed_ips: [{ subnet_id: net.id, ip_address: ip }],
      port_security_enabled: false,
    });
    p.tap = { host_ifname: tapName(p.port_id) };
    return { ns, port: p, ip };
  };
  const a = vm('nvq-a', '10.62.0.5');
  const b = vm('nvq-b', '10.62.0.6');
  const putPolicy = async (p: QosPolicy) =>
    store.put(keys.qosPolicy(p.id), encodeValue(keys.qosPolicy(p.id), p));
  const put = async (p: PortBinding) => {
    const k = keys.portBinding(HOST, p.port_id);
    await store.put(k, encodeValue(k, p));
  };
  const ready = (p: PortBinding, revision: number) =>
    waitFor(
      `port ${p.port_id} ready at ${revision}`,
      async () => {
        const { kv } = await store.get(keys.portState(HOST, p.port_id));
        const s = kv ? (JSON.parse(kv.value) as { ready: boolean; revision: number }) : undefined;
        return s?.ready === true && s.revision === revision;
      },
      60_000,
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netvpp-qos-'));
    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    op = await VppClient.connect({ socket: REAL_VPP_SOCKET, name: 'qos-test' });
    sh(`ip netns del ${WIRE}`, true);
    sh(`ip link del ${UPLINK}`, true);
    sh(`ip netns add ${WIRE} && ip link add ${UPLINK} type veth peer name nvq-up1`);
    sh(`ip link set nvq-up1 netns ${WIRE} && ip link set ${UPLINK} up`);
    await op.request(af_packet_create_v3, { host_if_name: UPLINK, use_random_hw_addr: true, mode: 1 });
    const marker = { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' };
    await store.put(keys.syncMarker, encodeValue(keys.syncMarker, marker));
    await putPolicy(policy);
    agent = vethAgent({
      host: HOST,
      endpoints: etcd.endpoints,
      vppSocket: REAL_VPP_SOCKET,
      physnets: new Map([['physnet1', `host-${UPLINK}`]]),
      vhostUserDir: dir,
    });
    agent.start();
    for (const v of [a, b]) {
      sh(`ip netns del ${v.ns}`, true);
      sh(`ip netns add ${v.ns}`);
      await put(v === a ? { ...v.port, qos_policy_id: policy.id } : v.port);
      await ready(v.port, 1);
      const ifname = tapName(v.port.port_id);
      sh(`ip link set ${ifname} netns ${v.ns}`);
      sh(`ip netns exec ${v.ns} ip addr add ${v.ip}/24 dev ${ifname}`);
      sh(`ip netns exec ${v.ns} ip link set ${ifname} up && ip netns exec ${v.ns} ip link set lo up`);
    }
    sh(`ip netns exec ${a.ns} ping -c 2 -W 2 ${b.ip}`, true); // ARP both ways
  });

  after(async () => {
    try {
      for (const v of [a, b]) await store?.delete(keys.portBinding(HOST, v.port.port_id));
      if (agent)
        await waitFor('ports removed', () => agent.health().ports.total === 0, 30_000).catch(() => undefined);
    } finally {
      await agent?.stop();
      for (const v of [a, b]) sh(`ip netns del ${v.ns}`, true);
      sh(`ip netns del ${WIRE}`, true);
      sh(`ip link del ${UPLINK}`, true);
      if (op?.connected) {
        await op.request(af_packet_delete, { host_if_name: UPLINK }).catch(() => undefined);
        await op.close();
      }
      store?.close();
      await etcd?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an empty policy lets the flood through unmarked; a limit drops most of it; DSCP marks what passes', async () => {
    const free = await flood(a, b);
    assert.ok(free.count > FLOOD * 0.2, `without a limit much of the flood arrives (${free.count}/${FLOOD})`);
    assert.deepEqual(Object.keys(free.tos), ['0']);

    // 1 Mbit/s with a 64 kbit burst: in the fraction of a second the flood takes, at most a few
    // hundred of its 4,000 packets (4 MB) fit.
    await putPolicy({
      ...policy,
      revision: 2,
      egress: { max_kbps: 1000, max_burst_kbps: 64 },
      dscp_mark: 46,
    });
    await waitFor('the limit in VPP', async () =>
      (await op.dump(policer_dump, { match_name_valid: false, match_name: '' })).some((p) => p.cir === 1000),
    );
    const limited = await flood(a, b);
    assert.ok(limited.count > 0, 'some packets pass');
    assert.ok(
      limited.count < free.count / 4,
      `the limit drops most of the flood (${limited.count} vs ${free.count})`,
    );
    // DSCP 46 (EF) is TOS 0xb8 = 184.
    assert.deepEqual(
      Object.keys(limited.tos),
      ['184'],
      `every packet marked EF: ${JSON.stringify(limited.tos)}`,
    );
  });
});
