// The agent under exactly the etcd permissions `netvpp etcd-setup` gives a host, on a real etcd with
// authentication on: it binds ports, survives an etcd restart and a compaction while cut off, and its
// credentials cannot write another host's keys or any global key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdSetup } from '../../src/cli/etcd-setup.ts';
import { decodeValue, encodeValue, keys, PREFIX, type PortBinding } from '../../src/model/keyspace.ts';
import { CONTROLLER_USER, hostUser } from '../../src/model/permissions.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { startProxy } from '../store/helpers/tcp-proxy.ts';
import { rule, secGroup, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';

describe('the agent with least-privilege etcd credentials', { skip: SIM_ONLY }, () => {
  let w: World;
  let dir: string;
  let ctl: Store; // the controller's credentials: writes desired state as the controller would
  let root: Store;
  let host: Store; // compute1's credentials, as its agent uses them
  const stores: Store[] = [];
  const net = vlanNet(600);
  const sg = secGroup([rule()]);
  const as = (user: string, endpoints = w.etcd.endpoints): Store => {
    const s = openStore({
      endpoints,
      namespace: PREFIX,
      requestTimeoutMs: 2000,
      auth: { username: user, password: readFileSync(join(dir, user), 'utf8').trim() },
    });
    stores.push(s);
    return s;
  };
  const bind = (b: PortBinding) =>
    ctl.put(keys.portBinding(H, b.port_id), encodeValue(keys.portBinding(H, b.port_id), b));
  const waitReady = (portId: string) =>
    waitFor(
      `port ${portId} ready`,
      async () => {
        const { kv } = await ctl.get(keys.portState(H, portId));
        const r = kv && decodeValue('portState', kv.value);
        return r && r.ok && r.value.ready ? true : undefined;
      },
      30_000,
    );
  const agentConfig = (endpoints: string[]) => ({
    etcd: {
      endpoints,
      requestTimeoutMs: 2000,
      auth: { username: hostUser(H), password: readFileSync(join(dir, hostUser(H)), 'utf8').trim() },
    },
  });

  before(async () => {
    w = await startWorld();
    dir = mkdtempSync(join(tmpdir(), 'netvpp-etcd-users-'));
    writeFileSync(join(dir, 'root'), 'root-password-for-tests\n');
    const admin = openStore({ endpoints: w.etcd.endpoints });
    try {
      const changes = await etcdSetup(admin.etcd, {
        hosts: [H, 'compute2'],
        passwordDir: dir,
        enableAuth: true,
        rootPassword: 'root-password-for-tests',
      });
      for (const re of [
        /^created role netvpp-controller$/,
        /^created user netvpp-host-compute1$/,
        /^granted netvpp-host-compute1 readwrite \/netvpp\/v1\/state\/compute1\/\*/,
        /^granted netvpp-host-compute1 read \/netvpp\/v1\/meta\/synced\* /,
      ])
        assert.ok(
          changes.some((c) => re.test(c)),
          `${re} in ${changes.join(' | ')}`,
        );
    } finally {
      admin.close();
    }
    ctl = as(CONTROLLER_USER);
    root = as('root');
    host = as(hostUser(H));
    await ctl.put(keys.secGroup(sg.id), encodeValue(keys.secGroup(sg.id), sg));
    await ctl.put(
      keys.syncMarker,
      encodeValue(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 't' }),
    );
  });

  after(async () => {
    for (const s of stores) s.close();
    await w?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('etcd-setup run again changes nothing and says so', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          'bin/netvpp.mjs',
          'etcd-setup',
          '--host',
          `${H},compute2`,
          '--password-dir',
          dir,
          '--root-password-file',
          join(dir, 'root'),
          '--etcd-hosts',
          w.etcd.endpoints.join(','),
        ],
        (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    assert.equal(out.trim(), 'nothing to change');
  });

  it("a host's credentials cannot write another host's keys or any global key, nor read the controller's", async () => {
    const p = vmPort(net);
    const refused: [string, () => Promise<unknown>][] = [
      ["another host's state", () => host.put(keys.hostAlive('compute2'), '{}')],
      ["another host's desired state", () => host.put(keys.portBinding('compute2', p.port_id), '{}')],
      ['its own desired state', () => host.put(keys.portBinding(H, p.port_id), '{}')],
      ['a security group', () => host.put(keys.secGroup(sg.id), '{}')],
      ['a remote-group member', () => host.put(keys.remoteGroupMember(sg.id, p.port_id), '{}')],
      ['an overlay port', () => host.put(keys.overlayPort(net.id, p.port_id), '{}')],
      ['the sync marker', () => host.delete(keys.syncMarker)],
      ['the election key', () => host.put(keys.controllerLeader, '{}')],
      ['a prefix delete over every host', () => host.deletePrefix(keys.state)],
      ["the controller's records", () => host.getPrefix(keys.neutron)],
      ['the election key (read)', () => host.get(keys.controllerLeader)],
    ];
    for (const [what, attempt] of refused) await assert.rejects(attempt(), /permission denied/i, what);
    assert.ok((await root.get(keys.secGroup(sg.id))).kv, 'the group is untouched');
    assert.ok((await root.get(keys.syncMarker)).kv, 'the marker is untouched');
    // What it may do.
    await host.put(keys.portState(H, p.port_id), '{}');
    await host.delete(keys.portState(H, p.port_id));
    assert.ok((await host.get(keys.syncMarker)).kv);
  });

  it('binds a port, and another after an etcd restart', async () => {
    w.startAgent(H, agentConfig(w.etcd.endpoints));
    const first = vmPort(net, { security_groups: [sg.id] });
    await bind(first);
    await w.connectGuest(first);
    await waitReady(first.port_id);
    await w.etcd.restart();
    const second = vmPort(net, { security_groups: [sg.id] });
    await waitFor(
      'etcd back',
      async () =>
        bind(second).then(
          () => true,
          () => undefined,
        ),
      30_000,
    );
    await w.connectGuest(second);
    await waitReady(second.port_id);
  });

  it('re-reads everything after a compaction while it was cut off', async () => {
    for (const a of [...w.agents]) await w.stopAgent(a);
    const proxy = await startProxy(w.etcd.endpoints[0]);
    try {
      w.startAgent(H, agentConfig([proxy.url]));
      const before = vmPort(net);
      await bind(before);
      await w.connectGuest(before);
      await waitReady(before.port_id);
      proxy.cut();
      const added = vmPort(net);
      await bind(added);
      for (let i = 2; i < 6; i++) await bind({ ...before, revision: i });
      await root.compact(await root.revision());
      proxy.heal();
      await w.connectGuest(added);
      await waitReady(added.port_id);
    } finally {
      for (const a of [...w.agents]) await w.stopAgent(a);
      await proxy.close();
    }
  });
});
