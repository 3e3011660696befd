// Scenario: a host without /dev/vhost-net runs DHCP ports on veth pairs; the operator checks the
// agent's health endpoint.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHealthServer, type HealthServer } from '../../src/agent/health.ts';
import type { AgentHealth } from '../../src/agent/agent.ts';
import { af_packet_dump } from '../../src/vpp/binapi/index.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { dhcpPort, vlanNet, vmPort } from './helpers/fixtures.ts';
import { startWorld, waitFor, type World } from './helpers/harness.ts';
import { inspect, portIf } from './helpers/inspect.ts';

const H = 'compute1';

describe(
  'veth fallback and health',
  { skip: REAL_VPP_SOCKET ? 'records veth pairs instead of making them' : false },
  () => {
    let w: World;
    let health: HealthServer | undefined;
    before(async () => {
      w = await startWorld();
    });
    after(async () => {
      await health?.close();
      await w?.stop();
    });

    it('with tap_backend = veth a DHCP port is an af_packet interface on a veth pair named as Neutron expects', async () => {
      const a = w.startAgent(H, { tapBackend: 'veth', tapBackendSetting: 'veth' });
      const net = vlanNet(600);
      const dhcp = dhcpPort(net);
      await w.bind(H, dhcp);
      await w.waitReady(H, dhcp.port_id);
      const vppSide = 'vpp' + dhcp.port_id.slice(0, 11);
      assert.deepEqual(w.hostNet.pairs.get(vppSide), {
        nsSide: 'tap' + dhcp.port_id.slice(0, 11),
        mac: dhcp.mac,
        mtu: 1500,
      });
      const afp = await w.operator.dump(af_packet_dump, {});
      assert.ok(afp.some((x) => x.host_if_name === vppSide));
      const v = await inspect(w.operator);
      const ifname = portIf(v, dhcp.port_id) as string;
      assert.equal(ifname, `host-${vppSide}`);
      assert.ok(v.bridges.get(`netvpp:bd:${net.id}`)?.includes(ifname));

      // A restart recognises it (no write), and an unbind removes VPP's end and the pair.
      await w.stopAgent(a);
      w.vpp.sim?.resetCounters();
      const b = w.startAgent(H, { tapBackend: 'veth', tapBackendSetting: 'veth' });
      await waitFor('resynced', () => b.lastResync !== null);
      assert.equal(b.lastResync?.writes, 0);
      await w.unbind(H, dhcp.port_id);
      await waitFor('the pair removed', () => !w.hostNet.pairs.has(vppSide));
      assert.equal(
        (await w.operator.dump(af_packet_dump, {})).some((x) => x.host_if_name === vppSide),
        false,
      );
    });

    it('GET /health reports etcd, VPP, liveness and port counts', async () => {
      const a = w.agents[0];
      const net = vlanNet(601);
      const p = vmPort(net);
      await w.bind(H, p);
      await w.connectGuest(p);
      await w.waitReady(H, p.port_id);
      health = await startHealthServer('127.0.0.1', 0, () => a.health());
      const res = await fetch(`http://127.0.0.1:${health.port}/health`);
      assert.equal(res.status, 200);
      const h = (await res.json()) as AgentHealth;
      assert.equal(h.ok, true);
      assert.equal(h.etcd.connected, true);
      assert.equal(h.vpp.connected, true);
      assert.equal(h.liveness, 'alive');
      assert.equal(h.ports.ready, 1);
      assert.equal((await fetch(`http://127.0.0.1:${health.port}/nope`)).status, 404);
    });
  },
);
