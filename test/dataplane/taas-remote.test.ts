// Real dataplane, real packets: remote SPAN (docs/taas.md) between two real VPPs, each the VPP of one
// compute node with its own agent (./two-nodes.ts: a VXLAN network, a VM on each node, an underlay
// bridge). A on node 1 is mirrored into a tap service port S on node 2 (a third namespace there):
// node 1's agent sends A's copies into a VXLAN tunnel of the tap service's VNI, node 2's
// cross-connects that tunnel into S. tcpdump in S's namespace must see A's echo requests and the
// replies, the ping answered in full; with the flow deleted, the tunnels and cross-connect go.
//
// Runs only with NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET (two real VPPs with the vxlan,
// acl and af_packet plugins, on this host), as root, with ip, ping and tcpdump; skips saying why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keys, type PortBinding, type TapFlowDoc } from '../../src/model/keyspace.ts';
import {
  l2_xconnect_dump,
  sw_interface_span_dump,
  vxlan_tunnel_v2_dump,
} from '../../src/vpp/binapi/index.ts';
import { secGroup, uuid, vmPort, vxlanNet } from '../agent/helpers/fixtures.ts';
import { rule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { capture, count } from './capture.ts';
import { has, sh, twoVppSkip, TwoNodes } from './two-nodes.ts';

const NODES = [
  { host: 'tas2-n1', vtep: '198.51.100.41', ns: 'tas2-a', veth: 'tas2vx1', ip: '10.79.0.11' },
  { host: 'tas2-n2', vtep: '198.51.100.42', ns: 'tas2-b', veth: 'tas2vx2', ip: '10.79.0.12' },
] as const;
const NS_S = 'tas2-s';
const S_IP = '10.79.0.13';
const TAP_VNI = 0xf00000 + 7;
const N = 5;
const ALL = 0xffffffff;

const skip =
  twoVppSkip('network namespaces, veth pairs, a bridge') || (!has('tcpdump') ? 'needs tcpdump' : false);

describe(
  'real dataplane: remote SPAN, a port on one VPP mirrored into a tap service port on another',
  { skip },
  () => {
    const net = vxlanNet(5077);
    const sg = secGroup([
      rule({ direction: 'egress' }),
      rule({ direction: 'ingress', protocol: 1 }),
      rule({ direction: 'ingress', protocol: 17 }),
    ]);
    const nodes = new TwoNodes({
      name: 'taas-remote',
      nodes: NODES,
      underlayNs: 'tas2-ul',
      moreNs: [NS_S],
      net,
      subnet: uuid(),
      sg,
    });
    let s: PortBinding;
    const sIf = () => nodes.vmIf(s);
    const flow = (role: 'source' | 'service'): TapFlowDoc => ({
      id: FLOW,
      tap_service_id: SERVICE,
      source_port: nodes.ports[0].port_id,
      service_port: s.port_id,
      direction: 'BOTH',
      role,
      source_host: NODES[0].host,
      service_host: NODES[1].host,
      taas_id: 7,
      peer_host: role === 'source' ? NODES[1].host : NODES[0].host,
      vni: TAP_VNI,
      erspan: null,
      revision: 1,
    });
    const FLOW = uuid();
    const SERVICE = uuid();
    const flowReady = (i: number) =>
      waitFor(
        `tap flow ready on ${NODES[i].host}`,
        async () => {
          const { kv } = await nodes.store.get(keys.tapFlowState(NODES[i].host, FLOW));
          return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
        },
        60_000,
      );

    before(async () => {
      await nodes.setup();
      // The tap service's port on node 2: no port security (a monitoring VM's usual setting).
      s = vmPort(net, {
        vif_type: 'tap',
        vhostuser: null,
        fixed_ips: [{ subnet_id: uuid(), ip_address: S_IP }],
        port_security_enabled: false,
      });
      s.tap = { host_ifname: `tap${s.port_id.slice(0, 11)}` };
      const k = keys.portBinding(NODES[1].host, s.port_id);
      await nodes.put(k, s);
      await waitFor(
        'the service port ready',
        async () => {
          const { kv } = await nodes.store.get(keys.portState(NODES[1].host, s.port_id));
          return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
        },
        60_000,
      );
      sh(`ip netns add ${NS_S} && ip -n ${NS_S} link set lo up`);
      sh(`ip link set ${sIf()} netns ${NS_S} && ip -n ${NS_S} link set ${sIf()} up`);
      sh(`ip netns exec ${NS_S} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);
    });

    after(async () => {
      try {
        await nodes.store?.delete(keys.tapFlow(NODES[0].host, FLOW));
        await nodes.store?.delete(keys.tapFlow(NODES[1].host, FLOW));
        if (s) await nodes.store?.delete(keys.portBinding(NODES[1].host, s.port_id));
      } finally {
        if (s) sh(`ip link del ${sIf()}`, true);
        await nodes.teardown();
      }
    });

    it('S on node 2 sees A’s echo requests and replies from node 1; every ping is answered; deleting the flow removes tunnel and cross-connect', async (t) => {
      const [a, b] = NODES;
      await nodes.reach(t, 'A reaches B', a.ns, b.ip);
      await nodes.put(keys.tapFlow(a.host, FLOW), flow('source'));
      await nodes.put(keys.tapFlow(b.host, FLOW), flow('service'));
      await flowReady(0);
      await flowReady(1);
      const [op1, op2] = nodes.ops;
      const span1 = await op1.dump(sw_interface_span_dump, { is_l2: false });
      const t1 = await op1.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL });
      const t2 = await op2.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL });
      const xc2 = await op2.dump(l2_xconnect_dump, {});
      t.diagnostic(`node 1 SPAN: ${JSON.stringify(span1)}`);
      t.diagnostic(`node 1 tunnels: ${JSON.stringify(t1.map((x) => [x.sw_if_index, x.dst_address, x.vni]))}`);
      t.diagnostic(`node 2 tunnels: ${JSON.stringify(t2.map((x) => [x.sw_if_index, x.dst_address, x.vni]))}`);
      t.diagnostic(`node 2 cross-connects: ${JSON.stringify(xc2)}`);
      const tap1 = t1.find((x) => x.vni === TAP_VNI);
      const tap2 = t2.find((x) => x.vni === TAP_VNI);
      assert.ok(tap1 && tap2, 'a tunnel of the tap service’s VNI on both nodes');
      assert.deepEqual(
        span1.map((e) => [e.sw_if_index_to, e.state]),
        [[tap1.sw_if_index, 3]],
      );
      assert.deepEqual(
        xc2.map((x) => x.rx_sw_if_index),
        [tap2.sw_if_index],
      );

      const atS = await capture(NS_S, sIf(), 'udp or icmp[0] = 0 or icmp[0] = 8');
      const out = sh(`ip netns exec ${a.ns} ping -n -c ${N} -i 0.2 -W 2 ${b.ip}`, true);
      sh(`ip netns exec ${a.ns} bash -c 'echo mark > /dev/udp/${b.ip}/9'`, true);
      const mark = new RegExp(
        `${a.ip.replaceAll('.', '\\.')}\\.\\d+ > ${b.ip.replaceAll('.', '\\.')}\\.9: UDP`,
      );
      const seen = await atS.until('the marker mirrored into S', (l) => count(l, mark) > 0);
      for (const l of seen) t.diagnostic(`S: ${l}`);
      assert.match(out, new RegExp(`${N} packets transmitted, ${N} received`), 'every ping answered');
      assert.equal(count(seen, new RegExp(`${a.ip} > ${b.ip}: ICMP echo request`)), N, 'A’s echo requests');
      assert.equal(count(seen, new RegExp(`${b.ip} > ${a.ip}: ICMP echo reply`)), N, 'the replies to A');

      await nodes.store.delete(keys.tapFlow(a.host, FLOW));
      await nodes.store.delete(keys.tapFlow(b.host, FLOW));
      await waitFor('the mirror, the tap tunnels and the cross-connect gone', async () => {
        const [sp, x1, x2, c2] = await Promise.all([
          op1.dump(sw_interface_span_dump, { is_l2: false }),
          op1.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }),
          op2.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }),
          op2.dump(l2_xconnect_dump, {}),
        ]);
        return sp.length === 0 && c2.length === 0 && ![...x1, ...x2].some((x) => x.vni === TAP_VNI);
      });
    });
  },
);
