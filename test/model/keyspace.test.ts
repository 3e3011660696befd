import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeValue,
  encodeValue,
  HOST_FEATURES,
  keys,
  parseKey,
  type PortBinding,
  portBindingSchema,
  securityGroupRuleSchema,
  type SecurityGroupRule,
} from '../../src/model/keyspace.ts';
import { run } from '../../src/model/validate.ts';

const PORT = '6f1c0a52-1b5e-4bd4-9a8e-2f0e1d6c7b01';
const NET = '0b8e7f3a-5c4d-4e2f-8a1b-9c0d1e2f3a4b';
const SUBNET = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const SG = 'c0ffee00-1111-4222-8333-444455556666';

function binding(over: Partial<PortBinding> = {}): PortBinding {
  return {
    port_id: PORT,
    network_id: NET,
    network_type: 'vlan',
    physnet: 'physnet1',
    segmentation_id: 100,
    mtu: 1500,
    mac: 'fa:16:3e:00:00:01',
    fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.5' }],
    vif_type: 'vhostuser',
    vhostuser: { socket: `/var/run/vpp/${PORT}`, mode: 'server' },
    tap: null,
    device_owner: 'compute:nova',
    admin_state_up: true,
    security_groups: [SG],
    port_security_enabled: true,
    allowed_address_pairs: [{ ip_address: '10.0.1.0/24', mac_address: 'fa:16:3e:00:00:01' }],
    revision: 3,
    ...over,
  };
}

function errorsOf(v: unknown): string[] {
  const r = run(portBindingSchema, v);
  return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
}

test('every key builds and parses back to its parts', () => {
  assert.deepEqual(parseKey(keys.portBinding('compute1', PORT)), {
    kind: 'portBinding',
    host: 'compute1',
    portId: PORT,
  });
  assert.deepEqual(parseKey(keys.secGroup(SG)), { kind: 'secGroup', sgId: SG });
  assert.deepEqual(parseKey(keys.remoteGroupMember(SG, PORT)), {
    kind: 'remoteGroupMember',
    sgId: SG,
    portId: PORT,
  });
  assert.deepEqual(parseKey(keys.hostAlive('compute1')), { kind: 'hostAlive', host: 'compute1' });
  assert.deepEqual(parseKey(keys.portState('compute1', PORT)), {
    kind: 'portState',
    host: 'compute1',
    portId: PORT,
  });
  assert.deepEqual(parseKey(keys.neutronRecord('port', PORT)), {
    kind: 'neutronRecord',
    neutronKind: 'port',
    id: PORT,
  });
  assert.equal(keys.portBinding('compute1', PORT), `nodes/compute1/ports/${PORT}`);
  // Absolute keys (as etcd shows them) parse too.
  assert.deepEqual(parseKey(`/netvpp/v1/global/secgroups/${SG}`), { kind: 'secGroup', sgId: SG });
});

test('router and floating IP keys round-trip, and their documents are checked', () => {
  const R = '0b7c5b4e-3f8e-4a63-9d0c-2c8d1a3e7f10';
  assert.deepEqual(parseKey(keys.router('net1', R)), { kind: 'router', host: 'net1', routerId: R });
  assert.deepEqual(parseKey(keys.floatingIp('net1', R)), { kind: 'floatingIp', host: 'net1', fipId: R });
  assert.deepEqual(parseKey(keys.routerState('net1', R)), { kind: 'routerState', host: 'net1', routerId: R });
  const doc = { router_id: R, admin_state_up: true, gateway: null, routes: [], revision: 3 };
  assert.equal(JSON.parse(encodeValue(keys.router('net1', R), doc)).revision, 3);
  const fip = {
    id: R,
    router_id: R,
    floating_ip: '203.0.113.9',
    fixed_ip: '2001:db8::5',
    port_id: R,
    revision: 1,
  };
  assert.throws(() => encodeValue(keys.floatingIp('net1', R), fip), /IPv4/);
});

test('keys outside the v1 layout do not parse', () => {
  for (const k of [
    `/networking-vpp/nodes/compute1/ports/${PORT}`,
    '/netvpp/v1/nodes/compute1/ports/',
    '/netvpp/v1/nodes/compute1/routers/',
    '/netvpp/v1/nodes/compute1/routers/r1/x',
    '/netvpp/v1/state/compute1/alive/x',
    '/netvpp/v1/neutron/subnet/r1',
    '/netvpp/v1/global/secgroups/',
  ]) {
    assert.equal(parseKey(k), null, k);
  }
});

test('a host or id that would break the key layout is refused when building a key', () => {
  assert.throws(() => keys.portBinding('evil/host', PORT), /invalid host/);
  assert.throws(() => keys.hostAlive(''), /invalid host/);
  assert.throws(() => keys.remoteGroupMember(SG, 'a b'), /invalid port id/);
});

test('a valid binding passes and comes back unchanged', () => {
  const r = run(portBindingSchema, binding());
  assert.ok(r.ok);
  assert.deepEqual(r.value, binding());
  const tap = binding({ vif_type: 'tap', vhostuser: null, tap: { host_ifname: 'tap6f1c0a52-1b' } });
  assert.deepEqual(errorsOf(tap), []);
});

test('a bad binding reports every bad field by name', () => {
  const bad = {
    ...binding(),
    mtu: 20,
    mac: 'nope',
    fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.300' }],
    vhostuser: { socket: '/x', mode: 'both' },
  };
  const errs = errorsOf(bad);
  assert.equal(errs.length, 4, errs.join('\n'));
  assert.match(errs[0], /^mtu: must be between 68 and 65535/);
  assert.match(errs[1], /^mac: expected a MAC address/);
  assert.match(errs[2], /^fixed_ips\[0\]\.ip_address: not an IP address/);
  assert.match(errs[3], /^vhostuser\.mode: expected one of server\|client/);
});

test('segment and vif rules are checked across fields', () => {
  assert.match(errorsOf(binding({ segmentation_id: null }))[0], /vlan segmentation_id must be 1..4094/);
  assert.match(errorsOf(binding({ segmentation_id: 5000 }))[0], /vlan segmentation_id must be 1..4094/);
  assert.match(errorsOf(binding({ network_type: 'flat' }))[0], /flat network has no segmentation_id/);
  assert.match(
    errorsOf(binding({ network_type: 'vxlan', segmentation_id: 5000 }))[0],
    /vxlan network has no physnet/,
  );
  assert.deepEqual(errorsOf(binding({ network_type: 'vxlan', physnet: null, segmentation_id: 70000 })), []);
  assert.match(errorsOf(binding({ vif_type: 'tap' }))[0], /vif_type tap needs tap details/);
  assert.match(
    errorsOf(binding({ vif_type: 'tap', vhostuser: null, tap: { host_ifname: 'tapwrong' } }))[0],
    /host_ifname must be tap6f1c0a52-1b/,
  );
  assert.match(errorsOf(binding({ physnet: 'x'.repeat(33) }))[0], /^physnet: longer than 32/);
});

function rule(over: Partial<SecurityGroupRule> = {}): SecurityGroupRule {
  return {
    id: SG,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 6,
    port_range_min: 22,
    port_range_max: 22,
    remote_ip_prefix: '192.0.2.0/24',
    remote_group_id: null,
    ...over,
  };
}

function ruleErrors(r: SecurityGroupRule): string {
  const res = run(securityGroupRuleSchema, r);
  return res.ok ? '' : res.errors.map((e) => e.message).join('; ');
}

test('security group rules: conflicting or impossible fields are refused', () => {
  assert.equal(ruleErrors(rule()), '');
  assert.match(ruleErrors(rule({ remote_group_id: SG })), /mutually exclusive/);
  assert.match(ruleErrors(rule({ ethertype: 'IPv6' })), /does not match ethertype IPv6/);
  assert.match(ruleErrors(rule({ port_range_min: 80, port_range_max: 22 })), /greater than/);
  assert.match(ruleErrors(rule({ protocol: 47 })), /protocol 47 takes no port range/);
  assert.match(ruleErrors(rule({ protocol: null })), /protocol any takes no port range/);
  // ICMP type 0 (echo reply) is a real type, not "any".
  assert.equal(ruleErrors(rule({ protocol: 1, port_range_min: 0, port_range_max: null })), '');
  assert.match(ruleErrors(rule({ protocol: 1, port_range_min: 300, port_range_max: null })), /0..255/);
  assert.match(ruleErrors(rule({ remote_ip_prefix: '10.0.0.1' })), /not a CIDR/);
});

test('decodeValue: JSON errors and schema errors are reported, valid values decoded', () => {
  const notJson = decodeValue('portState', '{nope');
  assert.ok(!notJson.ok && /not JSON/.test(notJson.errors[0].message));
  const missing = decodeValue('portState', '{"ready": true}');
  assert.ok(!missing.ok);
  assert.deepEqual(
    missing.errors.map((e) => e.field),
    ['updated_at'],
  );
  const ok = decodeValue(
    'hostAlive',
    Buffer.from(
      JSON.stringify({
        host: 'compute1',
        physnets: ['physnet1'],
        network_types: ['flat', 'vlan'],
        vif_types: ['vhostuser', 'tap'],
        agent_version: '0.1.0',
        vpp: { connected: true, version: '26.06' },
        started_at: '2025-01-01T00:00:00.000Z',
        extra: 'ignored',
      }),
    ),
  );
  assert.ok(ok.ok);
  assert.equal('extra' in ok.value, false);
});

test('host state: features are optional (an older agent has none), listed when present, names checked', () => {
  const host = {
    host: 'compute1',
    physnets: ['physnet1'],
    network_types: ['flat', 'vlan'],
    vif_types: ['vhostuser'],
    agent_version: '0.1.0',
    vpp: { connected: true, version: '26.06' },
    started_at: '2025-01-01T00:00:00.000Z',
  };
  const old = decodeValue('hostAlive', JSON.stringify(host));
  assert.ok(old.ok);
  assert.equal('features' in old.value, false, 'absent stays absent: not "no features"');
  const none = decodeValue('hostAlive', JSON.stringify({ ...host, features: [] }));
  assert.ok(none.ok);
  assert.deepEqual(none.value.features, []);
  // A name this version does not know (a newer agent's) is kept for the driver to ignore.
  const some = decodeValue('hostAlive', JSON.stringify({ ...host, features: ['port_security', 'qos'] }));
  assert.ok(some.ok);
  assert.deepEqual(some.value.features, ['port_security', 'qos']);
  const bad = decodeValue('hostAlive', JSON.stringify({ ...host, features: ['Port Security', 7] }));
  assert.ok(!bad.ok);
  assert.deepEqual(
    bad.errors.map((e) => e.field),
    ['features[0]', 'features[1]'],
  );
  const encoded = encodeValue(keys.hostAlive('compute1'), { ...host, features: [...HOST_FEATURES] });
  assert.deepEqual(JSON.parse(encoded).features, ['port_security', 'nat', 'qos']);
});

test('encodeValue refuses unknown keys and invalid values', () => {
  assert.throws(() => encodeValue('nowhere/x', {}), /not a netvpp key/);
  assert.throws(
    () => encodeValue(keys.portBinding('h', PORT), { ...binding(), mtu: 1 }),
    /mtu: must be between/,
  );
  assert.equal(JSON.parse(encodeValue(keys.portBinding('h', PORT), binding())).mtu, 1500);
});
