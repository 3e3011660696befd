// Scenario: the agent and VPP restart under running VMs. A restarted agent finds VPP already right
// and writes nothing; what changed while it was away is applied; a restarted VPP is rebuilt; and
// nothing netvpp does not own is ever touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent, ResyncStats } from '../../src/agent/agent.ts';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import {
  acl_add_replace,
  bridge_domain_add_del_v2,
  cli_inband,
  create_loopback,
  macip_acl_add_replace,
  sw_interface_set_l2_bridge,
  sw_interface_tag_add_del,
} from '../../src/vpp/binapi/index.ts';
import { startProxy, type TcpProxy } from '../store/helpers/tcp-proxy.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { defaultGroup, dhcpPort, flatNet, rule, secGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { sleep, SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';
import { inspect, portIf } from './helpers/inspect.ts';

const H = 'compute1';

/** The next resync's figures (the limit only bounds a hang). */
function synced(a: Agent, limitMs = 20000): Promise<ResyncStats> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out waiting for the agent to sync')), limitMs);
    a.once('synced', (s: ResyncStats) => {
      clearTimeout(t);
      resolve(s);
    });
  });
}

describe('resync', { skip: SIM_ONLY }, () => {
  let w: World;
  let agent: Agent;
  const def = defaultGroup();
  const web = secGroup([rule({ port_range_min: 443, port_range_max: 443 })]);
  const net = vlanNet(300);
  const flat = flatNet();
  const ports: PortBinding[] = [
    vmPort(net, { security_groups: [def.id, web.id] }),
    vmPort(net, {
      security_groups: [def.id],
      allowed_address_pairs: [{ ip_address: '10.9.0.0/24', mac_address: 'fa:16:3e:aa:bb:cc' }],
    }),
    vmPort(flat, { port_security_enabled: false }),
    dhcpPort(net),
  ];

  before(async () => {
    w = await startWorld();
    await w.putGroup(def);
    await w.putGroup(web);
    await w.bindAsMembers(H, def.id, ports);
    agent = w.startAgent(H);
    for (const p of ports) await w.connectGuest(p);
    for (const p of ports) await w.waitReady(H, p.port_id);
  });
  after(async () => {
    await w?.stop();
  });

  it('a restarted agent finds VPP in sync and sends no write to VPP (and none to etcd)', async () => {
    const before = await inspect(w.operator);
    const stateRevs = await Promise.all(
      ports.map(async (p) => (await w.store.get(keys.portState(H, p.port_id))).kv?.modRevision),
    );
    await w.stopAgent(agent);
    w.vpp.sim?.resetCounters();
    agent = w.startAgent(H);
    const stats = await synced(agent);
    assert.equal(stats.writes, 0, `the agent counted ${stats.writes} writes`);
    assert.equal(stats.ports, ports.length);
    if (w.vpp.sim)
      assert.equal(w.vpp.sim.writes(), 0, `VPP saw writes: ${JSON.stringify(w.vpp.sim.counters())}`);
    assert.deepEqual(await inspect(w.operator), before);
    await sleep(200);
    const after = await Promise.all(
      ports.map(async (p) => (await w.store.get(keys.portState(H, p.port_id))).kv?.modRevision),
    );
    assert.deepEqual(after, stateRevs, 'port states were not rewritten');
    if (w.vpp.sim) assert.equal(w.vpp.sim.writes(), 0);
  });

  it('what changed while the agent was down is applied at start, and a port unbound meanwhile is removed', async () => {
    await w.stopAgent(agent);
    const gone = ports[1];
    await w.unbind(H, gone.port_id);
    await w.deleteMember(def.id, gone.port_id);
    const web2 = {
      ...web,
      revision: 2,
      rules: [...web.rules, rule({ port_range_min: 8443, port_range_max: 8443 })],
    };
    await w.putGroup(web2);
    const indexBefore = (await inspect(w.operator)).acls.get(`netvpp:sg:${web.id}:ingress`)?.index;

    agent = w.startAgent(H);
    await waitFor(
      'the unbound port removed',
      async () => !(await w.portInterface(gone.port_id)) && !(await w.portState(H, gone.port_id)),
    );
    await waitFor('the new rule applied', async () => {
      const acl = (await inspect(w.operator)).acls.get(`netvpp:sg:${web.id}:ingress`);
      return acl?.rules.some((r) => r.dstport_or_icmpcode_first === 8443) && acl.index === indexBefore;
    });
    assert.equal((await inspect(w.operator)).macips.has(`netvpp:macip:${gone.port_id}`), false);
    ports.splice(1, 1);
  });

  it('objects without netvpp’s tag are never changed or deleted, while stale netvpp objects are', async () => {
    const op = w.operator;
    const loop = (await op.request(create_loopback, { mac_address: '02:fe:00:00:09:01' })).sw_if_index;
    await op.request(sw_interface_tag_add_del, {
      is_add: true,
      sw_if_index: loop,
      tag: 'someone-else:thing',
    });
    await op.request(bridge_domain_add_del_v2, { bd_id: 777, is_add: true, flood: true, bd_tag: 'not-ours' });
    await op.request(sw_interface_set_l2_bridge, { rx_sw_if_index: loop, bd_id: 777, enable: true });
    const rule0 = {
      is_permit: 1,
      src_prefix: '0.0.0.0/0',
      dst_prefix: '0.0.0.0/0',
      proto: 0,
      srcport_or_icmptype_first: 0,
      srcport_or_icmptype_last: 65535,
      dstport_or_icmpcode_first: 0,
      dstport_or_icmpcode_last: 65535,
      tcp_flags_mask: 0,
      tcp_flags_value: 0,
    };
    await op.request(acl_add_replace, { acl_index: 0xffffffff, tag: '', count: 1, r: [rule0] });
    await op.request(acl_add_replace, {
      acl_index: 0xffffffff,
      tag: 'netvpp-lookalike',
      count: 1,
      r: [rule0],
    });
    await op.request(macip_acl_add_replace, { acl_index: 0xffffffff, tag: 'theirs', count: 0, r: [] });
    // A leftover of netvpp's own (a group nobody here uses any more).
    await op.request(acl_add_replace, {
      acl_index: 0xffffffff,
      tag: 'netvpp:sg:00000000-0000-4000-8000-00000000dead:ingress',
      count: 1,
      r: [rule0],
    });

    await w.stopAgent(agent);
    agent = w.startAgent(H);
    await synced(agent);
    await waitFor(
      'the stale netvpp ACL deleted',
      async () => !(await inspect(op)).acls.has('netvpp:sg:00000000-0000-4000-8000-00000000dead:ingress'),
    );
    const v = await inspect(op);
    assert.ok(v.byTag.has('someone-else:thing'));
    assert.deepEqual(v.bridges.get('not-ours'), [v.byTag.get('someone-else:thing')?.interface_name]);
    assert.ok(
      [...v.acls.keys()].some((t) => t.startsWith('#')),
      'the untagged ACL stays',
    );
    assert.ok(v.acls.has('netvpp-lookalike'));
    assert.ok(v.macips.has('theirs'));
  });

  it('nothing is touched in VPP while the desired state cannot be read from etcd', async () => {
    await w.stopAgent(agent);
    let proxy: TcpProxy | undefined;
    try {
      proxy = await startProxy(w.etcd.endpoints[0]);
      proxy.cut();
      w.vpp.sim?.resetCounters();
      agent = w.startAgent(H, { etcd: { endpoints: [proxy.url] } });
      await waitFor('the agent connected to VPP', () => agent.health().vpp.connected);
      await sleep(300);
      if (w.vpp.sim) assert.equal(w.vpp.sim.writes(), 0);
      assert.equal(agent.health().etcd.desiredLoaded, false);
      proxy.heal();
      const stats = await synced(agent);
      assert.equal(stats.writes, 0);
      if (w.vpp.sim) assert.equal(w.vpp.sim.writes(), 0);
    } finally {
      await w.stopAgent(agent);
      await proxy?.close();
      agent = w.startAgent(H);
    }
  });

  it(
    'after VPP restarts (all state lost) the agent rebuilds everything and the ports become ready again',
    { skip: REAL_VPP_SOCKET ? 'crashes the simulator' : false },
    async () => {
      const sim = w.vpp.sim;
      assert.ok(sim);
      await waitFor('the agent in sync', () => agent.lastResync !== null);
      for (const p of ports) await w.waitReady(H, p.port_id);
      const before = await inspect(w.operator);
      await sim.crash({ downMs: 300 });
      // The operator's startup config brings the uplink back, as a real VPP's would.
      await w.makeUplink();
      for (const p of ports) await w.connectGuest(p);
      await waitFor('ports restored', async () => {
        const v = await inspect(w.operator);
        return ports.every((p) => portIf(v, p.port_id)) && v.bridges.size === before.bridges.size - 1;
      });
      for (const p of ports) await w.connectGuest(p);
      for (const p of ports) await w.waitReady(H, p.port_id);
      const v = await inspect(w.operator);
      const shown = await w.operator.request(cli_inband, { cmd: 'show acl-plugin sessions' });
      assert.match(
        shown.reply,
        /^Reclassify sessions: 1$/m,
        'the restarted VPP reclassifies ACL sessions again',
      );
      const ours = (m: Map<string, unknown>) => [...m.keys()].filter((k) => k.startsWith('netvpp:')).sort();
      assert.deepEqual(ours(v.acls), ours(before.acls));
      assert.deepEqual(ours(v.bridges), ours(before.bridges));
      assert.deepEqual(ours(v.byTag), ours(before.byTag));
      for (const p of ports.filter(
        (x) => x.port_security_enabled && !x.device_owner.startsWith('network:'),
      )) {
        assert.equal(
          v.aclLists.get(portIf(v, p.port_id) as string)?.input.length,
          before.aclLists.get(portIf(before, p.port_id) as string)?.input.length,
        );
      }
    },
  );
});
