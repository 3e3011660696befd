// `netvpp plan` and `netvpp audit` (src/agent/inspect.ts, src/cli/plan.ts, src/cli/audit.ts): the
// engine's own diff of etcd against VPP, read-only. A host whose agent is not running gets a plan
// creating its objects and an audit that fails; a converged host an empty plan and an audit that
// passes; drift made behind the agent's back shows in both; deletions held without meta/synced are
// shown as held; nothing is ever written to VPP; etcd or VPP out of reach is exit status 2.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent } from '../../src/agent/agent.ts';
import { inspectHost, type HostInspection } from '../../src/agent/inspect.ts';
import { audit, renderAudit } from '../../src/cli/audit.ts';
import { planJson, renderPlan, type PlanJson } from '../../src/cli/plan.ts';
import type { PortBinding } from '../../src/model/keyspace.ts';
import { sw_interface_set_l2_bridge, sw_interface_set_mtu } from '../../src/vpp/binapi/index.ts';
import { dhcpPort, rule, secGroup, VHOST_DIR, vlanNet, vmPort } from './helpers/fixtures.ts';
import { startWorld, UPLINK, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `netvpp <args>` in a child process, without the caller's NETVPP_* environment. */
function netvpp(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NETVPP_')) env[k] = v;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('netvpp plan and audit', () => {
  let w: World;
  let agent: Agent | undefined;
  let dir: string;
  let ini: string;
  const web = secGroup([rule({ port_range_min: 443, port_range_max: 443 })]);
  const net = vlanNet(310);
  const vm = vmPort(net, { security_groups: [web.id] });
  const dhcp = dhcpPort(net);
  const gone = dhcpPort(net);
  const ports: PortBinding[] = [vm, dhcp, gone];

  /** Inspects compute1 in-process, checking that VPP saw no write. */
  async function inspect(): Promise<HostInspection> {
    w.vpp.sim?.resetCounters();
    const insp = await inspectHost({ store: w.store, vpp: w.operator, config: w.config(H) });
    assert.equal(insp.vppCalls.writes, 0);
    assert.ok(insp.vppCalls.calls > 0);
    if (w.vpp.sim)
      assert.equal(w.vpp.sim.writes(), 0, `VPP saw writes: ${JSON.stringify(w.vpp.sim.counters())}`);
    return insp;
  }

  const opKeys = (insp: HostInspection, type: string): string[] =>
    insp.plan.ops.filter((o) => o.type === type).map((o) => o.key);

  async function converged(): Promise<void> {
    for (const p of ports) await w.waitReady(H, p.port_id);
    await waitFor('an empty plan', async () => (await inspect()).plan.ops.length === 0);
  }

  before(async () => {
    w = await startWorld();
    dir = mkdtempSync(join(tmpdir(), 'netvpp-inspect-'));
    ini = join(dir, 'netvpp.ini');
    writeFileSync(
      ini,
      [
        '[DEFAULT]',
        `host = ${H}`,
        '[etcd]',
        `hosts = ${w.etcd.endpoints.join(',')}`,
        '[agent]',
        `physnets = physnet1:${UPLINK}`,
        `vhost_user_dir = ${VHOST_DIR}`,
        'tap_backend = tap',
        '[vpp]',
        `socket = ${w.vpp.socket}`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ports in etcd with no agent running: the plan creates their objects, the audit fails (exit 1)', async () => {
    await w.putGroup(web);
    for (const p of ports) await w.bind(H, p);

    const insp = await inspect();
    const creates = opKeys(insp, 'create');
    for (const p of ports) {
      for (const k of [`port:${p.port_id}`, `l2:port:${p.port_id}`, `up:port:${p.port_id}`])
        assert.ok(creates.includes(k), `the plan creates ${k}`);
    }
    assert.ok(creates.includes(`bd:${net.id}`) && creates.includes('vlan:physnet1:310'));
    assert.ok(creates.includes(`sg:${web.id}:ingress`));
    assert.deepEqual(opKeys(insp, 'delete'), []);
    // The order is apply's: a port's interface before its bridge membership.
    const order = insp.order.map((o) => o.key);
    assert.ok(order.indexOf(`port:${vm.port_id}`) < order.indexOf(`l2:port:${vm.port_id}`));
    assert.ok(order.indexOf(`bd:${net.id}`) < order.indexOf(`l2:port:${vm.port_id}`));

    const a = audit(insp);
    assert.equal(a.agree, false);
    assert.equal(a.ports.length, 3);
    for (const p of a.ports) {
      assert.equal(p.desiredRevision, 1);
      assert.equal(p.reported, null);
      assert.equal(p.vpp.ready, false);
      assert.ok(p.problems.some((x) => /no state reported/.test(x)));
      assert.ok(p.vpp.differences.some((d) => d.key === `port:${p.portId}` && d.change === 'create'));
    }
    assert.equal(renderAudit(insp, false).exitCode, 1);
    assert.equal(renderPlan(insp, false).exitCode, 0);

    const planRun = await netvpp(['plan', '--config-file', ini, '--json']);
    assert.equal(planRun.code, 0, planRun.stderr);
    const p = JSON.parse(planRun.stdout) as PlanJson;
    assert.equal(p.host, H);
    assert.ok(p.ops.some((o) => o.type === 'create' && o.key === `port:${vm.port_id}`));
    assert.equal(p.summary.ops, insp.plan.ops.length);
    assert.equal(p.vppCalls.writes, 0);

    const auditRun = await netvpp(['audit', '--config-file', ini]);
    assert.equal(auditRun.code, 1, auditRun.stderr);
    assert.match(auditRun.stdout, new RegExp(`DIFFER port ${vm.port_id}`));
    assert.match(auditRun.stdout, /missing +port:/);
    assert.match(auditRun.stdout, /they disagree \(exit 1\)/);
    if (w.vpp.sim) assert.equal(w.vpp.sim.writes(), 0, 'the CLI wrote nothing to VPP');
  });

  it('a converged host: an empty plan and an audit where all agree (exit 0)', async () => {
    agent = w.startAgent(H);
    await w.connectGuest(vm);
    await converged();

    const insp = await inspect();
    assert.deepEqual(insp.plan.ops, []);
    assert.equal(insp.deletions.allowed, true);
    const a = audit(insp);
    assert.equal(a.agree, true, renderAudit(insp, false).lines.join('\n'));
    for (const p of a.ports) {
      assert.deepEqual(p.problems, []);
      assert.equal(p.reported?.revision, 1);
    }
    const withGuest = a.ports.find((p) => p.portId === vm.port_id);
    if (w.vpp.sim) assert.equal(withGuest?.vpp.linkUp, true);
    assert.deepEqual(planJson(insp).summary, { ops: 0, create: 0, update: 0, delete: 0, blocked: 0 });

    const planRun = await netvpp(['plan', '--config-file', ini]);
    assert.equal(planRun.code, 0, planRun.stderr);
    assert.match(planRun.stdout, /summary: nothing to do/);
    const auditRun = await netvpp(['audit', '--config-file', ini, '--json']);
    assert.equal(auditRun.code, 0, auditRun.stderr + auditRun.stdout);
    assert.equal((JSON.parse(auditRun.stdout) as { agree: boolean }).agree, true);
  });

  it('drift behind the agent’s back shows in both: a bridge membership gone, an MTU changed', async () => {
    const vmIf = await w.portInterface(vm.port_id);
    const dhcpIf = await w.portInterface(dhcp.port_id);
    assert.ok(vmIf && dhcpIf);
    // With the agent running: no event tells it, so it still reports the port ready.
    await w.operator.request(sw_interface_set_l2_bridge, { rx_sw_if_index: vmIf.sw_if_index, enable: false });
    let insp = await inspect();
    assert.deepEqual(opKeys(insp, 'create'), [`l2:port:${vm.port_id}`]);
    let a = audit(insp);
    assert.equal(a.agree, false);
    const pa = a.ports.find((p) => p.portId === vm.port_id);
    assert.equal(pa?.reported?.ready, true);
    assert.equal(pa?.vpp.ready, false);
    assert.ok(pa?.problems.some((x) => /reported ready, but VPP/.test(x)));
    assert.deepEqual(
      pa?.vpp.differences.map((d) => [d.change, d.key]),
      [['create', `l2:port:${vm.port_id}`]],
    );
    assert.deepEqual(
      a.ports.filter((p) => p.problems.length > 0).map((p) => p.portId),
      [vm.port_id],
      'the other ports agree',
    );

    if (agent) await w.stopAgent(agent);
    agent = undefined;
    await w.operator.request(sw_interface_set_mtu, { sw_if_index: dhcpIf.sw_if_index, mtu: [9000, 0, 0, 0] });
    insp = await inspect();
    const upd = insp.plan.ops.filter((o) => o.type === 'update');
    assert.deepEqual(
      upd.map((o) => o.key),
      [`port:${dhcp.port_id}`],
    );
    const text = renderPlan(insp, false).lines.join('\n');
    assert.match(text, new RegExp(`update port:${dhcp.port_id}\\n +mtu: 9000 → 1500`));
    a = audit(insp);
    const da = a.ports.find((p) => p.portId === dhcp.port_id);
    assert.deepEqual(da?.vpp.differences[0].fields, [{ path: 'mtu', actual: 9000, desired: 1500 }]);

    const auditRun = await netvpp(['audit', '--config-file', ini]);
    assert.equal(auditRun.code, 1, auditRun.stderr);
    assert.match(auditRun.stdout, /mtu: 9000 → 1500/);

    // The agent's resync repairs both.
    agent = w.startAgent(H);
    await converged();
    assert.equal(audit(await inspect()).agree, true);
  });

  it('deletions held without meta/synced are shown as held; with the marker, the plan deletes', async () => {
    if (agent) await w.stopAgent(agent);
    agent = undefined;
    await w.unmarkSynced();
    await w.unbind(H, gone.port_id);

    let insp = await inspect();
    assert.deepEqual(insp.plan.ops, [], 'nothing is deleted while deletions are held');
    assert.equal(insp.deletions.allowed, false);
    assert.equal(insp.deletions.syncMarker.state, 'absent');
    assert.ok(insp.deletions.held.includes(`port:${gone.port_id}`));
    let a = audit(insp);
    assert.equal(a.agree, false);
    assert.ok(a.held.includes(`port:${gone.port_id}`));
    assert.deepEqual(
      a.staleReports.map((s) => s.portId),
      [gone.port_id],
      'its state key is still there',
    );
    assert.match(renderPlan(insp, false).lines.join('\n'), /deletions are held \(meta\/synced is absent\)/);

    await w.markSynced();
    insp = await inspect();
    assert.deepEqual(insp.deletions.held, []);
    const deletes = opKeys(insp, 'delete');
    assert.ok(deletes.includes(`port:${gone.port_id}`));
    // Settings that need a call go before their interface; its bridge membership goes with it.
    const order = insp.order.map((o) => o.key);
    assert.ok(order.indexOf(`aclbind:${gone.port_id}`) < order.indexOf(`port:${gone.port_id}`));
    assert.ok(order.indexOf(`port:${gone.port_id}`) < order.indexOf(`l2:port:${gone.port_id}`));
    assert.equal(
      insp.order.find((o) => o.key === `l2:port:${gone.port_id}`)?.withParent,
      `port:${gone.port_id}`,
    );
    a = audit(insp);
    assert.ok(a.objects.unwanted.some((o) => o.key === `port:${gone.port_id}`));

    ports.splice(ports.indexOf(gone), 1);
    agent = w.startAgent(H);
    await converged();
    await waitFor(
      'the stale state key deleted',
      async () => (await w.portState(H, gone.port_id)) === undefined,
    );
    assert.equal(audit(await inspect()).agree, true);
  });

  it('etcd or VPP out of reach: exit 2, naming the address', async () => {
    const noVpp = await netvpp(['audit', '--config-file', ini, '--vpp-socket', join(dir, 'nothing.sock')]);
    assert.equal(noVpp.code, 2);
    assert.match(noVpp.stderr, new RegExp(`VPP at ${join(dir, 'nothing.sock')}`));
    const noEtcd = await netvpp(['plan', '--config-file', ini, '--etcd-hosts', '127.0.0.1:1']);
    assert.equal(noEtcd.code, 2);
    assert.match(noEtcd.stderr, /cannot reach etcd at http:\/\/127\.0\.0\.1:1/);
    const badFlag = await netvpp(['plan', '--config-file', ini, '--nonsense', 'x']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /unknown option '--nonsense'/);
  });
});
