// `netvpp status`, `netvpp port show` and `netvpp resync` against a real etcd, controller and agent
// (on the simulator), as an operator runs them: one port up, one failing for want of its uplink.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { startHealthServer, type HealthServer } from '../../src/agent/health.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { decodeValue, keys, type PortBinding } from '../../src/model/keyspace.ts';
import type { ClusterStatus } from '../../src/cli/status.ts';
import type { PortReport } from '../../src/cli/port-show.ts';
import { VHOST_DIR } from '../agent/helpers/fixtures.ts';
import { SIM_ONLY, startWorld, UPLINK, waitFor, type World } from '../agent/helpers/harness.ts';
import { NET, neutronPort, row, uid } from '../controller/fixtures.ts';
import { call, ready, startController } from '../controller/helpers.ts';
import { netvpp } from './helpers.ts';

const H = 'compute1';

describe('netvpp status, port show and resync', { skip: SIM_ONLY }, () => {
  let w: World;
  let ctl: Controller;
  let agent: Agent;
  let health: HealthServer;
  let dir: string;
  let ini: string;
  const good = uid(901);
  const bad = uid(902);
  // Each port on its own network (a network is on one physnet).
  const port = (id: string, physnet: string) =>
    neutronPort({
      id,
      network_id: physnet === 'physnet1' ? NET : uid(990),
      security_groups: [],
      port_security_enabled: false,
      'binding:vif_details': { vhostuser_socket: `${VHOST_DIR}/${id}`, vhostuser_mode: 'server' },
      'netvpp:network': {
        id: physnet === 'physnet1' ? NET : uid(990),
        network_type: 'vlan',
        physical_network: physnet,
        segmentation_id: 100,
        mtu: 1500,
      },
    });
  const run = (args: string[]) => netvpp([...args, '--config-file', ini]);

  before(async () => {
    w = await startWorld();
    ctl = await startController(w.etcd.endpoints, { id: 'ctl-status' });
    await ready(ctl);
    const physnets = new Map([
      ['physnet1', UPLINK],
      ['physnet2', 'loop9'],
    ]);
    agent = w.startAgent(H, { physnets });
    health = await startHealthServer('127.0.0.1', 0, () => agent.health());
    dir = mkdtempSync(join(tmpdir(), 'netvpp-status-'));
    ini = join(dir, 'netvpp.ini');
    writeFileSync(
      ini,
      [
        '[DEFAULT]',
        `host = ${H}`,
        '[etcd]',
        `hosts = ${w.etcd.endpoints.join(',')}`,
        '[agent]',
        `physnets = physnet1:${UPLINK}, physnet2:loop9`,
        `vhost_user_dir = ${VHOST_DIR}`,
        'tap_backend = tap',
        `health_port = ${health.port}`,
        '[vpp]',
        `socket = ${w.vpp.socket}`,
        '',
      ].join('\n'),
    );
    const r = await call(ctl.url, 'POST', '/v1/journal', {
      rows: [row('port', 'create', port(good, 'physnet1')), row('port', 'create', port(bad, 'physnet2'))],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.rejected, []);
    const kv = await waitFor('the binding', async () => (await w.store.get(keys.portBinding(H, good))).kv);
    const b = decodeValue('portBinding', kv.value);
    assert.ok(b.ok);
    await w.connectGuest(b.value as PortBinding);
    await w.waitReady(H, good);
    await w.waitState(H, bad, 'the uplink error', (s) => !!s?.error);
  });
  after(async () => {
    await health?.close();
    await ctl?.stop();
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('status: the host with its ports, failing objects and held deletions; the leader; the failing port', async () => {
    // The agent's summary reaches its liveness key within a few seconds.
    const s = await waitFor('the summary', async () => {
      const r = await run(['status', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as ClusterStatus;
      return (j.hosts[0]?.status?.failing ?? 0) > 0 && j;
    });
    assert.equal(s.leader?.id, 'ctl-status');
    // The harness's etcd was synced (meta/synced written as a controller does).
    assert.ok(s.sync.marker);
    assert.equal(s.hosts.length, 1);
    const h = s.hosts[0];
    assert.equal(h.host, H);
    assert.equal(h.alive, true);
    assert.equal(h.vpp?.connected, true);
    assert.equal(h.bound, 2);
    assert.deepEqual(h.reported, { ready: 1, errored: 1, pending: 0 });
    assert.equal(h.status?.ready, true);
    assert.equal(h.status?.last_resync?.reason, 'start');
    assert.deepEqual(
      s.portErrors.map((e) => e.portId),
      [bad],
    );

    const text = await run(['status']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^controller: ctl-status leads/m);
    assert.match(text.stdout, /^full sync: +done .*; deletions go ahead$/m);
    assert.match(text.stdout, /^HOST +AGENT +VERSION +VPP +BOUND +READY +ERROR +PENDING +FAILING +HELD/m);
    assert.match(text.stdout, /^compute1 +up +0\.1\.0 +\S+ connected +2 +1 +1 +0 +[1-9]\d* +0 +start /m);
    assert.match(
      text.stdout,
      new RegExp(`^  ${bad} on compute1: .*uplink interface loop9 of physnet physnet2`, 'm'),
    );
  });

  it('port show on the failing port names the failing object and its error (exit 1)', async () => {
    const r = await run(['port', 'show', bad]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^port ${bad}: DOWN — .*uplink interface loop9 of physnet physnet2 does not exist in VPP`),
    );
    assert.match(r.stdout, /^ {2}neutron +revision 1 applied by the controller, bound to compute1$/m);
    assert.match(r.stdout, new RegExp(`^  binding +nodes/compute1/ports/${bad}: revision 1, vhostuser`, 'm'));
    assert.match(r.stdout, /^ {2}agent +compute1: alive/m);
    assert.match(r.stdout, /^ {4}missing +uplink:physnet2$/m);
    assert.match(r.stdout, /^ {2}failing +uplink:physnet2: .*loop9/m);
    const j = JSON.parse((await run(['port', 'show', bad, '--json'])).stdout) as PortReport;
    assert.equal(j.verdict.up, false);
    assert.ok(j.failing.some((f) => f.key === 'uplink:physnet2'));
    assert.ok(j.vpp.objects.some((o) => o.key === 'uplink:physnet2' && o.status === 'missing'));
  });

  it('port show on a port that is up, and on one netvpp never heard of', async () => {
    const up = await run(['port', 'show', good]);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stdout, new RegExp(`^port ${good}: UP — ready`));
    assert.match(up.stdout, new RegExp(`^ {4}ok +port:${good}$`, 'm'));
    assert.doesNotMatch(up.stdout, /missing|different|failing/);
    const none = await run(['port', 'show', uid(999)]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /DOWN — unknown to netvpp: the controller never received this port/);
  });

  it('resync --host: the agent re-reads VPP and says when it is done', async () => {
    const r = await run(['resync', '--host', H, '--timeout', '60']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^resync of compute1 done at /);
    assert.equal(agent.lastResync?.reason, 'requested');
    assert.equal(agent.lastResync?.writes, 0, 'VPP was in sync: nothing written');
    const gone = await run(['resync', '--host', 'compute9', '--no-wait']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no agent is running on compute9/);
  });

  it('resync without a host: the marker goes, the controller asks for a full sync; done when it is written', async () => {
    const first = await call(ctl.url, 'POST', '/v1/sync', {
      networks: [],
      ports: [port(good, 'physnet1'), port(bad, 'physnet2')],
      security_groups: [],
    });
    assert.equal(first.status, 200);
    assert.ok((await w.store.get(keys.syncMarker)).kv);
    const cli = run(['resync', '--timeout', '60']);
    await waitFor('the marker deleted', async () => !(await w.store.get(keys.syncMarker)).kv);
    await waitFor(
      'the controller asking for a sync',
      async () => (await call(ctl.url, 'GET', '/v1/sync')).body.sync_needed === true,
    );
    // What the driver does when asked.
    const again = await call(ctl.url, 'POST', '/v1/sync', {
      networks: [],
      ports: [port(good, 'physnet1'), port(bad, 'physnet2')],
      security_groups: [],
    });
    assert.equal(again.status, 200);
    const r = await cli;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /full sync from Neutron requested \(meta\/synced deleted/);
    assert.match(r.stdout, /^full sync done at .* by ctl-status/m);
  });
});
