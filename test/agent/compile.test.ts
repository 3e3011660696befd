// compile: etcd desired state → the VPP objects one host should have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, CompileCache, preferredBdId, type CompileOptions } from '../../src/agent/compile.ts';
import { DesiredState } from '../../src/agent/desired.ts';
import type { KeyValue } from '../../src/store/index.ts';
import { encodeValue, keys, type PortBinding, type SecurityGroup } from '../../src/model/keyspace.ts';
import type { AclBindObj, EtypeObj, L2Obj, PortObj, UpObj, VlanObj } from '../../src/agent/kinds/index.ts';
import {
  defaultGroup,
  dhcpPort,
  flatNet,
  rule,
  secGroup,
  VHOST_DIR,
  vlanNet,
  vmPort,
} from './helpers/fixtures.ts';

const HOST = 'compute1';
const OPTS: CompileOptions = {
  physnets: new Map([['physnet1', 'GigabitEthernet0/8/0']]),
  vhostUserDir: VHOST_DIR,
  tapBackend: 'tap',
};

function kv(key: string, value: string): KeyValue {
  return { key, value, createRevision: 1, modRevision: 1, version: 1, lease: '0' };
}

function state(
  ports: PortBinding[],
  groups: SecurityGroup[] = [],
  members: [string, string, string[]][] = [],
): DesiredState {
  const s = new DesiredState(HOST);
  s.resetHost(
    ports.map((p) =>
      kv(keys.portBinding(HOST, p.port_id), encodeValue(keys.portBinding(HOST, p.port_id), p)),
    ),
  );
  for (const g of groups) {
    const m = members.filter(([sg]) => sg === g.id);
    s.resetGroup(g.id, [
      kv(keys.secGroup(g.id), encodeValue(keys.secGroup(g.id), g)),
      ...m.map(([sg, port, ips]) =>
        kv(keys.remoteGroupMember(sg, port), JSON.stringify({ ips, revision: 1 })),
      ),
    ]);
  }
  return s;
}

test('a VM port on a VLAN network: sub-interface, bridge, interface, ACLs, then membership and admin-up last', () => {
  const net = vlanNet(100);
  const sg = secGroup([rule()]);
  const p = vmPort(net, { security_groups: [sg.id] });
  const c = compile(state([p], [sg]), OPTS);

  const vlan = c.objects.get('vlan:physnet1:100') as VlanObj;
  assert.deepEqual(vlan, {
    kind: 'vlan',
    key: 'vlan:physnet1:100',
    uplink: 'uplink:physnet1',
    vlan: 100,
    pop: true,
    adminUp: true,
  });
  assert.equal(c.objects.get(`bd:${net.id}`)?.kind, 'bd');
  assert.deepEqual((c.objects.get('l2:vlan:physnet1:100') as L2Obj).bd, `bd:${net.id}`);
  const port = c.objects.get(`port:${p.port_id}`) as PortObj;
  assert.deepEqual(port.vif, {
    type: 'vhostuser',
    socket: `${VHOST_DIR}/${p.port_id}`,
    server: false,
    gso: false,
  });
  assert.equal(port.mtu, 1500);

  const bind = c.objects.get(`aclbind:${p.port_id}`) as AclBindObj;
  assert.deepEqual(bind.input, ['base:egress', 'related:egress', `sg:${sg.id}:egress`]);
  assert.deepEqual(bind.output, ['base:ingress', 'related:ingress', `sg:${sg.id}:ingress`]);
  for (const k of [...bind.input, ...bind.output]) assert.equal(c.objects.get(k)?.kind, 'acl', k);
  assert.equal(c.objects.get(`macip:${p.port_id}`)?.kind, 'macip');
  // Non-IP frames other than ARP are dropped both ways.
  const etype = c.objects.get(`etype:${p.port_id}`) as EtypeObj;
  assert.deepEqual(
    [etype.input, etype.output],
    [
      [0x0800, 0x86dd, 0x0806],
      [0x0800, 0x86dd, 0x0806],
    ],
  );

  // Fail closed: bridge membership waits for the ACLs and the VLAN-tag guard, admin-up for everything.
  const l2 = c.objects.get(`l2:port:${p.port_id}`) as L2Obj;
  assert.deepEqual(l2.after.sort(), [
    `aclbind:${p.port_id}`,
    `etype:${p.port_id}`,
    `macipbind:${p.port_id}`,
    `tagdrop:${p.port_id}`,
  ]);
  const up = c.objects.get(`up:port:${p.port_id}`) as UpObj;
  assert.ok(up.after.includes(`l2:port:${p.port_id}`) && up.after.includes(`aclbind:${p.port_id}`));

  const plan = c.ports.get(p.port_id);
  assert.ok(plan?.needsLink);
  assert.deepEqual(plan?.errors, []);
  for (const k of [
    'vlan:physnet1:100',
    'uplink:physnet1',
    `bd:${net.id}`,
    `sg:${sg.id}:ingress`,
    `up:port:${p.port_id}`,
    `etype:${p.port_id}`,
    `tagdrop:${p.port_id}`,
  ]) {
    assert.ok(plan?.requires.includes(k), `port requires ${k}`);
  }
});

test('a flat network puts the uplink itself in the bridge; a second port shares bridge and ACLs', () => {
  const net = flatNet();
  const sg = secGroup([rule()]);
  const a = vmPort(net, { security_groups: [sg.id] });
  const b = vmPort(net, { security_groups: [sg.id] });
  const c = compile(state([a, b], [sg]), OPTS);
  assert.deepEqual((c.objects.get('l2:uplink:physnet1') as L2Obj).bd, `bd:${net.id}`);
  assert.equal([...c.objects.values()].filter((o) => o.kind === 'bd').length, 1);
  assert.equal([...c.objects.values()].filter((o) => o.kind === 'acl').length, 6);
  assert.equal([...c.objects.values()].filter((o) => o.kind === 'vlan').length, 0);
});

test('the same input compiles to the same objects, with or without the memo of earlier compiles', () => {
  const net = vlanNet(7);
  const g = defaultGroup();
  const p = vmPort(net, { security_groups: [g.id] });
  const s = state([p], [g], [[g.id, p.port_id, ['10.0.0.5']]]);
  assert.deepEqual(compile(s, OPTS).objects, compile(s, OPTS).objects);
  const cache = new CompileCache();
  assert.deepEqual(compile(s, OPTS, cache), compile(s, OPTS));
  assert.deepEqual(compile(s, OPTS, cache), compile(s, OPTS));
  // A change of the port's group is seen through the memo.
  s.resetGroup(g.id, []);
  assert.deepEqual(compile(s, OPTS, cache), compile(s, OPTS));
  assert.equal(preferredBdId(net.id), preferredBdId(net.id));
});

test('port security off and trusted DHCP ports get no ACLs and no anti-spoofing', () => {
  const net = vlanNet(100);
  const off = vmPort(net, { port_security_enabled: false });
  const dhcp = dhcpPort(net);
  const c = compile(state([off, dhcp]), OPTS);
  for (const p of [off, dhcp]) {
    assert.equal(c.objects.get(`aclbind:${p.port_id}`), undefined);
    assert.equal(c.objects.get(`macip:${p.port_id}`), undefined);
    assert.ok(c.objects.get(`up:port:${p.port_id}`));
  }
  assert.deepEqual((c.objects.get(`port:${dhcp.port_id}`) as PortObj).vif, {
    type: 'tap',
    hostIfName: 'tap' + dhcp.port_id.slice(0, 11),
    hostMac: dhcp.mac,
    hostMtu: 1500,
    gso: false,
  });
});

test('with tap_backend = veth a tap port becomes an af_packet interface on a veth pair', () => {
  const dhcp = dhcpPort(vlanNet(100));
  const c = compile(state([dhcp]), { ...OPTS, tapBackend: 'veth' });
  const vif = (c.objects.get(`port:${dhcp.port_id}`) as PortObj).vif;
  assert.equal(vif.type, 'veth');
  assert.equal(vif.type === 'veth' && vif.hostIfName, 'tap' + dhcp.port_id.slice(0, 11));
  assert.equal(vif.type === 'veth' && vif.vppIfName, 'vpp' + dhcp.port_id.slice(0, 11));
});

test('a port whose group is not in etcd is not brought up and says why', () => {
  const net = vlanNet(100);
  const missing = '0b8a2bd0-6b4c-4b7e-9a55-5f1d5b0e7d11';
  const p = vmPort(net, { security_groups: [missing] });
  const s = state([p]);
  s.resetGroup(missing, []);
  const c = compile(s, OPTS);
  assert.ok(c.frozenKeys.has(`aclbind:${p.port_id}`));
  assert.ok((c.objects.get(`up:port:${p.port_id}`) as UpObj).after.includes(`aclbind:${p.port_id}`));
  assert.match(c.ports.get(p.port_id)?.errors.join() ?? '', /security group .* does not exist/);
});

test('a group still loading keeps the port waiting, without an error', () => {
  const p = vmPort(vlanNet(100), { security_groups: ['0b8a2bd0-6b4c-4b7e-9a55-5f1d5b0e7d12'] });
  const c = compile(state([p]), OPTS);
  assert.deepEqual(c.ports.get(p.port_id)?.errors, []);
  assert.equal(c.ports.get(p.port_id)?.waiting.length, 1);
});

test('an invalid binding freezes that port and reports the problem; others are unaffected', () => {
  const net = vlanNet(100);
  const good = vmPort(net);
  const s = state([good]);
  const bad = '6f0e7c55-0d4e-4f43-9d55-1d0f4a1e0c01';
  s.hostEvent({
    type: 'put',
    key: keys.portBinding(HOST, bad),
    value: '{"port_id": 42, "revision": 3}',
    prefix: '',
    createRevision: 1,
    modRevision: 2,
    version: 1,
    lease: '0',
  });
  const c = compile(s, OPTS);
  assert.ok(c.frozenPorts.has(bad));
  assert.match(c.ports.get(bad)?.errors[0] ?? '', /invalid port binding/);
  assert.equal(c.ports.get(bad)?.revision, 3);
  assert.ok(c.objects.get(`port:${good.port_id}`));
});

test('an unknown physnet, a vhost socket outside the directory and conflicting segments are port errors', () => {
  const net = vlanNet(100);
  const other = vmPort(vlanNet(5, 'physnet9'));
  const outside = vmPort(net, { vhostuser: { socket: '/etc/evil', mode: 'server' } });
  // Ports are compiled in id order: the first claims the network and the VLAN.
  const first = vmPort(net, { port_id: '00000000-0000-4000-8000-000000000001' });
  const clash = vmPort({ ...net, vlan: 101 }, { port_id: '00000000-0000-4000-8000-000000000002' });
  const sameVlan = vmPort(vlanNet(100), { port_id: '00000000-0000-4000-8000-000000000003' });
  const c = compile(state([other, outside, first, clash, sameVlan]), OPTS);
  assert.match(c.ports.get(other.port_id)?.errors[0] ?? '', /physnet physnet9 is not configured/);
  assert.match(c.ports.get(outside.port_id)?.errors[0] ?? '', /outside the configured directory/);
  assert.match(
    c.ports.get(clash.port_id)?.errors[0] ?? '',
    /is vlan 101 on physnet1 here but vlan 100 on physnet1/,
  );
  assert.match(
    c.ports.get(sameVlan.port_id)?.errors[0] ?? '',
    /vlan 100 on physnet1 already carries network/,
  );
  assert.deepEqual(c.ports.get(first.port_id)?.errors, []);
});

test('remote groups expand to member addresses; a group whose remote group is loading is frozen', () => {
  const net = vlanNet(100);
  const g = defaultGroup();
  const p = vmPort(net, { security_groups: [g.id] });
  const c = compile(
    state(
      [p],
      [g],
      [
        [g.id, p.port_id, ['10.0.0.4']],
        [g.id, 'other', ['10.0.0.5']],
      ],
    ),
    OPTS,
  );
  const ingress = c.objects.get(`sg:${g.id}:ingress`);
  assert.ok(
    ingress?.kind === 'acl' && ingress.rules.some((r) => r.src_prefix === '10.0.0.4/31'),
    'members aggregated',
  );

  const web = secGroup([rule({ remote_group_id: '1b8a2bd0-6b4c-4b7e-9a55-5f1d5b0e7d13' })]);
  const q = vmPort(net, { security_groups: [web.id] });
  const c2 = compile(state([q], [web]), OPTS);
  assert.ok(c2.frozenKeys.has(`sg:${web.id}:ingress`));
  assert.equal(c2.objects.get(`sg:${web.id}:ingress`), undefined);
});

test('[vxlan] with an underlay: the underlay and its VTEP address are compiled with no network here, bonds or not', () => {
  const vxlan = { localIp: '192.0.2.1', underlay: { name: 'host-eth1', prefixLen: 24 } };
  for (const bonds of [undefined, new Map()]) {
    const c = compile(state([]), { ...OPTS, vxlan, bonds });
    assert.deepEqual([...c.objects.keys()].sort(), ['underlay', 'vtepaddr:192.0.2.1/24']);
  }
});
