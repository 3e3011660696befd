// Contract: the ACL plugin (ACLs, interface lists, MAC-IP ACLs) as VPP 26.06 does it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acl_add_replace,
  acl_del,
  acl_dump,
  acl_interface_etype_whitelist_dump,
  acl_interface_list_dump,
  acl_interface_set_acl_list,
  acl_interface_set_etype_whitelist,
  acl_plugin_get_version,
  cli_inband,
  delete_loopback,
  macip_acl_add_replace,
  macip_acl_del,
  macip_acl_dump,
  macip_acl_interface_add_del,
  macip_acl_interface_get,
  macip_acl_interface_list_dump,
  type AclRule,
  type MacipAclRule,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { CLI } from '../../src/vpp/groups.ts';
import {
  Cleanup,
  contractHarness,
  loopback,
  NO_INDEX,
  NO_SUCH_INDEX,
  rejectsWith,
  TAG,
  uniq,
} from './helpers.ts';

const h = contractHarness();

function rule(over: Partial<AclRule> = {}): AclRule {
  return {
    is_permit: 2,
    src_prefix: '0.0.0.0/0',
    dst_prefix: '0.0.0.0/0',
    proto: 6,
    srcport_or_icmptype_first: 0,
    srcport_or_icmptype_last: 65535,
    dstport_or_icmpcode_first: 22,
    dstport_or_icmpcode_last: 22,
    tcp_flags_mask: 0,
    tcp_flags_value: 0,
    ...over,
  };
}

function macipRule(mac: string, prefix: string): MacipAclRule {
  return { is_permit: 1, src_mac: mac, src_mac_mask: 'ff:ff:ff:ff:ff:ff', src_prefix: prefix };
}

async function acl(
  c: VppClient,
  cleanup: Cleanup,
  rules: AclRule[],
  tag = `${TAG}${uniq()}`,
): Promise<number> {
  const r = await c.request(acl_add_replace, { acl_index: NO_INDEX, tag, count: rules.length, r: rules });
  cleanup.add(() => c.request(acl_del, { acl_index: r.acl_index }));
  return r.acl_index;
}

async function lists(c: VppClient, sw: number) {
  const d = await c.dump(acl_interface_list_dump, { sw_if_index: sw });
  assert.equal(d.length, 1);
  return { n_input: d[0].n_input, acls: d[0].acls };
}

test('the ACL plugin reports its version', async () => {
  const v = await h.c.request(acl_plugin_get_version, {});
  assert.deepEqual([v.major, v.minor], [1, 4]);
});

test('ACLs: create, dump, replace in place, and nothing to replace', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const tag = `${TAG}${uniq()}`;
  const ingress = [
    rule(),
    rule({
      src_prefix: '::/0',
      dst_prefix: '::/0',
      proto: 58,
      srcport_or_icmptype_last: 255,
      dstport_or_icmpcode_first: 0,
      dstport_or_icmpcode_last: 255,
    }),
  ];
  const a = await acl(c, cleanup, ingress, tag);
  let d = await c.dump(acl_dump, { acl_index: a });
  assert.equal(d.length, 1);
  assert.equal(d[0].tag, tag);
  assert.deepEqual(d[0].r, ingress);
  assert.ok((await c.dump(acl_dump, { acl_index: NO_INDEX })).some((x) => x.acl_index === a));

  const replaced = [rule({ src_prefix: '10.0.0.0/8' })];
  const r = await c.request(acl_add_replace, { acl_index: a, tag, count: 1, r: replaced });
  assert.equal(r.acl_index, a, 'replaced in place');
  d = await c.dump(acl_dump, { acl_index: a });
  assert.deepEqual(d[0].r, replaced);

  await rejectsWith(
    c.request(acl_add_replace, { acl_index: NO_SUCH_INDEX, tag: 'x', count: 0, r: [] }),
    -6,
    'replacing an ACL that does not exist',
  );
  await rejectsWith(
    c.request(acl_add_replace, {
      acl_index: NO_INDEX,
      tag,
      count: 1,
      r: [rule({ src_prefix: '10.0.0.1/8' })],
    }),
    -57,
    'host bits in a source prefix',
  );
  await rejectsWith(
    c.request(acl_add_replace, { acl_index: NO_INDEX, tag, count: 1, r: [rule({ dst_prefix: '::/0' })] }),
    -57,
    'mixed address families',
  );
  await rejectsWith(
    c.request(acl_add_replace, {
      acl_index: NO_INDEX,
      tag,
      count: 1,
      r: [rule({ dstport_or_icmpcode_first: 100, dstport_or_icmpcode_last: 99 })],
    }),
    -8,
    'a port range upside down',
  );
  await c.request(acl_del, { acl_index: a });
  assert.deepEqual(await c.dump(acl_dump, { acl_index: a }), []);
  await rejectsWith(c.request(acl_del, { acl_index: a }), -6, 'deleting twice');
});

test('freed ACL indexes are reused, most recently freed first', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const a = await acl(c, cleanup, [rule()]);
  const b = await acl(c, cleanup, [rule()]);
  await c.request(acl_del, { acl_index: a });
  await c.request(acl_del, { acl_index: b });
  assert.deepEqual([await acl(c, cleanup, [rule()]), await acl(c, cleanup, [rule()])], [b, a]);
});

test('interface ACL lists: input then output, an applied ACL cannot go, lists vanish with the interface', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const inA = await acl(c, cleanup, [rule()]);
  const outA = await acl(c, cleanup, [rule({ proto: 17 })]);
  const lo = await loopback(c, cleanup);
  await c.request(acl_interface_set_acl_list, { sw_if_index: lo, count: 2, n_input: 1, acls: [inA, outA] });
  cleanup.add(() =>
    c.request(acl_interface_set_acl_list, { sw_if_index: lo, count: 0, n_input: 0, acls: [] }),
  );
  assert.deepEqual(await lists(c, lo), { n_input: 1, acls: [inA, outA] });
  const all = await c.dump(acl_interface_list_dump, { sw_if_index: NO_INDEX });
  assert.ok(all.some((x) => x.sw_if_index === lo && x.count === 2));
  assert.ok(
    all.some((x) => x.sw_if_index === 0),
    'every interface is listed, with or without ACLs',
  );

  await rejectsWith(c.request(acl_del, { acl_index: inA }), -142, 'an input ACL in use');
  await rejectsWith(c.request(acl_del, { acl_index: outA }), -143, 'an output ACL in use');
  await rejectsWith(
    c.request(acl_interface_set_acl_list, { sw_if_index: lo, count: 1, n_input: 1, acls: [NO_SUCH_INDEX] }),
    -6,
    'applying an ACL that does not exist',
  );
  assert.deepEqual(await lists(c, lo), { n_input: 1, acls: [inA, outA] }, 'a refused list changes nothing');
  // VPP combines the input and output results with C's ||: a duplicate reads 1, not -116.
  await rejectsWith(
    c.request(acl_interface_set_acl_list, { sw_if_index: lo, count: 2, n_input: 2, acls: [inA, inA] }),
    1,
    'the same ACL twice in a list',
  );

  // Swap directions: make-before-break style replacement of the whole list.
  await c.request(acl_interface_set_acl_list, { sw_if_index: lo, count: 2, n_input: 1, acls: [outA, inA] });
  assert.deepEqual(await lists(c, lo), { n_input: 1, acls: [outA, inA] });
  await rejectsWith(c.request(acl_del, { acl_index: inA }), -143);

  await c.request(delete_loopback, { sw_if_index: lo });
  await c.request(acl_del, { acl_index: inA });
  await c.request(acl_del, { acl_index: outA });
  assert.deepEqual(await c.dump(acl_interface_list_dump, { sw_if_index: lo }), []);
});

test('ethertype whitelists: input then output, only interfaces with one are dumped, and a deleted interface leaves its whitelist to the next one at its index', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const lo = await loopback(c, cleanup);
  const other = await loopback(c, cleanup);
  assert.deepEqual(await c.dump(acl_interface_etype_whitelist_dump, { sw_if_index: lo }), []);
  const v4v6arp = [0x0800, 0x86dd, 0x0806];
  await c.request(acl_interface_set_etype_whitelist, {
    sw_if_index: lo,
    count: 5,
    n_input: 3,
    whitelist: [...v4v6arp, 0x0800, 0x86dd],
  });
  const [d] = await c.dump(acl_interface_etype_whitelist_dump, { sw_if_index: lo });
  assert.deepEqual(
    { sw_if_index: d.sw_if_index, count: d.count, n_input: d.n_input, whitelist: d.whitelist },
    { sw_if_index: lo, count: 5, n_input: 3, whitelist: [...v4v6arp, 0x0800, 0x86dd] },
  );
  const all = await c.dump(acl_interface_etype_whitelist_dump, { sw_if_index: NO_INDEX });
  assert.ok(all.some((x) => x.sw_if_index === lo));
  assert.ok(!all.some((x) => x.sw_if_index === other), 'an interface without a whitelist is not dumped');
  await rejectsWith(
    c.request(acl_interface_set_etype_whitelist, {
      sw_if_index: NO_SUCH_INDEX,
      count: 0,
      n_input: 0,
      whitelist: [],
    }),
    -2,
    'a whitelist on an interface that does not exist',
  );
  // An empty set removes both lists.
  await c.request(acl_interface_set_etype_whitelist, {
    sw_if_index: other,
    count: 1,
    n_input: 0,
    whitelist: [0x0806],
  });
  await c.request(acl_interface_set_etype_whitelist, {
    sw_if_index: other,
    count: 0,
    n_input: 0,
    whitelist: [],
  });
  assert.deepEqual(await c.dump(acl_interface_etype_whitelist_dump, { sw_if_index: other }), []);

  // VPP does not clear the whitelist when the interface goes: the next one at that index has it.
  await c.request(delete_loopback, { sw_if_index: lo });
  const again = await loopback(c, cleanup);
  assert.equal(again, lo, 'the freed index is reused');
  const [inherited] = await c.dump(acl_interface_etype_whitelist_dump, { sw_if_index: again });
  assert.deepEqual(inherited?.whitelist, [...v4v6arp, 0x0800, 0x86dd]);
  await c.request(acl_interface_set_etype_whitelist, {
    sw_if_index: again,
    count: 0,
    n_input: 0,
    whitelist: [],
  });
});

test('ACL session reclassification: shown and set through the CLI; a command VPP does not know is -1', async (t) => {
  // Commands netvpp itself never sends (its client refuses them): this client may, to probe VPP.
  const off = 'set acl-plugin reclassify-sessions 0';
  const unknown = 'frobnicate the widgets';
  const c = await VppClient.connect({
    socket: h.target.socket,
    name: 'netvpp-contract-cli',
    cliCommands: [off, unknown],
  });
  let restore = async (): Promise<unknown> => undefined;
  t.after(async () => {
    await restore().catch(() => undefined);
    await c.close();
  });
  const read = async (): Promise<string | undefined> =>
    /^Reclassify sessions:\s*(\d+)\s*$/m.exec(
      (await c.request(cli_inband, { cmd: CLI.showAclSessions })).reply,
    )?.[1];
  const was = await read();
  assert.ok(was === '0' || was === '1', `"Reclassify sessions: N" in the output (got ${was})`);
  restore = () => c.request(cli_inband, { cmd: was === '1' ? CLI.enableAclReclassify : off });
  await c.request(cli_inband, { cmd: CLI.enableAclReclassify });
  assert.equal(await read(), '1');
  await c.request(cli_inband, { cmd: off });
  assert.equal(await read(), '0');
  await rejectsWith(c.request(cli_inband, { cmd: unknown }), -1, 'an unknown CLI command');
});

test('MAC-IP ACLs: one per interface, shown by interface, deleting the ACL unbinds it', async (t) => {
  const cleanup = new Cleanup();
  t.after(() => cleanup.run());
  const c = h.c;
  const rules = [
    macipRule('fa:16:3e:00:00:01', '10.0.0.5/32'),
    macipRule('fa:16:3e:00:00:01', 'fe80::f816:3eff:fe00:1/128'),
  ];
  const tag = `${TAG}${uniq()}`;
  const m = await c.request(macip_acl_add_replace, {
    acl_index: NO_INDEX,
    tag,
    count: rules.length,
    r: rules,
  });
  cleanup.add(() => c.request(macip_acl_del, { acl_index: m.acl_index }));
  const d = await c.dump(macip_acl_dump, { acl_index: m.acl_index });
  assert.equal(d.length, 1);
  assert.equal(d[0].tag, tag);
  assert.deepEqual(d[0].r, rules);

  const lo = await loopback(c, cleanup);
  await c.request(macip_acl_interface_add_del, { is_add: true, sw_if_index: lo, acl_index: m.acl_index });
  cleanup.add(() =>
    c.request(macip_acl_interface_add_del, { is_add: false, sw_if_index: lo, acl_index: m.acl_index }),
  );
  const got = await c.request(macip_acl_interface_get, {});
  assert.equal(got.count, got.acls.length);
  assert.equal(got.acls[lo], m.acl_index, 'indexed by sw_if_index');
  assert.deepEqual(
    (await c.dump(macip_acl_interface_list_dump, { sw_if_index: lo })).map((x) => [x.sw_if_index, x.acls]),
    [[lo, [m.acl_index]]],
  );
  assert.ok(
    (await c.dump(macip_acl_interface_list_dump, { sw_if_index: NO_INDEX })).some(
      (x) => x.sw_if_index === lo && x.acls[0] === m.acl_index,
    ),
  );

  const replaced = [macipRule('fa:16:3e:00:00:02', '10.0.0.6/32')];
  const r = await c.request(macip_acl_add_replace, { acl_index: m.acl_index, tag, count: 1, r: replaced });
  assert.equal(r.acl_index, m.acl_index);
  assert.deepEqual((await c.dump(macip_acl_dump, { acl_index: m.acl_index }))[0].r, replaced);
  assert.equal(
    (await c.request(macip_acl_interface_get, {})).acls[lo],
    m.acl_index,
    'still bound after replace',
  );

  await c.request(macip_acl_del, { acl_index: m.acl_index });
  assert.equal((await c.request(macip_acl_interface_get, {})).acls[lo], NO_INDEX, 'unbound by the delete');
  assert.deepEqual(await c.dump(macip_acl_dump, { acl_index: m.acl_index }), []);
  await rejectsWith(
    c.request(macip_acl_interface_add_del, { is_add: false, sw_if_index: lo, acl_index: m.acl_index }),
    -6,
    'nothing bound',
  );
  await rejectsWith(
    c.request(macip_acl_interface_add_del, { is_add: true, sw_if_index: lo, acl_index: NO_SUCH_INDEX }),
    -6,
    'binding an ACL that does not exist',
  );
  await rejectsWith(c.request(macip_acl_del, { acl_index: m.acl_index }), -6);
});
