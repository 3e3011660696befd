// [vpp] connections: the agent spreads its requests over several API connections to VPP (VPP reads
// each once per main-loop turn); ports come up as with one, a restart writes nothing, and after VPP
// restarts the agent connects all of them again and puts VPP back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent, ResyncStats } from '../../src/agent/agent.ts';
import { dhcpPort, vlanNet } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const CONNECTIONS = 3;

function synced(agent: Agent): Promise<ResyncStats> {
  return new Promise((resolve) => agent.once('synced', resolve));
}

describe('[vpp] connections', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
    await w.markSynced();
  });
  after(() => w?.stop());

  it('spreads the agent over several connections; ports ready, restart writes nothing, VPP restart recovered', async () => {
    const sim = w.vpp.sim;
    assert.ok(sim);
    const alone = sim.clients();
    const nets = [vlanNet(300), vlanNet(301), vlanNet(302)];
    const ports = Array.from({ length: 12 }, (_, i) => dhcpPort(nets[i % 3]));
    for (const p of ports) await w.bind(H, p);

    let agent = w.startAgent(H, { vppConnections: CONNECTIONS });
    for (const p of ports) await w.waitReady(H, p.port_id);
    assert.equal(sim.clients(), alone + CONNECTIONS, 'the agent holds its connections to VPP');

    await w.stopAgent(agent);
    await waitFor('the agent gone from VPP', () => sim.clients() === alone);
    sim.resetCounters();
    agent = w.startAgent(H, { vppConnections: CONNECTIONS });
    const stats = await synced(agent);
    assert.equal(stats.writes, 0);
    assert.equal(sim.writes(), 0, `VPP saw writes: ${JSON.stringify(sim.counters())}`);

    // VPP restarts: its state is gone; the agent reconnects every connection and re-creates the ports.
    await sim.crash();
    await w.makeUplink(H);
    await waitFor('the ports back in VPP', async () => {
      for (const p of ports) if (!(await w.portInterface(p.port_id))) return false;
      return true;
    });
    for (const p of ports) await w.waitReady(H, p.port_id);
    await waitFor('every connection back', () => sim.clients() === alone + CONNECTIONS);
    await w.stopAgent(agent);
  });
});
