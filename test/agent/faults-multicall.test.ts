// Fault scenario (issue 8, "Crash- and timeout-safety"): the agent dies between the two calls of a
// multi-call create. VPP creates a VLAN sub-interface (create_vlan_subif) and an af_packet interface
// (af_packet_create_v3) untagged; the agent tags them in a second call (sw_interface_tag_add_del).
// Killed in between, it leaves an untagged interface that only netvpp would have made (a VLAN of a
// configured uplink; the af_packet interface on the `vpp<id>` end of a port's veth pair). The
// restarted agent must adopt it — tag it and use it — not fail forever with "already exists".
//
// The agent "dies" exactly there: the simulator's onWrite hook sees the create carried out, stops the
// agent (so it neither reconnects nor sends anything more) and cuts its connection before the reply
// (test/agent/faults-agent-kill.test.ts does the same to a real agent process with SIGKILL).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import type { AgentConfig } from '../../src/agent/config.ts';
import type { PortBinding } from '../../src/model/keyspace.ts';
import { defaultGroup, dhcpPort, vlanNet, vmPort } from './helpers/fixtures.ts';
import { auditVpp, keepGuestsConnected, waitAllReady, waitExact, synced } from './helpers/faults.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const VETH: Partial<AgentConfig> = { tapBackend: 'veth', tapBackendSetting: 'veth' };

interface Case {
  /** The create VPP carries out just before the agent dies. */
  create: string;
  over?: Partial<AgentConfig>;
  /**
   * 'restart': the agent dies and a new one starts; 'reconnect': only its VPP connection is lost
   * (it reconnects and re-reads VPP by itself).
   */
  how: 'restart' | 'reconnect';
}

async function dieBetweenCalls(c: Case, portsIn: (groupId: string) => PortBinding[]): Promise<void> {
  let w: World | undefined;
  let guests: { stop(): void } | undefined;
  try {
    w = await startWorld();
    const world = w;
    const sim = w.vpp.sim;
    assert.ok(sim);
    const def = defaultGroup();
    await w.putGroup(def);
    const ports = portsIn(def.id);
    for (const p of ports) await w.bind(H, p);
    guests = keepGuestsConnected(sim, ports);

    let agent: Agent = w.startAgent(H, c.over);
    let stopping: Promise<void> | undefined;
    let cutAt: number | undefined;
    sim.onWrite((wr) => {
      if (cutAt !== undefined || wr.message !== c.create || wr.retval !== 0) return;
      cutAt = wr.n;
      // Synchronously: the agent must not send its next call (the tag) nor reconnect.
      if (c.how === 'restart') stopping = world.stopAgent(agent);
      return 'cut';
    });
    await waitFor(`the agent's ${c.create} (the fault)`, () => cutAt !== undefined, 8000);
    sim.onWrite(null);
    if (c.how === 'restart') {
      await stopping;
      agent = w.startAgent(H, c.over);
    }

    const notReady = await waitAllReady(w, H, ports, 6000).then(
      () => null,
      (e: Error) => e.message,
    );
    const wrong = await waitExact(w.operator, { ports }, notReady ? 500 : 5000).then(
      () => null,
      (e: Error) => e.message,
    );
    if (notReady || wrong) assert.fail([notReady, wrong].filter(Boolean).join('\n'));

    const before = await auditVpp(w.operator, { ports });
    await agent.whenIdle();
    await w.stopAgent(agent);
    sim.resetCounters();
    agent = w.startAgent(H, c.over);
    const stats = await synced(agent);
    assert.equal(
      stats.writes,
      0,
      `a restarted agent wrote ${stats.writes} times: ${JSON.stringify(sim.counters())}`,
    );
    assert.equal(sim.writes(), 0);
    assert.deepEqual(await auditVpp(w.operator, { ports }), before);
  } finally {
    guests?.stop();
    await w?.stop();
  }
}

describe('faults: the agent dies between the two calls of a multi-call create', { skip: SIM_ONLY }, () => {
  it('VLAN sub-interface created, agent killed before tagging it: the restarted agent adopts it', async () => {
    const net = vlanNet(701);
    await dieBetweenCalls({ create: 'create_vlan_subif', how: 'restart' }, (sg) => [
      vmPort(net, { security_groups: [sg] }),
      dhcpPort(net),
    ]);
  });

  it('VLAN sub-interface created, VPP connection lost before tagging it: the reconnected agent adopts it', async () => {
    const net = vlanNet(702);
    await dieBetweenCalls({ create: 'create_vlan_subif', how: 'reconnect' }, (sg) => [
      vmPort(net, { security_groups: [sg] }),
      dhcpPort(net),
    ]);
  });

  it('veth-backed tap port: af_packet interface created, agent killed before tagging it: adopted on restart', async () => {
    const net = vlanNet(703);
    await dieBetweenCalls({ create: 'af_packet_create_v3', how: 'restart', over: VETH }, (sg) => [
      dhcpPort(net),
      dhcpPort(net, { device_owner: 'compute:nova', security_groups: [sg] }),
    ]);
  });
});
