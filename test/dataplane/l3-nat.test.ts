// Real dataplane, real packets: router gateways with NAT44-ED on a real VPP. VMs are network
// namespaces on tap ports (veth + af_packet), the external network (flat on the physnet) is a
// namespace behind the uplink. Asserted with UDP peers that report the source address they see:
// SNAT leaves as the router's gateway address; a floating IP is reachable from outside and its VM
// leaves as it; the same tenant CIDR behind two routers on one external network both work, and
// each address is answered for ARP by its own router only; tenant-to-tenant traffic through a router
// with NAT is not translated; an ECMP extra route spreads flows over its two next hops and their
// answers come back; a floating IP removed is unreachable and its sessions are gone.
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the af_packet and nat plugins), as root,
// with `ip`, `ping`, `python3` and `ethtool`; skips saying why otherwise.
import { vethAgent } from './agent.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.ts';
import {
  encodeValue,
  keys,
  PREFIX,
  tapName,
  type FloatingIpDoc,
  type ObjectState,
  type PortBinding,
  type RouterDoc,
} from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { af_packet_create_v3, af_packet_delete } from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { flatNet, uuid, vlanNet, vmPort, type NetworkSpec } from '../agent/helpers/fixtures.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, sh } from './shell.ts';
import { udpAsk, udpServer, udpWho, type UdpServer } from './udp.ts';

const HOST = 'dp-network-node';
const UPLINK = 'dp-up0';
const EXT = 'dpext';
const PORT = 7000;

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, veth)'
    : !has('ip') || !has('ping') || !has('python3') || !has('ethtool')
      ? 'needs ip, ping, python3 and ethtool'
      : false;

interface Vm {
  ns: string;
  port: PortBinding;
  ip: string;
  gw: string;
}

const who = (answer: string | null): string | undefined => answer?.split(' ')[1];

describe('real dataplane: SNAT, floating IPs, two routers on one external network, ECMP', { skip }, () => {
  let etcd: EtcdProcess;
  let store: Store;
  let op: VppClient;
  let agent: Agent;
  let dir = '';
  let uplink = -1;
  const servers = new Map<string, UdpServer>();
  const vms = new Map<string, Vm>();
  const bound: PortBinding[] = [];
  const ext = flatNet();
  const [netA, netB, netC] = [vlanNet(301), vlanNet(302), vlanNet(303)];
  const r1 = uuid();
  const r2 = uuid();

  const routerPort = (
    net: NetworkSpec,
    routerId: string,
    address: string,
    role: 'interface' | 'gateway',
  ): PortBinding => ({
    ...vmPort(net, { fixed_ips: [{ subnet_id: net.id, ip_address: address.split('/')[0] }] }),
    vif_type: 'router',
    vhostuser: null,
    tap: null,
    device_owner: role === 'gateway' ? 'network:router_gateway' : 'network:router_interface',
    port_security_enabled: false,
    router: { router_id: routerId, addresses: [address], role },
  });
  const gw1 = routerPort(ext, r1, '203.0.113.10/24', 'gateway');
  const gw2 = routerPort(ext, r2, '203.0.113.20/24', 'gateway');
  const routerDoc = (
    id: string,
    gw: PortBinding,
    address: string,
    routes: RouterDoc['routes'],
  ): RouterDoc => ({
    router_id: id,
    admin_state_up: true,
    ha: false,
    gateway: {
      port_id: gw.port_id,
      network_id: ext.id,
      next_hops: ['203.0.113.1'],
      snat: true,
      addresses: [address],
    },
    routes,
    revision: 1,
  });
  const fip = (routerId: string, floating: string, vm: string): FloatingIpDoc => ({
    id: uuid(),
    router_id: routerId,
    floating_ip: floating,
    fixed_ip: (vms.get(vm) as Vm).ip,
    port_id: (vms.get(vm) as Vm).port.port_id,
    revision: 1,
  });
  let fipA: FloatingIpDoc;
  let fipC: FloatingIpDoc;

  const put = async (k: string, v: unknown): Promise<void> => {
    await store.put(k, encodeValue(k, v));
  };
  const bind = async (b: PortBinding): Promise<void> => {
    await put(keys.portBinding(HOST, b.port_id), b);
    bound.push(b);
  };
  const vmOn = (net: NetworkSpec, ns: string, ip: string, gw: string): Vm => {
    const p = vmPort(net, {
      vif_type: 'tap',
      vhostuser: null,
      device_owner: 'compute:nova',
      fixed_ips: [{ subnet_id: net.id, ip_address: ip }],
      port_security_enabled: false,
    });
    p.tap = { host_ifname: tapName(p.port_id) };
    return { ns, port: p, ip, gw };
  };
  const ready = (key: string, revision = 0) =>
    waitFor(
      `${key} ready`,
      async () => {
        const { kv } = await store.get(key);
        if (!kv) return false;
        const s = JSON.parse(kv.value) as ObjectState;
        return s.ready && (s.revision ?? 0) >= revision;
      },
      60_000,
    );
  /** The MAC the external network's host resolved `ip` to (its neighbour table flushed first). */
  const arpOf = (ip: string): string => {
    sh(`ip netns exec ${EXT} ip neigh flush dev ext`, true);
    sh(`ip netns exec ${EXT} ping -n -c 1 -W 1 ${ip}`, true);
    return /lladdr (\S+)/.exec(sh(`ip netns exec ${EXT} ip neigh show ${ip} dev ext`))?.[1] ?? 'none';
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netvpp-l3nat-'));
    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    op = await VppClient.connect({ socket: REAL_VPP_SOCKET, name: 'l3-nat-test' });
    sh(`ip netns del ${EXT}`, true);
    sh(`ip link del ${UPLINK}`, true);
    sh(`ip netns add ${EXT} && ip link add ${UPLINK} type veth peer name dp-up1`);
    sh(`ip link set dp-up1 netns ${EXT} && ip link set ${UPLINK} up`);
    // The external network: flat (untagged) on the wire, its upstream router at 203.0.113.1.
    const inExt = (c: string) => sh(`ip netns exec ${EXT} ${c}`);
    inExt('ip link set dp-up1 name ext');
    inExt('ip addr add 203.0.113.1/24 dev ext');
    inExt('ip link set ext up');
    // veth leaves UDP checksums to the receiver (offload); VPP's af_packet passes them on unfilled.
    inExt('ethtool -K ext tx off');
    inExt('ip link set lo up');
    uplink = (
      await op.request(af_packet_create_v3, { host_if_name: UPLINK, use_random_hw_addr: true, mode: 1 })
    ).sw_if_index;
    const marker = { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' };
    await put(keys.syncMarker, marker);
    agent = vethAgent({
      host: HOST,
      endpoints: etcd.endpoints,
      vppSocket: REAL_VPP_SOCKET,
      physnets: new Map([['physnet1', `host-${UPLINK}`]]),
      vhostUserDir: dir,
    });
    agent.start();
    // r1: VM a (floating IP), nh1 and nh2 (ECMP next hops) on A, b (SNAT) on B.
    // r2: VM c on C, the same CIDR and address as a, with a floating IP of its own.
    for (const v of [
      vmOn(netA, 'dpa', '10.1.1.20', '10.1.1.1'),
      vmOn(netA, 'dpnh1', '10.1.1.5', '10.1.1.1'),
      vmOn(netA, 'dpnh2', '10.1.1.6', '10.1.1.1'),
      vmOn(netB, 'dpb', '10.1.2.5', '10.1.2.1'),
      vmOn(netC, 'dpc', '10.1.1.20', '10.1.1.1'),
    ]) {
      vms.set(v.ns.slice(2), v);
      sh(`ip netns del ${v.ns}`, true);
      sh(`ip netns add ${v.ns}`);
      await bind(v.port);
    }
    for (const b of [
      routerPort(netA, r1, '10.1.1.1/24', 'interface'),
      routerPort(netB, r1, '10.1.2.1/24', 'interface'),
      routerPort(netC, r2, '10.1.1.1/24', 'interface'),
      gw1,
      gw2,
    ])
      await bind(b);
    await put(
      keys.router(HOST, r1),
      routerDoc(r1, gw1, '203.0.113.10/24', [
        { destination: '172.16.0.0/16', nexthops: ['10.1.1.5', '10.1.1.6'] },
      ]),
    );
    await put(keys.router(HOST, r2), routerDoc(r2, gw2, '203.0.113.20/24', []));
    fipA = fip(r1, '203.0.113.50', 'a');
    fipC = fip(r2, '203.0.113.60', 'c');
    await put(keys.floatingIp(HOST, fipA.id), fipA);
    await put(keys.floatingIp(HOST, fipC.id), fipC);
    for (const b of bound) await ready(keys.portState(HOST, b.port_id));
    for (const r of [r1, r2]) await ready(keys.routerState(HOST, r));
    for (const f of [fipA, fipC]) await ready(keys.floatingIpState(HOST, f.id));
    for (const v of vms.values()) {
      const ifname = tapName(v.port.port_id);
      const inVm = (c: string) => sh(`ip netns exec ${v.ns} ${c}`);
      sh(`ip link set ${ifname} netns ${v.ns}`);
      inVm(`ip addr add ${v.ip}/24 dev ${ifname}`);
      inVm(`ip link set ${ifname} up`);
      inVm(`ethtool -K ${ifname} tx off`);
      inVm('ip link set lo up');
      inVm(`ip route add default via ${v.gw}`);
    }
    // The ECMP destination is an address of both next hops.
    for (const n of ['dpnh1', 'dpnh2']) sh(`ip netns exec ${n} ip addr add 172.16.0.1/32 dev lo`);
    for (const [ns, name] of [
      [EXT, 'ext'],
      ['dpa', 'a'],
      ['dpb', 'b'],
      ['dpc', 'c'],
      ['dpnh1', 'nh1'],
      ['dpnh2', 'nh2'],
    ])
      servers.set(name, await udpServer(ns, PORT, name));
  });

  after(async () => {
    try {
      for (const s of servers.values()) s.process.kill();
      for (const k of [keys.floatingIp(HOST, fipA?.id ?? ''), keys.floatingIp(HOST, fipC?.id ?? '')])
        await store?.delete(k);
      for (const r of [r1, r2]) await store?.delete(keys.router(HOST, r));
      for (const b of bound) await store?.delete(keys.portBinding(HOST, b.port_id));
      if (agent) {
        await waitFor('every port removed', () => agent.health().ports.total === 0, 30_000).catch(
          () => undefined,
        );
        await agent.whenIdle();
      }
    } finally {
      await agent?.stop();
      for (const v of vms.values()) sh(`ip netns del ${v.ns}`, true);
      sh(`ip netns del ${EXT}`, true);
      sh(`ip link del ${UPLINK}`, true);
      if (op?.connected) {
        if (uplink >= 0) await op.request(af_packet_delete, { host_if_name: UPLINK }).catch(() => undefined);
        await op.close();
      }
      store?.close();
      await etcd?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SNAT: a VM without a floating IP is seen outside as its router’s gateway address', () => {
    assert.equal(who(udpWho('dpb', '203.0.113.1', PORT)), '203.0.113.10');
  });

  it('a floating IP: reachable from outside (ping and UDP), and its VM leaves as it', () => {
    sh(`ip netns exec ${EXT} ping -n -c 1 -W 1 203.0.113.50`, true); // resolves the neighbours
    const out = sh(`ip netns exec ${EXT} ping -n -c 5 -i 0.2 -W 1 203.0.113.50`, true);
    assert.equal(Number(/(\d+) received/.exec(out)?.[1] ?? 0), 5, out);
    assert.equal(udpWho(EXT, '203.0.113.50', PORT), 'a 203.0.113.1');
    assert.equal(who(udpWho('dpa', '203.0.113.1', PORT)), '203.0.113.50');
  });

  it('the same tenant CIDR behind two routers: both work, each address answered by its own router', () => {
    assert.equal(who(udpWho('dpc', '203.0.113.1', PORT)), '203.0.113.60');
    assert.equal(udpWho(EXT, '203.0.113.60', PORT), 'c 203.0.113.1');
    assert.equal(udpWho(EXT, '203.0.113.50', PORT), 'a 203.0.113.1');
    // NAT44-ED puts all four addresses on both gateways' outside interfaces; ARP must still name the owner.
    const mac1 = gw1.mac.toLowerCase();
    const mac2 = gw2.mac.toLowerCase();
    const seen = Object.fromEntries(
      ['203.0.113.10', '203.0.113.50', '203.0.113.20', '203.0.113.60'].map((ip) => [ip, arpOf(ip)]),
    );
    assert.deepEqual(seen, {
      '203.0.113.10': mac1,
      '203.0.113.50': mac1,
      '203.0.113.20': mac2,
      '203.0.113.60': mac2,
    });
  });

  it('tenant to tenant through a router with NAT: not translated, both ways', () => {
    // Router r2's VRF has a default route through its own outside interface: with NAT44-ED's
    // inside/outside features that made r1's tenant flows translated (docs/l3.md, NAT44-ED design).
    assert.equal(udpWho('dpb', '10.1.1.20', PORT), 'a 10.1.2.5');
    assert.equal(udpWho('dpa', '10.1.2.5', PORT), 'b 10.1.1.20');
  });

  it('ECMP: distinct flows to an extra route with two next hops are spread over both, and answered', async (t) => {
    udpAsk('dpb', '172.16.0.1', PORT, 4); // the router resolves both next hops
    // udpAsk blocks the event loop: let the servers' lines about the warm-up come in first.
    await new Promise((r) => setTimeout(r, 500));
    const [nh1, nh2] = [servers.get('nh1') as UdpServer, servers.get('nh2') as UdpServer];
    const before = [nh1.received.length, nh2.received.length];
    const answers = udpAsk('dpb', '172.16.0.1', PORT, 64, 0, 0.5);
    await new Promise((r) => setTimeout(r, 500));
    // Flows by their source port (a datagram may arrive twice: the client's timeout is short).
    const got = [nh1.received.slice(before[0]), nh2.received.slice(before[1])].map((l) => new Set(l));
    const sources = new Set([...got[0], ...got[1]].map((l) => l.split(' ')[0]));
    // The answers came back to the VM: each names its next hop and the untranslated source.
    const replies = { nh1: 0, nh2: 0, other: 0, none: 0 };
    for (const a of answers) {
      if (a === null) replies.none++;
      else if (a === 'nh1 10.1.2.5') replies.nh1++;
      else if (a === 'nh2 10.1.2.5') replies.nh2++;
      else replies.other++;
    }
    t.diagnostic(
      `64 flows: arrived nh1 ${got[0].size}, nh2 ${got[1].size}, sources seen ${[...sources].join(',')}; ` +
        `answers from nh1 ${replies.nh1}, nh2 ${replies.nh2}, other ${replies.other}, none ${replies.none}`,
    );
    assert.deepEqual([...sources], ['10.1.2.5'], 'the next hops see the VM’s own address');
    assert.equal(replies.other, 0);
    // Nearly all answered (a datagram may be lost on a loaded host); what matters is both answer.
    assert.ok(replies.nh1 + replies.nh2 >= 60, `${replies.nh1 + replies.nh2} of 64 answered`);
    assert.ok(replies.nh1 > 0 && replies.nh2 > 0, `answers: nh1 ${replies.nh1}, nh2 ${replies.nh2}`);
  });

  it('a floating IP removed: unreachable from outside, its sessions flushed', async () => {
    // A flow from a fixed source port: its session translates it to the floating IP.
    assert.equal(who(udpWho('dpa', '203.0.113.1', PORT, 41000)), '203.0.113.50');
    await store.delete(keys.floatingIp(HOST, fipA.id));
    await waitFor(
      'the floating IP state gone',
      async () => (await store.get(keys.floatingIpState(HOST, fipA.id))).kv === undefined,
      30_000,
    );
    await agent.whenIdle();
    assert.deepEqual(udpAsk(EXT, '203.0.113.50', PORT, 3), [null, null, null]);
    const out = sh(`ip netns exec ${EXT} ping -n -c 3 -i 0.2 -W 1 203.0.113.50`, true);
    assert.equal(Number(/(\d+) received/.exec(out)?.[1] ?? 0), 0, out);
    // The same 5-tuple again: a session left behind would still say 203.0.113.50.
    assert.equal(who(udpWho('dpa', '203.0.113.1', PORT, 41000)), '203.0.113.10');
    // The other router's floating IP is untouched.
    assert.equal(udpWho(EXT, '203.0.113.60', PORT), 'c 203.0.113.1');
  });
});
