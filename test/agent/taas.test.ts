// Remote SPAN through the agents (docs/taas.md), two hosts on simulators: a port on compute1
// mirrored into a port-secured tap service port on compute2. compute2's agent makes the service
// port's sink (a loopback alone in a bridge that forwards nothing), cross-connects the tap tunnel
// into it and mirrors the sink's tx into the service port, whose own ACLs and MAC-IP ACL stay bound
// as before; both ends report the flow ready; a restarted agent on the service host sends no write;
// deleting the flow removes every piece and leaves the service port's filtering as it was. On real
// VPPs, test/dataplane/taas-remote.test.ts sends packets through it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import type { AgentConfig } from '../../src/agent/config.ts';
import { encodeValue, keys, type PortBinding, type TapFlowDoc } from '../../src/model/keyspace.ts';
import {
  acl_interface_list_dump,
  bridge_domain_dump,
  create_loopback_instance,
  l2_xconnect_dump,
  macip_acl_interface_get,
  sw_interface_dump,
  sw_interface_span_dump,
  vxlan_tunnel_v2_dump,
} from '../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../src/vpp/client.ts';
import { synced } from './helpers/faults.ts';
import { secGroup, uuid, vmPort, vxlanNet } from './helpers/fixtures.ts';
import { rule } from './helpers/sg-rules.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const HOSTS = ['compute1', 'compute2'] as const;
const VTEP = { compute1: '192.0.2.1', compute2: '192.0.2.2' };
const VNI = 0xf00000 + 9;
const ALL = 0xffffffff;

const vxlanConfig = (host: (typeof HOSTS)[number]): Partial<AgentConfig> => ({
  vxlan: { localIp: VTEP[host], underlay: { name: 'loop1', prefixLen: 24 } },
});

/** What compute2's VPP has of the service end, by netvpp's tags. */
async function serviceEnd(op: VppClient) {
  const ifs = await op.dump(sw_interface_dump, { sw_if_index: ALL });
  const tagOf = new Map(ifs.map((d) => [d.sw_if_index, d.tag]));
  const name = (i: number) => tagOf.get(i) ?? `#${i}`;
  const [spans, xcs, bds, tunnels] = await Promise.all([
    op.dump(sw_interface_span_dump, { is_l2: false }),
    op.dump(l2_xconnect_dump, {}),
    op.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL }),
    op.dump(vxlan_tunnel_v2_dump, { sw_if_index: ALL }),
  ]);
  return {
    spans: spans.map((s) => [name(s.sw_if_index_from), name(s.sw_if_index_to), s.state]),
    xconnects: xcs.map((x) => [name(x.rx_sw_if_index), name(x.tx_sw_if_index)]),
    sinkBridges: bds
      .filter((b) => b.bd_tag.startsWith('netvpp:bd:tap-'))
      .map((b) => ({
        tag: b.bd_tag,
        members: b.sw_if_details.map((m) => name(m.sw_if_index)),
        flags: [b.flood, b.uu_flood, b.forward, b.learn, b.arp_term],
      })),
    tapTunnels: tunnels.filter((t) => t.vni === VNI).map((t) => t.dst_address),
    sinks: ifs.filter((d) => d.tag.startsWith('netvpp:spansink:')).map((d) => d.interface_dev_type),
  };
}

describe('remote SPAN into a port-secured tap service port, through the agents', { skip: SIM_ONLY }, () => {
  let w: World;
  const agents = new Map<string, Agent>();
  const op = new Map<string, VppClient>();
  const net = vxlanNet(5099);
  const sgS = secGroup([rule({ direction: 'egress' })]);
  let src: PortBinding;
  let svc: PortBinding;
  const flowId = uuid();
  const flow = (role: 'source' | 'service'): TapFlowDoc => ({
    id: flowId,
    tap_service_id: uuid(),
    source_port: src.port_id,
    service_port: svc.port_id,
    direction: 'BOTH',
    role,
    source_host: 'compute1',
    service_host: 'compute2',
    taas_id: 9,
    peer_host: role === 'source' ? 'compute2' : 'compute1',
    vni: VNI,
    erspan: null,
    revision: 1,
  });
  const putFlow = (host: string, d: TapFlowDoc) =>
    w.store.put(keys.tapFlow(host, d.id), encodeValue(keys.tapFlow(host, d.id), d));
  const flowReady = (host: string) =>
    waitFor(`the tap flow ready on ${host}`, async () => {
      const { kv } = await w.store.get(keys.tapFlowState(host, flowId));
      return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
    });
  /** The service port's ACL lists and MAC-IP binding, as VPP has them. */
  const filtering = async () => {
    const o = op.get('compute2') as VppClient;
    const idx = (await w.portInterface(svc.port_id, 'compute2'))?.sw_if_index;
    assert.ok(idx !== undefined);
    const [lists] = await o.dump(acl_interface_list_dump, { sw_if_index: idx });
    const macip = await o.request(macip_acl_interface_get, {});
    return { acls: lists?.acls ?? [], nInput: lists?.n_input, macip: macip.acls[idx] };
  };

  before(async () => {
    w = await startWorld();
    for (const [i, h] of HOSTS.entries()) {
      const n = await w.node(h);
      await n.operator.request(create_loopback_instance, {
        mac_address: `02:fe:00:00:09:0${i + 1}`,
        is_specified: true,
        user_instance: 1,
      });
      op.set(h, n.operator);
      agents.set(h, w.startAgent(h, vxlanConfig(h)));
    }
    await w.markSynced();
    await w.putGroup(sgS);
    src = vmPort(net);
    svc = vmPort(net, { security_groups: [sgS.id], port_security_enabled: true });
    await w.bindOverlay('compute1', src);
    await w.bindOverlay('compute2', svc);
    await w.connectGuest(src, 'compute1');
    await w.connectGuest(svc, 'compute2');
    await w.waitReady('compute1', src.port_id);
    await w.waitReady('compute2', svc.port_id);
  });
  after(() => w?.stop());

  it('both ends ready: compute1 mirrors the port into the tap tunnel; compute2 cross-connects it into the sink and mirrors the sink into the service port, whose ACLs stay', async () => {
    const before = await filtering();
    assert.ok(before.acls.length > 0 && before.macip !== undefined, 'the service port is filtered');
    await putFlow('compute1', flow('source'));
    await putFlow('compute2', flow('service'));
    await flowReady('compute1');
    await flowReady('compute2');
    const o1 = op.get('compute1') as VppClient;
    const src1 = await o1.dump(sw_interface_span_dump, { is_l2: false });
    assert.equal(src1.length, 1);
    assert.equal(src1[0].state, 3);
    const s = await serviceEnd(op.get('compute2') as VppClient);
    const sink = `netvpp:spansink:${svc.port_id}`;
    const port = `netvpp:port:${svc.port_id}`;
    assert.deepEqual(s.tapTunnels, [VTEP.compute1]);
    assert.deepEqual(s.spans, [[sink, port, 2]], 'the sink’s tx mirrored into the service port');
    assert.deepEqual(s.xconnects, [[`netvpp:vxlan:${VNI}:${VTEP.compute1}`, sink]]);
    assert.deepEqual(s.sinkBridges, [
      { tag: `netvpp:bd:tap-${svc.port_id}`, members: [sink], flags: [false, false, false, false, false] },
    ]);
    assert.deepEqual(s.sinks, ['Loopback']);
    assert.deepEqual(await filtering(), before, 'the service port’s ACLs and MAC-IP ACL unchanged');
  });

  it('a restarted agent on the service host finds it all in place and sends no write', async () => {
    const a = agents.get('compute2') as Agent;
    const before = await serviceEnd(op.get('compute2') as VppClient);
    await w.stopAgent(a);
    const n = await w.node('compute2');
    n.vpp.sim?.resetCounters();
    const again = w.startAgent('compute2', vxlanConfig('compute2'));
    agents.set('compute2', again);
    const stats = await synced(again, 60_000);
    assert.equal(stats.writes, 0, `the agent counted ${stats.writes} writes`);
    if (n.vpp.sim) assert.equal(n.vpp.sim.writes(), 0, JSON.stringify(n.vpp.sim.counters()));
    assert.deepEqual(await serviceEnd(op.get('compute2') as VppClient), before);
    await flowReady('compute2');
  });

  it('deleting the flow removes mirror, cross-connect, sink, its bridge and the tunnel; the port keeps its filtering', async () => {
    const before = await filtering();
    await w.store.delete(keys.tapFlow('compute1', flowId));
    await w.store.delete(keys.tapFlow('compute2', flowId));
    await waitFor('the service end gone', async () => {
      const s = await serviceEnd(op.get('compute2') as VppClient);
      const gone =
        s.spans.length + s.xconnects.length + s.sinkBridges.length + s.tapTunnels.length + s.sinks.length;
      return gone === 0 ? s : undefined;
    });
    await waitFor(
      'the source’s mirror gone',
      async () =>
        (await (op.get('compute1') as VppClient).dump(sw_interface_span_dump, { is_l2: false })).length === 0,
    );
    assert.deepEqual(await filtering(), before);
  });
  // Read-back decodes a mirror after the tunnels it names (span's readAfter): a restart with an
  // ERSPAN mirror in place finds it and writes nothing.
  it('a restarted agent with an ERSPAN mirror in place sends no write', async () => {
    const d: TapFlowDoc = {
      ...flow('source'),
      id: uuid(),
      role: 'erspan',
      peer_host: null,
      vni: null,
      erspan: { collector: '192.0.2.50', session_id: 4, source: null },
    };
    await putFlow('compute1', d);
    await waitFor('the ERSPAN flow ready', async () => {
      const { kv } = await w.store.get(keys.tapFlowState('compute1', d.id));
      return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
    });
    const a = agents.get('compute1') as Agent;
    await w.stopAgent(a);
    const n = await w.node('compute1');
    n.vpp.sim?.resetCounters();
    const again = w.startAgent('compute1', vxlanConfig('compute1'));
    agents.set('compute1', again);
    const stats = await synced(again, 60_000);
    assert.equal(stats.writes, 0, `the agent counted ${stats.writes} writes`);
    if (n.vpp.sim) assert.equal(n.vpp.sim.writes(), 0, JSON.stringify(n.vpp.sim.counters()));
    await w.store.delete(keys.tapFlow('compute1', d.id));
    await waitFor(
      'the ERSPAN mirror gone',
      async () =>
        (await (op.get('compute1') as VppClient).dump(sw_interface_span_dump, { is_l2: false })).length === 0,
    );
  });
});
