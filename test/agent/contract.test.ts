// The agent against whatever VPP the tests have: the simulator, or a real VPP when
// NETVPP_TEST_VPP_SOCKET names its socket. No guests and no faults, so it runs on both: the objects
// a bound port needs appear in VPP with netvpp's tags, a restarted agent writes nothing, and an
// unbind leaves no trace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultGroup, rule, secGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { startWorld, UPLINK, waitFor, type World } from './helpers/harness.ts';
import { inspect, portIf } from './helpers/inspect.ts';

const H = 'compute1';

describe('contract with VPP', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    await w?.stop();
  });

  const net = vlanNet(3001);
  const web = secGroup([rule({ port_range_min: 80, port_range_max: 80 })]);
  const def = defaultGroup();
  const vm = vmPort(net, { security_groups: [web.id, def.id] });

  it('a bound port gets its sub-interface, bridge, interface, ACLs and anti-spoofing, all tagged', async () => {
    await w.putGroup(web);
    await w.putGroup(def);
    await w.putMember(def.id, vm.port_id, ['10.0.0.5']);
    await w.bind(H, vm);
    const a = w.startAgent(H);
    await waitFor('the port plumbed', async () => {
      const v = await inspect(w.operator);
      const ifname = portIf(v, vm.port_id);
      return ifname && v.adminUp(ifname) && v.bridges.get(`netvpp:bd:${net.id}`)?.includes(ifname);
    });
    const v = await inspect(w.operator);
    const ifname = portIf(v, vm.port_id) as string;
    assert.equal(v.byTag.get('netvpp:vlan:physnet1:3001')?.interface_name, `${UPLINK}.3001`);
    assert.deepEqual(v.bridges.get(`netvpp:bd:${net.id}`), [`${UPLINK}.3001`, ifname].sort());
    assert.equal(v.aclLists.get(ifname)?.output.length, 4);
    assert.equal(v.macipOf.get(ifname), `netvpp:macip:${vm.port_id}`);
    assert.equal(a.health().failing.length, 0);
    // Without a guest on the socket the port is not ready, and that is not an error.
    const st = await w.waitState(H, vm.port_id, 'a state', (s) => s !== undefined);
    assert.equal(st?.ready, false);
    assert.equal(st?.error, null);
  });

  it('a restarted agent writes nothing to VPP', async () => {
    await w.stopAgent(w.agents[0]);
    const before = await inspect(w.operator);
    const a = w.startAgent(H);
    await waitFor('resynced', () => a.lastResync !== null);
    assert.equal(a.lastResync?.writes, 0);
    assert.deepEqual(await inspect(w.operator), before);
  });

  it('an unbind removes every object netvpp made for the port and its network', async () => {
    await w.unbind(H, vm.port_id);
    await waitFor('all gone', async () => {
      const v = await inspect(w.operator);
      return (
        !portIf(v, vm.port_id) &&
        !v.byTag.has('netvpp:vlan:physnet1:3001') &&
        !v.bridges.has(`netvpp:bd:${net.id}`) &&
        ![...v.acls.keys(), ...v.macips.keys()].some((t) => t.startsWith('netvpp:'))
      );
    });
    await w.waitState(H, vm.port_id, 'its state key deleted', (s) => s === undefined);
  });
});
