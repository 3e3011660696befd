// Fault scenario (issue 8, "Crash- and timeout-safety"): VPP crashes in the middle of a pass — at the
// n-th write of a cold pass, for several n, and in the middle of an incremental pass — not while the
// agent is idle. The agent must notice, reconnect, re-read the restarted (empty) VPP and rebuild it:
// every port ready, VPP exactly as desired (nothing duplicated, leaked or left untagged), and a
// restarted agent then writes nothing.
//
// The simulator's onWrite hook crashes VPP right after it carried out the n-th write (its reply, and
// every call still queued, are lost with the crash); the operator's startup config brings the uplink
// back, as a real VPP's would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import type { Sim } from '../../src/sim/index.ts';
import { defaultGroup, dhcpPort, flatNet, rule, secGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { auditVpp, keepGuestsConnected, waitAllReady, waitExact, within, synced } from './helpers/faults.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';

describe('faults: VPP crashes in the middle of a pass', { skip: SIM_ONLY }, () => {
  let w: World;
  let sim: Sim;
  let agent: Agent | undefined;
  let guests: { stop(): void };
  /** Writes of a whole cold pass (measured by the first test). */
  let passWrites = 0;

  const def = defaultGroup();
  const web = secGroup([rule({ port_range_min: 443, port_range_max: 443 })]);
  const net = vlanNet(900);
  const flat = flatNet();
  const ports: PortBinding[] = [
    vmPort(net, { security_groups: [def.id, web.id] }),
    dhcpPort(flat, { device_owner: 'compute:nova', security_groups: [def.id] }),
    dhcpPort(net),
  ];
  const bound = new Set<PortBinding>();

  /** Every bound port ready, VPP exactly as desired, and a restarted agent writes nothing. */
  async function convergedAndQuiet(what: string): Promise<void> {
    const want = { ports: [...bound] };
    const notReady = await waitAllReady(w, H, want.ports, 8000).then(
      () => null,
      (e: Error) => e.message,
    );
    const wrong = await waitExact(w.operator, want, notReady ? 500 : 5000).then(
      () => null,
      (e: Error) => e.message,
    );
    if (notReady || wrong) assert.fail(`${what}:\n${[notReady, wrong].filter(Boolean).join('\n')}`);
    const before = await auditVpp(w.operator, want);
    const a = agent as Agent;
    await a.whenIdle();
    await w.stopAgent(a);
    sim.resetCounters();
    agent = w.startAgent(H);
    const stats = await synced(agent);
    assert.equal(
      stats.writes,
      0,
      `${what}: a restarted agent wrote ${stats.writes} times: ${JSON.stringify(sim.counters())}`,
    );
    assert.equal(sim.writes(), 0);
    assert.deepEqual(await auditVpp(w.operator, want), before);
  }

  /** Crashes VPP right after the n-th write from now; resolves when VPP and its uplink are back. */
  function crashAtWrite(n: number): { crashed: Promise<string> } {
    sim.resetCounters();
    let done: (what: string) => void = () => {};
    const crashed = new Promise<string>((r) => (done = r));
    sim.onWrite((wr) => {
      if (wr.n !== n) return;
      sim.onWrite(null);
      const what = `VPP crashed right after write ${wr.n} (${wr.message})`;
      void sim
        .crash({ downMs: 50 })
        .then(() => w.makeUplink())
        .then(() => done(what));
    });
    return { crashed };
  }

  /** An empty VPP with its uplink, no agent, and no port state in etcd (so "ready" is news). */
  async function coldStart(): Promise<void> {
    if (agent) await w.stopAgent(agent);
    agent = undefined;
    await sim.crash();
    await w.makeUplink();
    for (const p of bound) await w.store.delete(keys.portState(H, p.port_id));
  }

  before(async () => {
    w = await startWorld();
    sim = w.vpp.sim as Sim;
    await w.putGroup(def);
    await w.putGroup(web);
    for (const p of ports) {
      await w.bind(H, p);
      bound.add(p);
    }
    guests = keepGuestsConnected(sim, bound);
  });
  after(async () => {
    guests?.stop();
    await w?.stop();
  });

  it('a cold pass without a crash (the writes of a pass counted)', async () => {
    await coldStart();
    sim.resetCounters();
    agent = w.startAgent(H);
    await waitAllReady(w, H, ports);
    await agent.whenIdle();
    passWrites = sim.writes();
    assert.ok(passWrites > 20, `a cold pass of ${ports.length} ports made only ${passWrites} writes`);
    await convergedAndQuiet('a cold pass');
  });

  for (const at of [1, 2, 5, 13, 'middle', 'last'] as const) {
    it(`VPP crashes at write ${at} of a cold pass: the agent rebuilds it`, async () => {
      assert.ok(passWrites > 0);
      const n = at === 'middle' ? Math.floor(passWrites / 2) : at === 'last' ? passWrites : at;
      await coldStart();
      const { crashed } = crashAtWrite(n);
      agent = w.startAgent(H);
      const what = await within(crashed, 10000, () => `VPP never crashed: ${sim.writes()} writes`);
      await waitFor('the agent reconnected', () => agent?.health().vpp.connected);
      await convergedAndQuiet(what);
    });
  }

  it('VPP crashes in the middle of an incremental pass (two ports bound to a running agent)', async () => {
    await coldStart();
    agent = w.startAgent(H);
    await synced(agent);
    await waitAllReady(w, H, [...bound]);
    await agent.whenIdle();
    const more = [
      vmPort(net, { security_groups: [def.id] }),
      vmPort(vlanNet(901), { security_groups: [web.id] }),
    ];
    const { crashed } = crashAtWrite(4);
    for (const p of more) {
      await w.bind(H, p);
      bound.add(p);
    }
    const what = await within(crashed, 10000, () => `VPP never crashed: ${sim.writes()} writes`);
    try {
      await convergedAndQuiet(`${what}, during the pass for two new ports`);
    } finally {
      for (const p of more) {
        await w.unbind(H, p.port_id);
        bound.delete(p);
      }
    }
  });
});
