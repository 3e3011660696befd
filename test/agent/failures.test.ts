// Scenario: things go wrong — a bad value in etcd, a VPP call that fails, a missing uplink, etcd
// restarting or compacting its history while the agent is cut off. Each problem shows up as an error
// on the ports it affects; every other port carries on, and everything recovers by itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeValue, keys } from '../../src/model/keyspace.ts';
import {
  create_loopback_instance,
  create_vlan_subif,
  sw_interface_tag_add_del,
} from '../../src/vpp/binapi/index.ts';
import { startProxy } from '../store/helpers/tcp-proxy.ts';
import { rule, secGroup, uuid, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, UPLINK, waitFor, type World } from './helpers/harness.ts';
import { inspect } from './helpers/inspect.ts';

const H = 'compute1';

describe('failures', { skip: SIM_ONLY }, () => {
  let w: World;
  const net = vlanNet(500);
  const healthy = vmPort(net);

  before(async () => {
    w = await startWorld();
    await w.bind(H, healthy);
    w.startAgent(H);
    await w.connectGuest(healthy);
    await w.waitReady(H, healthy.port_id);
  });
  after(async () => {
    await w?.stop();
  });

  it('a malformed port binding gives that port an error and leaves the others alone', async () => {
    const bad = uuid();
    await w.store.put(keys.portBinding(H, bad), '{"port_id": "' + bad + '", "revision": 7, "mtu": "big"');
    const st = await w.waitState(H, bad, 'an error state for the bad port', (s) => !!s?.error);
    assert.match(st?.error ?? '', /invalid port binding: not JSON/);
    assert.equal(st?.ready, false);
    const later = vmPort(net);
    await w.bind(H, later);
    await w.connectGuest(later);
    await w.waitReady(H, later.port_id);
    assert.equal((await w.portState(H, healthy.port_id))?.ready, true);

    await w.store.put(
      keys.portBinding(H, bad),
      JSON.stringify({ ...vmPort(net, { port_id: bad }), mtu: 'big' }),
    );
    await w.waitState(H, bad, 'the schema error', (s) => /mtu/.test(s?.error ?? ''));
    const fixed = vmPort(net, { port_id: bad, revision: 8 });
    await w.bind(H, fixed);
    await w.connectGuest(fixed);
    await w.waitReady(H, bad, 8);
    await w.unbind(H, bad);
    await w.unbind(H, later.port_id);
  });

  it('a malformed security group is an error on its ports only', async () => {
    const sgId = uuid();
    await w.store.put(
      keys.secGroup(sgId),
      JSON.stringify({ id: sgId, revision: 1, stateful: 'yes', rules: [] }),
    );
    const p = vmPort(net, { security_groups: [sgId] });
    await w.bind(H, p);
    const st = await w.waitState(H, p.port_id, 'an error naming the group', (s) => !!s?.error);
    assert.match(st?.error ?? '', new RegExp(`security group ${sgId} is invalid: stateful`));
    assert.equal((await w.portState(H, healthy.port_id))?.ready, true);
    await w.putGroup(secGroup([rule()], { id: sgId }));
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    // A bad membership value is skipped (and logged); it breaks nothing.
    await w.store.put(keys.remoteGroupMember(sgId, uuid()), '["not", "an", "object"]');
    await w.unbind(H, p.port_id);
    await waitFor('the port gone', async () => !(await w.portState(H, p.port_id)));
  });

  it('a failing VPP call is reported on its port and retried until it succeeds; other ports are not held up', async () => {
    const sim = w.vpp.sim;
    if (!sim) return;
    sim.failNth('create_vhost_user_if_v2', 1, -1);
    const unlucky = vmPort(net);
    const rec = w.recordStates(H, unlucky.port_id);
    await w.bind(H, unlucky);
    await waitFor('the VPP error reported', () => rec.values.find((s) => s.error));
    assert.match(
      rec.values.find((s) => s.error)?.error ?? '',
      /create port:.*create_vhost_user_if_v2 failed: VPP returned -1/,
    );
    await rec.stop();
    const other = vmPort(vlanNet(501));
    await w.bind(H, other);
    await w.connectGuest(other);
    await w.waitReady(H, other.port_id);
    await w.connectGuest(unlucky);
    await w.waitReady(H, unlucky.port_id);
    assert.equal((await w.portState(H, unlucky.port_id))?.error, null);
    await w.unbind(H, unlucky.port_id);
    await w.unbind(H, other.port_id);
  });

  it('an untagged VLAN sub-interface of the uplink (a crash between create and tag) is adopted, one tagged by someone else is not', async () => {
    const uplink = (await inspect(w.operator)).ifs.get(UPLINK)?.sw_if_index as number;
    // Left untagged, as an agent killed between create_vlan_subif and the tag call leaves it.
    const left = await w.operator.request(create_vlan_subif, { sw_if_index: uplink, vlan_id: 776 });
    const adopted = vmPort(vlanNet(776));
    await w.bind(H, adopted);
    await w.connectGuest(adopted);
    await w.waitReady(H, adopted.port_id);
    const subs = [...(await inspect(w.operator)).ifs.values()].filter(
      (d) => d.sup_sw_if_index === uplink && d.sub_id === 776,
    );
    assert.deepEqual(
      subs.map((d) => [d.sw_if_index, d.tag]),
      [[left.sw_if_index, 'netvpp:vlan:physnet1:776']],
      "the one sub-interface is netvpp's now",
    );
    await w.unbind(H, adopted.port_id);

    const mine = await w.operator.request(create_vlan_subif, { sw_if_index: uplink, vlan_id: 777 });
    await w.operator.request(sw_interface_tag_add_del, {
      is_add: true,
      sw_if_index: mine.sw_if_index,
      tag: 'operator:mine',
    });
    const p = vmPort(vlanNet(777));
    await w.bind(H, p);
    const st = await w.waitState(H, p.port_id, 'an error about the sub-interface', (s) => !!s?.error);
    assert.match(
      st?.error ?? '',
      /VLAN 777 sub-interface of uplink:physnet1 already exists and is tagged "operator:mine"; netvpp will not take it over/,
    );
    await w.unbind(H, p.port_id);
    const after = (await inspect(w.operator)).ifs.get(`${UPLINK}.777`);
    assert.equal(after?.tag, 'operator:mine', "the operator's sub-interface is left as it was");
  });

  it('a physnet whose uplink is missing in VPP is an error until the interface appears', async () => {
    await w.stopAgent(w.agents[0]);
    w.startAgent(H, {
      physnets: new Map([
        ['physnet1', UPLINK],
        ['physnet2', 'loop9'],
      ]),
    });
    const p = vmPort(vlanNet(10, 'physnet2'));
    await w.bind(H, p);
    const st = await w.waitState(H, p.port_id, 'an error about the uplink', (s) => !!s?.error);
    assert.match(st?.error ?? '', /uplink interface loop9 of physnet physnet2 does not exist in VPP/);
    assert.equal((await w.portState(H, healthy.port_id))?.ready, true);
    // The operator adds the interface (a NIC hot-plugged, a VPP startup config fixed).
    await w.operator.request(create_loopback_instance, {
      mac_address: '02:fe:00:00:00:09',
      is_specified: true,
      user_instance: 9,
    });
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    await w.unbind(H, p.port_id);
    await waitFor('state removed', async () => !(await w.portState(H, p.port_id)));
  });

  it('etcd restarting does not disturb VPP, and changes made after it are applied', async () => {
    await w.etcd.restart();
    const p = vmPort(net);
    await waitFor('etcd back', async () => {
      await w.bind(H, p);
      return true;
    });
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    await waitFor('liveness key back', async () => (await w.store.get(keys.hostAlive(H))).kv !== undefined);
    await w.unbind(H, p.port_id);
  });

  it('history compacted while the agent was cut off from etcd: it re-reads everything and converges', async () => {
    await w.stopAgent(w.agents[0]);
    const proxy = await startProxy(w.etcd.endpoints[0]);
    try {
      const a = w.startAgent(H, { etcd: { endpoints: [proxy.url] } });
      await waitFor('agent in sync', () => a.health().etcd.desiredLoaded && a.health().ports.ready >= 1);
      proxy.cut();
      const gone = vmPort(net);
      const added = vmPort(net);
      await w.unbind(H, healthy.port_id);
      await w.bind(H, added);
      for (let i = 0; i < 5; i++)
        await w.store.put(keys.portBinding(H, gone.port_id), JSON.stringify({ ...gone, revision: i + 1 }));
      await w.unbind(H, gone.port_id);
      await w.store.compact(await w.store.revision());
      proxy.heal();
      await w.connectGuest(added);
      await w.waitReady(H, added.port_id);
      await waitFor(
        'the unbound port removed',
        async () => !(await w.portInterface(healthy.port_id)) && !(await w.portState(H, healthy.port_id)),
      );
      assert.equal(await w.portInterface(gone.port_id), undefined);
    } finally {
      // The agent behind the proxy goes with it; the next tests get one on etcd itself.
      for (const a of [...w.agents]) await w.stopAgent(a);
      await proxy.close();
      w.startAgent(H);
    }
  });

  it('the liveness key names the host’s physnets and VPP connection', async () => {
    // Until the key is there, valid, and says VPP is connected (the wait fails otherwise).
    const { kv, alive } = await waitFor('the liveness key', async () => {
      const got = (await w.store.get(keys.hostAlive(H))).kv;
      const v = got && decodeValue('hostAlive', got.value);
      return got && v && v.ok && v.value.vpp.connected ? { kv: got, alive: v.value } : undefined;
    });
    assert.deepEqual(alive.physnets, ['physnet1']);
    assert.ok(alive.vpp.version);
    assert.notEqual(kv.lease, '0');
  });
});
