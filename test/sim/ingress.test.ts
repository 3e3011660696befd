// The simulator's model of ethernet-input (sim.ingress): where a frame received on a port lands,
// given its tags and the port's sub-interfaces — the behaviour test/dataplane/vlan-hop.test.ts
// sees with real packets on a real VPP 26.06 (af_packet and vhost-user ports in a bridge, with
// and without an admin-down default sub-interface).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Sim, type VlanTag } from '../../src/sim/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import {
  af_packet_create_v3,
  bridge_domain_add_del_v2,
  create_subif,
  create_vhost_user_if_v2,
  delete_subif,
  SubIfFlags,
  sw_interface_set_flags,
  sw_interface_set_l2_bridge,
} from '../../src/vpp/binapi/index.ts';

const Q = (vid: number): VlanTag => ({ tpid: 0x8100, vid });
const AD = (vid: number): VlanTag => ({ tpid: 0x88a8, vid });
const DEFAULT = SubIfFlags.SUB_IF_API_FLAG_DEFAULT;

async function world(t: { after(fn: () => Promise<void>): void }): Promise<{ sim: Sim; c: VppClient }> {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  const sim = await startSimulator({ socket: join(dir, 'api.sock') });
  const c = await VppClient.connect({ socket: sim.socket });
  t.after(async () => {
    await c.close();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await c.request(bridge_domain_add_del_v2, {
    bd_id: 1,
    is_add: true,
    flood: true,
    uu_flood: true,
    learn: true,
  });
  return { sim, c };
}

/** An admin-up bridge member: an af_packet (per-packet input) or vhost-user (vector) port. */
async function port(c: VppClient, kind: 'afpacket' | 'vhost', name: string): Promise<number> {
  const idx =
    kind === 'afpacket'
      ? (await c.request(af_packet_create_v3, { mode: 1, host_if_name: name, use_random_hw_addr: true }))
          .sw_if_index
      : (await c.request(create_vhost_user_if_v2, { sock_filename: `/tmp/${name}.sock` })).sw_if_index;
  await c.request(sw_interface_set_flags, { sw_if_index: idx, flags: 1 });
  await c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: idx, bd_id: 1, enable: true });
  return idx;
}

const guard = async (c: VppClient, parent: number, sub_id = 4095) =>
  (await c.request(create_subif, { sw_if_index: parent, sub_id, sub_if_flags: DEFAULT })).sw_if_index;

const KINDS: [string, VlanTag[]][] = [
  ['802.1Q', [Q(123)]],
  ['802.1ad', [AD(123)]],
  ['double', [AD(123), Q(7)]],
  ['priority', [Q(0)]],
];

test('an admin-down default sub-interface drops every tagged frame; without it they reach the bridge tags and all', async (t) => {
  const { sim, c } = await world(t);
  const afp = await port(c, 'afpacket', 'vm0');
  const vu = await port(c, 'vhost', 'vm1');
  for (const idx of [afp, vu]) {
    assert.deepEqual(sim.ingress(idx, []), { swIfIndex: idx, l2: true });
    for (const [what, tags] of KINDS)
      assert.deepEqual(sim.ingress(idx, tags), { swIfIndex: idx, l2: true }, what);
  }
  const g = await guard(c, afp);
  await guard(c, vu);
  for (const idx of [afp, vu]) {
    assert.deepEqual(sim.ingress(idx, []), { swIfIndex: idx, l2: true }, 'untagged frames pass');
    for (const [what, tags] of KINDS) {
      // VPP's vhost-user input (the vector path) hands a lone VLAN 0 tag to the main interface.
      if (idx === vu && what === 'priority')
        assert.deepEqual(sim.ingress(idx, tags), { swIfIndex: vu, l2: true });
      else
        assert.deepEqual(
          sim.ingress(idx, tags),
          { swIfIndex: null, drop: 'subinterface down', l2: false },
          `${what} on ${idx}`,
        );
    }
  }
  await c.request(delete_subif, { sw_if_index: g });
  assert.equal(sim.ingress(afp, [Q(123)]).l2, true, 'the guard gone: VLAN hopping');
});

test('a refused second default sub-interface disables the first: tagged frames reach the bridge again', async (t) => {
  const { sim, c } = await world(t);
  const afp = await port(c, 'afpacket', 'vm0');
  await guard(c, afp, 4095);
  await assert.rejects(guard(c, afp, 4094));
  assert.equal(sim.ingress(afp, [Q(123)]).l2, true, 'the shared default entry was cleared');
  await guard(c, afp, 4093);
  assert.equal(sim.ingress(afp, [Q(123)]).drop, 'subinterface down', 'a third one takes it again');
});

test('af_packet: an outer 802.1ad tag reaches ethernet-input as 802.1Q; vhost-user keeps it', async (t) => {
  const { sim, c } = await world(t);
  const afp = await port(c, 'afpacket', 'vm0');
  const vu = await port(c, 'vhost', 'vm1');
  const ad = SubIfFlags.SUB_IF_API_FLAG_ONE_TAG | SubIfFlags.SUB_IF_API_FLAG_EXACT_MATCH;
  const subs = [];
  for (const idx of [afp, vu]) {
    const s = (
      await c.request(create_subif, {
        sw_if_index: idx,
        sub_id: 5,
        sub_if_flags: ad | SubIfFlags.SUB_IF_API_FLAG_DOT1AD,
        outer_vlan_id: 5,
      })
    ).sw_if_index;
    await c.request(sw_interface_set_flags, { sw_if_index: s, flags: 1 });
    subs.push(s);
  }
  assert.equal(sim.ingress(vu, [AD(5)]).swIfIndex, subs[1], 'vhost-user: the 802.1ad sub-interface');
  assert.equal(sim.ingress(afp, [AD(5)]).swIfIndex, afp, 'af_packet: looked up as 802.1Q VLAN 5');
});
