// Contract: what L3 phase 2 relies on, as VPP 26.06 handles it — API routes with several paths
// (ECMP) and their replace/add/remove semantics, pipes (two sub-interfaces of type PIPE, bridgeable
// at both ends), and the nat44_ed plugin's configuration: off until enabled, a second enable
// "already enabled", interfaces inside/outside, addresses with a tenant VRF, address-only static
// mappings with a tag; the arping plugin's gratuitous ARP (an HA takeover's announcement). Runs on the simulator and unchanged on a real VPP (NETVPP_TEST_VPP_SOCKET).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
  arping,
  ip_route_add_del,
  ip_route_dump,
  ip_table_add_del,
  nat44_add_del_address_range,
  nat44_add_del_static_mapping_v2,
  nat44_address_dump,
  nat44_ed_add_del_output_interface,
  nat44_ed_output_interface_get,
  nat44_ed_plugin_enable_disable,
  nat44_interface_add_del_feature,
  nat44_interface_dump,
  nat44_show_running_config,
  nat44_static_mapping_dump,
  pipe_create,
  pipe_delete,
  pipe_dump,
  sw_interface_dump,
  sw_interface_set_flags,
  sw_interface_set_l2_bridge,
  sw_interface_set_table,
  type FibPath,
} from '../../src/vpp/binapi/index.ts';
import { bridge, Cleanup, contractHarness, loopback, NO_INDEX, rejectsWith, TAG, uniq } from './helpers.ts';

const h = contractHarness();

const path = (nh: string, table: number): FibPath => ({
  sw_if_index: NO_INDEX,
  table_id: table,
  rpf_id: 0,
  weight: 1,
  preference: 0,
  type: 0,
  flags: 0,
  proto: 0,
  nh: { address: { ip4: nh }, via_label: 0, obj_id: 0, classify_table_index: NO_INDEX },
  n_labels: 0,
  label_stack: [],
});

const NAT = { inside_vrf: 0, outside_vrf: 0, sessions: 0, session_memory: 0, flags: 0 };

describe('routes through the API', () => {
  const table = 7_000_000 + randomInt(0, 100_000);
  const route = (prefix: string, hops: string[]) => ({
    table_id: table,
    stats_index: 0,
    prefix,
    n_paths: hops.length,
    paths: hops.map((nh) => path(nh, table)),
  });
  const mine = async () =>
    (await h.c.dump(ip_route_dump, { table: { table_id: table, is_ip6: false, name: '' } }))
      .filter((r) => r.route.prefix === '172.30.0.0/16')
      .map((r) => r.route.paths.slice(0, r.route.n_paths).map((p) => p.nh.address.ip4));

  it('a missing table is -3; an add without paths -52', async () => {
    await rejectsWith(
      h.c.request(ip_route_add_del, {
        is_add: true,
        is_multipath: false,
        route: route('172.30.0.0/16', ['10.0.0.1']),
      }),
      -3,
    );
    await h.c.request(ip_table_add_del, {
      is_add: true,
      table: { table_id: table, is_ip6: false, name: `${TAG}${uniq()}` },
    });
    h.cleanup.add(() =>
      h.c.request(ip_table_add_del, { is_add: false, table: { table_id: table, is_ip6: false, name: '' } }),
    );
    await rejectsWith(
      h.c.request(ip_route_add_del, { is_add: true, is_multipath: false, route: route('172.30.0.0/16', []) }),
      -52,
    );
  });

  it('ECMP: one entry with both paths; an add without multipath replaces them; multipath adds and removes one', async () => {
    const r = await h.c.request(ip_route_add_del, {
      is_add: true,
      is_multipath: false,
      route: route('172.30.0.0/16', ['10.0.0.1', '10.0.0.2']),
    });
    assert.notEqual(r.stats_index, NO_INDEX);
    assert.deepEqual(await mine(), [['10.0.0.1', '10.0.0.2']]);
    await h.c.request(ip_route_add_del, {
      is_add: true,
      is_multipath: false,
      route: route('172.30.0.0/16', ['10.0.0.3']),
    });
    assert.deepEqual(await mine(), [['10.0.0.3']]);
    await h.c.request(ip_route_add_del, {
      is_add: true,
      is_multipath: true,
      route: route('172.30.0.0/16', ['10.0.0.4']),
    });
    assert.deepEqual(
      (await mine()).map((x) => x.sort()),
      [['10.0.0.3', '10.0.0.4']],
    );
    await h.c.request(ip_route_add_del, {
      is_add: false,
      is_multipath: true,
      route: route('172.30.0.0/16', ['10.0.0.3']),
    });
    assert.deepEqual(await mine(), [['10.0.0.4']]);
    // A host-bits prefix is the network's.
    await h.c.request(ip_route_add_del, {
      is_add: true,
      is_multipath: false,
      route: route('172.30.9.9/16', ['10.0.0.5']),
    });
    assert.deepEqual(await mine(), [['10.0.0.5']]);
  });

  it('a delete without multipath removes the entry, whatever its paths; deleting again is 0', async () => {
    await h.c.request(ip_route_add_del, {
      is_add: false,
      is_multipath: false,
      route: route('172.30.0.0/16', []),
    });
    assert.deepEqual(await mine(), []);
    await h.c.request(ip_route_add_del, {
      is_add: false,
      is_multipath: false,
      route: route('172.30.0.0/16', []),
    });
  });

  it('deleting and re-adding the table keeps its API routes (VPP 26.06: no flush)', async () => {
    await h.c.request(ip_route_add_del, {
      is_add: true,
      is_multipath: false,
      route: route('172.30.0.0/16', ['10.0.0.1']),
    });
    await h.c.request(ip_table_add_del, {
      is_add: false,
      table: { table_id: table, is_ip6: false, name: '' },
    });
    await h.c.request(ip_table_add_del, {
      is_add: true,
      table: { table_id: table, is_ip6: false, name: `${TAG}${uniq()}` },
    });
    assert.deepEqual(await mine(), [['10.0.0.1']]);
  });
});

describe('pipes', () => {
  it('a pipe: pipe<N> and two PIPE sub-interfaces .0 and .1; deleted by its parent', async () => {
    const r = await h.c.request(pipe_create, { is_specified: false, user_instance: 0 });
    h.cleanup.add(() => h.c.request(pipe_delete, { sw_if_index: r.sw_if_index }));
    const [p] = (await h.c.dump(pipe_dump, {})).filter((x) => x.sw_if_index === r.sw_if_index);
    assert.deepEqual(p.pipe_sw_if_index, r.pipe_sw_if_index);
    const ifs = await h.c.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
    const of = (i: number) => ifs.find((d) => d.sw_if_index === i);
    const parent = of(r.sw_if_index);
    assert.equal(parent?.interface_name, `pipe${p.instance}`);
    assert.equal(parent?.interface_dev_type, 'Pipe');
    assert.equal(parent?.l2_address, `00:00:00:00:00:${(p.instance & 0xff).toString(16).padStart(2, '0')}`);
    for (const end of [0, 1]) {
      const e = of(r.pipe_sw_if_index[end]);
      assert.equal(e?.interface_name, `pipe${p.instance}.${end}`);
      assert.equal(e?.type, 3, 'IF_API_TYPE_PIPE');
      assert.equal(e?.sup_sw_if_index, r.sw_if_index);
      assert.equal(e?.sub_id, end);
    }
    await rejectsWith(
      h.c.request(pipe_create, { is_specified: true, user_instance: p.instance }),
      -31,
      'taken',
    );
    // Both ends bridge; admin up needs the parent up first.
    const bd = await bridge(h.c, h.cleanup);
    await h.c.request(sw_interface_set_flags, { sw_if_index: r.sw_if_index, flags: 1 });
    for (const end of [0, 1]) {
      await h.c.request(sw_interface_set_flags, { sw_if_index: r.pipe_sw_if_index[end], flags: 1 });
      await h.c.request(sw_interface_set_l2_bridge, {
        rx_sw_if_index: r.pipe_sw_if_index[end],
        bd_id: bd,
        port_type: 0,
        shg: 0,
        enable: true,
      });
    }
    await h.c.request(pipe_delete, { sw_if_index: r.sw_if_index });
    const left = (await h.c.dump(sw_interface_dump, { sw_if_index: NO_INDEX })).filter((d) =>
      [r.sw_if_index, ...r.pipe_sw_if_index].includes(d.sw_if_index),
    );
    assert.deepEqual(left, []);
    assert.deepEqual(
      (await h.c.dump(pipe_dump, {})).filter((x) => x.sw_if_index === r.sw_if_index),
      [],
    );
  });
});

describe('nat44_ed', () => {
  const vrf = 7_100_000 + randomInt(0, 100_000);
  const sm = (isAdd: boolean, local: string, external: string, tag = '') =>
    h.c.request(nat44_add_del_static_mapping_v2, {
      is_add: isAdd,
      match_pool: false,
      flags: 8,
      pool_ip_address: '0.0.0.0',
      local_ip_address: local,
      external_ip_address: external,
      protocol: 0,
      local_port: 0,
      external_port: 0,
      external_sw_if_index: NO_INDEX,
      vrf_id: vrf,
      tag,
    });
  const range = (isAdd: boolean, addr: string, vrfId = vrf) =>
    h.c.request(nat44_add_del_address_range, {
      first_ip_address: addr,
      last_ip_address: addr,
      vrf_id: vrfId,
      is_add: isAdd,
      flags: 0,
    });

  it('off: every write is -126 and the running config shows 0 sessions', async (t) => {
    const rc = await h.c.request(nat44_show_running_config, {});
    if (rc.sessions > 0) return t.skip('NAT is already on in this VPP');
    const lo = await loopback(h.c, h.cleanup);
    await rejectsWith(range(true, '198.51.100.90'), -126, 'address');
    await rejectsWith(
      h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 32, sw_if_index: lo }),
      -126,
      'interface',
    );
    await rejectsWith(sm(true, '10.0.0.9', '198.51.100.91'), -126, 'static mapping');
    await rejectsWith(
      h.c.request(nat44_ed_add_del_output_interface, { is_add: true, sw_if_index: lo }),
      -126,
      'output feature',
    );
    await rejectsWith(
      h.c.request(nat44_ed_plugin_enable_disable, { ...NAT, enable: false }),
      -169,
      'disable',
    );
    // translation_buckets: 0 on a fresh VPP, but it keeps the last enable's after a disable: only
    // sessions says whether NAT is on.
  });

  it('enable: sessions reported; a second enable is -170; the static-mapping-only flag -126', async () => {
    const was = (await h.c.request(nat44_show_running_config, {})).sessions > 0;
    if (!was) {
      await h.c.request(nat44_ed_plugin_enable_disable, { ...NAT, enable: true });
      h.cleanup.add(() => h.c.request(nat44_ed_plugin_enable_disable, { ...NAT, enable: false }));
    }
    await rejectsWith(h.c.request(nat44_ed_plugin_enable_disable, { ...NAT, enable: true }), -170);
    await rejectsWith(h.c.request(nat44_ed_plugin_enable_disable, { ...NAT, enable: true, flags: 2 }), -126);
    const rc = await h.c.request(nat44_show_running_config, {});
    if (!was) assert.equal(rc.sessions, 63 * 1024);
    assert.ok(rc.translation_buckets > 0);
    assert.equal(rc.flags, 1, 'endpoint-dependent');
  });

  it('interfaces: inside and outside flags of one record; a side twice is 0; removing one absent -6', async () => {
    const lo = await loopback(h.c, h.cleanup);
    await rejectsWith(
      h.c.request(nat44_interface_add_del_feature, { is_add: false, flags: 32, sw_if_index: lo }),
      -6,
    );
    await h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 32, sw_if_index: lo });
    await h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 32, sw_if_index: lo });
    await h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 16, sw_if_index: lo });
    const rows = (await h.c.dump(nat44_interface_dump, {})).filter((r) => r.sw_if_index === lo);
    assert.deepEqual(
      rows.map((r) => r.flags),
      [48],
    );
    await h.c.request(nat44_interface_add_del_feature, { is_add: false, flags: 16, sw_if_index: lo });
    assert.deepEqual(
      (await h.c.dump(nat44_interface_dump, {})).filter((r) => r.sw_if_index === lo).map((r) => r.flags),
      [32],
    );
    await rejectsWith(
      h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 32, sw_if_index: 0xfffffffe }),
      -2,
    );
  });

  it('an interface in a VRF; deleting the interface drops its NAT record', async () => {
    await h.c.request(ip_table_add_del, {
      is_add: true,
      table: { table_id: vrf, is_ip6: false, name: `${TAG}${uniq()}` },
    });
    h.cleanup.add(() =>
      h.c.request(ip_table_add_del, { is_add: false, table: { table_id: vrf, is_ip6: false, name: '' } }),
    );
    const local = new Cleanup();
    const lo = await loopback(h.c, local);
    await h.c.request(sw_interface_set_table, { sw_if_index: lo, is_ipv6: false, vrf_id: vrf });
    await h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 16, sw_if_index: lo });
    await local.run();
    assert.deepEqual(
      (await h.c.dump(nat44_interface_dump, {})).filter((r) => r.sw_if_index === lo),
      [],
    );
  });

  it('the output feature: its own list; an interface once, in one of the two lists; gone with the interface', async () => {
    const outputs = async () =>
      (await h.c.dump(nat44_ed_output_interface_get, { cursor: 0 })).map((r) => r.sw_if_index);
    const local = new Cleanup();
    const [a, b] = [await loopback(h.c, local), await loopback(h.c, local)];
    await rejectsWith(h.c.request(nat44_ed_add_del_output_interface, { is_add: false, sw_if_index: a }), -6);
    await h.c.request(nat44_ed_add_del_output_interface, { is_add: true, sw_if_index: a });
    assert.ok((await outputs()).includes(a));
    assert.ok(!(await h.c.dump(nat44_interface_dump, {})).some((r) => r.sw_if_index === a));
    await rejectsWith(h.c.request(nat44_ed_add_del_output_interface, { is_add: true, sw_if_index: a }), -81);
    await rejectsWith(
      h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 16, sw_if_index: a }),
      -81,
      'outside on an output-feature interface',
    );
    await h.c.request(nat44_interface_add_del_feature, { is_add: true, flags: 32, sw_if_index: b });
    await rejectsWith(
      h.c.request(nat44_ed_add_del_output_interface, { is_add: true, sw_if_index: b }),
      -81,
      'output on an inside interface',
    );
    await rejectsWith(
      h.c.request(nat44_ed_add_del_output_interface, { is_add: true, sw_if_index: 0xfffffffe }),
      -2,
    );
    await local.run();
    assert.ok(!(await outputs()).includes(a));
  });

  it('addresses: a tenant VRF each; a duplicate -81; deleting one absent -6', async () => {
    await range(true, '198.51.100.90');
    h.cleanup.add(() => range(false, '198.51.100.90'));
    await rejectsWith(range(true, '198.51.100.90'), -81);
    await range(true, '198.51.100.92', NO_INDEX);
    h.cleanup.add(() => range(false, '198.51.100.92'));
    const rows = (await h.c.dump(nat44_address_dump, {})).filter((a) =>
      a.ip_address.startsWith('198.51.100.9'),
    );
    assert.deepEqual(
      rows.map((a) => [a.ip_address, a.vrf_id]),
      [
        ['198.51.100.90', vrf],
        ['198.51.100.92', NO_INDEX],
      ],
    );
    await rejectsWith(range(false, '198.51.100.93'), -6);
  });

  it('address-only static mappings: tagged, dumped with their VRF; one external address once; deleted by it', async () => {
    const tag = `${TAG}${uniq()}`;
    await sm(true, '10.0.0.9', '198.51.100.91', tag);
    h.cleanup.add(() => sm(false, '10.0.0.9', '198.51.100.91'));
    await rejectsWith(sm(true, '10.0.0.10', '198.51.100.91'), -81, 'same external');
    await rejectsWith(sm(true, '10.0.0.9', '198.51.100.94'), -81, 'same local in one VRF');
    const rows = (await h.c.dump(nat44_static_mapping_dump, {})).filter((s) => s.tag === tag);
    assert.deepEqual(
      rows.map((s) => [s.local_ip_address, s.external_ip_address, s.vrf_id, s.flags, s.external_sw_if_index]),
      [['10.0.0.9', '198.51.100.91', vrf, 8, NO_INDEX]],
    );
    await sm(false, '10.0.0.9', '198.51.100.91');
    await rejectsWith(sm(false, '10.0.0.9', '198.51.100.91'), -6);
    assert.deepEqual(
      (await h.c.dump(nat44_static_mapping_dump, {})).filter((s) => s.tag === tag),
      [],
    );
  });
});

describe('gratuitous ARP (arping plugin): an HA router announcing its addresses', () => {
  it('is_garp on an interface is 0 with no reply awaited; an interface VPP lacks is -2', async () => {
    const cleanup = new Cleanup();
    try {
      const lo = await loopback(h.c, cleanup);
      await h.c.request(sw_interface_set_flags, { sw_if_index: lo, flags: 1 });
      const r = await h.c.request(arping, {
        address: '198.51.100.77',
        sw_if_index: lo,
        is_garp: true,
        repeat: 1,
        interval: 0,
      });
      assert.deepEqual([r.retval, r.reply_count], [0, 0]);
      await rejectsWith(
        h.c.request(arping, {
          address: '198.51.100.77',
          sw_if_index: 999_999,
          is_garp: true,
          repeat: 1,
          interval: 0,
        }),
        -2,
        'arping on a missing interface',
      );
    } finally {
      await cleanup.run();
    }
  });
});
