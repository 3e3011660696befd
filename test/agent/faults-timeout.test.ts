// Fault scenario (issue 8, "Crash- and timeout-safety"): a VPP write answered only after the agent's
// request timeout — VPP still carries it out. The agent must treat the timed-out write as "may have
// happened" and read back before retrying: after convergence VPP holds exactly one of each object
// (no second ACL or MAC-IP ACL with the same tag, no second bridge domain with the same bd_tag, no
// second interface with the same tag, no untagged sub-interface left behind), every port is ready,
// and a restarted agent finds nothing to write.
//
// The delay holds everything the agent sends after the delayed call too (VPP answers a client's
// messages in order), so the calls behind it time out as well and are carried out late: a VPP stuck
// on one slow call, as seen by a client with a short timeout.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentOptions } from '../../src/agent/agent.ts';
import type { PortBinding } from '../../src/model/keyspace.ts';
import { defaultGroup, dhcpPort, flatNet, rule, secGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { auditVpp, keepGuestsConnected, waitAllReady, waitExact, synced } from './helpers/faults.ts';
import { SIM_ONLY, startWorld, type World } from './helpers/harness.ts';

const H = 'compute1';
/** The agent's VPP request timeout in these tests (the agent's own default is the client's 10 s). */
const TIMEOUT_MS = 250;
/** How late the delayed call is carried out. */
const LATE_MS = 1000;
/** A correct agent converges within ~LATE_MS plus a few retries. */
const READY_LIMIT_MS = 6000;

/**
 * A fresh world (etcd, an empty simulated VPP with the uplink), the ports bound, the first call of
 * `message` delayed past the agent's timeout; then the agent starts (a cold pass) and must converge.
 */
async function lateWrite(message: string, ports: PortBinding[], opts: AgentOptions = {}): Promise<void> {
  let w: World | undefined;
  let guests: { stop(): void } | undefined;
  try {
    w = await startWorld();
    const sim = w.vpp.sim;
    assert.ok(sim);
    const groups = new Map(
      ports.flatMap((p) => p.security_groups).map((id) => [id, GROUPS.get(id) ?? defaultGroup()]),
    );
    for (const g of groups.values()) await w.putGroup(g);
    for (const p of ports) await w.bind(H, p);
    guests = keepGuestsConnected(sim, ports);
    sim.delayNext(message, LATE_MS);
    sim.resetCounters();
    let agent = w.startAgent(H, { vppRequestTimeoutMs: TIMEOUT_MS }, opts);

    // Every port ready and VPP exactly as desired; both are reported when either is not.
    const notReady = await waitAllReady(w, H, ports, READY_LIMIT_MS).then(
      () => null,
      (e: Error) => e.message,
    );
    const wrong = await waitExact(w.operator, { ports }, notReady ? 500 : 5000).then(
      () => null,
      (e: Error) => e.message,
    );
    assert.ok(sim.calls(message) >= 1, `the agent never sent ${message}: the fault was not injected`);
    assert.ok(
      (agent.vppClient?.stats.timeouts ?? 0) > 0,
      `no VPP request of the agent timed out (timeout ${TIMEOUT_MS} ms, ${message} ${LATE_MS} ms late): ` +
        'the fault was not injected',
    );
    if (notReady || wrong) assert.fail([notReady, wrong].filter(Boolean).join('\n'));
    await agent.whenIdle();

    // Exactly as desired: a restarted agent has nothing to write.
    const before = await auditVpp(w.operator, { ports });
    await w.stopAgent(agent);
    sim.resetCounters();
    agent = w.startAgent(H);
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

/** Groups by id, so that a port's groups are put with their rules. */
const GROUPS = new Map<string, ReturnType<typeof defaultGroup>>();
function group(g: ReturnType<typeof defaultGroup>): string {
  GROUPS.set(g.id, g);
  return g.id;
}

/** ~3 ports on two networks (VLAN + flat), with security groups: the objects of every kind. */
function hostPorts(vlan: number): PortBinding[] {
  const def = group(defaultGroup());
  const web = group(secGroup([rule({ port_range_min: 443, port_range_max: 443 })]));
  const net = vlanNet(vlan);
  const flat = flatNet();
  return [
    vmPort(net, { security_groups: [def, web] }),
    // A VM's tap port (filtered, unlike the DHCP port).
    dhcpPort(flat, { device_owner: 'compute:nova', security_groups: [def] }),
    dhcpPort(net),
  ];
}

describe(
  'faults: a VPP write carried out after the agent timed out waiting for it',
  { skip: SIM_ONLY },
  () => {
    it('acl_add_replace late: no second ACL with the same tag', async () => {
      await lateWrite('acl_add_replace', hostPorts(601));
    });

    it('macip_acl_add_replace late: no second MAC-IP ACL with the same tag', async () => {
      await lateWrite('macip_acl_add_replace', hostPorts(602));
    });

    it('bridge_domain_add_del_v2 late: no second bridge domain with the same bd_tag', async () => {
      await lateWrite('bridge_domain_add_del_v2', hostPorts(603));
    });

    it('create_vlan_subif late: the sub-interface is adopted, not "already exists" forever', async () => {
      await lateWrite('create_vlan_subif', hostPorts(604));
    });

    it('create_vhost_user_if_v2 late: one vhost-user interface, and the port gets ready', async () => {
      await lateWrite('create_vhost_user_if_v2', hostPorts(605));
    });

    it('tap_create_v3 late: no second tap interface with the same tag', async () => {
      await lateWrite('tap_create_v3', hostPorts(606));
    });

    it('sw_interface_set_flags late: no port keeps the timed-out call as its error once VPP is right', async () => {
      // Retries held back past the late call: VPP is put right by the late call itself (the agent
      // learns it from the interface event), not by a retry; the failure must not outlive it.
      await lateWrite('sw_interface_set_flags', hostPorts(607), { backoff: { minMs: 2000, maxMs: 2000 } });
    });
  },
);
