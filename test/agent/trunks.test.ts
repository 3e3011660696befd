// Trunk sub-ports on the agent (docs/trunks.md): each a VLAN sub-interface of its parent port's
// interface, its tag popped into the sub-port's own network, with the sub-port's own security groups,
// anti-spoofing and ethertype whitelist; tagged frames of no sub-port still dropped by the parent's
// VLAN-tag guard; a sub-port added to or removed from a live trunk touches only that sub-port. On
// the simulator (ethernet-input's sub-interface choice is its model of VPP's); on a real VPP,
// test/dataplane/trunk.test.ts sends the frames.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PortBinding } from '../../src/model/keyspace.ts';
import type { VlanTag } from '../../src/sim/ethernet.ts';
import { sw_interface_dump, type SwInterfaceDetails } from '../../src/vpp/binapi/index.ts';
import { defaultGroup, flatNet, uuid, vlanNet, vmPort, type NetworkSpec } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';
import { inspect } from './helpers/inspect.ts';
import { synced } from './helpers/faults.ts';

const H = 'compute1';
const Q = (vid: number): VlanTag => ({ tpid: 0x8100, vid });
const AD = (vid: number): VlanTag => ({ tpid: 0x88a8, vid });

function subPort(
  parent: PortBinding,
  net: NetworkSpec,
  vlan: number,
  over: Partial<PortBinding> = {},
): PortBinding {
  return vmPort(net, {
    vif_type: 'subport',
    vhostuser: null,
    device_owner: 'trunk:subport',
    subport: {
      trunk_id: TRUNK,
      parent_port_id: parent.port_id,
      segmentation_type: 'vlan',
      segmentation_id: vlan,
    },
    ...over,
  });
}
const TRUNK = uuid();

describe('trunk sub-ports', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
    w.startAgent(H);
  });
  after(() => w?.stop());

  // Without the reply's context (a per-request counter), so two dumps of the same state compare equal.
  const ifs = async (): Promise<SwInterfaceDetails[]> =>
    (await w.operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff })).map((d) => ({
      ...d,
      context: 0,
    }));
  const byTag = async (tag: string): Promise<SwInterfaceDetails | undefined> =>
    (await ifs()).find((d) => d.tag === tag);

  it('each sub-port is its VLAN’s exact-match sub-interface of the parent, tag popped into its own network, filtered as a port', async () => {
    const sim = w.vpp.sim;
    assert.ok(sim);
    const sg = defaultGroup();
    await w.putGroup(sg);
    const parent = vmPort(vlanNet(400), { security_groups: [sg.id] });
    const netA = vlanNet(401);
    const netB = flatNet();
    const a = subPort(parent, netA, 10, { security_groups: [sg.id] });
    const b = subPort(parent, netB, 20, { port_security_enabled: false, security_groups: [] });
    for (const p of [parent, a, b]) await w.bind(H, p);
    await w.connectGuest(parent);
    for (const p of [parent, a, b]) await w.waitReady(H, p.port_id);

    const pIf = await waitFor('the parent', () => w.portInterface(parent.port_id));
    const sa = await byTag(`netvpp:subport:${a.port_id}`);
    const sb = await byTag(`netvpp:subport:${b.port_id}`);
    assert.ok(sa && sb, 'a sub-interface per sub-port, tagged with its key');
    for (const [s, vlan] of [
      [sa, 10],
      [sb, 20],
    ] as const) {
      assert.equal(s.sup_sw_if_index, pIf.sw_if_index, 'a sub-interface of the parent’s interface');
      assert.deepEqual([s.sub_id, s.sub_outer_vlan_id, s.sub_number_of_tags], [vlan, vlan, 1]);
      assert.equal(s.vtr_op, 3, 'the tag popped on ingress (pushed on egress)');
      assert.equal(s.flags & 1, 1, 'admin-up once ready');
    }
    const v = await inspect(w.operator);
    const bridgeOf = (name: string) => [...v.bridges].find(([, m]) => m.includes(name))?.[0];
    assert.equal(
      bridgeOf(sa.interface_name),
      `netvpp:bd:${netA.id}`,
      'VLAN 10 lands in the sub-port’s network',
    );
    assert.equal(bridgeOf(sb.interface_name), `netvpp:bd:${netB.id}`);
    assert.equal(
      bridgeOf(pIf.interface_name),
      `netvpp:bd:${parent.network_id}`,
      'untagged: the parent’s network',
    );
    // The sub-port's own filtering: anti-spoofing of its own MAC/IPs, its groups, IPv4/IPv6/ARP only.
    assert.equal(v.macipOf.get(sa.interface_name), `netvpp:macip:${a.port_id}`);
    const rules = v.macips.get(`netvpp:macip:${a.port_id}`)?.rules ?? [];
    assert.ok(
      rules.some((r) => r.src_mac.toLowerCase() === a.mac.toLowerCase()),
      'its own MAC allowed',
    );
    assert.ok(!rules.some((r) => r.src_mac.toLowerCase() === parent.mac.toLowerCase()), 'not the parent’s');
    assert.ok((v.aclLists.get(sa.interface_name)?.input.length ?? 0) > 0, 'its security group lists');
    assert.deepEqual(v.etypes.get(sa.interface_name)?.input, ['0x0800', '0x86dd', '0x0806']);
    assert.equal(v.macipOf.get(sb.interface_name), undefined, 'port security off: unfiltered');
    assert.equal(v.aclLists.get(sb.interface_name), undefined);

    // Which interface ethernet-input gives each frame from the guest.
    assert.deepEqual(sim.ingress(pIf.sw_if_index, [Q(10)]), { swIfIndex: sa.sw_if_index, l2: true });
    assert.deepEqual(sim.ingress(pIf.sw_if_index, [Q(20)]), { swIfIndex: sb.sw_if_index, l2: true });
    assert.deepEqual(sim.ingress(pIf.sw_if_index, []), { swIfIndex: pIf.sw_if_index, l2: true });
    for (const tags of [[Q(30)], [Q(400)], [AD(10)], [Q(10), Q(5)], [Q(20), Q(20)], [Q(1), Q(2), Q(3)]]) {
      const r = sim.ingress(pIf.sw_if_index, tags);
      assert.equal(r.l2, false, `${JSON.stringify(tags)} matches no sub-port: it must not enter a bridge`);
      assert.equal(r.drop, 'subinterface down', 'dropped by the parent’s VLAN-tag guard');
    }
    for (const p of [b, a, parent]) await w.unbind(H, p.port_id);
    await waitFor('all gone', async () => (await ifs()).every((d) => !d.tag.startsWith('netvpp:')));
  });

  it('adding and removing a sub-port on a live trunk writes only that sub-port’s objects', async () => {
    const sim = w.vpp.sim;
    assert.ok(sim);
    const parent = vmPort(vlanNet(410));
    // The new sub-port joins a network already on this host: all it adds is its own.
    const netA = vlanNet(411);
    const a = subPort(parent, netA, 11);
    await w.bind(H, parent);
    await w.bind(H, a);
    await w.connectGuest(parent);
    await w.waitReady(H, parent.port_id);
    await w.waitReady(H, a.port_id);
    const before = new Map((await ifs()).map((d) => [d.sw_if_index, d]));

    const c = subPort(parent, netA, 12);
    sim.resetCounters();
    await w.bind(H, c);
    await w.waitReady(H, c.port_id);
    const added = sim.counters();
    const writes = (names: Record<string, number>) =>
      Object.fromEntries(
        Object.entries(names).filter(([n]) => !/_dump$|_get$|^control_ping$|^want_/.test(n)),
      );
    const w1 = writes(added);
    assert.equal(w1.create_vlan_subif, 1, `one sub-interface made: ${JSON.stringify(w1)}`);
    assert.equal(w1.sw_interface_set_l2_bridge, 1, 'one bridge membership (the new sub-port’s)');
    assert.equal(w1.sw_interface_set_flags, 1, 'one admin-up (the new sub-port’s)');
    for (const n of Object.keys(w1))
      assert.doesNotMatch(
        n,
        /delete|^acl_del$|^macip_acl_del$|vhost|create_subif|set_mtu/,
        `no ${n} while adding a sub-port`,
      );
    const cIf = await byTag(`netvpp:subport:${c.port_id}`);
    assert.ok(cIf);
    // Everything that was there is as it was: same interfaces, same indices, same state.
    const now = new Map((await ifs()).map((d) => [d.sw_if_index, d]));
    for (const [idx, d] of before)
      assert.deepEqual(now.get(idx), d, `interface ${d.interface_name} untouched`);

    sim.resetCounters();
    await w.unbind(H, c.port_id);
    await waitFor(
      'the sub-interface gone',
      async () => (await byTag(`netvpp:subport:${c.port_id}`)) === undefined,
    );
    await waitFor('the pass done', async () => (await w.portState(H, c.port_id)) === undefined);
    const w2 = writes(sim.counters());
    assert.equal(w2.delete_subif, 1, `only the sub-port’s sub-interface deleted: ${JSON.stringify(w2)}`);
    for (const n of Object.keys(w2))
      assert.doesNotMatch(n, /create|vhost|set_mtu|set_l2_bridge/, `no ${n} while removing a sub-port`);
    const after = new Map((await ifs()).map((d) => [d.sw_if_index, d]));
    for (const [idx, d] of before)
      assert.deepEqual(after.get(idx), d, `interface ${d.interface_name} untouched`);
    assert.equal((await w.portState(H, a.port_id))?.ready, true, 'the other sub-port stays ready');
    for (const p of [a, parent]) await w.unbind(H, p.port_id);
  });

  it('a sub-port waits for its parent: an error until the parent is bound here, not ready until its guest is connected', async () => {
    const parent = vmPort(vlanNet(420));
    const a = subPort(parent, vlanNet(421), 21);
    await w.bind(H, a);
    const st = await w.waitState(H, a.port_id, 'an error naming the parent', (s) =>
      Boolean(s?.error?.includes(`parent port ${parent.port_id} is not bound on this host`)),
    );
    assert.equal(st?.ready, false);
    await w.bind(H, parent);
    await w.waitState(H, a.port_id, 'the error gone', (s) => s?.error === null);
    assert.equal((await w.portState(H, a.port_id))?.ready, false, 'no guest on the parent yet: not ready');
    await w.connectGuest(parent);
    await w.waitReady(H, a.port_id);
    // The parent goes: the sub-port is in error again, and its sub-interface went with the parent.
    await w.unbind(H, parent.port_id);
    await w.waitState(H, a.port_id, 'an error again', (s) => Boolean(s?.error?.includes('is not bound')));
    assert.equal(await byTag(`netvpp:subport:${a.port_id}`), undefined);
    await w.unbind(H, a.port_id);
  });

  it('a restart with the trunk in place writes nothing to VPP', async () => {
    const sim = w.vpp.sim;
    assert.ok(sim);
    const parent = vmPort(vlanNet(430));
    const subs = [subPort(parent, vlanNet(431), 31), subPort(parent, flatNet(), 32)];
    for (const p of [parent, ...subs]) await w.bind(H, p);
    await w.connectGuest(parent);
    for (const p of [parent, ...subs]) await w.waitReady(H, p.port_id);
    await w.stopAgent(w.agents[0]);
    sim.resetCounters();
    const agent = w.startAgent(H);
    const stats = await synced(agent);
    assert.equal(stats.writes, 0, `writes after restart: ${JSON.stringify(sim.counters())}`);
    for (const p of [parent, ...subs]) await w.waitReady(H, p.port_id);
    assert.equal(sim.writes(), 0, `writes after restart: ${JSON.stringify(sim.counters())}`);
    for (const p of [...subs, parent]) await w.unbind(H, p.port_id);
  });
});
