// Every compiled ACL goes through the VPP codec: it encodes (prefix text valid, fields in range), passes
// the checks VPP's ACL plugin makes, and decodes back to exactly the compiled rules — so comparing the
// compiled rules with an acl_dump of VPP finds no difference and a resync writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type PortBinding,
  portBindingSchema,
  type SecurityGroup,
  securityGroupSchema,
  type SecurityGroupRule,
} from '../../src/model/keyspace.ts';
import { mustBe } from '../../src/model/validate.ts';
import { aclRuleProblem, compileHostAcls, macipRuleProblem } from '../../src/agent/secgroups/index.ts';
import { messageCodec } from '../../src/vpp/codec/index.ts';
import {
  acl_add_replace,
  acl_details,
  macip_acl_add_replace,
  macip_acl_details,
} from '../../src/vpp/binapi/acl.ts';
import type { AclRule, MacipAclRule } from '../../src/vpp/binapi/types.ts';
import { rule } from './helpers/sg-rules.ts';

const SG = '5e000000-0000-4000-8000-000000000001';
const REMOTE = '5e000000-0000-4000-8000-000000000002';
const STATELESS = '5e000000-0000-4000-8000-000000000003';
const PORT = '70000000-0000-4000-8000-000000000001';

// One group holding every rule shape, in both directions and families.
const shapes: Partial<SecurityGroupRule>[] = [
  {},
  { protocol: 6, port_range_min: 1, port_range_max: 65535 },
  { protocol: 17, port_range_min: 53, port_range_max: 53, remote_ip_prefix: '192.0.2.77/24' },
  { protocol: 1 },
  { protocol: 1, port_range_min: 0, port_range_max: 0 },
  { protocol: 1, port_range_min: 255, port_range_max: 255 },
  { protocol: 132 },
  { protocol: 47, remote_ip_prefix: '0.0.0.0/0' },
  { remote_group_id: REMOTE },
  { protocol: 6, port_range_min: 22, port_range_max: 22, remote_group_id: REMOTE },
];
const shapes6: Partial<SecurityGroupRule>[] = [
  { ethertype: 'IPv6' },
  { ethertype: 'IPv6', protocol: 58, port_range_min: 128 },
  {
    ethertype: 'IPv6',
    protocol: 6,
    port_range_min: 443,
    port_range_max: 443,
    remote_ip_prefix: '2001:db8::1/48',
  },
  { ethertype: 'IPv6', remote_group_id: REMOTE },
];
const all = [...shapes, ...shapes6];
const groups = new Map<string, SecurityGroup>(
  [
    { id: SG, stateful: true },
    { id: STATELESS, stateful: false },
  ].map(({ id, stateful }) => [
    id,
    mustBe(
      securityGroupSchema,
      {
        id,
        revision: 1,
        stateful,
        rules: [...all.map((s) => rule(s)), ...all.map((s) => rule({ ...s, direction: 'egress' }))],
      },
      'group',
    ),
  ]),
);
const members = (): string[] => [
  '10.0.0.5',
  '10.0.0.4',
  '10.1.0.0/16',
  'fd00::5',
  'fd00:1::/64',
  '::ffff:10.2.0.1',
];

const binding: PortBinding = mustBe(
  portBindingSchema,
  {
    port_id: PORT,
    network_id: '7e700000-0000-4000-8000-000000000001',
    network_type: 'vxlan',
    physnet: null,
    segmentation_id: 5001,
    mtu: 1450,
    mac: 'fa:16:3e:12:34:56',
    fixed_ips: [
      { subnet_id: '5b000000-0000-4000-8000-000000000001', ip_address: '10.0.0.5' },
      { subnet_id: '5b000000-0000-4000-8000-000000000006', ip_address: '2001:db8::5' },
    ],
    vif_type: 'vhostuser',
    vhostuser: { socket: `/var/run/vpp/${PORT}`, mode: 'client' },
    tap: null,
    device_owner: 'compute:nova',
    admin_state_up: true,
    security_groups: [SG, STATELESS],
    port_security_enabled: true,
    allowed_address_pairs: [
      { ip_address: '10.0.1.9/24', mac_address: 'fa:16:3e:12:34:56' },
      { ip_address: '172.16.0.1', mac_address: 'fa:16:3e:aa:bb:cc' },
      { ip_address: 'fd00:9::/64', mac_address: 'fa:16:3e:aa:bb:cc' },
    ],
    revision: 1,
  },
  'binding',
);

const host = compileHostAcls([binding], (id) => groups.get(id), members);

test('the host compiles every kind of ACL (base, ICMP errors, both groups, MAC-IP)', () => {
  assert.equal(host.acls.size, 8);
  assert.equal(host.macips.size, 1);
  for (const [tag, rules] of host.acls) assert.ok(rules.length > 0, tag);
  assert.deepEqual(host.unsupported, new Map());
});

test('every ACL rule is one VPP accepts', () => {
  for (const [tag, rules] of host.acls)
    for (const r of rules) assert.equal(aclRuleProblem(r), null, `${tag}: ${JSON.stringify(r)}`);
  for (const [tag, rules] of host.macips)
    for (const r of rules) assert.equal(macipRuleProblem(r), null, `${tag}: ${JSON.stringify(r)}`);
});

test('acl_add_replace encodes every ACL, and the details VPP sends back decode to the same rules', () => {
  const add = messageCodec(acl_add_replace);
  const details = messageCodec(acl_details);
  for (const [tag, r] of host.acls) {
    const msg = { client_index: 1, context: 7, acl_index: 0xffffffff, tag, count: r.length, r };
    const wire = add.encode(42, msg);
    assert.deepEqual(add.decode(wire), msg, tag);
    // acl_dump answers with acl_details, whose rules share the acl_rule layout.
    const dumped = details.decode(details.encode(43, { context: 7, acl_index: 3, tag, count: r.length, r }));
    assert.deepEqual(dumped.r as AclRule[], r, tag);
  }
});

test('macip_acl_add_replace encodes the anti-spoofing ACL and it decodes to the same rules', () => {
  const add = messageCodec(macip_acl_add_replace);
  const details = messageCodec(macip_acl_details);
  for (const [tag, r] of host.macips) {
    const msg = { client_index: 1, context: 7, acl_index: 0xffffffff, tag, count: r.length, r };
    assert.deepEqual(add.decode(add.encode(42, msg)), msg);
    const dumped = details.decode(details.encode(43, { context: 7, acl_index: 0, tag, count: r.length, r }));
    assert.deepEqual(dumped.r as MacipAclRule[], r);
  }
});

test('the checks catch what VPP would refuse', () => {
  const ok = host.acls.values().next().value![0];
  const bad: [Partial<AclRule>, RegExp][] = [
    [{ src_prefix: '10.0.0.1/8' }, /host bits/],
    [{ dst_prefix: '::/0', src_prefix: '0.0.0.0/0' }, /different families/],
    [{ dstport_or_icmpcode_first: 9, dstport_or_icmpcode_last: 8 }, /empty/],
    [{ srcport_or_icmptype_last: 65536 }, /0\.\.65535/],
    [{ proto: 256 }, /proto/],
    [{ is_permit: 3 }, /is_permit/],
    [{ src_prefix: '10.0.0.1' }, /no prefix length/],
  ];
  for (const [change, why] of bad) assert.match(aclRuleProblem({ ...ok, ...change }) ?? '', why);
  const mac = host.macips.values().next().value![0];
  assert.match(macipRuleProblem({ ...mac, src_mac: 'FA:16:3E:00:00:01' }) ?? '', /lower-case/);
  assert.match(macipRuleProblem({ ...mac, src_prefix: '10.0.1.9/24' }) ?? '', /host bits/);
});
