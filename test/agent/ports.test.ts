// Scenario: an operator's day with one compute node. VMs and DHCP servers come and go on VLAN and
// flat networks; the agent keeps VPP in step and tells Neutron (through etcd) when each port is ready.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sw_interface_tap_v2_dump } from '../../src/vpp/binapi/index.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { dhcpPort, flatNet, rule, secGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, UPLINK, waitFor, type World } from './helpers/harness.ts';
import { inspect, portIf } from './helpers/inspect.ts';

const H = 'compute1';

describe('ports on one compute node', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
    w.startAgent(H);
  });
  after(async () => {
    await w?.stop();
  });

  const web = secGroup([rule({ port_range_min: 80, port_range_max: 80 })]);
  const net100 = vlanNet(100);
  const vm1 = vmPort(net100, { security_groups: [web.id] });

  it('a VM port on a VLAN network is plumbed, filtered, and reported ready once the guest connects', async () => {
    await w.putGroup(web);
    await w.bind(H, vm1);

    // Before QEMU connects, the port exists and is filtered, but is not ready.
    const before = await w.waitState(H, vm1.port_id, 'a not-ready state', (s) => s !== undefined);
    assert.equal(before?.ready, false);
    assert.equal(before?.error, null);

    await w.connectGuest(vm1);
    const st = await w.waitReady(H, vm1.port_id, 1);
    assert.equal(st.error, null);

    const v = await inspect(w.operator);
    const ifname = portIf(v, vm1.port_id) as string;
    assert.ok(ifname, 'the port has a VPP interface tagged with its id');
    assert.ok(v.adminUp(ifname) && v.linkUp(ifname));
    assert.equal(v.byTag.get('netvpp:vlan:physnet1:100')?.interface_name, `${UPLINK}.100`);
    assert.deepEqual(v.bridges.get(`netvpp:bd:${net100.id}`), [`${UPLINK}.100`, ifname].sort());
    assert.deepEqual(v.aclLists.get(ifname), {
      input: ['netvpp:base:egress', 'netvpp:related:egress', `netvpp:sg:${web.id}:egress`],
      output: ['netvpp:base:ingress', 'netvpp:related:ingress', `netvpp:sg:${web.id}:ingress`],
    });
    assert.equal(v.macipOf.get(ifname), `netvpp:macip:${vm1.port_id}`);
    const sgIn = v.acls.get(`netvpp:sg:${web.id}:ingress`);
    assert.ok(sgIn?.rules.some((r) => r.dstport_or_icmpcode_first === 80 && r.is_permit === 2));
    assert.equal(v.ifs.get(ifname)?.mtu[0], 1500);
  });

  it('a second port on the same network shares its bridge and its security-group ACLs', async () => {
    const vm2 = vmPort(net100, { security_groups: [web.id] });
    await w.bind(H, vm2);
    await w.connectGuest(vm2);
    await w.waitReady(H, vm2.port_id);
    const v = await inspect(w.operator);
    assert.equal(v.bridges.get(`netvpp:bd:${net100.id}`)?.length, 3);
    assert.equal([...v.acls.keys()].filter((t) => t.includes(web.id)).length, 2);
    await w.unbind(H, vm2.port_id);
    await waitFor(
      'vm2 gone',
      async () => !(await w.portInterface(vm2.port_id)) && !(await w.portState(H, vm2.port_id)),
    );
    const after = await inspect(w.operator);
    assert.equal(after.bridges.get(`netvpp:bd:${net100.id}`)?.length, 2, 'the network stays for vm1');
  });

  it('a DHCP port gets a tap named as Neutron expects, unfiltered, and is ready at once', async () => {
    const dhcp = dhcpPort(net100);
    await w.bind(H, dhcp);
    await w.waitReady(H, dhcp.port_id);
    const v = await inspect(w.operator);
    const ifname = portIf(v, dhcp.port_id) as string;
    const taps = await w.operator.dump(sw_interface_tap_v2_dump, { sw_if_index: 0xffffffff });
    const tap = taps.find((t) => t.sw_if_index === v.ifs.get(ifname)?.sw_if_index);
    assert.equal(tap?.host_if_name, 'tap' + dhcp.port_id.slice(0, 11));
    assert.equal(tap?.host_mac_addr, dhcp.mac);
    assert.equal(tap?.host_mtu_size, 1500);
    assert.equal(v.aclLists.get(ifname), undefined, 'trusted network:* ports are not filtered');
    assert.equal(v.macipOf.get(ifname), undefined);
    assert.equal(v.etypes.get(ifname), undefined, 'and pass every ethertype');
    assert.ok(v.bridges.get(`netvpp:bd:${net100.id}`)?.includes(ifname));
    await w.unbind(H, dhcp.port_id);
  });

  it('turning port security off removes all filtering from the port; turning it on restores it', async () => {
    await w.bind(H, { ...vm1, port_security_enabled: false, revision: 2 });
    await w.waitReady(H, vm1.port_id, 2);
    let v = await inspect(w.operator);
    const ifname = portIf(v, vm1.port_id) as string;
    assert.equal(v.aclLists.get(ifname), undefined);
    assert.equal(v.macipOf.get(ifname), undefined);
    assert.equal(
      v.macips.get(`netvpp:macip:${vm1.port_id}`),
      undefined,
      'the MAC-IP ACL is deleted, not leaked',
    );
    assert.equal(v.etypes.get(ifname), undefined, 'any ethertype passes again');

    await w.bind(H, { ...vm1, revision: 3 });
    await w.waitReady(H, vm1.port_id, 3);
    v = await inspect(w.operator);
    assert.equal(v.aclLists.get(ifname)?.input.length, 3);
    assert.equal(v.macipOf.get(ifname), `netvpp:macip:${vm1.port_id}`);
    const ipAndArp = ['0x0800', '0x86dd', '0x0806'];
    assert.deepEqual(v.etypes.get(ifname), { input: ipAndArp, output: ipAndArp }, 'only IP and ARP pass');
  });

  it('an allowed address pair lets the port send from that address (and MAC)', async () => {
    await w.bind(H, {
      ...vm1,
      allowed_address_pairs: [{ ip_address: '192.0.2.0/24', mac_address: 'fa:16:3e:99:99:99' }],
      revision: 4,
    });
    await w.waitReady(H, vm1.port_id, 4);
    const v = await inspect(w.operator);
    const rules = v.macips.get(`netvpp:macip:${vm1.port_id}`)?.rules ?? [];
    assert.ok(rules.some((r) => r.src_mac === 'fa:16:3e:99:99:99' && r.src_prefix === '192.0.2.0/24'));
    assert.ok(
      rules.some((r) => r.src_mac === vm1.mac && r.src_prefix === `${vm1.fixed_ips[0].ip_address}/32`),
    );
  });

  it('an unbound port leaves no ethertype whitelist for the next interface VPP gives its index', async () => {
    // VPP keeps a whitelist past its interface's deletion; the agent clears it before deleting.
    const a = vmPort(net100);
    await w.bind(H, a);
    await w.connectGuest(a);
    await w.waitReady(H, a.port_id);
    const index = (await w.portInterface(a.port_id))?.sw_if_index;
    await w.unbind(H, a.port_id);
    await waitFor('the port removed', async () => !(await w.portInterface(a.port_id)));
    const b = vmPort(net100, { port_security_enabled: false });
    await w.bind(H, b);
    await w.connectGuest(b);
    await w.waitReady(H, b.port_id);
    const v = await inspect(w.operator);
    const ifname = portIf(v, b.port_id) as string;
    assert.equal(v.ifs.get(ifname)?.sw_if_index, index, 'VPP reused the index');
    assert.equal(v.etypes.get(ifname), undefined);
    await w.unbind(H, b.port_id);
  });

  it('a flat network bridges the uplink itself; the last port leaving removes the bridge, not the uplink', async () => {
    const flat = flatNet();
    const a = vmPort(flat, { port_security_enabled: false });
    const b = vmPort(flat, { port_security_enabled: false });
    await w.bind(H, a);
    await w.bind(H, b);
    await w.connectGuest(a);
    await w.connectGuest(b);
    await w.waitReady(H, a.port_id);
    await w.waitReady(H, b.port_id);
    let v = await inspect(w.operator);
    assert.deepEqual(
      v.bridges.get(`netvpp:bd:${flat.id}`),
      [UPLINK, portIf(v, a.port_id), portIf(v, b.port_id)].sort(),
    );

    await w.unbind(H, a.port_id);
    await w.unbind(H, b.port_id);
    await waitFor(
      'the flat bridge removed',
      async () => !(await inspect(w.operator)).bridges.has(`netvpp:bd:${flat.id}`),
    );
    v = await inspect(w.operator);
    assert.ok(v.ifs.has(UPLINK), 'the uplink is the operator’s and stays');
    assert.ok(v.adminUp(UPLINK));
  });

  it('unbinding the last port of a VLAN network removes port, bridge, sub-interface, ACLs and state', async () => {
    await w.unbind(H, vm1.port_id);
    await waitFor('network 100 gone', async () => {
      const v = await inspect(w.operator);
      return !v.bridges.has(`netvpp:bd:${net100.id}`) && !v.byTag.has('netvpp:vlan:physnet1:100');
    });
    const v = await inspect(w.operator);
    assert.equal(portIf(v, vm1.port_id), undefined);
    assert.deepEqual(
      [...v.acls.keys()].filter((t) => t.startsWith('netvpp:')),
      [],
      'no port uses an ACL any more',
    );
    assert.equal(v.macips.size, 0);
    // The state key goes after VPP's objects (the same pass, but a later etcd write).
    await waitFor('the port state removed', async () => (await w.portState(H, vm1.port_id)) === undefined);
  });

  it(
    'rebinding a port to another host moves it: the old host cleans up, the new one plumbs it',
    { skip: REAL_VPP_SOCKET ? 'needs two VPPs' : false },
    async () => {
      const node2 = await w.node('compute2');
      w.startAgent('compute2');
      const net = vlanNet(200);
      const p = vmPort(net);
      await w.bind(H, p);
      await w.connectGuest(p);
      await w.waitReady(H, p.port_id);

      await w.unbind(H, p.port_id);
      await w.bind('compute2', { ...p, revision: 2 });
      await w.connectGuest(p, 'compute2');
      await w.waitReady('compute2', p.port_id, 2);
      await waitFor(
        'compute1 cleaned up',
        async () => !(await w.portInterface(p.port_id)) && !(await w.portState(H, p.port_id)),
      );
      const v2 = await inspect(node2.operator);
      assert.ok(portIf(v2, p.port_id));
      assert.ok(v2.byTag.has('netvpp:vlan:physnet1:200'));
      const v1 = await inspect(w.operator);
      assert.ok(!v1.byTag.has('netvpp:vlan:physnet1:200'));
    },
  );
});
