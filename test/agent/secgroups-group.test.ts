// Security group → VPP ACL rules: every Neutron rule shape, the direction mapping, remote groups,
// stateless groups, and that the output depends only on what the group allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type SecurityGroup, securityGroupSchema, type SecurityGroupRule } from '../../src/model/keyspace.ts';
import { mustBe } from '../../src/model/validate.ts';
import { compileGroupAcls, remoteGroupsOf } from '../../src/agent/secgroups/index.ts';
import type { AclRule } from '../../src/vpp/binapi/types.ts';
import { rule } from './helpers/sg-rules.ts';

const SG = '5e5e5e5e-0000-4000-8000-000000000001';
const OTHER = '5e5e5e5e-0000-4000-8000-000000000002';
const THIRD = '5e5e5e5e-0000-4000-8000-000000000003';

/** A group as the agent gets it: checked by the etcd value schema. */
function group(rules: SecurityGroupRule[], stateful = true, id = SG): SecurityGroup {
  return mustBe(securityGroupSchema, { id, revision: 1, stateful, rules }, 'test group');
}

const noMembers = (): string[] => [];

interface Want {
  action?: number;
  src?: string;
  dst?: string;
  proto?: number;
  sport?: [number, number];
  dport?: [number, number];
}
function want(w: Want, v6 = false): AclRule {
  const any = v6 ? '::/0' : '0.0.0.0/0';
  const sport = w.sport ?? [0, 65535];
  const dport = w.dport ?? [0, 65535];
  return {
    is_permit: w.action ?? 2,
    src_prefix: w.src ?? any,
    dst_prefix: w.dst ?? any,
    proto: w.proto ?? 0,
    srcport_or_icmptype_first: sport[0],
    srcport_or_icmptype_last: sport[1],
    dstport_or_icmpcode_first: dport[0],
    dstport_or_icmpcode_last: dport[1],
    tcp_flags_mask: 0,
    tcp_flags_value: 0,
  };
}

test('an "any" rule permits every protocol from anywhere, per ethertype', () => {
  const acls = compileGroupAcls(
    group([
      rule({ ethertype: 'IPv4' }),
      rule({ ethertype: 'IPv6' }),
      rule({ direction: 'egress', ethertype: 'IPv6' }),
    ]),
    noMembers,
  );
  assert.deepEqual(acls.ingress, [want({}), want({}, true)]);
  assert.deepEqual(acls.egress, [want({}, true)]);
  assert.deepEqual(acls.unsupported, []);
});

test('a TCP port range matches destination ports, any source port, remote as the source on ingress', () => {
  const acls = compileGroupAcls(
    group([
      rule({ protocol: 6, port_range_min: 8000, port_range_max: 8080, remote_ip_prefix: '10.0.0.0/8' }),
    ]),
    noMembers,
  );
  assert.deepEqual(acls.ingress, [want({ proto: 6, src: '10.0.0.0/8', dport: [8000, 8080] })]);
  assert.deepEqual(acls.egress, []);
});

test('a UDP single port on egress puts the remote in dst_prefix (the VM is the source)', () => {
  const acls = compileGroupAcls(
    group([
      rule({
        direction: 'egress',
        protocol: 17,
        port_range_min: 53,
        port_range_max: 53,
        remote_ip_prefix: '192.0.2.10/32',
      }),
    ]),
    noMembers,
  );
  assert.deepEqual(acls.egress, [want({ proto: 17, dst: '192.0.2.10/32', dport: [53, 53] })]);
  assert.deepEqual(acls.ingress, []);
});

test('the same rule in both directions differs only in which side holds the remote prefix', () => {
  const r = { protocol: 6, port_range_min: 22, port_range_max: 22, remote_ip_prefix: '203.0.113.0/24' };
  const acls = compileGroupAcls(group([rule({ ...r }), rule({ ...r, direction: 'egress' })]), noMembers);
  assert.deepEqual(acls.ingress, [want({ proto: 6, src: '203.0.113.0/24', dport: [22, 22] })]);
  assert.deepEqual(acls.egress, [want({ proto: 6, dst: '203.0.113.0/24', dport: [22, 22] })]);
});

test('ICMP: min is the type and max the code, null is any, and type 0 (echo reply) is not "any"', () => {
  const acls = compileGroupAcls(
    group([
      rule({ protocol: 1 }),
      rule({ protocol: 1, port_range_min: 8 }),
      rule({ protocol: 1, port_range_min: 0, port_range_max: 0 }),
      rule({ protocol: 1, port_range_min: 3, port_range_max: 4 }),
    ]),
    noMembers,
  );
  assert.deepEqual(acls.ingress, [
    want({ proto: 1, sport: [0, 0], dport: [0, 0] }),
    want({ proto: 1, sport: [0, 255], dport: [0, 255] }),
    want({ proto: 1, sport: [3, 3], dport: [4, 4] }),
    want({ proto: 1, sport: [8, 8], dport: [0, 255] }),
  ]);
});

test('ICMPv6 rules use protocol 58, also when Neutron says "icmp" for IPv6', () => {
  const acls = compileGroupAcls(
    group([
      rule({ ethertype: 'IPv6', protocol: 58, port_range_min: 128 }),
      rule({ ethertype: 'IPv6', protocol: 1, port_range_min: 129, port_range_max: 0 }),
    ]),
    noMembers,
  );
  assert.deepEqual(acls.ingress, [
    want({ proto: 58, sport: [128, 128], dport: [0, 255] }, true),
    want({ proto: 58, sport: [129, 129], dport: [0, 0] }, true),
  ]);
});

test('a remote prefix with host bits set is masked (VPP refuses host bits)', () => {
  const acls = compileGroupAcls(
    group([
      rule({ remote_ip_prefix: '10.1.2.3/16' }),
      rule({ ethertype: 'IPv6', remote_ip_prefix: '2001:db8:0:1::5/64' }),
    ]),
    noMembers,
  );
  assert.deepEqual(acls.ingress, [want({ src: '10.1.0.0/16' }), want({ src: '2001:db8:0:1::/64' }, true)]);
});

test('a remote group becomes one rule per member address of the rule family', () => {
  const asked: string[] = [];
  const members = (id: string): string[] => {
    asked.push(id);
    return id === OTHER ? ['10.0.0.5', 'fd00::5', '10.0.0.9', '172.16.0.0/24', 'fd00:1::/64'] : [];
  };
  const acls = compileGroupAcls(
    group([
      rule({ protocol: 6, port_range_min: 22, port_range_max: 22, remote_group_id: OTHER }),
      rule({
        ethertype: 'IPv6',
        protocol: 6,
        port_range_min: 22,
        port_range_max: 22,
        remote_group_id: OTHER,
      }),
      rule({ direction: 'egress', remote_group_id: OTHER }),
    ]),
    members,
  );
  const ssh = { proto: 6, dport: [22, 22] as [number, number] };
  assert.deepEqual(acls.ingress, [
    want({ ...ssh, src: '10.0.0.5/32' }),
    want({ ...ssh, src: '10.0.0.9/32' }),
    want({ ...ssh, src: '172.16.0.0/24' }),
    want({ ...ssh, src: 'fd00::5/128' }, true),
    want({ ...ssh, src: 'fd00:1::/64' }, true),
  ]);
  // Egress: the members are destinations.
  assert.deepEqual(acls.egress, [
    want({ dst: '10.0.0.5/32' }),
    want({ dst: '10.0.0.9/32' }),
    want({ dst: '172.16.0.0/24' }),
  ]);
  // One lookup per remote group, however many rules use it.
  assert.deepEqual(asked, [OTHER]);
});

test('member addresses are merged exactly: duplicates, covered and adjacent addresses collapse', () => {
  const members = (): string[] => ['10.0.0.4', '10.0.0.5', '10.0.0.5', '10.0.1.7', '10.0.1.0/24', '10.0.0.6'];
  const acls = compileGroupAcls(group([rule({ remote_group_id: OTHER })]), members);
  // 10.0.0.4 + .5 → /31; .6 stays alone; 10.0.1.7 lies inside 10.0.1.0/24.
  assert.deepEqual(acls.ingress, [
    want({ src: '10.0.0.4/31' }),
    want({ src: '10.0.0.6/32' }),
    want({ src: '10.0.1.0/24' }),
  ]);
});

test('an empty remote group, or one with no member of the family, yields no rule', () => {
  const members = (id: string): string[] => (id === OTHER ? ['fd00::1'] : []);
  const acls = compileGroupAcls(
    group([
      rule({ remote_group_id: THIRD }),
      rule({ remote_group_id: OTHER, protocol: 6 }),
      rule({ ethertype: 'IPv6', remote_group_id: OTHER }),
    ]),
    members,
  );
  assert.deepEqual(acls.ingress, [want({ src: 'fd00::1/128' }, true)]);
  assert.deepEqual(acls.unsupported, []);
});

test('rules that differ only in their remote merge; a rule from anywhere covers the others', () => {
  const tcp22 = { protocol: 6, port_range_min: 22, port_range_max: 22 };
  const acls = compileGroupAcls(
    group([
      rule({ ...tcp22, remote_ip_prefix: '10.0.0.0/25' }),
      rule({ ...tcp22, remote_ip_prefix: '10.0.0.128/25' }),
      rule({ protocol: 17, remote_ip_prefix: '192.0.2.0/24' }),
      rule({ protocol: 17 }),
    ]),
    noMembers,
  );
  assert.deepEqual(acls.ingress, [
    want({ proto: 6, src: '10.0.0.0/24', dport: [22, 22] }),
    want({ proto: 17 }),
  ]);
});

test('a stateless group uses plain permit and adds no return rules of its own', () => {
  const acls = compileGroupAcls(
    group([rule({ protocol: 6, port_range_min: 80, port_range_max: 80 })], false),
    noMembers,
  );
  assert.deepEqual(acls.ingress, [want({ action: 1, proto: 6, dport: [80, 80] })]);
  // The reply (egress tcp sport 80) passes only if the user writes that rule, as in Neutron.
  assert.deepEqual(acls.egress, []);
});

test('the rules depend on what the group allows, not on rule ids, rule order or member order', () => {
  const shapes: Partial<SecurityGroupRule>[] = [
    { protocol: 6, port_range_min: 22, port_range_max: 22 },
    { direction: 'egress' },
    { ethertype: 'IPv6', protocol: 58 },
    { protocol: 17, port_range_min: 1000, port_range_max: 2000, remote_group_id: OTHER },
    { remote_ip_prefix: '198.51.100.0/24', protocol: 1, port_range_min: 8 },
  ];
  const a = compileGroupAcls(group(shapes.map(rule)), () => ['10.0.0.1', '10.0.0.3', 'fd00::1']);
  const b = compileGroupAcls(group([...shapes].reverse().map(rule)), () => [
    'fd00::1',
    '10.0.0.3',
    '10.0.0.1',
  ]);
  assert.deepEqual(b, a);
  assert.deepEqual(
    compileGroupAcls(group(shapes.map(rule)), () => ['10.0.0.1', '10.0.0.3', 'fd00::1']),
    a,
  );
  assert.equal(a.ingress.length, 5);
});

test('SCTP ports VPP cannot match are left out and reported; the full range is kept', () => {
  const acls = compileGroupAcls(
    group([
      rule({ protocol: 132, port_range_min: 5000, port_range_max: 5001 }),
      rule({ protocol: 132, port_range_min: 0, port_range_max: 65535, direction: 'egress' }),
      rule({ protocol: 47 }),
    ]),
    noMembers,
  );
  // VPP reads port 0 from an SCTP packet, so 5000..5001 can never be enforced: no rule (fail closed).
  assert.deepEqual(acls.ingress, [want({ proto: 47 })]);
  assert.deepEqual(acls.egress, [want({ proto: 132 })]);
  assert.equal(acls.unsupported.length, 1);
  assert.match(acls.unsupported[0].reason, /cannot match ports of protocol 132/);
});

test('remoteGroupsOf lists the groups whose membership the ACLs depend on', () => {
  const sg = group([
    rule({ remote_group_id: THIRD }),
    rule({ remote_group_id: OTHER }),
    rule({ remote_group_id: THIRD }),
  ]);
  assert.deepEqual(remoteGroupsOf(sg), [OTHER, THIRD]);
  assert.deepEqual(remoteGroupsOf(group([rule({})])), []);
});
