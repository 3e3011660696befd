// Fault scenario (issue 8, "Crash- and timeout-safety"): the agent process is SIGKILLed at the k-th
// VPP write of a cold pass, for several k, then started again. The restarted agent must converge:
// every port ready, VPP exactly as desired — nothing leaked (an object no port needs), nothing
// duplicated (two ACLs or bridge domains with one tag), nothing left untagged (a VLAN sub-interface
// created but never tagged) — and a second restart must send VPP no write at all.
//
// The agent runs as `netvpp agent --config-file ...` in a child process; the simulator runs here.
// Its onWrite hook sees the k-th write carried out and SIGKILLs the child before the reply goes out
// (the child's connection is cut at once, so nothing it sent after that write is carried out): VPP
// has done exactly k writes of the pass when the agent dies. The restarts after a kill run in this
// process (the same agent, configured the same way, checked pass by pass with `verify`); the first
// test restarts the process itself, so the ini-configured daemon is shown to converge and restart
// without a write too.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, AgentHealth } from '../../src/agent/agent.ts';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import type { Sim } from '../../src/sim/index.ts';
import { defaultGroup, dhcpPort, flatNet, rule, secGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import {
  auditVpp,
  keepGuestsConnected,
  spawnAgent,
  verifyErrors,
  waitAllReady,
  waitExact,
  within,
  type ChildAgent,
  synced,
} from './helpers/faults.ts';
import { SIM_ONLY, sleep, startWorld, UPLINK, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';

describe('faults: the agent SIGKILLed at the k-th VPP write of a cold pass', { skip: SIM_ONLY }, () => {
  let w: World;
  let sim: Sim;
  let dir: string;
  let guests: { stop(): void };
  const children = new Set<ChildAgent>();
  let seq = 0;
  /** Writes of a whole cold pass (measured by the first test). */
  let passWrites = 0;

  const def = defaultGroup();
  const web = secGroup([rule({ port_range_min: 443, port_range_max: 443 })]);
  const net = vlanNet(800);
  const flat = flatNet();
  // ~3 ports on two networks (VLAN + flat) with security groups, vhost-user and tap.
  const ports: PortBinding[] = [
    vmPort(net, { security_groups: [def.id, web.id] }),
    dhcpPort(flat, { device_owner: 'compute:nova', security_groups: [def.id] }),
    dhcpPort(net),
  ];

  function start(): ChildAgent {
    const c = spawnAgent({
      dir,
      name: `agent-${++seq}`,
      host: H,
      etcdEndpoints: w.etcd.endpoints,
      vppSocket: sim.socket,
      physnets: `physnet1:${UPLINK}`,
      agentLines: ['tap_backend = tap'],
    });
    children.add(c);
    void c.exited.then(() => children.delete(c));
    return c;
  }

  /** Health says: in sync with etcd and VPP, every port ready, nothing failing. */
  async function converged(c: ChildAgent, limitMs = 10000): Promise<AgentHealth> {
    let last: AgentHealth | undefined;
    try {
      return await waitFor(
        `${c.logFile}: every port ready`,
        async () => {
          if (c.proc.exitCode !== null) throw new Error(`the agent exited with ${c.proc.exitCode}`);
          const h = (last = await c.health());
          return h?.lastResync && h.ports.ready === ports.length && h.failing.length === 0 ? h : undefined;
        },
        limitMs,
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; ports ${JSON.stringify(last?.ports)}, failing ${JSON.stringify(last?.failing)} ` +
          `(log: ${c.logFile})`,
      );
    }
  }

  /** An empty VPP (a fresh start of it) with the operator's uplink, and no port state in etcd. */
  async function coldVpp(): Promise<void> {
    await sim.crash();
    await w.makeUplink();
    for (const p of ports) await w.store.delete(keys.portState(H, p.port_id));
  }

  /**
   * The agent restarted as a process converges; VPP is exactly as desired; a further restart of the
   * process writes nothing.
   */
  async function processConvergesAfter(what: string): Promise<void> {
    const b = start();
    const problems: string[] = [];
    try {
      await converged(b);
      await waitAllReady(w, H, ports, 5000);
      await waitExact(w.operator, { ports }, 3000);
    } catch (e) {
      problems.push((e as Error).message);
      problems.push(...(await auditVpp(w.operator, { ports }).catch(() => [])).map((p) => `  VPP: ${p}`));
    }
    await b.stop();
    problems.push(...verifyErrors(b.log()));
    if (problems.length) assert.fail(`${what}, then restarted:\n${problems.join('\n')}`);

    sim.resetCounters();
    const c = start();
    try {
      const h = await converged(c);
      // What it found, and that it did not change anything afterwards either.
      await sleep(200);
      assert.equal(h.lastResync?.writes, 0, `${what}: a second restart wrote ${h.lastResync?.writes} times`);
      assert.equal(
        sim.writes(),
        0,
        `${what}: VPP saw writes on a second restart: ${JSON.stringify(sim.counters())}`,
      );
    } finally {
      await c.stop();
    }
    assert.deepEqual(verifyErrors(c.log()), []);
  }

  /**
   * The same with the restarts in this process (the same agent code and configuration, a second
   * faster, and every incremental pass verified against a full one): keeps each k cheap.
   */
  async function convergesAfter(what: string): Promise<void> {
    let b: Agent | undefined = w.startAgent(H);
    try {
      const notReady = await waitAllReady(w, H, ports, 6000).then(
        () => null,
        (e: Error) => e.message,
      );
      const wrong = await waitExact(w.operator, { ports }, notReady ? 500 : 3000).then(
        () => null,
        (e: Error) => e.message,
      );
      if (notReady || wrong)
        assert.fail(`${what}, then restarted:\n${[notReady, wrong].filter(Boolean).join('\n')}`);
      await b.whenIdle();
      const before = await auditVpp(w.operator, { ports });
      await w.stopAgent(b);
      sim.resetCounters();
      b = w.startAgent(H);
      const stats = await synced(b);
      assert.equal(
        stats.writes,
        0,
        `${what}: a second restart wrote ${stats.writes} times: ${JSON.stringify(sim.counters())}`,
      );
      assert.equal(sim.writes(), 0);
      assert.deepEqual(await auditVpp(w.operator, { ports }), before);
    } finally {
      if (b) await w.stopAgent(b);
    }
  }

  /** A cold pass killed right after VPP carried out the write `pick` chooses. */
  async function killAt(what: string, pick: (n: number, message: string, retval: number | null) => boolean) {
    await coldVpp();
    sim.resetCounters();
    let a: ChildAgent | undefined;
    let killed: string | undefined;
    sim.onWrite((wr) => {
      if (killed !== undefined || !pick(wr.n, wr.message, wr.retval)) return;
      killed = `write ${wr.n} (${wr.message}, retval ${wr.retval})`;
      a?.kill();
      return 'cut';
    });
    try {
      a = start();
      await within(a.exited, 15000, () => `${what}: the agent was never killed (${sim.writes()} writes)`);
    } finally {
      sim.onWrite(null);
    }
    assert.ok(killed, `${what}: the agent exited by itself (log: ${a.logFile})`);
    assert.equal(a.proc.signalCode, 'SIGKILL');
    await convergesAfter(`killed at ${killed}`);
  }

  before(async () => {
    w = await startWorld();
    sim = w.vpp.sim as Sim;
    dir = mkdtempSync(join(tmpdir(), 'netvpp-faults-kill-'));
    await w.putGroup(def);
    await w.putGroup(web);
    for (const p of ports) await w.bind(H, p);
    guests = keepGuestsConnected(sim, ports);
  });
  after(async () => {
    guests?.stop();
    for (const c of children) c.kill();
    await Promise.all([...children].map((c) => c.exited));
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a cold pass without a kill converges, and a restarted process writes nothing (writes of a pass counted)', async () => {
    await coldVpp();
    sim.resetCounters();
    const a = start();
    await converged(a);
    passWrites = sim.writes();
    await a.stop();
    assert.ok(passWrites > 20, `a cold pass of ${ports.length} ports made only ${passWrites} writes`);
    await processConvergesAfter('a cold pass');
  });

  // k: every write of the first few (the uplink, the first ACLs and bridge), then sparser; and the
  // last write of the pass. A k past the end of a pass is skipped.
  const ks = [1, 2, 3, 4, 5, 6, 8, 10, 13, 17, 21, 27, 34, 44, 55];
  for (const k of ks) {
    it(`killed at write ${k}`, async (t) => {
      if (passWrites > 0 && k > passWrites) return t.skip(`a cold pass makes only ${passWrites} writes`);
      await killAt(`write ${k}`, (n) => n === k);
    });
  }
  it('killed at the last write of the pass', async () => {
    assert.ok(passWrites > 0);
    await killAt(`write ${passWrites}`, (n) => n === passWrites);
  });

  it('killed right after create_vlan_subif (before the tag)', async () => {
    await killAt('create_vlan_subif', (_, m, rv) => m === 'create_vlan_subif' && rv === 0);
  });

  it('killed right after the first bridge domain was created', async () => {
    await killAt('bridge_domain_add_del_v2', (_, m, rv) => m === 'bridge_domain_add_del_v2' && rv === 0);
  });

  it('killed right after the first port interface was created', async () => {
    await killAt(
      'a port interface',
      (_, m, rv) => (m === 'create_vhost_user_if_v2' || m === 'tap_create_v3') && rv === 0,
    );
  });
});
