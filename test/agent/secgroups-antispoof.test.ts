// MAC-IP anti-spoofing rules of a port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type PortBinding, portBindingSchema } from '../../src/model/keyspace.ts';
import { mustBe } from '../../src/model/validate.ts';
import { compileAntiSpoof, eui64LinkLocal } from '../../src/agent/secgroups/index.ts';
import type { MacipAclRule } from '../../src/vpp/binapi/types.ts';

const PORT = '70000000-0000-4000-8000-000000000001';
const NET = '7e700000-0000-4000-8000-000000000001';
const SUBNET = '5b000000-0000-4000-8000-000000000001';
const SUBNET6 = '5b000000-0000-4000-8000-000000000006';
const MAC = 'fa:16:3e:12:34:56';
const LLA = 'fe80::f816:3eff:fe12:3456';

function binding(over: Partial<PortBinding> = {}): PortBinding {
  return mustBe(
    portBindingSchema,
    {
      port_id: PORT,
      network_id: NET,
      network_type: 'flat',
      physnet: 'physnet1',
      segmentation_id: null,
      mtu: 1500,
      mac: MAC,
      fixed_ips: [
        { subnet_id: SUBNET, ip_address: '10.0.0.5' },
        { subnet_id: SUBNET6, ip_address: '2001:db8::5' },
      ],
      vif_type: 'vhostuser',
      vhostuser: { socket: `/var/run/vpp/${PORT}`, mode: 'server' },
      tap: null,
      device_owner: 'compute:nova',
      admin_state_up: true,
      security_groups: [],
      port_security_enabled: true,
      allowed_address_pairs: [],
      revision: 1,
      ...over,
    },
    'test binding',
  );
}

const permit = (src_mac: string, src_prefix: string): MacipAclRule => ({
  is_permit: 1,
  src_mac,
  src_mac_mask: 'ff:ff:ff:ff:ff:ff',
  src_prefix,
});

test('EUI-64 link-local address from a MAC (universal/local bit flipped, ff:fe inserted)', () => {
  assert.equal(eui64LinkLocal(MAC), LLA);
  // RFC 7042's documentation MAC; upper case is accepted.
  assert.equal(eui64LinkLocal('00:00:5E:00:53:01'), 'fe80::200:5eff:fe00:5301');
  // A locally administered MAC loses the bit instead.
  assert.equal(eui64LinkLocal('02:00:00:00:00:01'), 'fe80::ff:fe00:1');
  assert.throws(() => eui64LinkLocal('fa:16:3e'), /not a MAC/);
});

test("the port's MAC with its fixed IPs, its link-local address, 0.0.0.0 and :: — nothing else", () => {
  assert.deepEqual(compileAntiSpoof(binding()), [
    permit(MAC, '0.0.0.0/32'),
    permit(MAC, '10.0.0.5/32'),
    permit(MAC, '::/128'),
    permit(MAC, '2001:db8::5/128'),
    permit(MAC, `${LLA}/128`),
  ]);
});

test('allowed address pairs: a CIDR stays a prefix, a foreign MAC gets only its pair address', () => {
  const rules = compileAntiSpoof(
    binding({
      fixed_ips: [{ subnet_id: SUBNET, ip_address: '10.0.0.5' }],
      allowed_address_pairs: [
        { ip_address: '10.0.1.7/24', mac_address: MAC },
        { ip_address: '10.9.9.9', mac_address: 'FA:16:3E:AA:BB:CC' },
        { ip_address: '2001:db8:1::/64', mac_address: MAC },
        { ip_address: '10.0.0.5', mac_address: MAC },
      ],
    }),
  );
  assert.deepEqual(rules, [
    permit(MAC, '0.0.0.0/32'),
    permit(MAC, '10.0.0.5/32'),
    // Host bits are cleared: MAC-IP classifier tables match on the masked address.
    permit(MAC, '10.0.1.0/24'),
    permit('fa:16:3e:aa:bb:cc', '10.9.9.9/32'),
    permit(MAC, '::/128'),
    permit(MAC, '2001:db8:1::/64'),
    permit(MAC, `${LLA}/128`),
  ]);
});

test('a pair that opens every address (0.0.0.0/0) is honoured', () => {
  const rules = compileAntiSpoof(
    binding({ fixed_ips: [], allowed_address_pairs: [{ ip_address: '0.0.0.0/0', mac_address: MAC }] }),
  );
  assert.deepEqual(
    rules.map((r) => r.src_prefix),
    ['0.0.0.0/0', '0.0.0.0/32', '::/128', `${LLA}/128`],
  );
});

test('no anti-spoofing without port security, or on a trusted network:* port', () => {
  assert.deepEqual(compileAntiSpoof(binding({ port_security_enabled: false })), []);
  assert.deepEqual(compileAntiSpoof(binding({ device_owner: 'network:dhcp' })), []);
});

test('the rules do not depend on the order of fixed IPs or pairs', () => {
  const pairs = [
    { ip_address: '10.0.1.0/24', mac_address: MAC },
    { ip_address: '10.9.9.9', mac_address: 'fa:16:3e:aa:bb:cc' },
    { ip_address: 'fd00::9', mac_address: 'fa:16:3e:aa:bb:cc' },
  ];
  const a = compileAntiSpoof(binding({ allowed_address_pairs: pairs }));
  const b = compileAntiSpoof(
    binding({
      allowed_address_pairs: [...pairs].reverse(),
      fixed_ips: [
        { subnet_id: SUBNET6, ip_address: '2001:db8::5' },
        { subnet_id: SUBNET, ip_address: '10.0.0.5' },
      ],
    }),
  );
  assert.deepEqual(b, a);
  assert.equal(a.length, 8);
});
