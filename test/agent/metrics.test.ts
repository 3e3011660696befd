// The agent's /metrics, /health/live and /health/ready as Prometheus and a supervisor see them: the
// series have the values of what happened (a port bound, a VPP call failing), readiness waits for the
// desired state and the first resync.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.ts';
import { startHealthServer, type HealthServer } from '../../src/agent/health.ts';
import { agentMetrics } from '../../src/agent/metrics.ts';
import { vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';
import { parseMetrics } from '../helpers/metrics.ts';

const H = 'compute1';

describe('agent metrics and health endpoints', { skip: SIM_ONLY }, () => {
  let w: World;
  let agent: Agent;
  let srv: HealthServer;
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${srv.port}${path}`);
    return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
  };
  const metrics = async () => parseMetrics((await get('/metrics')).text);

  before(async () => {
    w = await startWorld();
    await w.markSynced();
    agent = w.startAgent(H);
    srv = await startHealthServer('127.0.0.1', 0, () => agent.health(), agentMetrics(agent));
  });
  after(async () => {
    await srv?.close();
    await w?.stop();
  });

  it('liveness answers at once; readiness once the desired state is loaded and the first resync done', async () => {
    assert.equal((await get('/health/live')).status, 200);
    const ready = await waitFor('ready', async () => {
      const r = await get('/health/ready');
      return r.status === 200 && r;
    });
    assert.deepEqual(JSON.parse(ready.text), {
      ready: true,
      desiredLoaded: true,
      firstResyncDone: true,
      vppConnected: true,
    });
    const h = JSON.parse((await get('/health')).text) as { ready: boolean };
    assert.equal(h.ready, true);
    assert.equal((await get('/nothing')).status, 404);
  });

  it('a bound port shows in the port, connection, VPP-call and duration series', async () => {
    const net = vlanNet(600);
    const p = vmPort(net);
    await w.bind(H, p);
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    const r = await get('/metrics');
    assert.match(r.type ?? '', /^text\/plain/);
    assert.match(r.text, /netvpp_agent_ports\{[^}]*host="compute1"/);
    const m = await waitFor('the ready port counted', async () => {
      const x = await metrics();
      return x.get('netvpp_agent_ports{state="ready"}') === 1 && x;
    });
    assert.equal(m.get('netvpp_agent_ports{state="error"}'), 0);
    assert.equal(m.get('netvpp_agent_ports{state="pending"}'), 0);
    assert.equal(m.get('netvpp_agent_etcd_connected'), 1);
    assert.equal(m.get('netvpp_agent_vpp_connected'), 1);
    assert.equal(m.get('netvpp_agent_ready'), 1);
    assert.equal(m.get('netvpp_agent_deletions_allowed'), 1);
    assert.equal(m.get('netvpp_agent_held_deletions'), 0);
    assert.equal(m.get('netvpp_agent_failing_objects'), 0);
    assert.equal(m.get('netvpp_agent_vpp_calls_total{message="create_vhost_user_if_v2"}'), 1);
    assert.ok((m.get('netvpp_agent_vpp_calls_total{message="sw_interface_dump"}') ?? 0) >= 1);
    assert.equal(m.get('netvpp_agent_resync_duration_seconds_count{reason="start"}'), 1);
    assert.ok((m.get('netvpp_agent_pass_duration_seconds_count{kind="full"}') ?? 0) >= 1);
    assert.ok((m.get('netvpp_agent_pass_duration_seconds_count{kind="incremental"}') ?? 0) >= 1);
    assert.ok(m.has('nodejs_eventloop_lag_seconds'), 'event-loop lag');
  });

  it('a failing VPP call shows as a failing object and a failure by message, until the retry succeeds', async () => {
    const sim = w.vpp.sim;
    if (!sim) return;
    // VPP refuses the interface until the fault is cleared (a single failure may be retried and
    // succeed before a scrape sees the failing object).
    sim.failEvery('create_vhost_user_if_v2', -1);
    const p = vmPort(vlanNet(601));
    await w.bind(H, p);
    await waitFor('the failure counted', async () => {
      const x = await metrics();
      return (
        (x.get('netvpp_agent_vpp_call_failures_total{message="create_vhost_user_if_v2"}') ?? 0) >= 1 &&
        (x.get('netvpp_agent_failing_objects') ?? 0) >= 1
      );
    });
    sim.clearFaults();
    // It recovers by itself (the retry succeeds).
    await w.connectGuest(p);
    await w.waitReady(H, p.port_id);
    await waitFor(
      'no failing object',
      async () => (await metrics()).get('netvpp_agent_failing_objects') === 0,
    );
  });
});
