// Bonded uplinks ([agent] bonds) on the simulator: the agent makes the bond from the operator's
// NICs, a VLAN and a flat network sit on it, the members' LACP partner state reaches the host's
// status in etcd, a pulled cable shows as a member down while the bond stays up, a restarted agent
// writes nothing, and a member taken out of the configuration is detached (never deleted).
// On a real VPP with real LACP frames: test/dataplane/bonds.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBonds } from '../../src/agent/bond-config.ts';
import type { Agent, ResyncStats } from '../../src/agent/agent.ts';
import { decodeValue, keys, type BondState } from '../../src/model/keyspace.ts';
import {
  bridge_domain_dump,
  sw_bond_interface_dump,
  sw_interface_dump,
  sw_member_interface_dump,
} from '../../src/vpp/binapi/index.ts';
import type { Node } from './helpers/harness.ts';
import { flatNet, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute2';
const NICS = ['GigabitEthernet0/8/0', 'GigabitEthernet0/9/0', 'GigabitEthernet0/a/0'];
const BOND = 'BondEthernet7';
const config = (members: string) => {
  const problems: string[] = [];
  const bonds = parseBonds(`${BOND}:${members}:lacp:l34`, problems);
  assert.deepEqual(problems, []);
  return { bonds, physnets: new Map([['physnet1', BOND]]) };
};
const SWITCH = '02:00:00:5e:00:01';

function synced(a: Agent): Promise<ResyncStats> {
  return new Promise((resolve) => a.once('synced', resolve));
}

describe('bonded uplinks', { skip: SIM_ONLY }, () => {
  let w: World;
  let node: Node;
  let agent: Agent;
  const vlan = vlanNet(120);
  const flat = flatNet();
  const ports = [vmPort(vlan), vmPort(flat)];

  before(async () => {
    w = await startWorld();
    node = await w.node(H, { nics: NICS });
    agent = w.startAgent(H, config(`${NICS[0]}+${NICS[1]}`), { bondPollMs: 100 });
    for (const p of ports) {
      await w.bind(H, p);
      await w.connectGuest(p, H);
    }
    for (const p of ports) await w.waitReady(H, p.port_id);
  });
  after(() => w?.stop());

  const sim = () => node.vpp.sim as NonNullable<Node['vpp']['sim']>;
  const statusBonds = async (): Promise<BondState[] | undefined> => {
    const kv = (await w.store.get(keys.hostAlive(H))).kv;
    const v = kv && decodeValue('hostAlive', kv.value);
    return v && v.ok ? v.value.status?.bonds : undefined;
  };

  it('makes the bond from the named NICs, tagged, with the VLAN sub-interface and the flat bridge on it', async () => {
    const [b] = await node.operator.dump(sw_bond_interface_dump, { sw_if_index: 0xffffffff });
    assert.equal(b.interface_name, BOND);
    assert.equal(b.id, 7);
    assert.equal(b.mode, 5, 'lacp');
    assert.equal(b.lb, 1, 'l34');
    const members = await node.operator.dump(sw_member_interface_dump, { sw_if_index: b.sw_if_index });
    assert.deepEqual(
      members.map((m) => m.interface_name),
      [NICS[0], NICS[1]],
    );
    const ifs = await node.operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
    const bondIf = ifs.find((d) => d.sw_if_index === b.sw_if_index);
    assert.equal(bondIf?.tag, `netvpp:bond:${BOND}`);
    assert.equal((bondIf?.flags ?? 0) & 1, 1, 'admin up');
    for (const n of NICS.slice(0, 2))
      assert.equal((ifs.find((d) => d.interface_name === n)?.flags ?? 0) & 1, 1);
    const sub = ifs.find((d) => d.sup_sw_if_index === b.sw_if_index && d.sw_if_index !== b.sw_if_index);
    assert.equal(sub?.interface_name, `${BOND}.120`);
    assert.equal(sub?.tag, `netvpp:vlan:physnet1:120`);
    const bds = await node.operator.dump(bridge_domain_dump, { bd_id: 0xffffffff, sw_if_index: 0xffffffff });
    const members2 = bds.flatMap((bd) => bd.sw_if_details.map((m) => m.sw_if_index));
    assert.ok(members2.includes(b.sw_if_index), 'the bond is in the flat network’s bridge');
    assert.ok(members2.includes(sub.sw_if_index), 'its VLAN sub-interface is in the VLAN network’s bridge');
  });

  it('reports each member’s LACP partner in the host status: none, then in sync, then a pulled cable', async () => {
    let bonds = await waitFor('bonds in the status', statusBonds);
    assert.deepEqual(
      bonds.map((b) => [b.name, b.mode, b.up, b.members.map((m) => [m.name, m.state, m.partner])]),
      [
        [
          BOND,
          'lacp',
          false,
          [
            [NICS[0], 'standby', null],
            [NICS[1], 'standby', null],
          ],
        ],
      ],
      'no partner answers: nothing collects, the bond is down',
    );
    NICS.slice(0, 2).forEach((n, i) =>
      sim().setLacpPartner(n, { system: SWITCH, key: 33, portNumber: i + 1 }),
    );
    bonds = await waitFor('both members active', async () => {
      const s = await statusBonds();
      return s?.[0]?.members.every((m) => m.state === 'active') ? s : undefined;
    });
    assert.equal(bonds[0].up, true);
    assert.deepEqual(
      bonds[0].members.map((m) => [m.partner?.system, m.partner?.key, m.partner?.port]),
      [
        [SWITCH, 33, 1],
        [SWITCH, 33, 2],
      ],
    );
    assert.ok(sim().setNicLink(NICS[1], false));
    bonds = await waitFor('the second member down', async () => {
      const s = await statusBonds();
      return s?.[0]?.members[1]?.state === 'down' ? s : undefined;
    });
    assert.equal(bonds[0].up, true, 'the bond stays up on its other member');
    assert.equal(bonds[0].members[0].state, 'active');
    sim().setNicLink(NICS[1], true);
    await waitFor(
      'the second member back',
      async () => (await statusBonds())?.[0]?.members[1]?.state === 'active',
    );
  });

  it('a restarted agent adopts the bond and its members: no write to VPP', async () => {
    await w.stopAgent(agent);
    sim().resetCounters();
    agent = w.startAgent(H, config(`${NICS[0]}+${NICS[1]}`), { bondPollMs: 100 });
    const stats = await synced(agent);
    assert.equal(stats.writes, 0);
    assert.equal(sim().writes(), 0, `VPP saw writes: ${JSON.stringify(sim().counters())}`);
    for (const p of ports) await w.waitReady(H, p.port_id);
  });

  it('a member taken out of the configuration is detached, not deleted; a new one joins', async () => {
    await w.stopAgent(agent);
    agent = w.startAgent(H, config(`${NICS[0]}+${NICS[2]}`), { bondPollMs: 100 });
    await synced(agent);
    const [b] = await node.operator.dump(sw_bond_interface_dump, { sw_if_index: 0xffffffff });
    await waitFor('members changed', async () => {
      const ms = await node.operator.dump(sw_member_interface_dump, { sw_if_index: b.sw_if_index });
      return ms.map((m) => m.interface_name).join() === `${NICS[0]},${NICS[2]}`;
    });
    const ifs = await node.operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
    assert.ok(
      ifs.some((d) => d.interface_name === NICS[1]),
      'the detached NIC is still there',
    );
    for (const p of ports) await w.waitReady(H, p.port_id);
  });

  it('a member that does not exist is an error on it; the rest of the bond works', async () => {
    await w.stopAgent(agent);
    agent = w.startAgent(H, config(`${NICS[0]}+GigabitEthernet0/f/0`), { bondPollMs: 100 });
    await synced(agent);
    await waitFor('the missing member failing', () =>
      [...agent.reconciler.failures.keys()].includes('bondmember:GigabitEthernet0/f/0'),
    );
    const want = JSON.stringify([
      [NICS[0], 'active'],
      ['GigabitEthernet0/f/0', 'missing'],
    ]);
    await waitFor('the missing member reported', async () => {
      const s = await statusBonds();
      return JSON.stringify(s?.[0]?.members.map((m) => [m.name, m.state])) === want;
    });
    for (const p of ports) await w.waitReady(H, p.port_id);
  });
});
