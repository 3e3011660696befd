// Scenario: a tenant edits security groups while VMs run. Rule changes rewrite the group's shared
// ACLs in place (no port is touched); membership changes of a remote group do the same; changing a
// port's groups swaps its ACL list in one call, new ACLs first (make-before-break).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SecurityGroup } from '../../src/model/keyspace.ts';
import { defaultGroup, rule, secGroup, uuid, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';
import { inspect, portIf } from './helpers/inspect.ts';

const H = 'compute1';

describe('security groups', { skip: SIM_ONLY }, () => {
  let w: World;
  const net = vlanNet(400);
  const ssh = secGroup([rule()]);
  const db = defaultGroup();
  const vm = vmPort(net, { security_groups: [ssh.id, db.id] });

  before(async () => {
    w = await startWorld();
    await w.putGroup(ssh);
    await w.putGroup(db);
    await w.putMember(db.id, vm.port_id, ['10.0.0.10']);
    await w.bind(H, vm);
    w.startAgent(H);
    await w.connectGuest(vm);
    await w.waitReady(H, vm.port_id);
  });
  after(async () => {
    await w?.stop();
  });

  const aclOf = async (tag: string) => (await inspect(w.operator)).acls.get(tag);
  const setListCalls = () => w.vpp.sim?.calls('acl_interface_set_acl_list') ?? 0;

  it('adding and removing a rule rewrites the group’s ACL in place; no port’s ACL list changes', async () => {
    const before = await aclOf(`netvpp:sg:${ssh.id}:ingress`);
    const lists = setListCalls();
    const withHttp: SecurityGroup = {
      ...ssh,
      revision: 2,
      rules: [...ssh.rules, rule({ port_range_min: 80, port_range_max: 80 })],
    };
    await w.putGroup(withHttp);
    await waitFor('port 80 allowed', async () =>
      (await aclOf(`netvpp:sg:${ssh.id}:ingress`))?.rules.some((r) => r.dstport_or_icmpcode_first === 80),
    );
    assert.equal((await aclOf(`netvpp:sg:${ssh.id}:ingress`))?.index, before?.index, 'same ACL index');

    await w.putGroup({ ...withHttp, revision: 3, rules: withHttp.rules.slice(1) });
    await waitFor('port 22 no longer allowed', async () => {
      const acl = await aclOf(`netvpp:sg:${ssh.id}:ingress`);
      return acl && !acl.rules.some((r) => r.dstport_or_icmpcode_first === 22);
    });
    assert.equal(setListCalls(), lists, 'acl_interface_set_acl_list was not called');
    const st = await w.portState(H, vm.port_id);
    assert.equal(st?.ready, true);
  });

  it('a remote group’s membership follows ports joining and leaving, on any host', async () => {
    const elsewhere = uuid();
    await w.putMember(db.id, elsewhere, ['10.0.5.7', 'fd00::7']);
    await waitFor('the new member allowed in', async () => {
      const acl = await aclOf(`netvpp:sg:${db.id}:ingress`);
      return (
        acl?.rules.some((r) => r.src_prefix === '10.0.5.7/32') &&
        acl.rules.some((r) => r.src_prefix === 'fd00::7/128')
      );
    });
    await w.deleteMember(db.id, elsewhere);
    await waitFor(
      'the member gone',
      async () =>
        !(await aclOf(`netvpp:sg:${db.id}:ingress`))?.rules.some((r) => r.src_prefix === '10.0.5.7/32'),
    );
  });

  it('changing a port’s groups swaps its ACL list in one call and only then deletes the old group’s ACLs', async () => {
    const web = secGroup([rule({ port_range_min: 443, port_range_max: 443 })]);
    await w.putGroup(web);
    const lists = setListCalls();
    const dels = w.vpp.sim?.calls('acl_del') ?? 0;
    await w.bind(H, { ...vm, security_groups: [web.id, db.id], revision: 2 });
    await w.waitReady(H, vm.port_id, 2);
    await waitFor(
      'the ssh group’s ACLs deleted',
      async () => !(await inspect(w.operator)).acls.has(`netvpp:sg:${ssh.id}:ingress`),
    );
    const v = await inspect(w.operator);
    const list = v.aclLists.get(portIf(v, vm.port_id) as string);
    assert.ok(list?.output.includes(`netvpp:sg:${web.id}:ingress`));
    assert.ok(!list?.output.includes(`netvpp:sg:${ssh.id}:ingress`));
    if (w.vpp.sim) {
      assert.equal(setListCalls() - lists, 1, 'one atomic list change');
      assert.equal(w.vpp.sim.calls('acl_del') - dels, 2, 'the two old ACLs deleted');
    }
  });

  it('a port naming a group that is not in etcd stays down with an error, and comes up when the group appears', async () => {
    const late = secGroup([rule({ port_range_min: 5432, port_range_max: 5432 })]);
    const p = vmPort(net, { security_groups: [late.id] });
    await w.bind(H, p);
    const st = await w.waitState(H, p.port_id, 'an error about the group', (s) => !!s?.error);
    assert.match(st?.error ?? '', new RegExp(`security group ${late.id} does not exist`));
    assert.equal(st?.ready, false);
    const iface = await w.portInterface(p.port_id);
    assert.ok(iface, 'the interface exists');
    assert.equal(iface.flags & 1, 0, 'but stays admin-down: nothing forwards unfiltered');
    await w.putGroup(late);
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    await w.unbind(H, p.port_id);
  });

  it('stateless groups get plain permits and no ICMP-error ACLs', async () => {
    const sl = secGroup([rule({ port_range_min: 53, port_range_max: 53, protocol: 17 })], {
      stateful: false,
    });
    await w.putGroup(sl);
    const p = vmPort(net, { security_groups: [sl.id] });
    await w.bind(H, p);
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    const v = await inspect(w.operator);
    const list = v.aclLists.get(portIf(v, p.port_id) as string);
    assert.deepEqual(list?.input, ['netvpp:base:egress', `netvpp:sg:${sl.id}:egress`]);
    assert.ok(v.acls.get(`netvpp:sg:${sl.id}:ingress`)?.rules.every((r) => r.is_permit === 1));
    await w.unbind(H, p.port_id);
  });
});
