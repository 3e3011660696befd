// VXLAN overlay networks across hosts (each host its own simulated VPP, one etcd): the flood list is
// exactly the other hosts with ports on the network, a host joining or leaving (or dying) changes
// every peer's tunnels, remote MACs are static FIB entries behind their host's tunnel, every port's
// IPs are answered by ARP termination, a restart sends no write, and one bad overlay value stops
// nothing else. On real VPPs, test/dataplane/vxlan.test.ts sends packets through the tunnels.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import type { AgentConfig } from '../../src/agent/config.ts';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import { create_loopback_instance, ip_address_dump, sw_interface_dump } from '../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../src/vpp/client.ts';
import { synced } from './helpers/faults.ts';
import { overlayOf, type Overlay } from './helpers/overlay.ts';
import { vmPort, vxlanNet } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const HOSTS = ['compute1', 'compute2', 'compute3'];
const VTEP: Record<string, string> = { compute1: '192.0.2.1', compute2: '192.0.2.2', compute3: '192.0.2.3' };
const UNDERLAY = 'loop1';
const ALL = 0xffffffff;

const vxlanConfig = (host: string): Partial<AgentConfig> => ({
  vxlan: { localIp: VTEP[host], underlay: { name: UNDERLAY, prefixLen: 24 } },
});

describe('VXLAN overlay networks', { skip: SIM_ONLY }, () => {
  let w: World;
  const agents = new Map<string, Agent>();
  const vpp = new Map<string, VppClient>();
  const net = vxlanNet(5001);
  const port = new Map<string, PortBinding>();

  before(async () => {
    w = await startWorld();
    for (const h of HOSTS) {
      const n = await w.node(h);
      await n.operator.request(create_loopback_instance, {
        mac_address: '02:fe:00:00:01:0' + (HOSTS.indexOf(h) + 1),
        is_specified: true,
        user_instance: 1,
      });
      vpp.set(h, n.operator);
      agents.set(h, w.startAgent(h, vxlanConfig(h)));
      port.set(h, vmPort(net));
    }
  });
  after(() => w?.stop());

  const ipOf = (h: string) => (port.get(h) as PortBinding).fixed_ips[0].ip_address;
  const macOf = (h: string) => (port.get(h) as PortBinding).mac;
  const bind = async (h: string) => {
    const p = port.get(h) as PortBinding;
    await w.bindOverlay(h, p);
    await w.connectGuest(p, h);
    await w.waitReady(h, p.port_id);
  };
  /** Waits until `host`'s VPP has tunnels to exactly `peers` and their MACs and everyone's IPs. */
  const expectPeers = (host: string, peers: string[], ipsOf: string[]) =>
    waitFor(`${host}'s overlay with peers ${peers.join(', ') || 'none'}`, async () => {
      const o = await overlayOf(vpp.get(host) as VppClient, net.id, 5001);
      const want: Overlay = {
        tunnels: peers.map((p) => VTEP[p]).sort(),
        shg: peers.map(() => 1),
        // No port left: no bridge either.
        arpTerm: ipsOf.length > 0,
        fib: Object.fromEntries(peers.map((p) => [macOf(p), VTEP[p]])),
        arp: Object.fromEntries(ipsOf.map((p) => [ipOf(p), macOf(p)])),
      };
      try {
        assert.deepEqual(o, want);
        return o;
      } catch {
        return undefined;
      }
    });

  it('two hosts: a tunnel each way in split-horizon group 1, the remote MAC static behind it, both IPs terminated', async () => {
    await bind('compute1');
    await bind('compute2');
    const o1 = await expectPeers('compute1', ['compute2'], ['compute1', 'compute2']);
    await expectPeers('compute2', ['compute1'], ['compute1', 'compute2']);
    assert.equal(o1.tunnels.length, 1);
    // The VTEP address is on the underlay, which is up.
    const ifs = await (vpp.get('compute1') as VppClient).dump(sw_interface_dump, { sw_if_index: ALL });
    const u = ifs.find((d) => d.interface_name === UNDERLAY);
    assert.ok(u && (u.flags & 1) === 1, 'the underlay is admin-up');
    const addrs = await (vpp.get('compute1') as VppClient).dump(ip_address_dump, {
      sw_if_index: u.sw_if_index,
      is_ipv6: false,
    });
    assert.deepEqual(
      addrs.map((a) => a.prefix),
      ['192.0.2.1/24'],
    );
    // The tunnel is netvpp's by its tag.
    const t = ifs.find((d) => d.tag === 'netvpp:vxlan:5001:192.0.2.2');
    assert.ok(t, 'the tunnel carries its key as its tag');
  });

  it('a third host joins every flood list with its first port, and leaves them with its last', async () => {
    await bind('compute3');
    await expectPeers('compute1', ['compute2', 'compute3'], HOSTS);
    await expectPeers('compute2', ['compute1', 'compute3'], HOSTS);
    await expectPeers('compute3', ['compute1', 'compute2'], HOSTS);
    await w.unbindOverlay('compute3', port.get('compute3') as PortBinding);
    await expectPeers('compute1', ['compute2'], ['compute1', 'compute2']);
    await expectPeers('compute2', ['compute1'], ['compute1', 'compute2']);
    // Its own network is gone there: no tunnel left behind.
    await expectPeers('compute3', [], []);
  });

  it('a host whose agent dies leaves its peers’ flood lists; back, it is in them again', async () => {
    const a2 = agents.get('compute2') as Agent;
    await w.stopAgent(a2);
    await w.store.delete(keys.hostAlive('compute2')); // what the lease's expiry does
    // Its MAC and tunnel go; its IP stays answered (the port is still bound in Neutron).
    await waitFor('compute1 without the tunnel to compute2', async () => {
      const o = await overlayOf(vpp.get('compute1') as VppClient, net.id, 5001);
      return o.tunnels.length === 0 && Object.keys(o.fib).length === 0 ? o : undefined;
    });
    agents.set('compute2', w.startAgent('compute2', vxlanConfig('compute2')));
    await expectPeers('compute1', ['compute2'], ['compute1', 'compute2']);
  });

  it('a restarted agent with overlays in place sends no write to VPP', async () => {
    await expectPeers('compute1', ['compute2'], ['compute1', 'compute2']);
    const a1 = agents.get('compute1') as Agent;
    await w.stopAgent(a1);
    const n1 = await w.node('compute1');
    n1.vpp.sim?.resetCounters();
    const a = w.startAgent('compute1', vxlanConfig('compute1'));
    agents.set('compute1', a);
    const stats = await synced(a);
    assert.equal(stats.writes, 0, `the agent counted ${stats.writes} writes`);
    if (n1.vpp.sim) assert.equal(n1.vpp.sim.writes(), 0, JSON.stringify(n1.vpp.sim.counters()));
  });

  it('a restarted VPP gets its tunnels, MACs and ARP entries back', async () => {
    const n1 = await w.node('compute1');
    const sim = n1.vpp.sim;
    assert.ok(sim);
    await sim.crash({ downMs: 300 });
    // The operator's startup configuration brings back the uplink and the underlay interface.
    await w.makeUplink('compute1');
    await waitFor('the operator reconnected', async () => {
      if (!n1.operator.connected) await n1.operator.reconnect();
      return n1.operator.connected;
    });
    await n1.operator.request(create_loopback_instance, {
      mac_address: '02:fe:00:00:01:01',
      is_specified: true,
      user_instance: 1,
    });
    await w.connectGuest(port.get('compute1') as PortBinding, 'compute1');
    await expectPeers('compute1', ['compute2'], ['compute1', 'compute2']);
  });

  it('a bad overlay value is skipped, the rest of the network still works', async () => {
    const k = keys.overlayPort(net.id, '0b0b0b0b-0000-4000-8000-000000000001');
    await w.store.put(k, JSON.stringify({ host: 'compute9', mac: 'not a mac', ips: [], revision: 1 }));
    const extra = vmPort(net, { port_id: '0c0c0c0c-0000-4000-8000-000000000002' });
    await w.bindOverlay('compute2', extra);
    await w.connectGuest(extra, 'compute2');
    await waitFor('compute1 knows the new port behind compute2', async () => {
      const o = await overlayOf(vpp.get('compute1') as VppClient, net.id, 5001);
      return o.fib[extra.mac] === VTEP.compute2 && o.arp[extra.fixed_ips[0].ip_address] === extra.mac;
    });
    await w.store.delete(k);
  });
});
