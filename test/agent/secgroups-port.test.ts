// A port's ACL lists, the shared base ACLs, and what actually passes: packets are run through the
// lists the way VPP's ACL plugin does (first match across the list, drop when nothing matches).
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
import {
  baseTag,
  compileBaseAcls,
  compileGroupAcls,
  compileHostAcls,
  compilePortAcls,
  compileRelatedAcls,
  evaluate,
  macipTag,
  type Packet,
  PortAclError,
  relatedTag,
  sgTag,
} from '../../src/agent/secgroups/index.ts';
import type { AclRule } from '../../src/vpp/binapi/types.ts';
import { rule } from './helpers/sg-rules.ts';

const PORT = '70000000-0000-4000-8000-000000000001';
const PORT2 = '70000000-0000-4000-8000-000000000002';
const NET = '7e700000-0000-4000-8000-000000000001';
const SUBNET = '5b000000-0000-4000-8000-000000000001';
const WEB = '5e000000-0000-4000-8000-00000000000a';
const OPEN = '5e000000-0000-4000-8000-00000000000b';
const LOOSE = '5e000000-0000-4000-8000-00000000000c';

function binding(over: Partial<PortBinding> = {}): PortBinding {
  const portId = over.port_id ?? PORT;
  return mustBe(
    portBindingSchema,
    {
      port_id: portId,
      network_id: NET,
      network_type: 'vlan',
      physnet: 'physnet1',
      segmentation_id: 100,
      mtu: 1500,
      mac: 'fa:16:3e:00:00:01',
      fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.5' }],
      vif_type: 'vhostuser',
      vhostuser: { socket: `/var/run/vpp/${portId}`, mode: 'server' },
      tap: null,
      device_owner: 'compute:nova',
      admin_state_up: true,
      security_groups: [WEB],
      port_security_enabled: true,
      allowed_address_pairs: [],
      revision: 1,
      ...over,
    },
    'test binding',
  );
}

function group(id: string, rules: SecurityGroupRule[], stateful = true): SecurityGroup {
  return mustBe(securityGroupSchema, { id, revision: 1, stateful, rules }, 'test group');
}

// WEB: ssh from 10/8 and https from anywhere in; everything out (Neutron's default egress).
const groups = new Map<string, SecurityGroup>([
  [
    WEB,
    group(WEB, [
      rule({ protocol: 6, port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.0.0.0/8' }),
      rule({ protocol: 6, port_range_min: 443, port_range_max: 443 }),
      rule({ direction: 'egress' }),
      rule({ direction: 'egress', ethertype: 'IPv6' }),
    ]),
  ],
  // OPEN: allows everything both ways, all families.
  [
    OPEN,
    group(OPEN, [
      rule({}),
      rule({ ethertype: 'IPv6' }),
      rule({ direction: 'egress' }),
      rule({ direction: 'egress', ethertype: 'IPv6' }),
    ]),
  ],
  [LOOSE, group(LOOSE, [rule({ protocol: 17 }), rule({ direction: 'egress', protocol: 17 })], false)],
]);
const lookup = (id: string): SecurityGroup | undefined => groups.get(id);
const noMembers = (): string[] => [];

/** The rules behind each key of a list, as the agent would resolve them. */
function resolve(keys: string[]): AclRule[][] {
  const base = compileBaseAcls();
  const related = compileRelatedAcls();
  return keys.map((k) => {
    if (k === baseTag('ingress')) return base.ingress;
    if (k === baseTag('egress')) return base.egress;
    if (k === relatedTag('ingress')) return related.ingress;
    if (k === relatedTag('egress')) return related.egress;
    const m = /^netvpp:sg:(.+):(ingress|egress)$/.exec(k);
    assert.ok(m, `unexpected key ${k}`);
    const g = groups.get(m[1]);
    assert.ok(g, `unknown group ${m[1]}`);
    return compileGroupAcls(g, noMembers)[m[2] as 'ingress' | 'egress'];
  });
}

/** What happens to a packet from the VM (VPP input) and to the VM (VPP output) on this port. */
function fromVm(b: PortBinding, pkt: Packet): number {
  return evaluate(resolve(compilePortAcls(b, lookup).input), pkt).action;
}
function toVm(b: PortBinding, pkt: Packet): number {
  return evaluate(resolve(compilePortAcls(b, lookup).output), pkt).action;
}

const DROP = 0;
const PERMIT = 1;
const REFLECT = 2;

test('input list = base egress, ICMP errors, then each group egress ACL; output list mirrors it', () => {
  const p = compilePortAcls(binding({ security_groups: [WEB, OPEN] }), lookup);
  assert.equal(p.filtered, true);
  assert.deepEqual(p.input, [
    baseTag('egress'),
    relatedTag('egress'),
    sgTag(WEB, 'egress'),
    sgTag(OPEN, 'egress'),
  ]);
  assert.deepEqual(p.output, [
    baseTag('ingress'),
    relatedTag('ingress'),
    sgTag(WEB, 'ingress'),
    sgTag(OPEN, 'ingress'),
  ]);
  assert.equal(p.macip, macipTag(PORT));
  assert.deepEqual(p.missingGroups, []);
});

test('the order Neutron lists groups in (and duplicates) changes nothing', () => {
  const a = compilePortAcls(binding({ security_groups: [OPEN, WEB] }), lookup);
  const b = compilePortAcls(binding({ security_groups: [WEB, OPEN, WEB] }), lookup);
  assert.deepEqual(a, b);
  assert.deepEqual(a.groups, [WEB, OPEN].sort());
});

test('port security off: no ACLs, no anti-spoofing, everything passes', () => {
  const b = binding({ port_security_enabled: false, security_groups: [] });
  assert.deepEqual(compilePortAcls(b, lookup), {
    filtered: false,
    input: [],
    output: [],
    macip: null,
    groups: [],
    missingGroups: [],
  });
});

test('trusted network:* ports (DHCP, routers) are not filtered, like in Neutron', () => {
  for (const owner of ['network:dhcp', 'network:router_interface', 'network:router_gateway']) {
    const p = compilePortAcls(binding({ device_owner: owner, security_groups: [] }), lookup);
    assert.equal(p.filtered, false, owner);
    assert.deepEqual(p.input, []);
  }
  // A VM port is filtered whatever its name looks like.
  assert.equal(compilePortAcls(binding({ device_owner: 'compute:network' }), lookup).filtered, true);
});

test('no groups: only the base ACLs, so everything but DHCP and neighbour discovery is dropped', () => {
  const b = binding({ security_groups: [] });
  const p = compilePortAcls(b, lookup);
  assert.deepEqual(p.input, [baseTag('egress')]);
  assert.deepEqual(p.output, [baseTag('ingress')]);
  // From the VM.
  assert.equal(fromVm(b, { src: '10.0.0.5', dst: '8.8.8.8', proto: 17, sport: 40000, dport: 53 }), DROP);
  assert.equal(
    fromVm(b, { src: '0.0.0.0', dst: '255.255.255.255', proto: 17, sport: 68, dport: 67 }),
    PERMIT,
  );
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'ff02::1:2', proto: 17, sport: 546, dport: 547 }), PERMIT);
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'ff02::2', proto: 58, sport: 133, dport: 0 }), PERMIT);
  assert.equal(fromVm(b, { src: '::', dst: 'ff02::1:ff00:5', proto: 58, sport: 135, dport: 0 }), PERMIT);
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'fe80::2', proto: 58, sport: 136, dport: 0 }), PERMIT);
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'ff02::16', proto: 58, sport: 143, dport: 0 }), PERMIT);
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'fe80::2', proto: 58, sport: 128, dport: 0 }), DROP);
  // To the VM.
  assert.equal(toVm(b, { src: '10.1.1.1', dst: '10.0.0.5', proto: 6, sport: 50000, dport: 22 }), DROP);
  assert.equal(toVm(b, { src: '10.0.0.2', dst: '10.0.0.5', proto: 17, sport: 67, dport: 68 }), PERMIT);
  assert.equal(toVm(b, { src: 'fe80::2', dst: 'fe80::1', proto: 17, sport: 547, dport: 546 }), PERMIT);
  assert.equal(toVm(b, { src: 'fe80::a', dst: 'ff02::1', proto: 58, sport: 134, dport: 0 }), PERMIT);
  assert.equal(toVm(b, { src: '2001:db8::1', dst: 'fe80::1', proto: 58, sport: 135, dport: 0 }), PERMIT);
  // An RA must come from a link-local address (RFC 4861); anything else is not a router.
  assert.equal(toVm(b, { src: '2001:db8::a', dst: 'ff02::1', proto: 58, sport: 134, dport: 0 }), DROP);
});

test('a VM may not act as DHCP server or IPv6 router, even when its groups allow all egress', () => {
  const b = binding({ security_groups: [OPEN] });
  assert.equal(fromVm(b, { src: '10.0.0.5', dst: '255.255.255.255', proto: 17, sport: 67, dport: 68 }), DROP);
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'ff02::1:2', proto: 17, sport: 547, dport: 546 }), DROP);
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'ff02::1', proto: 58, sport: 134, dport: 0 }), DROP);
  // Other traffic is up to the groups.
  assert.equal(fromVm(b, { src: '10.0.0.5', dst: '8.8.8.8', proto: 17, sport: 40000, dport: 53 }), REFLECT);
  assert.equal(fromVm(b, { src: 'fe80::1', dst: 'fe80::2', proto: 58, sport: 128, dport: 0 }), REFLECT);
});

test('group rules decide the rest: ssh only from 10/8, https from anywhere, replies by session', () => {
  const b = binding({ security_groups: [WEB] });
  assert.equal(toVm(b, { src: '10.9.9.9', dst: '10.0.0.5', proto: 6, sport: 50000, dport: 22 }), REFLECT);
  assert.equal(toVm(b, { src: '192.0.2.1', dst: '10.0.0.5', proto: 6, sport: 50000, dport: 22 }), DROP);
  assert.equal(toVm(b, { src: '192.0.2.1', dst: '10.0.0.5', proto: 6, sport: 50000, dport: 443 }), REFLECT);
  assert.equal(toVm(b, { src: '192.0.2.1', dst: '10.0.0.5', proto: 17, sport: 50000, dport: 443 }), DROP);
  assert.equal(fromVm(b, { src: '10.0.0.5', dst: '192.0.2.1', proto: 6, sport: 40000, dport: 80 }), REFLECT);
});

test('stateful ports let ICMP errors through (path MTU discovery); stateless ports do not', () => {
  const ptb6: Packet = { src: '2001:db8::1', dst: '2001:db8::5', proto: 58, sport: 2, dport: 0 };
  const fragNeeded: Packet = { src: '192.0.2.1', dst: '10.0.0.5', proto: 1, sport: 3, dport: 4 };
  const stateful = binding({ security_groups: [WEB] });
  assert.equal(toVm(stateful, ptb6), PERMIT);
  assert.equal(toVm(stateful, fragNeeded), PERMIT);
  // Not a blanket ICMP permit: an echo request from outside is still up to the groups.
  assert.equal(toVm(stateful, { ...fragNeeded, sport: 8, dport: 0 }), DROP);
  const stateless = binding({ security_groups: [LOOSE] });
  assert.deepEqual(compilePortAcls(stateless, lookup).input, [baseTag('egress'), sgTag(LOOSE, 'egress')]);
  assert.equal(toVm(stateless, ptb6), DROP);
  assert.equal(
    toVm(stateless, { src: '192.0.2.1', dst: '10.0.0.5', proto: 17, sport: 53, dport: 4000 }),
    PERMIT,
  );
});

test('a group the agent has not received yet is reported missing (the port must wait)', () => {
  const UNKNOWN = '5e000000-0000-4000-8000-0000000000ff';
  const p = compilePortAcls(binding({ security_groups: [UNKNOWN, WEB] }), lookup);
  assert.deepEqual(p.missingGroups, [UNKNOWN]);
  assert.ok(p.input.includes(sgTag(UNKNOWN, 'egress')));
});

test('more groups than VPP can attach to one interface is an error on that port', () => {
  const ids = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => `5e100000-0000-4000-8000-${i.toString().padStart(12, '0')}`);
  // Unknown groups count as stateless: 1 base + n groups per direction, 255 ACLs in all.
  assert.equal(compilePortAcls(binding({ security_groups: ids(126) }), lookup).input.length, 127);
  assert.throws(() => compilePortAcls(binding({ security_groups: ids(127) }), lookup), PortAclError);
});

test('compileHostAcls: shared ACLs once per host, only for filtered ports, with each port', () => {
  const p1 = binding({ security_groups: [WEB] });
  const p2 = binding({ port_id: PORT2, mac: 'fa:16:3e:00:00:02', security_groups: [WEB, LOOSE] });
  const off = binding({
    port_id: '70000000-0000-4000-8000-000000000003',
    port_security_enabled: false,
    security_groups: [OPEN],
  });
  const host = compileHostAcls([off, p2, p1], lookup, noMembers);
  assert.deepEqual(
    [...host.acls.keys()],
    [
      baseTag('egress'),
      baseTag('ingress'),
      relatedTag('egress'),
      relatedTag('ingress'),
      sgTag(WEB, 'egress'),
      sgTag(WEB, 'ingress'),
      sgTag(LOOSE, 'egress'),
      sgTag(LOOSE, 'ingress'),
    ].sort(),
  );
  // OPEN is only used by a port without port security: not compiled, so the agent removes it.
  assert.equal(host.acls.has(sgTag(OPEN, 'ingress')), false);
  assert.deepEqual(
    host.acls.get(sgTag(WEB, 'ingress')),
    compileGroupAcls(groups.get(WEB)!, noMembers).ingress,
  );
  assert.deepEqual([...host.macips.keys()], [macipTag(PORT), macipTag(PORT2)]);
  assert.deepEqual([...host.ports.keys()], [PORT, PORT2, off.port_id]);
  assert.equal(host.ports.get(off.port_id)?.filtered, false);
  // Same input in another order: same output.
  assert.deepEqual(compileHostAcls([p1, off, p2], lookup, noMembers), host);
  // Nothing filtered on the host: no ACL at all, not even the base ones.
  assert.equal(compileHostAcls([off], lookup, noMembers).acls.size, 0);
});

test('compileHostAcls reports a port it cannot filter and goes on with the others', () => {
  const many = Array.from(
    { length: 200 },
    (_, i) => `5e200000-0000-4000-8000-${i.toString().padStart(12, '0')}`,
  );
  const host = compileHostAcls(
    [binding({ security_groups: many }), binding({ port_id: PORT2 })],
    lookup,
    noMembers,
  );
  assert.match(host.portErrors.get(PORT) ?? '', /200 security groups/);
  assert.deepEqual([...host.ports.keys()], [PORT2]);
  assert.ok(host.acls.has(sgTag(WEB, 'ingress')));
});
