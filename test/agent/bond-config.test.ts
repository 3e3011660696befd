// [agent] bonds: what the option accepts and what it refuses (docs/bonds.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBondUse, parseBonds } from '../../src/agent/bond-config.ts';

test('bonds parse with their defaults, modes, load balancing and LACP settings', () => {
  const problems: string[] = [];
  const b = parseBonds(
    'BondEthernet0:Gi0/8/0+Gi0/9/0:l34,\nBondEthernet2:host-a+host-b:active-backup, BondEthernet3:x:passive:long-timeout',
    problems,
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(b.get('BondEthernet0'), {
    name: 'BondEthernet0',
    id: 0,
    members: ['Gi0/8/0', 'Gi0/9/0'],
    mode: 'lacp',
    lb: 'l34',
    passive: false,
    longTimeout: false,
  });
  assert.equal(b.get('BondEthernet2')?.mode, 'active-backup');
  assert.deepEqual([b.get('BondEthernet3')?.passive, b.get('BondEthernet3')?.longTimeout], [true, true]);
});

test('bad bonds are refused, each with its reason', () => {
  const cases: [string, RegExp][] = [
    ['bond0:a+b', /BondEthernet<number>/],
    ['BondEthernet1:', /no members/],
    ['BondEthernet1:a+a', /listed twice/],
    ['BondEthernet1:a,BondEthernet2:a', /member of both/],
    ['BondEthernet1:BondEthernet2', /does not nest/],
    ['BondEthernet1:a:fast', /unknown "fast"/],
    ['BondEthernet1:a:active-backup:l34', /not active-backup/],
    ['BondEthernet1:a:xor:passive', /LACP settings/],
    ['BondEthernet1:a,BondEthernet1:b', /listed twice/],
  ];
  for (const [v, re] of cases) {
    const problems: string[] = [];
    parseBonds(v, problems, 'bonds');
    assert.equal(problems.length, 1, v);
    assert.match(problems[0], re, v);
  }
  const problems: string[] = [];
  const bonds = parseBonds('BondEthernet0:eth0+eth1', problems);
  checkBondUse(
    bonds,
    new Map([
      ['p1', 'eth0'],
      ['p2', 'BondEthernet0'],
    ]),
    'eth1',
    { bonds: 'b', physnets: 'p', underlay: 'u' },
    problems,
  );
  assert.equal(problems.length, 2);
  assert.match(problems[0], /physnet p1 names eth0, a member of BondEthernet0: name the bond instead/);
  assert.match(problems[1], /eth1 is a member of bond BondEthernet0/);
});
