// gpe overlay networks across hosts (each host its own simulated VPP, one etcd), programmed into
// LISP from etcd: every local port's own MAC is a local EID, every port on another live host a
// remote mapping to that host's VTEP with an adjacency, every port's IPs ARP-terminated; a host
// joining, leaving or dying changes every peer's mappings; the port adjacencies name can leave;
// a restart sends no write.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import type { AgentConfig } from '../../src/agent/config.ts';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import {
  bd_ip_mac_dump,
  bridge_domain_dump,
  create_loopback_instance,
  one_adjacencies_get,
  one_eid_table_dump,
  one_eid_table_map_dump,
  one_locator_dump,
  show_one_status,
  sw_interface_dump,
} from '../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../src/vpp/client.ts';
import { synced } from './helpers/faults.ts';
import { gpeNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const HOSTS = ['compute1', 'compute2', 'compute3'];
const VTEP: Record<string, string> = { compute1: '192.0.2.1', compute2: '192.0.2.2', compute3: '192.0.2.3' };
const ALL = 0xffffffff;
const VNI = 6001;

const gpeConfig = (host: string): Partial<AgentConfig> => ({
  vxlan: { localIp: VTEP[host], underlay: { name: 'loop1', prefixLen: 24 } },
});

interface Gpe {
  /** The VNI's bridge is the network's, with the GPE interface in it. */
  mapped: boolean;
  /** Local EIDs (MACs), sorted. */
  local: string[];
  /** Remote MAC → its VTEP. */
  remote: Record<string, string>;
  /** Remote MAC → the local MAC its adjacency names. */
  adjacency: Record<string, string>;
  arp: Record<string, string>;
}

/** What one VPP has of a gpe network in LISP (by VNI) and in its bridge. */
async function gpeOf(vpp: VppClient, networkId: string): Promise<Gpe> {
  const bd = (await vpp.dump(bridge_domain_dump, { bd_id: ALL, sw_if_index: ALL })).find(
    (b) => b.bd_tag === `netvpp:bd:${networkId}`,
  );
  const maps = await vpp.dump(one_eid_table_map_dump, { is_l2: true });
  const ifs = await vpp.dump(sw_interface_dump, { sw_if_index: ALL });
  const gpeIf = ifs.find((i) => i.interface_name === `l2_lisp_gpe${VNI}`);
  const mapped =
    !!bd &&
    maps.some((m) => m.vni === VNI && m.dp_table === bd.bd_id) &&
    bd.sw_if_details.some((m) => m.sw_if_index === gpeIf?.sw_if_index);
  const eids = (await vpp.dump(one_eid_table_dump, { eid_set: false, filter: 0 })).filter(
    (e) => e.vni === VNI,
  );
  const remote: Record<string, string> = {};
  for (const e of eids.filter((x) => !x.is_local)) {
    const [l] = await vpp.dump(one_locator_dump, { ls_index: e.locator_set_index, is_index_set: true });
    remote[e.seid.address.mac ?? ''] = l?.ip_address ?? '';
  }
  const adjacency: Record<string, string> = {};
  for (const a of (await vpp.request(one_adjacencies_get, { vni: VNI })).adjacencies)
    adjacency[a.reid.address.mac ?? ''] = a.leid.address.mac ?? '';
  const arp: Record<string, string> = {};
  if (bd)
    for (const { entry } of await vpp.dump(bd_ip_mac_dump, { bd_id: bd.bd_id })) arp[entry.ip] = entry.mac;
  return {
    mapped,
    local: eids
      .filter((x) => x.is_local)
      .map((x) => x.seid.address.mac ?? '')
      .sort(),
    remote,
    adjacency,
    arp,
  };
}

describe('gpe overlay networks', { skip: SIM_ONLY }, () => {
  let w: World;
  const agents = new Map<string, Agent>();
  const vpp = new Map<string, VppClient>();
  const net = gpeNet(VNI);
  const port = new Map<string, PortBinding>();

  before(async () => {
    w = await startWorld();
    for (const h of HOSTS) {
      const n = await w.node(h);
      await n.operator.request(create_loopback_instance, {
        mac_address: '02:fe:00:00:02:0' + (HOSTS.indexOf(h) + 1),
        is_specified: true,
        user_instance: 1,
      });
      vpp.set(h, n.operator);
      agents.set(h, w.startAgent(h, gpeConfig(h)));
      port.set(h, vmPort(net, { mac: `fa:16:3e:60:00:0${HOSTS.indexOf(h) + 1}` }));
    }
  });
  after(() => w?.stop());

  const ipOf = (p: PortBinding) => p.fixed_ips[0].ip_address;
  const bind = async (h: string, p = port.get(h) as PortBinding) => {
    await w.bindOverlay(h, p);
    await w.connectGuest(p, h);
    await w.waitReady(h, p.port_id);
  };
  /** Waits until `host` has exactly its `locals` as local EIDs and `peers`' ports as remote ones. */
  const expect = (host: string, locals: PortBinding[], peers: [string, PortBinding][]) =>
    waitFor(`${host}'s LISP with ${locals.length} local and ${peers.length} remote ports`, async () => {
      const g = await gpeOf(vpp.get(host) as VppClient, net.id);
      const anchor = locals.map((p) => p.mac).sort()[0];
      const want: Gpe = {
        mapped: locals.length > 0,
        local: locals.map((p) => p.mac).sort(),
        remote: Object.fromEntries(peers.map(([h, p]) => [p.mac, VTEP[h]])),
        adjacency: Object.fromEntries(peers.map(([, p]) => [p.mac, anchor])),
        arp: locals.length
          ? Object.fromEntries([...locals, ...peers.map(([, p]) => p)].map((p) => [ipOf(p), p.mac]))
          : {},
      };
      try {
        assert.deepEqual(g, want);
        return g;
      } catch {
        return undefined;
      }
    });
  const p = (h: string) => port.get(h) as PortBinding;

  it('two hosts: each has its port’s own MAC as a local EID and the other’s mapped to its VTEP, with an adjacency', async () => {
    await bind('compute1');
    await bind('compute2');
    await expect('compute1', [p('compute1')], [['compute2', p('compute2')]]);
    await expect('compute2', [p('compute2')], [['compute1', p('compute1')]]);
    const s = await (vpp.get('compute1') as VppClient).request(show_one_status, {});
    assert.ok(s.feature_status && s.gpe_status, 'LISP and GPE are enabled');
  });

  it('a third host is mapped everywhere with its first port, and unmapped with its last', async () => {
    await bind('compute3');
    await expect(
      'compute1',
      [p('compute1')],
      [
        ['compute2', p('compute2')],
        ['compute3', p('compute3')],
      ],
    );
    await expect(
      'compute3',
      [p('compute3')],
      [
        ['compute1', p('compute1')],
        ['compute2', p('compute2')],
      ],
    );
    await w.unbindOverlay('compute3', p('compute3'));
    await expect('compute1', [p('compute1')], [['compute2', p('compute2')]]);
    await expect('compute2', [p('compute2')], [['compute1', p('compute1')]]);
    // Nothing of the network is left there, and LISP is off again.
    await expect('compute3', [], []);
    await waitFor('LISP off on compute3', async () => {
      const s = await (vpp.get('compute3') as VppClient).request(show_one_status, {});
      return !s.feature_status;
    });
  });

  it('the local port adjacencies name leaves: they move to another local port, the peers’ stay', async () => {
    // A lower MAC than compute1's port: the adjacencies move to it, then back when it leaves.
    const low = vmPort(net, { mac: 'fa:16:3e:00:00:01' });
    await bind('compute1', low);
    await expect('compute1', [p('compute1'), low], [['compute2', p('compute2')]]);
    await expect(
      'compute2',
      [p('compute2')],
      [
        ['compute1', p('compute1')],
        ['compute1', low],
      ],
    );
    await w.unbindOverlay('compute1', low);
    await expect('compute1', [p('compute1')], [['compute2', p('compute2')]]);
    await expect('compute2', [p('compute2')], [['compute1', p('compute1')]]);
  });

  it('a host whose agent dies is unmapped by its peers; back, it is mapped again', async () => {
    await w.stopAgent(agents.get('compute2') as Agent);
    await w.store.delete(keys.hostAlive('compute2')); // what the lease's expiry does
    await waitFor('compute1 without compute2’s port', async () => {
      const g = await gpeOf(vpp.get('compute1') as VppClient, net.id);
      return Object.keys(g.remote).length === 0 ? g : undefined;
    });
    agents.set('compute2', w.startAgent('compute2', gpeConfig('compute2')));
    await expect('compute1', [p('compute1')], [['compute2', p('compute2')]]);
  });

  it('a restarted agent with its gpe network in place sends no write to VPP', async () => {
    await expect('compute1', [p('compute1')], [['compute2', p('compute2')]]);
    await w.stopAgent(agents.get('compute1') as Agent);
    const n1 = await w.node('compute1');
    n1.vpp.sim?.resetCounters();
    const written: string[] = [];
    n1.vpp.sim?.onWrite((x) => void written.push(x.message));
    const a = w.startAgent('compute1', gpeConfig('compute1'));
    agents.set('compute1', a);
    const stats = await synced(a);
    n1.vpp.sim?.onWrite(null);
    assert.deepEqual(written, [], 'nothing written to VPP');
    assert.equal(stats.writes, 0, `the agent counted ${stats.writes} writes`);
  });
});
