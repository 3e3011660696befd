// Scenario: a compute node whose VPP runs without the acl plugin. The agent still connects and
// plumbs ports that need no ACL; a port that needs port security gets an error naming what is
// missing and forwards nothing, instead of the whole host being refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import { hostCapabilities } from '../../src/agent/capabilities.ts';
import { defaultGroup, dhcpPort, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, type World } from './helpers/harness.ts';

const H = 'compute-noacl';

describe('a VPP without the acl plugin', { skip: SIM_ONLY }, () => {
  let w: World;
  let agent: Agent;
  before(async () => {
    w = await startWorld();
    await w.node(H, { withoutGroups: ['acl'] });
    agent = w.startAgent(H);
  });
  after(async () => {
    await w?.stop();
  });

  const net = vlanNet(300);
  const sg = defaultGroup();

  it('the agent connects with the acl group off; the host offers no port security', async () => {
    const open = vmPort(net, { port_security_enabled: false });
    await w.bind(H, open);
    await w.connectGuest(open, H);
    await w.waitReady(H, open.port_id);
    const groups = agent.vppClient?.groups;
    assert.equal(groups?.acl.available, false);
    assert.match(groups?.acl.reason ?? '', /acl plugin/);
    assert.deepEqual(hostCapabilities(groups, 'tap'), {
      vif_types: ['vhostuser', 'tap', 'router', 'subport'],
      features: ['nat', 'qos'],
    });
  });

  it('ports without filtering are plumbed and ready: no port security, or a trusted DHCP port', async () => {
    const dhcp = dhcpPort(net);
    await w.bind(H, dhcp);
    await w.waitReady(H, dhcp.port_id);
    const tap = await w.portInterface(dhcp.port_id, H);
    assert.equal((tap?.flags ?? 0) & 1, 1, 'admin up');
  });

  it('a port with port security is not made ready: its error names the missing group', async () => {
    await w.putGroup(sg);
    const filtered = vmPort(net, { security_groups: [sg.id] });
    await w.bind(H, filtered);
    await w.connectGuest(filtered, H);
    const st = await w.waitState(H, filtered.port_id, 'an error naming the acl group', (s) =>
      /message group acl/.test(s?.error ?? ''),
    );
    assert.equal(st?.ready, false);
    // Fail closed: the interface may exist, but it is not admin up without its ACLs.
    const iface = await w.portInterface(filtered.port_id, H);
    assert.equal((iface?.flags ?? 0) & 1, 0);
  });
});
