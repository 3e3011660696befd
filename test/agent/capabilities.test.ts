// What a host offers Neutron from the message groups its VPP has (src/agent/capabilities.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostCapabilities } from '../../src/agent/capabilities.ts';
import { GROUPS, type GroupAvailability } from '../../src/vpp/groups.ts';

/** A VPP with every group but `without`. */
function vpp(...without: string[]): GroupAvailability {
  return Object.fromEntries(
    GROUPS.map((g) => [
      g.name,
      without.includes(g.name)
        ? { available: false, required: g.required, reason: 'not loaded' }
        : { available: true, required: g.required },
    ]),
  );
}

test('a complete VPP offers every vif type and feature', () => {
  for (const backend of ['tap', 'veth', undefined] as const)
    assert.deepEqual(hostCapabilities(vpp(), backend), {
      vif_types: ['vhostuser', 'tap', 'router', 'subport'],
      features: ['port_security', 'nat', 'qos'],
    });
});

test('nat needs the nat44_ed plugin and routers (ip)', () => {
  assert.deepEqual(hostCapabilities(vpp('nat'), 'tap').features, ['port_security', 'qos']);
  assert.deepEqual(hostCapabilities(vpp('ip'), 'tap').features, ['port_security', 'qos']);
});

test('router interfaces need the ip group (tables and addresses)', () => {
  assert.deepEqual(hostCapabilities(vpp('ip'), 'tap').vif_types, ['vhostuser', 'tap', 'subport']);
});

test('port security needs the acl plugin', () => {
  assert.deepEqual(hostCapabilities(vpp('acl'), 'tap').features, ['nat', 'qos']);
  assert.deepEqual(hostCapabilities(vpp('acl'), 'tap').vif_types, ['vhostuser', 'tap', 'router', 'subport']);
});

test('vhostuser needs vhost_user; tap needs the group of the configured tap backend', () => {
  assert.deepEqual(hostCapabilities(vpp('vhost_user'), 'tap').vif_types, ['tap', 'router', 'subport']);
  assert.deepEqual(hostCapabilities(vpp('tap'), 'tap').vif_types, ['vhostuser', 'router', 'subport']);
  assert.deepEqual(hostCapabilities(vpp('tap'), 'veth').vif_types, ['vhostuser', 'tap', 'router', 'subport']);
  assert.deepEqual(hostCapabilities(vpp('af_packet'), 'veth').vif_types, ['vhostuser', 'router', 'subport']);
  assert.deepEqual(hostCapabilities(vpp('af_packet'), 'tap').vif_types, [
    'vhostuser',
    'tap',
    'router',
    'subport',
  ]);
  // Backend unknown: either will do.
  assert.deepEqual(hostCapabilities(vpp('tap'), undefined).vif_types, [
    'vhostuser',
    'tap',
    'router',
    'subport',
  ]);
  assert.deepEqual(hostCapabilities(vpp('tap', 'af_packet'), undefined).vif_types, [
    'vhostuser',
    'router',
    'subport',
  ]);
  assert.deepEqual(hostCapabilities(vpp('vhost_user', 'tap', 'af_packet', 'acl', 'ip'), 'tap'), {
    vif_types: [],
    features: ['qos'],
  });
});

test('not connected to VPP yet: what netvpp supports; a group the client never checked counts as missing', () => {
  assert.deepEqual(hostCapabilities(undefined, 'tap'), {
    vif_types: ['vhostuser', 'tap', 'router', 'subport'],
    features: ['port_security', 'nat', 'qos'],
  });
  assert.deepEqual(hostCapabilities({ core: { available: true, required: true } }, 'tap'), {
    vif_types: [],
    features: [],
  });
});
