// The VLAN-tag guard: no port can send 802.1Q/802.1ad-tagged frames into its network (VLAN hopping),
// whatever its port security. Checked with the simulator's model of VPP's ethernet-input; on a real
// VPP, test/dataplane/vlan-hop.test.ts sends tagged frames from a raw socket instead.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { delete_subif, sw_interface_dump, sw_interface_set_flags } from '../../src/vpp/binapi/index.ts';
import type { VlanTag } from '../../src/sim/ethernet.ts';
import { dhcpPort, flatNet, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const Q = (vid: number): VlanTag => ({ tpid: 0x8100, vid });
const AD = (vid: number): VlanTag => ({ tpid: 0x88a8, vid });

describe('VLAN-tag guard', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
    w.startAgent(H);
  });
  after(() => w?.stop());

  const ifIndex = async (portId: string): Promise<number> =>
    (await waitFor(`interface of ${portId}`, () => w.portInterface(portId))).sw_if_index;
  const guardOf = async (portIdx: number) => {
    const all = await w.operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
    return all.filter((d) => d.sup_sw_if_index === portIdx && d.sw_if_index !== portIdx);
  };

  it('drops every tagged frame from VM ports with and without port security and from taps; untagged frames pass', async () => {
    const sim = w.vpp.sim;
    assert.ok(sim);
    const vlan = vlanNet(300);
    const flat = flatNet();
    const ports = [
      vmPort(vlan),
      vmPort(vlan, { port_security_enabled: false, security_groups: [] }),
      vmPort(flat),
      dhcpPort(flat),
    ];
    for (const p of ports) {
      await w.bind(H, p);
      await w.connectGuest(p);
    }
    for (const p of ports) await w.waitReady(H, p.port_id);
    for (const p of ports) {
      const idx = await ifIndex(p.port_id);
      const untagged = sim.ingress(idx, []);
      assert.deepEqual(
        untagged,
        { swIfIndex: idx, l2: true },
        `untagged frames from ${p.port_id} reach its bridge`,
      );
      for (const tags of [[Q(123)], [Q(300)], [AD(123)], [Q(123), Q(7)], [AD(5), Q(9)], [Q(1), Q(2), Q(3)]]) {
        const r = sim.ingress(idx, tags);
        assert.equal(r.l2, false, `${JSON.stringify(tags)} from ${p.port_id} must not reach the bridge`);
        assert.equal(r.drop, 'subinterface down');
      }
      const [guard] = await guardOf(idx);
      assert.equal(guard?.tag, `netvpp:tagdrop:${p.port_id}`);
      assert.equal(guard.flags & 1, 0, 'the guard stays admin-down');
    }
    for (const p of ports) await w.unbind(H, p.port_id);
  });

  it('a guard set up behind the agent’s back is set down at once, a deleted one is back at resync; it goes with its port', async () => {
    const sim = w.vpp.sim;
    assert.ok(sim);
    const p = vmPort(vlanNet(301));
    await w.bind(H, p);
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    const idx = await ifIndex(p.port_id);
    const [first] = await guardOf(idx);
    await w.operator.request(sw_interface_set_flags, { sw_if_index: first.sw_if_index, flags: 1 });
    await waitFor('the guard set down again', async () => ((await guardOf(idx))[0]?.flags & 1) === 0);
    assert.equal(sim.ingress(idx, [Q(42)]).l2, false);

    // Deleted with the agent stopped (a running agent re-creates it on VPP's deleted event): the
    // restarted agent's resync finds it missing.
    await w.stopAgent(w.agents[0]);
    await w.operator.request(delete_subif, { sw_if_index: first.sw_if_index });
    assert.equal(sim.ingress(idx, [Q(42)]).l2, true, 'without the guard a tagged frame reaches the bridge');
    w.startAgent(H);
    await waitFor('the guard re-created', async () => (await guardOf(idx)).length === 1);
    assert.equal(sim.ingress(idx, [Q(42)]).drop, 'subinterface down');
    await w.waitReady(H, p.port_id);

    await w.unbind(H, p.port_id);
    await waitFor('the port gone', async () => (await w.portInterface(p.port_id)) === undefined);
    const left = (await w.operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff })).filter((d) =>
      d.tag.startsWith('netvpp:tagdrop:'),
    );
    assert.deepEqual(left, [], 'no guard outlives its port');
  });
});
