// A resync's progress: GET /health and the summary on the liveness key (`netvpp status`) show its
// phase and done/total while it runs, and nothing once it is over.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent, AgentHealth } from '../../src/agent/agent.ts';
import { decodeValue, keys, type WorkProgress } from '../../src/model/keyspace.ts';
import type { PassSummary } from '../../src/agent/engine/reconciler.ts';
import { defaultGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';

describe('resync progress', { skip: SIM_ONLY }, () => {
  let w: World;
  let agent: Agent;
  const def = defaultGroup();
  const net = vlanNet(310);
  const ports = Array.from({ length: 12 }, () => vmPort(net, { security_groups: [def.id] }));

  before(async () => {
    w = await startWorld();
    await w.putGroup(def);
    await w.bindAsMembers(H, def.id, ports);
  });
  after(() => w?.stop());

  it('the first resync: reading VPP (no total yet), then applying its plan op by op', async () => {
    const seen: { event: WorkProgress; health: AgentHealth['progress'] }[] = [];
    const passes: PassSummary[] = [];
    agent = w.startAgent(H);
    agent.on('progress', (p: WorkProgress) => seen.push({ event: p, health: agent.health().progress }));
    agent.on('pass', (s: PassSummary) => passes.push(s));
    await new Promise((r) => agent.once('synced', r));

    const phases = seen.map((s) => s.event.phase);
    assert.deepEqual(phases.slice(0, 2), ['reading VPP', 'applying']);
    const [reading, applying] = seen;
    assert.equal(reading.event.total, null);
    assert.equal(reading.health?.etaSeconds, null, 'no ETA without a total');
    // The first pass creates every port's objects: its op count is the total shown.
    assert.ok(passes[0].ops >= ports.length, `ops ${passes[0].ops}`);
    assert.equal(applying.event.total, passes[0].ops);
    assert.equal(applying.health?.what, 'resync');
    assert.equal(applying.health?.done, 0);
    assert.equal(agent.health().progress, null, 'over once synced');
  });

  it('the summary in etcd carries no progress once the resync is over', async () => {
    for (const p of ports) await w.connectGuest(p);
    const st = await waitFor('summary with every port ready', async () => {
      const { kv } = await w.store.get(keys.hostAlive(H));
      const v = kv && decodeValue('hostAlive', kv.value);
      return v && v.ok && v.value.status?.ports.ready === ports.length ? v.value.status : undefined;
    });
    assert.equal(st.progress, null);
    assert.ok(st.last_resync);
  });
});
