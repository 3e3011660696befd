// Real dataplane, real packets: Neutron routers on a real VPP. VMs are network namespaces on tap
// ports (veth + af_packet, as the agent makes them without /dev/vhost-net); two routers, each with
// two subnets — the same two CIDRs behind both (overlapping tenants). Pings cross each router
// between its subnets, reach each gateway, and never cross from one router's tenants to the other's.
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the af_packet plugin), as root, with `ip`
// and `ping`; skips saying why otherwise.
import { vethAgent } from './agent.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.ts';
import { encodeValue, keys, PREFIX, tapName, type PortBinding } from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { af_packet_create_v3, af_packet_delete } from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { uuid, vlanNet, vmPort, type NetworkSpec } from '../agent/helpers/fixtures.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, sh } from './shell.ts';

const HOST = 'router-node';
/** The physnet's uplink: a veth whose far end sits in a namespace of its own (the wire; nothing echoes). */
const UPLINK = 'nvr-up0';
const WIRE = 'nvr-wire';

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, veth)'
    : !has('ip') || !has('ping')
      ? 'needs ip and ping'
      : false;

interface Vm {
  ns: string;
  port: PortBinding;
  ip: string;
  gw: string;
}

/** Replies to `count` pings from `vm` to `to`. */
function ping(vm: Vm, to: string, count = 5): number {
  const out = sh(`ip netns exec ${vm.ns} ping -n -c ${count} -i 0.2 -W 1 ${to}`, true);
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

describe(
  'real dataplane: routers route between their subnets, and keep overlapping tenants apart',
  { skip },
  () => {
    let etcd: EtcdProcess;
    let store: Store;
    let op: VppClient;
    let agent: Agent;
    let dir = '';
    let uplink = -1;
    const vms: Vm[] = [];
    const bound: PortBinding[] = [];
    // Router r1: 10.61.1.0/24 and 10.61.2.0/24; router r2: the same CIDRs, on other networks.
    const r1 = uuid();
    const r2 = uuid();
    const nets = [vlanNet(301), vlanNet(302), vlanNet(303), vlanNet(304)];

    const put = async (b: PortBinding): Promise<void> => {
      const k = keys.portBinding(HOST, b.port_id);
      await store.put(k, encodeValue(k, b));
      bound.push(b);
    };
    const routerPort = (net: NetworkSpec, routerId: string, address: string): PortBinding => ({
      ...vmPort(net, { fixed_ips: [{ subnet_id: net.id, ip_address: address.split('/')[0] }] }),
      vif_type: 'router',
      vhostuser: null,
      tap: null,
      device_owner: 'network:router_interface',
      port_security_enabled: false,
      router: { router_id: routerId, addresses: [address] },
    });
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
    const ready = (p: PortBinding) =>
      waitFor(
        `port ${p.port_id} ready`,
        async () => {
          const { kv } = await store.get(keys.portState(HOST, p.port_id));
          return kv !== undefined && (JSON.parse(kv.value) as { ready: boolean }).ready;
        },
        60_000,
      );

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'netvpp-routers-'));
      etcd = await startEtcd();
      store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
      op = await VppClient.connect({ socket: REAL_VPP_SOCKET, name: 'routers-test' });
      sh(`ip netns del ${WIRE}`, true);
      sh(`ip link del ${UPLINK}`, true);
      sh(`ip netns add ${WIRE} && ip link add ${UPLINK} type veth peer name nvr-up1`);
      sh(`ip link set nvr-up1 netns ${WIRE} && ip link set ${UPLINK} up`);
      uplink = (
        await op.request(af_packet_create_v3, { host_if_name: UPLINK, use_random_hw_addr: true, mode: 1 })
      ).sw_if_index;
      const marker = { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' };
      await store.put(keys.syncMarker, encodeValue(keys.syncMarker, marker));
      agent = vethAgent({
        host: HOST,
        endpoints: etcd.endpoints,
        vppSocket: REAL_VPP_SOCKET,
        physnets: new Map([['physnet1', `host-${UPLINK}`]]),
        vhostUserDir: dir,
      });
      agent.start();
      vms.push(
        vmOn(nets[0], 'nvr-a', '10.61.1.5', '10.61.1.1'),
        vmOn(nets[1], 'nvr-b', '10.61.2.5', '10.61.2.1'),
        vmOn(nets[2], 'nvr-c', '10.61.1.5', '10.61.1.1'),
        vmOn(nets[3], 'nvr-d', '10.61.2.6', '10.61.2.1'),
      );
      for (const vm of vms) {
        sh(`ip netns del ${vm.ns}`, true);
        sh(`ip netns add ${vm.ns}`);
        await put(vm.port);
      }
      for (const [i, net] of nets.entries())
        await put(routerPort(net, i < 2 ? r1 : r2, `${i % 2 === 0 ? '10.61.1.1' : '10.61.2.1'}/24`));
      for (const b of bound) await ready(b);
      // Neutron's end of each veth goes into its VM, with the port's address and the router as gateway.
      for (const vm of vms) {
        const ifname = tapName(vm.port.port_id);
        sh(`ip link set ${ifname} netns ${vm.ns}`);
        sh(`ip netns exec ${vm.ns} ip addr add ${vm.ip}/24 dev ${ifname}`);
        sh(`ip netns exec ${vm.ns} ip link set ${ifname} up && ip netns exec ${vm.ns} ip link set lo up`);
        sh(`ip netns exec ${vm.ns} ip route add default via ${vm.gw}`);
      }
    });

    after(async () => {
      try {
        for (const b of bound) await store?.delete(keys.portBinding(HOST, b.port_id));
        if (agent) {
          await waitFor('every port removed', () => agent.health().ports.total === 0, 30_000).catch(
            () => undefined,
          );
          await agent.whenIdle();
        }
      } finally {
        await agent?.stop();
        for (const vm of vms) sh(`ip netns del ${vm.ns}`, true);
        sh(`ip netns del ${WIRE}`, true);
        sh(`ip link del ${UPLINK}`, true);
        if (op?.connected) {
          if (uplink >= 0)
            await op.request(af_packet_delete, { host_if_name: UPLINK }).catch(() => undefined);
          await op.close();
        }
        store?.close();
        await etcd?.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('each VM reaches its gateway (the router interface answers ARP and ping)', () => {
      for (const vm of vms) assert.equal(ping(vm, vm.gw, 3), 3, `${vm.ns} → ${vm.gw}`);
    });

    it('east-west: across router r1 and, with the same CIDRs, across router r2', () => {
      const [a, b, c, d] = vms;
      assert.equal(ping(a, b.ip), 5, 'a → b through r1');
      assert.equal(ping(b, a.ip), 5, 'b → a through r1');
      assert.equal(ping(c, d.ip), 5, 'c → d through r2');
      assert.equal(ping(d, c.ip), 5, 'd → c through r2');
    });

    it('overlapping tenants stay apart: r1’s VMs never reach r2’s', () => {
      const [a, , , d] = vms;
      // 10.61.2.6 is d behind r2; behind r1 that subnet has only b (10.61.2.5).
      assert.equal(ping(a, d.ip, 3), 0, 'a → 10.61.2.6 finds nobody in r1’s VRF');
    });
  },
);
