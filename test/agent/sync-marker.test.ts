// Scenario: etcd's desired state is only trusted for deletions when it is known complete. A wiped or
// rebuilt etcd fills up again from the driver's full sync, key by key; an agent that deleted every
// port it did not see yet would cut running VMs off until the sync reached them. So, while
// `meta/synced` is absent (or older than a data loss the agent saw), it plumbs what etcd asks for but
// removes nothing, and the marker releases what it held.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import { encodeValue, keys, type PortBinding } from '../../src/model/keyspace.ts';
import { defaultGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, sleep, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';

describe('deletions wait for a complete desired state (meta/synced)', { skip: SIM_ONLY }, () => {
  let w: World;
  let agent: Agent;
  const def = defaultGroup();
  const net = vlanNet(410);
  const a = vmPort(net, { security_groups: [def.id] });
  const b = vmPort(net, { security_groups: [def.id] });

  const bindAll = async (ports: PortBinding[]): Promise<void> => {
    await w.putGroup(def);
    await w.bindAsMembers(H, def.id, ports);
  };
  const hasInterface = async (p: PortBinding): Promise<boolean> =>
    (await w.portInterface(p.port_id)) !== undefined;

  before(async () => {
    w = await startWorld();
    await bindAll([a, b]);
    agent = w.startAgent(H);
    for (const p of [a, b]) await w.connectGuest(p);
    for (const p of [a, b]) await w.waitReady(H, p.port_id);
    assert.equal(agent.health().deletions.allowed, true);
  });
  after(async () => {
    await w?.stop();
  });

  it('without the marker an unbound port stays plumbed, a new one is still added; the marker releases the removal', async () => {
    await w.unmarkSynced();
    await waitFor('deletions held', () => !agent.health().deletions.allowed);
    assert.equal(agent.health().deletions.syncMarker.state, 'absent');

    await w.unbind(H, a.port_id);
    const c = vmPort(net, { security_groups: [def.id] });
    await bindAll([c]);
    await w.connectGuest(c);
    await w.waitReady(H, c.port_id);
    await agent.whenIdle();
    assert.ok(await hasInterface(a), 'the unbound port is still in VPP');
    assert.ok(agent.health().deletions.held > 0, 'health counts what is held');

    await w.markSynced();
    await waitFor('the unbound port removed', async () => !(await hasInterface(a)));
    const h = agent.health().deletions;
    assert.equal(h.allowed, true);
    assert.equal(h.held, 0);
    await w.waitReady(H, b.port_id);
    await w.waitReady(H, c.port_id);
    await w.unbind(H, c.port_id);
    await waitFor('a removal goes through at once again', async () => !(await hasInterface(c)));
  });

  it('after etcd loses its data nothing is removed until a marker newer than the loss; a restored old one is not enough', async () => {
    const before = new Date();
    await w.markSynced(before);
    await waitFor('deletions allowed', () => agent.health().deletions.allowed);
    const d = vmPort(net, { security_groups: [def.id] });
    await bindAll([d]);
    await w.connectGuest(d);
    await w.waitReady(H, d.port_id);

    // A rebuilt etcd: empty, then refilled part by part (b comes back, d not yet).
    await w.etcd.restart({ wipeData: true });
    await waitFor(
      'the agent saw etcd lose its data',
      () => agent.health().deletions.syncMarker.state === 'reset',
    );
    await waitFor('etcd back', async () => {
      await bindAll([b]);
      return true;
    });
    // A marker from before the loss (restored with a backup) proves nothing.
    await w.markSynced(before);
    await waitFor('the agent read it', () => agent.health().deletions.syncMarker.error !== undefined);
    await agent.whenIdle();
    await sleep(300);
    assert.ok(await hasInterface(d), 'd stays while the desired state may be partial');
    assert.ok(await hasInterface(b));
    assert.equal(agent.health().deletions.allowed, false);

    await w.markSynced(new Date(before.getTime() + 1000));
    await waitFor('d removed once the sync is marked done', async () => !(await hasInterface(d)));
    await w.waitReady(H, b.port_id);
    assert.ok(await hasInterface(b), 'b, in etcd again, stays');
  });

  it('a marker written in one transaction with the bindings it completes waits for them', async () => {
    await waitFor('deletions allowed', () => agent.health().deletions.allowed);
    await w.unmarkSynced();
    await waitFor('deletions held', () => !agent.health().deletions.allowed);
    // As after a wipe: b's binding is missing for a while (held), then comes back with the marker.
    await w.unbind(H, b.port_id);
    await agent.whenIdle();
    const deletes = (): number => w.vpp.sim?.counters().delete_vhost_user_if ?? 0;
    const before = deletes();
    await w.store.txnBatch([
      {
        op: 'put',
        key: keys.portBinding(H, b.port_id),
        value: encodeValue(keys.portBinding(H, b.port_id), b),
      },
      {
        op: 'put',
        key: keys.syncMarker,
        value: encodeValue(keys.syncMarker, {
          at: new Date(Date.now() + 60_000).toISOString(),
          neutron_rows: 1,
          controller_id: 'test',
        }),
      },
    ]);
    await waitFor('deletions allowed', () => agent.health().deletions.allowed);
    await agent.whenIdle();
    await w.waitReady(H, b.port_id);
    assert.equal(deletes(), before, "b's interface was never deleted");
  });
});
