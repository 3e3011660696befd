// Real dataplane, real packets: remote SPAN (docs/taas.md) between two real VPPs, each the VPP of one
// compute node with its own agent (./two-nodes.ts: a VXLAN network, a VM on each node, an underlay
// bridge). A on node 1 is mirrored into a tap service port S on node 2 (a third namespace there),
// once per direction. S has port security on and a group that lets nothing in. Node 1's agent sends
// A's copies into a VXLAN tunnel of the tap service's VNI; node 2's cross-connects that tunnel into
// S's sink, whose transmit side is mirrored in device mode into S, so S's own ACLs never see the
// copies (kinds/spansink.ts). tcpdump in S's namespace must see exactly the copies of the direction
// (A's echo requests, the replies to A, or both, and the markers), every ping answered, while B's own
// pings to S (on S's host, not mirrored) are still dropped by S's group; with the flow deleted, the
// mirrors, tunnels, cross-connect, sink and its bridge go.
//
// Each capture ends on marker datagrams (UDP 9 both ways between A and B) sent after everything
// else: the copies leave node 1 in the order VPP forwards the frames and take one path, so once a
// marker's copy is in S, every earlier copy is, and B's pings to S (answered or not) are long over.
//
// Runs only with NETVPP_TEST_VPP_SOCKET and NETVPP_TEST_VPP2_SOCKET (two real VPPs with the vxlan,
// acl and af_packet plugins, on this host), as root, with ip, ping and tcpdump; skips saying why.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keys, type PortBinding, type TapDirection, type TapFlowDoc } from '../../src/model/keyspace.ts';
import {
  bridge_domain_dump,
  l2_xconnect_dump,
  sw_interface_dump,
  sw_interface_span_dump,
  vxlan_tunnel_v2_dump,
} from '../../src/vpp/binapi/index.ts';
import { secGroup, uuid, vmPort, vxlanNet } from '../agent/helpers/fixtures.ts';
import { rule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { capture, count } from './capture.ts';
import { has, ping, sh, twoVppSkip, TwoNodes } from './two-nodes.ts';

const NODES = [
  { host: 'tas2-n1', vtep: '198.51.100.41', ns: 'tas2-a', veth: 'tas2vx1', ip: '10.79.0.11' },
  { host: 'tas2-n2', vtep: '198.51.100.42', ns: 'tas2-b', veth: 'tas2vx2', ip: '10.79.0.12' },
] as const;
const NS_S = 'tas2-s';
const S_IP = '10.79.0.13';
const TAP_VNI = 0xf00000 + 7;
const N = 5;
const ALL = 0xffffffff;
/** VPP's SPAN state on the source port per TaaS direction (the VM's): IN is its tx, OUT its rx. */
const STATE: Record<TapDirection, number> = { IN: 2, OUT: 1, BOTH: 3 };

const skip =
  twoVppSkip('network namespaces, veth pairs, a bridge') || (!has('tcpdump') ? 'needs tcpdump' : false);

const esc = (ip: string) => ip.replaceAll('.', '\\.');
const REQ = (from: string, to: string) => new RegExp(`${esc(from)} > ${esc(to)}: ICMP echo request`);
const REP = (from: string, to: string) => new RegExp(`${esc(from)} > ${esc(to)}: ICMP echo reply`);
const UDP = (from: string, to: string, port: number) =>
  new RegExp(`${esc(from)}\\.\\d+ > ${esc(to)}\\.${port}: UDP`);

describe(
  'real dataplane: remote SPAN, a port on one VPP mirrored into a port-secured tap service port on another',
  { skip },
  () => {
    const net = vxlanNet(5077);
    const sg = secGroup([
      rule({ direction: 'egress' }),
      rule({ direction: 'ingress', protocol: 1 }),
      rule({ direction: 'ingress', protocol: 17 }),
    ]);
    // S's group: egress only, nothing in.
    const sgS = secGroup([rule({ direction: 'egress' })]);
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
    const SERVICE = uuid();
    const flow = (id: string, role: 'source' | 'service', direction: TapDirection): TapFlowDoc => ({
      id,
      tap_service_id: SERVICE,
      source_port: nodes.ports[0].port_id,
      service_port: s.port_id,
      direction,
      role,
      source_host: NODES[0].host,
      service_host: NODES[1].host,
      taas_id: 7,
      peer_host: role === 'source' ? NODES[1].host : NODES[0].host,
      vni: TAP_VNI,
      erspan: null,
      revision: 1,
    });
    const flowReady = (i: number, id: string) =>
      waitFor(
        `tap flow ready on ${NODES[i].host}`,
        async () => {
          const { kv } = await nodes.store.get(keys.tapFlowState(NODES[i].host, id));
          return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
        },
        60_000,
      );
    /** netvpp's interfaces on a node by key (their tags). */
    const ifaces = async (i: number): Promise<Map<string, number>> => {
      const all = await nodes.ops[i].dump(sw_interface_dump, { sw_if_index: ALL });
      return new Map(
        all.filter((d) => d.tag.startsWith('netvpp:')).map((d) => [d.tag.slice(7), d.sw_if_index]),
      );
    };

    before(async () => {
      await nodes.setup();
      await nodes.put(keys.secGroup(sgS.id), sgS);
      s = vmPort(net, {
        vif_type: 'tap',
        vhostuser: null,
        fixed_ips: [{ subnet_id: uuid(), ip_address: S_IP }],
        security_groups: [sgS.id],
        port_security_enabled: true,
      });
      s.tap = { host_ifname: `tap${s.port_id.slice(0, 11)}` };
      await nodes.put(keys.portBinding(NODES[1].host, s.port_id), s);
      await waitFor(
        'the service port ready',
        async () => {
          const { kv } = await nodes.store.get(keys.portState(NODES[1].host, s.port_id));
          return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
        },
        60_000,
      );
      sh(`ip netns add ${NS_S} && ip -n ${NS_S} link set lo up`);
      sh(`ip link set ${sIf()} netns ${NS_S}`);
      sh(`ip -n ${NS_S} addr add ${S_IP}/24 dev ${sIf()} && ip -n ${NS_S} link set ${sIf()} up`);
      sh(`ip netns exec ${NS_S} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);
    });

    after(async () => {
      try {
        if (s) await nodes.store?.delete(keys.portBinding(NODES[1].host, s.port_id));
      } finally {
        if (s) sh(`ip link del ${sIf()}`, true);
        await nodes.teardown();
      }
    });

    it('A reaches B across the nodes; S’s group lets nothing in', async (t) => {
      const [a, b] = NODES;
      await nodes.reach(t, 'A reaches B', a.ns, b.ip);
      sh(`ip netns exec ${b.ns} ping -c 1 -W 1 ${a.ip}`, true);
      assert.deepEqual(ping(b.ns, S_IP, 2), { sent: 2, received: 0 }, 'B’s pings to S are dropped');
    });

    for (const [direction, want] of [
      ['IN', { requests: 0, replies: N }],
      ['OUT', { requests: N, replies: 0 }],
      ['BOTH', { requests: N, replies: N }],
    ] as const) {
      it(`direction ${direction}: S sees exactly ${want.requests} echo requests, ${want.replies} replies and the markers, though its group drops B’s pings; deleting the flow removes every piece`, async (t) => {
        const [a, b] = NODES;
        const [op1, op2] = nodes.ops;
        const id = uuid();
        await nodes.put(keys.tapFlow(a.host, id), flow(id, 'source', direction));
        await nodes.put(keys.tapFlow(b.host, id), flow(id, 'service', direction));
        try {
          await flowReady(0, id);
          await flowReady(1, id);
          const [span1, span2, t1, t2, xc2, if2, bds2] = await Promise.all([
            op1.dump(sw_interface_span_dump, { is_l2: false }),
            op2.dump(sw_interface_span_dump, { is_l2: false }),
            op1.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }),
            op2.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }),
            op2.dump(l2_xconnect_dump, {}),
            ifaces(1),
            op2.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL }),
          ]);
          t.diagnostic(`node 1 SPAN: ${JSON.stringify(span1)}`);
          t.diagnostic(`node 2 SPAN: ${JSON.stringify(span2)}`);
          t.diagnostic(`node 2 cross-connects: ${JSON.stringify(xc2)}`);
          const tap1 = t1.find((x) => x.vni === TAP_VNI);
          const tap2 = t2.find((x) => x.vni === TAP_VNI);
          assert.ok(tap1 && tap2, 'a tunnel of the tap service’s VNI on both nodes');
          const sink = if2.get(`spansink:${s.port_id}`);
          const sPort = if2.get(`port:${s.port_id}`);
          assert.ok(sink !== undefined && sPort !== undefined, 'the sink and S on node 2');
          assert.deepEqual(
            span1.map((e) => [e.sw_if_index_to, e.state]),
            [[tap1.sw_if_index, STATE[direction]]],
            'node 1 mirrors A into the tunnel',
          );
          assert.deepEqual(
            xc2.map((x) => [x.rx_sw_if_index, x.tx_sw_if_index]),
            [[tap2.sw_if_index, sink]],
            'node 2 cross-connects the tunnel into the sink, not into S',
          );
          assert.deepEqual(
            span2.map((e) => [e.sw_if_index_from, e.sw_if_index_to, e.state]),
            [[sink, sPort, 2]],
            'node 2 mirrors what the sink transmits into S',
          );
          const sinkBd = bds2.find((d) => d.sw_if_details.some((m) => m.sw_if_index === sink));
          assert.ok(sinkBd, 'the sink is in a bridge');
          assert.deepEqual(
            [sinkBd.sw_if_details.length, sinkBd.forward, sinkBd.flood, sinkBd.uu_flood, sinkBd.learn],
            [1, false, false, false, false],
            'alone, in a bridge that forwards, floods and learns nothing',
          );

          const atS = await capture(NS_S, sIf(), 'udp or icmp[0] = 0 or icmp[0] = 8');
          const toS = ping(b.ns, S_IP, 2);
          const pings = ping(a.ns, b.ip, N, '-W 2');
          sh(`ip netns exec ${a.ns} bash -c 'echo mark > /dev/udp/${b.ip}/9'`, true);
          sh(`ip netns exec ${b.ns} bash -c 'echo mark > /dev/udp/${a.ip}/9'`, true);
          // The marker a direction copies: A's own datagram (OUT: A sends it), B's (IN: A receives it).
          const markers = [
            ...(direction !== 'IN' ? [UDP(a.ip, b.ip, 9)] : []),
            ...(direction !== 'OUT' ? [UDP(b.ip, a.ip, 9)] : []),
          ];
          const seen = await atS.until('the markers mirrored into S', (l) =>
            markers.every((re) => count(l, re) > 0),
          );
          for (const l of seen) t.diagnostic(`S: ${l}`);
          assert.deepEqual(pings, { sent: N, received: N }, 'every ping A → B answered');
          assert.deepEqual(toS, { sent: 2, received: 0 }, 'S’s group still drops B’s pings to S');
          assert.equal(count(seen, REQ(b.ip, S_IP)), 0, 'none of B’s pings reached S');
          for (const re of markers) assert.equal(count(seen, re), 1, `marker ${re} mirrored once`);
          assert.equal(count(seen, REQ(a.ip, b.ip)), want.requests, 'A’s echo requests mirrored');
          assert.equal(count(seen, REP(b.ip, a.ip)), want.replies, 'the replies to A mirrored');
          assert.equal(seen.length, want.requests + want.replies + markers.length, 'and nothing else');
        } finally {
          await nodes.store.delete(keys.tapFlow(a.host, id));
          await nodes.store.delete(keys.tapFlow(b.host, id));
        }
        await waitFor('the mirrors, tap tunnels, cross-connect, sink and its bridge gone', async () => {
          const [sp1, sp2, x1, x2, c2, if2, bds2] = await Promise.all([
            op1.dump(sw_interface_span_dump, { is_l2: false }),
            op2.dump(sw_interface_span_dump, { is_l2: false }),
            op1.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }),
            op2.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }),
            op2.dump(l2_xconnect_dump, {}),
            ifaces(1),
            op2.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL }),
          ]);
          return (
            sp1.length === 0 &&
            sp2.length === 0 &&
            c2.length === 0 &&
            ![...x1, ...x2].some((x) => x.vni === TAP_VNI) &&
            ![...if2.keys()].some((k) => k.startsWith('spansink:')) &&
            !bds2.some((d) => d.bd_tag.startsWith('netvpp:bd:tap-'))
          );
        });
      });
    }
  },
);
