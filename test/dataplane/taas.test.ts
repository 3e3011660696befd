// Real dataplane, real packets: port mirroring (docs/taas.md) on one real VPP. Three VMs (network
// namespaces on veth-backed tap ports) on one VLAN network: A, the mirrored source, whose security
// group lets in only ICMP and UDP 9; B, its peer; S, the tap service's port, whose group lets
// nothing in. A pings B while a tap flow mirrors A into S, once per direction; tcpdump in S's
// namespace must see the echo replies only (IN: to the VM), the requests only (OUT: from it) or both
// (BOTH), every ping answered, and A's group still dropping what it dropped (UDP 7777 from B). S's
// own group drops B's pings to S but none of the copies. Then ERSPAN: the same source mirrored in
// GRE to a collector (a namespace on the agent's underlay veth), decoded there by tcpdump.
//
// Each capture ends on marker datagrams (UDP 9 both ways) sent after the pings: VPP's one worker
// copies frames in the order it forwards them, so once the marker's copy is in, every earlier copy
// is too (no waiting for what must not come).
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the acl, af_packet and gre plugins), as
// root, with ip, ping and tcpdump; skips saying why otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
  type TapDirection,
  type TapFlowDoc,
} from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import {
  af_packet_create_v3,
  af_packet_delete,
  gre_tunnel_dump,
  sw_interface_span_dump,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { secGroup, uuid, vlanNet, vmPort } from '../agent/helpers/fixtures.ts';
import { rule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { vethAgent } from './agent.ts';
import { capture, count, decodeErspan, type Erspan, hexBytes, tcpdumpFrames } from './capture.ts';
import { has, sh } from './shell.ts';

const HOST = 'tas1-node';
const UPLINK = 'tas1up0';
const UNDERLAY = 'tas1er0';
const NS = { wire: 'tas1-wire', a: 'tas1-a', b: 'tas1-b', s: 'tas1-s', col: 'tas1-col' };
const VTEP = '192.0.2.1';
const COLLECTOR = '192.0.2.9';
const N = 5;

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, veth)'
    : !has('ip') || !has('ping') || !has('tcpdump')
      ? 'needs ip, ping and tcpdump'
      : false;

interface Vm {
  ns: string;
  port: PortBinding;
  ip: string;
  ifname: string;
}

const REQ = (from: string, to: string) =>
  new RegExp(`${from.replaceAll('.', '\\.')} > ${to}: ICMP echo request`);
const REP = (from: string, to: string) =>
  new RegExp(`${from.replaceAll('.', '\\.')} > ${to}: ICMP echo reply`);
const UDP = (from: string, to: string, port: number) =>
  new RegExp(`${from.replaceAll('.', '\\.')}\\.\\d+ > ${to.replaceAll('.', '\\.')}\\.${port}: UDP`);

describe(
  'real dataplane: a tap flow mirrors a port into a tap service port, or in ERSPAN to a collector',
  { skip },
  () => {
    let etcd: EtcdProcess;
    let store: Store;
    let op: VppClient;
    let agent: Agent;
    let dir = '';
    const net = vlanNet(331);
    const sgA = secGroup([
      rule({ direction: 'egress' }),
      rule({ direction: 'ingress', protocol: 1 }),
      rule({ direction: 'ingress', protocol: 17, port_range_min: 9, port_range_max: 9 }),
    ]);
    const sgS = secGroup([rule({ direction: 'egress' })]);
    const vm = (ns: string, ip: string, sg: string | null): Vm => {
      const p = vmPort(net, {
        vif_type: 'tap',
        vhostuser: null,
        fixed_ips: [{ subnet_id: net.id, ip_address: ip }],
        security_groups: sg ? [sg] : [],
        port_security_enabled: sg !== null,
      });
      p.tap = { host_ifname: tapName(p.port_id) };
      return { ns, port: p, ip, ifname: tapName(p.port_id) };
    };
    const a = vm(NS.a, '10.63.0.5', sgA.id);
    const b = vm(NS.b, '10.63.0.6', null);
    const s = vm(NS.s, '10.63.0.7', sgS.id);
    const tapService = uuid();

    const put = async (key: string, value: unknown): Promise<void> => {
      await store.put(key, encodeValue(key, value as never));
    };
    const state = async (
      key: string,
    ): Promise<{ ready: boolean; revision: number; error?: string } | null> => {
      const { kv } = await store.get(key);
      return kv ? (JSON.parse(kv.value) as { ready: boolean; revision: number }) : null;
    };
    const flowDoc = (direction: TapDirection, over: Partial<TapFlowDoc> = {}): TapFlowDoc => ({
      id: uuid(),
      tap_service_id: tapService,
      source_port: a.port.port_id,
      service_port: s.port.port_id,
      direction,
      role: 'local',
      source_host: HOST,
      service_host: HOST,
      taas_id: 1,
      peer_host: null,
      vni: null,
      erspan: null,
      revision: 1,
      ...over,
    });
    /** Puts the flow and waits for the agent to report it ready (its mirror in VPP). */
    const startFlow = async (f: TapFlowDoc): Promise<void> => {
      await put(keys.tapFlow(HOST, f.id), f);
      await waitFor(
        `tap flow ${f.id} ready`,
        async () => (await state(keys.tapFlowState(HOST, f.id)))?.ready === true,
        60_000,
      );
    };
    const stopFlow = async (f: TapFlowDoc): Promise<void> => {
      await store.delete(keys.tapFlow(HOST, f.id));
      await waitFor(
        'the mirror gone from VPP',
        async () => (await op.dump(sw_interface_span_dump, { is_l2: false })).length === 0,
        30_000,
      );
    };
    /** N pings A → B, then the markers: UDP 9 from A to B and from B to A. */
    const traffic = () => {
      const out = sh(`ip netns exec ${a.ns} ping -n -c ${N} -i 0.2 -W 2 ${b.ip}`, true);
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      sh(`ip netns exec ${b.ns} bash -c 'echo blocked > /dev/udp/${a.ip}/7777'`, true);
      sh(`ip netns exec ${a.ns} bash -c 'echo mark > /dev/udp/${b.ip}/9'`, true);
      sh(`ip netns exec ${b.ns} bash -c 'echo mark > /dev/udp/${a.ip}/9'`, true);
      return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'netvpp-taas-'));
      for (const ns of Object.values(NS)) sh(`ip netns del ${ns}`, true);
      for (const l of [UPLINK, UNDERLAY]) sh(`ip link del ${l}`, true);
      for (const ns of Object.values(NS)) sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
      sh(`ip link add ${UPLINK} type veth peer name tas1up1 netns ${NS.wire}`);
      sh(`ip -n ${NS.wire} link set tas1up1 up && ip link set ${UPLINK} up`);
      // The underlay: VPP's end takes the VTEP address (the agent puts it there); the collector's end
      // is a namespace with the collector's address.
      sh(`ip link add ${UNDERLAY} type veth peer name tas1er1 netns ${NS.col}`);
      sh(`sysctl -qw net.ipv4.conf.${UNDERLAY}.arp_ignore=8 net.ipv6.conf.${UNDERLAY}.disable_ipv6=1`);
      sh(`ip -n ${NS.col} addr add ${COLLECTOR}/24 dev tas1er1 && ip -n ${NS.col} link set tas1er1 up`);
      sh(`ip link set ${UNDERLAY} up`);
      etcd = await startEtcd();
      store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
      op = await VppClient.connect({ socket: REAL_VPP_SOCKET, name: 'taas-test' });
      for (const l of [UPLINK, UNDERLAY])
        await op.request(af_packet_create_v3, { host_if_name: l, use_random_hw_addr: true, mode: 1 });
      await put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' });
      for (const g of [sgA, sgS]) await put(keys.secGroup(g.id), g);
      agent = vethAgent({
        host: HOST,
        endpoints: etcd.endpoints,
        vppSocket: REAL_VPP_SOCKET,
        physnets: new Map([['physnet1', `host-${UPLINK}`]]),
        vhostUserDir: dir,
        vxlan: { localIp: VTEP, underlay: { name: `host-${UNDERLAY}`, prefixLen: 24 } },
      });
      agent.start();
      for (const v of [a, b, s]) {
        await put(keys.portBinding(HOST, v.port.port_id), v.port);
        await waitFor(
          `port ${v.port.port_id} ready`,
          async () => (await state(keys.portState(HOST, v.port.port_id)))?.ready === true,
          60_000,
        );
        sh(`ip link set ${v.ifname} netns ${v.ns}`);
        sh(`ip -n ${v.ns} addr add ${v.ip}/24 dev ${v.ifname} && ip -n ${v.ns} link set ${v.ifname} up`);
        sh(`ip netns exec ${v.ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);
      }
      // Neighbours resolved both ways before anything is counted.
      await waitFor(
        'A reaches B',
        () => /1 received/.test(sh(`ip netns exec ${a.ns} ping -c 1 -W 1 ${b.ip}`, true)),
        20_000,
      );
      sh(`ip netns exec ${b.ns} ping -c 1 -W 1 ${a.ip}`, true);
    });

    after(async () => {
      try {
        for (const v of [a, b, s]) await store?.delete(keys.portBinding(HOST, v.port.port_id));
        if (agent)
          await waitFor('ports removed', () => agent.health().ports.total === 0, 30_000).catch(
            () => undefined,
          );
      } finally {
        await agent?.stop();
        for (const ns of Object.values(NS)) sh(`ip netns del ${ns}`, true);
        for (const l of [UPLINK, UNDERLAY]) sh(`ip link del ${l}`, true);
        if (op?.connected) {
          for (const l of [UPLINK, UNDERLAY])
            await op.request(af_packet_delete, { host_if_name: l }).catch(() => undefined);
          await op.close();
        }
        store?.close();
        await etcd?.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the service port’s own group drops what is sent to it', () => {
      const out = sh(`ip netns exec ${b.ns} ping -n -c 2 -W 1 ${s.ip}`, true);
      assert.match(out, / 0 received/, 'S lets no ping in');
    });

    for (const [direction, want] of [
      ['IN', { requests: 0, replies: N }],
      ['OUT', { requests: N, replies: 0 }],
      ['BOTH', { requests: N, replies: N }],
    ] as const) {
      it(`direction ${direction}: S sees ${want.requests} echo requests and ${want.replies} replies, every ping is answered, A's group still drops UDP 7777`, async (t) => {
        const f = flowDoc(direction);
        await startFlow(f);
        try {
          const spans = await op.dump(sw_interface_span_dump, { is_l2: false });
          t.diagnostic(
            `VPP's SPAN table: ${JSON.stringify(spans.map((e) => [e.sw_if_index_from, e.sw_if_index_to, e.state]))}`,
          );
          assert.deepEqual(
            spans.map((e) => e.state),
            [direction === 'IN' ? 2 : direction === 'OUT' ? 1 : 3],
          );
          const atS = await capture(s.ns, s.ifname, 'udp or icmp[0] = 0 or icmp[0] = 8');
          const atA = await capture(a.ns, a.ifname, 'udp port 7777');
          const pings = traffic();
          // The marker a direction copies: A's own datagram (OUT: A sends it), B's (IN: A receives it).
          const markers = [
            ...(direction !== 'IN' ? [UDP(a.ip, b.ip, 9)] : []),
            ...(direction !== 'OUT' ? [UDP(b.ip, a.ip, 9)] : []),
          ];
          const seen = await atS.until('the markers mirrored into S', (l) =>
            markers.every((re) => count(l, re) > 0),
          );
          // A's capture: B's marker to A arrived there after its UDP 7777 would have.
          const atAseen = await atA.stop();
          for (const l of seen) t.diagnostic(`S: ${l}`);
          assert.deepEqual(pings, { sent: N, received: N }, 'the mirror drops no ping');
          for (const re of markers) assert.equal(count(seen, re), 1, `marker ${re} mirrored once`);
          assert.equal(count(seen, REQ(a.ip, b.ip)), want.requests, 'echo requests (A → B) mirrored');
          assert.equal(count(seen, REP(b.ip, a.ip)), want.replies, 'echo replies (B → A) mirrored');
          assert.equal(count(seen, UDP(b.ip, a.ip, 7777)), 0, 'nothing A’s group dropped is mirrored');
          assert.equal(count(atAseen, UDP(b.ip, a.ip, 7777)), 0, 'A’s group still drops UDP 7777');
          assert.equal(seen.length, want.requests + want.replies + markers.length, 'and nothing else');
        } finally {
          await stopFlow(f);
        }
      });
    }

    it('ERSPAN: A’s frames arrive at the collector in GRE, ERSPAN type II with the session id', async (t) => {
      const f = flowDoc('BOTH', {
        role: 'erspan',
        service_host: HOST,
        erspan: { collector: COLLECTOR, session_id: 7, source: null },
      });
      await startFlow(f);
      try {
        const tunnels = await op.dump(gre_tunnel_dump, { sw_if_index: 0xffffffff });
        t.diagnostic(`VPP's GRE tunnels: ${JSON.stringify(tunnels.map((x) => x.tunnel))}`);
        assert.deepEqual(
          tunnels.map((x) => [x.tunnel.src, x.tunnel.dst, x.tunnel.session_id]),
          [[VTEP, COLLECTOR, 7]],
        );
        const atCol = await capture(NS.col, 'tas1er1', 'proto gre', '-x');
        const decoded = (lines: string[]) => lines.map((l) => decodeErspan(hexBytes(l)));
        /** The inner frame's UDP destination port 9 from `ip` (a marker). */
        const marker = (e: Erspan | null, ip: string) =>
          e !== null &&
          e.frame.readUInt16BE(12) === 0x0800 &&
          e.frame[23] === 17 &&
          e.frame.subarray(26, 30).join('.') === ip &&
          e.frame.readUInt16BE(14 + (e.frame[14] & 0xf) * 4 + 2) === 9;
        const pings = traffic();
        const seen = await atCol.until('both markers at the collector', (l) => {
          const d = decoded(l);
          return d.some((e) => marker(e, a.ip)) && d.some((e) => marker(e, b.ip));
        });
        assert.deepEqual(pings, { sent: N, received: N }, 'the mirror drops no ping');
        const gre = decoded(seen);
        for (const l of seen) t.diagnostic(`collector: ${l.slice(0, l.indexOf(' 0x0000') >>> 0)}`);
        assert.ok(
          gre.length > 0 && gre.every((e) => e !== null),
          'every frame is GRE carrying ERSPAN (0x88be)',
        );
        const es = gre as Erspan[];
        t.diagnostic(
          `ERSPAN headers: ${JSON.stringify(es.map((e) => ({ v: e.version, session: e.session, vlan: e.vlan, seq: e.greSeq })))}`,
        );
        assert.ok(
          es.every((e) => e.version === 1 && e.session === 7),
          'every one is ERSPAN type II (version 1) with session id 7',
        );
        const inner = tcpdumpFrames(
          es.map((e) => e.frame),
          join(dir, 'erspan-inner.pcap'),
        );
        for (const l of inner) t.diagnostic(`inside: ${l}`);
        assert.equal(count(inner, REQ(a.ip, b.ip)), N, 'A’s echo requests inside');
        assert.equal(count(inner, REP(b.ip, a.ip)), N, 'and the replies to A');
        assert.equal(count(inner, UDP(b.ip, a.ip, 7777)), 0, 'nothing A’s group dropped');
      } finally {
        await stopFlow(f);
      }
      await waitFor(
        'the ERSPAN tunnel gone',
        async () => (await op.dump(gre_tunnel_dump, { sw_if_index: 0xffffffff })).length === 0,
        30_000,
      );
    });
  },
);
