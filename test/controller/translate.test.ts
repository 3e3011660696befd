import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keys, type PortBinding, type SecurityGroup } from '../../src/model/keyspace.ts';
import { Overlay, translateBatch, type WriteOp } from '../../src/controller/apply-records.ts';
import {
  NET,
  networkDict,
  neutronPort,
  PORT,
  portRow,
  row,
  SG1,
  SG2,
  sgDict,
  sgRule,
  SUBNET,
  uid,
} from './fixtures.ts';

const NOW = '2025-01-01T00:00:00.000Z';

/** Runs rows through a translation that keeps its records between calls, like the controller. */
function controller() {
  const view = new Overlay();
  return {
    view,
    apply(...rows: unknown[]) {
      return translateBatch(rows, view, { now: NOW });
    },
  };
}

function puts(ops: WriteOp[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const o of ops) if (o.op === 'put' && !o.key.startsWith('neutron/')) m.set(o.key, JSON.parse(o.value));
  return m;
}

function deletes(ops: WriteOp[]): string[] {
  return ops.flatMap((o) => (o.op === 'delete' ? [o.key] : o.op === 'deletePrefix' ? [o.prefix + '*'] : []));
}

const bindingKey = (host: string, port = PORT) => keys.portBinding(host, port);

test('a bound vhost-user port becomes a binding on its host and a member of its groups', () => {
  const c = controller();
  const r = c.apply(portRow({ allowed_address_pairs: [{ ip_address: '10.9.0.0/16' }] }));
  assert.deepEqual(r.rejected, []);
  const p = puts(r.ops);
  const b = p.get(bindingKey('compute1')) as PortBinding;
  assert.equal(b.network_type, 'vlan');
  assert.equal(b.physnet, 'physnet1');
  assert.equal(b.segmentation_id, 100);
  assert.deepEqual(b.vhostuser, { socket: `/var/run/netvpp/${PORT}`, mode: 'server' });
  assert.equal(b.tap, null);
  // The allowed address pair's MAC defaults to the port's, as in Neutron.
  assert.deepEqual(b.allowed_address_pairs, [
    { ip_address: '10.9.0.0/16', mac_address: 'fa:16:3e:00:00:01' },
  ]);
  assert.deepEqual(p.get(keys.remoteGroupMember(SG1, PORT)), {
    ips: ['10.0.0.5', '10.9.0.0/16'],
    revision: 1,
  });
  // The controller's own record is written after the keys it lists.
  assert.equal((r.ops.at(-1) as { key: string }).key, keys.neutronRecord('port', PORT));
});

test('a DHCP port is bound as a tap named like Neutron names it', () => {
  const c = controller();
  const r = c.apply(
    portRow({ device_owner: 'network:dhcp', 'binding:vif_type': 'tap', 'binding:vif_details': {} }),
  );
  const b = puts(r.ops).get(bindingKey('compute1')) as PortBinding;
  assert.deepEqual(b.tap, { host_ifname: 'tap6f1c0a52-1b' });
  assert.equal(b.vhostuser, null);
});

const ROUTER = 'a0a0a0a0-1111-4222-8333-999988887777';
const SUBNET6 = 'b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5e';

/** A router interface as the driver journals it once ML2 has bound it on the router's host. */
function routerPortRow(over: Record<string, unknown> = {}): Record<string, unknown> {
  return portRow({
    device_owner: 'network:router_interface',
    device_id: ROUTER,
    fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.1' }],
    security_groups: [],
    port_security_enabled: false,
    'binding:host_id': 'net1',
    'binding:vif_type': 'router',
    'binding:vif_details': { port_filter: false, connectivity: 'l2' },
    'netvpp:subnets': { [SUBNET]: '10.0.0.0/24' },
    ...over,
  });
}

test('a router interface is a binding with vif_type router: its router and its addresses with prefix lengths', () => {
  const c = controller();
  const r = c.apply(
    routerPortRow({
      fixed_ips: [
        { subnet_id: SUBNET, ip_address: '10.0.0.1' },
        { subnet_id: SUBNET6, ip_address: '2001:db8::1' },
      ],
      // more subnets than the port's are ignored
      'netvpp:subnets': {
        [SUBNET]: '10.0.0.0/24',
        [SUBNET6]: '2001:db8::/64',
        [uid(77)]: '10.7.0.0/16',
      },
    }),
  );
  assert.deepEqual(r.rejected, []);
  const b = puts(r.ops).get(bindingKey('net1')) as PortBinding;
  assert.equal(b.vif_type, 'router');
  assert.deepEqual(b.router, {
    router_id: ROUTER,
    addresses: ['10.0.0.1/24', '2001:db8::1/64'],
    role: 'interface',
  });
  assert.equal(b.vhostuser, null);
  assert.equal(b.tap, null);
  assert.equal(b.port_security_enabled, false);
  assert.deepEqual(b.security_groups, []);
  assert.equal(b.device_owner, 'network:router_interface');
});

test("a router interface advertises its IPv6 subnets' RA modes (netvpp:ipv6_ra); IPv4 and unknown modes do not", () => {
  const c = controller();
  const fixed = [
    { subnet_id: SUBNET, ip_address: '10.0.0.1' },
    { subnet_id: SUBNET6, ip_address: '2001:db8::1' },
  ];
  const subnets = { [SUBNET]: '10.0.0.0/24', [SUBNET6]: '2001:db8::/64' };
  const r = c.apply(
    routerPortRow({
      fixed_ips: fixed,
      'netvpp:subnets': subnets,
      'netvpp:ipv6_ra': { [SUBNET6]: 'slaac', [SUBNET]: 'slaac' },
    }),
  );
  assert.deepEqual(r.rejected, []);
  const b = puts(r.ops).get(bindingKey('net1')) as PortBinding;
  assert.deepEqual(b.router?.ra, [{ prefix: '2001:db8::/64', mode: 'slaac' }]);
  const bad = controller().apply(
    routerPortRow({ fixed_ips: fixed, 'netvpp:subnets': subnets, 'netvpp:ipv6_ra': { [SUBNET6]: 'radvd' } }),
  );
  assert.equal(bad.rejected.length, 1);
  assert.match(JSON.stringify(bad.rejected), /netvpp:ipv6_ra/);
});

test('a router interface is never filtered, whatever Neutron says of its port security', () => {
  const c = controller();
  const r = c.apply(routerPortRow({ port_security_enabled: true, security_groups: [SG1] }));
  const b = puts(r.ops).get(bindingKey('net1')) as PortBinding;
  assert.equal(b.port_security_enabled, false);
  assert.deepEqual(b.security_groups, []);
});

test('bindings of other ports carry no router field', () => {
  const c = controller();
  const b = puts(c.apply(portRow()).ops).get(bindingKey('compute1')) as PortBinding;
  assert.equal('router' in b, false);
});

test('a subnet added to a router interface (IPv6 prefix) adds its address; removing the interface deletes it', () => {
  const c = controller();
  c.apply(routerPortRow({ revision_number: 3 }));
  const r = c.apply(
    routerPortRow({
      revision_number: 4,
      fixed_ips: [
        { subnet_id: SUBNET, ip_address: '10.0.0.1' },
        { subnet_id: SUBNET6, ip_address: '2001:db8::1' },
      ],
      'netvpp:subnets': { [SUBNET]: '10.0.0.0/24', [SUBNET6]: '2001:db8::/64' },
    }),
  );
  const b = puts(r.ops).get(bindingKey('net1')) as PortBinding;
  assert.deepEqual(b.router?.addresses, ['10.0.0.1/24', '2001:db8::1/64']);
  assert.equal(b.revision, 4);
  const gone = c.apply(row('port', 'delete', neutronPort({ id: PORT }), 5));
  assert.deepEqual(deletes(gone.ops), [bindingKey('net1')]);
});

test('router interfaces without what their binding needs are rejected with the reason', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'netvpp:subnets': {} }, /netvpp:subnets has no CIDR for subnet/],
    [{ device_id: '' }, /needs its router's id as device_id/],
    [{ 'netvpp:subnets': { [SUBNET]: '2001:db8::/64' } }, /not of the family of its subnet/],
    [{ 'netvpp:subnets': { [SUBNET]: 'ten/24' } }, /netvpp:subnets/],
  ];
  for (const [over, error] of cases) {
    const r = controller().apply(routerPortRow(over));
    assert.equal(r.rejected.length, 1, JSON.stringify(over));
    assert.match(r.rejected[0].error, error);
    assert.deepEqual(puts(r.ops), new Map());
  }
});

test('a router port ML2 did not bind (no host offers routers) writes no binding', () => {
  const c = controller();
  const r = c.apply(routerPortRow({ 'binding:vif_type': 'binding_failed' }));
  assert.deepEqual(r.rejected, []);
  assert.equal(puts(r.ops).has(bindingKey('net1')), false);
});

test('replaying a row writes nothing; a revision bump that changes nothing only moves the record', () => {
  const c = controller();
  c.apply(portRow({ revision_number: 4 }));
  const again = c.apply(portRow({ revision_number: 4 }));
  assert.deepEqual(again.ops, []);
  const statusOnly = c.apply(portRow({ revision_number: 5, status: 'ACTIVE' }));
  assert.deepEqual(
    statusOnly.ops.map((o) => (o.op === 'put' ? o.key : '')),
    [keys.neutronRecord('port', PORT)],
  );
  // A real change is written, carrying its revision.
  const moved = c.apply(portRow({ revision_number: 6, mac_address: 'fa:16:3e:00:00:02' }));
  assert.equal((puts(moved.ops).get(bindingKey('compute1')) as PortBinding).revision, 6);
});

test('an older revision never overwrites a newer one', () => {
  const c = controller();
  c.apply(portRow({ revision_number: 7, 'binding:host_id': 'compute2' }));
  const old = c.apply(portRow({ revision_number: 6, 'binding:host_id': 'compute1' }));
  assert.deepEqual(old.ops, []);
  assert.equal(old.stale.length, 1);
  assert.match(old.stale[0].reason, /revision 6 is older than the applied 7/);
  assert.deepEqual(old.done.length, 1, 'a stale row is still acknowledged');
});

test('a port moved to another host leaves the old host and appears on the new one', () => {
  const c = controller();
  c.apply(portRow({ revision_number: 1 }));
  const r = c.apply(portRow({ revision_number: 2, 'binding:host_id': 'compute2' }));
  assert.deepEqual(deletes(r.ops), [bindingKey('compute1')]);
  assert.ok(puts(r.ops).has(bindingKey('compute2')));
  assert.ok(!puts(r.ops).has(keys.remoteGroupMember(SG1, PORT)), 'membership unchanged, not rewritten');
});

test('an unbound or failed binding removes the binding but keeps the group membership', () => {
  for (const over of [
    { 'binding:host_id': '' },
    { 'binding:vif_type': 'binding_failed' },
    { 'binding:vif_type': 'unbound' },
    { 'binding:vif_type': 'ovs' },
    { 'netvpp:bound': false },
  ]) {
    const c = controller();
    c.apply(portRow({ revision_number: 1 }));
    const r = c.apply(portRow({ revision_number: 2, ...over }));
    assert.deepEqual(deletes(r.ops), [bindingKey('compute1')], JSON.stringify(over));
    assert.equal(r.rejected.length, 0);
  }
});

test('a deleted port loses every key, and a late update cannot bring it back', () => {
  const c = controller();
  c.apply(portRow({ revision_number: 3, security_groups: [SG1, SG2] }));
  const del = c.apply(row('port', 'delete', null, 3, PORT));
  assert.deepEqual(
    new Set(deletes(del.ops)),
    new Set([bindingKey('compute1'), keys.remoteGroupMember(SG1, PORT), keys.remoteGroupMember(SG2, PORT)]),
  );
  assert.deepEqual(c.apply(row('port', 'delete', null, 3, PORT)).ops, [], 'repeated delete is harmless');
  const late = c.apply(portRow({ revision_number: 9 }));
  assert.deepEqual(late.ops, []);
  assert.match(late.stale[0].reason, /was deleted/);
});

test('removing a security group from a port removes its membership; IP changes update the others', () => {
  const c = controller();
  c.apply(portRow({ revision_number: 1, security_groups: [SG1, SG2] }));
  const r = c.apply(
    portRow({
      revision_number: 2,
      security_groups: [SG2],
      fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.6' }],
    }),
  );
  assert.deepEqual(deletes(r.ops), [keys.remoteGroupMember(SG1, PORT)]);
  assert.deepEqual(puts(r.ops).get(keys.remoteGroupMember(SG2, PORT)), { ips: ['10.0.0.6'], revision: 2 });
});

test('an unbound port is still a member of its groups (its addresses may talk to bound ports)', () => {
  const c = controller();
  const r = c.apply(
    portRow({
      'binding:host_id': '',
      'binding:vif_type': 'unbound',
      // What the driver sends for a network without segments.
      'netvpp:network': {
        id: NET,
        network_type: null,
        physical_network: null,
        segmentation_id: null,
        mtu: 1500,
      },
    }),
  );
  assert.deepEqual(r.rejected, []);
  assert.deepEqual([...puts(r.ops).keys()], [keys.remoteGroupMember(SG1, PORT)]);
});

test('security groups: protocol names become numbers, prefixes become CIDRs, rules are sorted', () => {
  const c = controller();
  const rules = [
    sgRule(3, { ethertype: 'IPv6', protocol: 'icmp', port_range_min: null, port_range_max: null }),
    sgRule(1, { remote_ip_prefix: '192.0.2.7' }),
    sgRule(2, { protocol: '17', port_range_min: 53, port_range_max: 53, remote_group_id: SG1 }),
    sgRule(4, { direction: 'egress', protocol: null, port_range_min: null, port_range_max: null }),
    sgRule(5, { protocol: 'icmp', port_range_min: 0, port_range_max: null }),
  ];
  const r = c.apply(row('security_group', 'update', sgDict(SG1, 2, rules)));
  assert.deepEqual(r.rejected, []);
  const sg = puts(r.ops).get(keys.secGroup(SG1)) as SecurityGroup;
  assert.equal(sg.revision, 2);
  assert.equal(sg.stateful, true);
  assert.deepEqual(
    sg.rules.map((x) => [x.id, x.protocol, x.remote_ip_prefix, x.port_range_min]),
    [
      [uid(1001), 6, '192.0.2.7/32', 22],
      [uid(1002), 17, null, 53],
      [uid(1003), 58, null, null],
      [uid(1004), null, null, null],
      [uid(1005), 1, null, 0],
    ],
  );
});

test('a security group delete removes the group and its membership directory', () => {
  const c = controller();
  c.apply(row('security_group', 'create', sgDict(SG1, 1, [sgRule(1)])));
  const r = c.apply(row('security_group', 'delete', null, 1, SG1));
  assert.deepEqual(deletes(r.ops), [keys.secGroup(SG1), keys.remoteGroup(SG1) + '*']);
  const late = c.apply(row('security_group', 'update', sgDict(SG1, 2, [sgRule(1)])));
  assert.deepEqual(late.ops, []);
});

test('bad rows are rejected with a clear error and do not stop the rows after them', () => {
  const c = controller();
  const r = c.apply(
    portRow({ id: uid(2), mac_address: 'zz', fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.999' }] }),
    row('security_group', 'update', sgDict(SG1, 1, [sgRule(1, { protocol: 'bogus' })])),
    row('security_group', 'update', sgDict(SG2, 1, [sgRule(2, { remote_address_group_id: uid(9) })])),
    portRow({ id: uid(3), 'binding:vif_details': {} }),
    portRow({
      id: uid(4),
      'netvpp:network': { ...(neutronPort()['netvpp:network'] as object), network_type: 'geneve' },
    }),
    row('bgpvpn', 'create', { id: uid(5) }, 1, uid(5)),
    row('port', 'update', neutronPort({ id: uid(6) }), null),
    portRow({ id: uid(7) }),
  );
  assert.equal(r.done.length, 8, 'every row is acknowledged');
  const errors = r.rejected.map((x) => x.error);
  assert.equal(errors.length, 7, errors.join('\n'));
  assert.match(
    errors[0],
    /^invalid port: mac_address: expected a MAC.*fixed_ips\[0\]\.ip_address: not an IP/,
  );
  assert.match(errors[1], new RegExp(`rule ${uid(1001)}: unknown protocol "bogus"`));
  assert.match(errors[2], /remote address groups are not supported/);
  assert.match(errors[3], /vhostuser_socket is missing/);
  assert.match(errors[4], /network_type "geneve" is not supported/);
  assert.match(errors[5], /unsupported resource "bgpvpn"/);
  assert.match(errors[6], /update row needs a revision/);
  assert.ok(puts(r.ops).has(bindingKey('compute1', uid(7))), 'the good row after them was applied');
});

test('a binding is checked against the keyspace schema before it is written', () => {
  const c = controller();
  const r = c.apply(
    portRow({
      'netvpp:network': {
        id: NET,
        network_type: 'vlan',
        physical_network: 'physnet1',
        segmentation_id: 5000,
        mtu: 1500,
      },
    }),
  );
  assert.match(r.rejected[0].error, /vlan segmentation_id must be 1..4094/);
  assert.deepEqual(r.ops, []);
});

test('a network MTU change reaches the bindings of its ports; later port rows keep the new MTU', () => {
  const c = controller();
  c.apply(row('network', 'create', networkDict(NET, 1, 1500)), portRow({ revision_number: 1 }));
  c.apply(portRow({ id: uid(8), revision_number: 1, 'binding:host_id': 'compute2' }));
  const r = c.apply(row('network', 'update', networkDict(NET, 2, 9000)));
  const p = puts(r.ops);
  assert.equal((p.get(bindingKey('compute1')) as PortBinding).mtu, 9000);
  assert.equal((p.get(bindingKey('compute2', uid(8))) as PortBinding).mtu, 9000);
  // A port row journaled before the network change (still carrying 1500) doesn't undo it.
  const later = c.apply(portRow({ revision_number: 2, mac_address: 'fa:16:3e:00:00:09' }));
  assert.equal((puts(later.ops).get(bindingKey('compute1')) as PortBinding).mtu, 9000);
  // An older network row is ignored.
  assert.deepEqual(c.apply(row('network', 'update', networkDict(NET, 1, 1500))).ops, []);
});

test('subnet rows are accepted and write nothing', () => {
  const c = controller();
  const r = c.apply(row('subnet', 'create', { id: SUBNET, revision_number: 1 }, 1, SUBNET));
  assert.deepEqual(r.ops, []);
  assert.deepEqual(r.rejected, []);
  assert.equal(r.done.length, 1);
});

test('a port on a VXLAN network is published to the network’s other hosts; it follows the port’s host and goes with it', () => {
  const c = controller();
  const vx = { id: NET, network_type: 'vxlan', physical_network: null, segmentation_id: 7001, mtu: 1450 };
  const entry = keys.overlayPort(NET, PORT);
  const r = c.apply(portRow({ 'netvpp:network': vx, revision_number: 2 }));
  assert.deepEqual(r.rejected, []);
  const p = puts(r.ops);
  const b = p.get(bindingKey('compute1')) as PortBinding;
  assert.equal(b.network_type, 'vxlan');
  assert.equal(b.physnet, null);
  assert.equal(b.segmentation_id, 7001);
  assert.deepEqual(p.get(entry), {
    host: 'compute1',
    mac: 'fa:16:3e:00:00:01',
    ips: ['10.0.0.5'],
    revision: 2,
  });

  // Live-migrated (re-bound elsewhere): the entry names the new host.
  const moved = c.apply(portRow({ 'netvpp:network': vx, 'binding:host_id': 'compute2', revision_number: 3 }));
  assert.deepEqual((puts(moved.ops).get(entry) as { host: string }).host, 'compute2');
  // Its name changes, nothing netvpp uses: nothing is rewritten, so no agent on the network wakes up.
  const renamed = c.apply(
    portRow({ 'netvpp:network': vx, 'binding:host_id': 'compute2', name: 'web', revision_number: 4 }),
  );
  assert.equal(puts(renamed.ops).has(entry), false);
  // Unbound: no binding, no entry.
  const gone = c.apply(row('port', 'delete', null, 5));
  assert.ok(deletes(gone.ops).includes(entry));
  // A VLAN port publishes nothing of the kind.
  const vlan = c.apply(portRow({ id: uid(9) }));
  assert.equal([...puts(vlan.ops).keys()].filter((k) => k.startsWith(keys.overlays)).length, 0);
});

test('a port on a gpe network is bound as gpe with its VNI and MTU, and published to the network’s other hosts like a vxlan one', () => {
  const c = controller();
  const gpe = { id: NET, network_type: 'gpe', physical_network: null, segmentation_id: 7002, mtu: 1450 };
  const entry = keys.overlayPort(NET, PORT);
  const r = c.apply(portRow({ 'netvpp:network': gpe, revision_number: 2 }));
  assert.deepEqual(r.rejected, []);
  const p = puts(r.ops);
  const b = p.get(bindingKey('compute1')) as PortBinding;
  assert.deepEqual(
    { type: b.network_type, physnet: b.physnet, vni: b.segmentation_id, mtu: b.mtu },
    { type: 'gpe', physnet: null, vni: 7002, mtu: 1450 },
  );
  assert.deepEqual(p.get(entry), {
    host: 'compute1',
    mac: 'fa:16:3e:00:00:01',
    ips: ['10.0.0.5'],
    revision: 2,
  });
  // Unbound: the binding and the entry go.
  const gone = c.apply(row('port', 'delete', null, 3));
  assert.ok(deletes(gone.ops).includes(entry));
  assert.ok(deletes(gone.ops).includes(bindingKey('compute1')));
});
