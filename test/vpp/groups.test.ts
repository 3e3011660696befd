// The message groups (src/vpp/groups.ts): every generated message in exactly one group, grouped by
// the .api.json file (VPP core or a plugin) it comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_MESSAGES } from '../../src/vpp/binapi/index.ts';
import { CLI, GROUPS } from '../../src/vpp/groups.ts';

test('every generated message is in exactly one group, and every group message is generated', () => {
  const groupOf = new Map<string, string[]>();
  for (const g of GROUPS)
    for (const m of g.messages) groupOf.set(m.name, [...(groupOf.get(m.name) ?? []), g.name]);
  const orphans = ALL_MESSAGES.filter((m) => !groupOf.has(m.name)).map((m) => m.name);
  assert.deepEqual(orphans, [], 'add their binding module to a group in src/vpp/groups.ts');
  const twice = [...groupOf].filter(([, gs]) => gs.length > 1);
  assert.deepEqual(twice, []);
  const generated = new Set(ALL_MESSAGES);
  for (const g of GROUPS) for (const m of g.messages) assert.ok(generated.has(m), `${g.name}: ${m.name}`);
});

test('core is the one required group; it holds what every connection needs', () => {
  assert.deepEqual(
    GROUPS.filter((g) => g.required).map((g) => g.name),
    ['core'],
  );
  const core = new Set(GROUPS[0].messages.map((m) => m.name));
  for (const m of [
    'sockclnt_create',
    'control_ping',
    'control_ping_reply',
    'sockclnt_delete',
    'memclnt_keepalive_reply',
    'show_version',
    'cli_inband',
    'sw_interface_dump',
    'want_interface_events',
    'sw_interface_event',
    'bridge_domain_add_del_v2',
  ])
    assert.ok(core.has(m), m);
  const names = GROUPS.map((g) => g.name);
  assert.equal(new Set(names).size, names.length, 'names are unique');
  for (const g of GROUPS) assert.ok(g.description && g.provider, g.name);
});

test('plugins are optional groups of their own; their messages are those of the plugin', () => {
  const of = (name: string) => GROUPS.find((g) => g.name === name);
  assert.ok(of('acl')?.messages.some((m) => m.name === 'acl_add_replace'));
  assert.ok(of('acl')?.messages.some((m) => m.name === 'macip_acl_add_replace'));
  assert.ok(of('vhost_user')?.messages.some((m) => m.name === 'create_vhost_user_if_v2'));
  assert.ok(of('tap')?.messages.some((m) => m.name === 'tap_create_v3'));
  assert.ok(of('af_packet')?.messages.some((m) => m.name === 'af_packet_create_v3'));
  assert.ok(of('vxlan')?.messages.some((m) => m.name === 'vxlan_add_del_tunnel_v3'));
  assert.ok(
    !of('vxlan')?.messages.some((m) => m.name === 'l2fib_add_del'),
    'the L2 FIB is core (l2.api.json)',
  );
  for (const name of ['acl', 'vhost_user', 'tap', 'af_packet', 'vxlan'])
    assert.equal(of(name)?.required, false, name);
});

test('the CLI allow-list is the agent commands, each in the group of the plugin it talks to', () => {
  const all = GROUPS.flatMap((g) => (g.cli ?? []).map((c) => [g.name, c]));
  assert.deepEqual(all, [
    ['acl', CLI.showAclSessions],
    ['acl', CLI.enableAclReclassify],
  ]);
  assert.deepEqual(Object.values(CLI).sort(), all.map(([, c]) => c).sort());
});
