// The controller as a real process (src/controller/main.ts with an ini file): kill -9 in the middle
// of a batch loses nothing once the driver re-sends, and a standby takes over from a killed leader.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { keys, PREFIX, type PortBinding } from '../../src/model/keyspace.ts';
import { call, sleep, waitFor } from './helpers.ts';
import { portRow, row, SG1, sgDict, sgRule, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let dir: string;
const procs = new Set<ChildProcess>();

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  dir = mkdtempSync(join(tmpdir(), 'netvpp-ctl-'));
});

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  store?.close();
  await etcd?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Proc {
  url: string;
  child: ChildProcess;
}

/** Starts `netvpp controller` configured by an ini file, as an operator would. */
async function startProcess(name: string, port: number): Promise<Proc> {
  const ini = join(dir, `${name}.ini`);
  writeFileSync(
    ini,
    [
      '# written by process.test.ts',
      '[controller]',
      'bind_host = 127.0.0.1',
      `bind_port = ${port}`,
      `controller_id = ${name}`,
      // Long enough that keepalives arrive on a loaded CI machine (a lost lease mid-test is a flap,
      // not what is tested); kill -9 then costs this many seconds before a standby leads.
      'election_ttl = 5',
      'auth_strategy = noauth',
      '',
      '[etcd]',
      `hosts = ${etcd.endpoints.map((u) => u.replace('http://', '')).join(',')}`,
      'request_timeout = 2',
    ].join('\n'),
  );
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/controller/main.ts', '--config-file', ini], {
    stdio: ['ignore', log, log],
    env: { ...process.env, NETVPP_LOG_LEVEL: 'info' },
  });
  closeSync(log);
  procs.add(child);
  child.once('exit', () => procs.delete(child));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} to answer`, async () => {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode}; see ${dir}/${name}.log`);
    return (await call(url, 'GET', '/v1/health').catch(() => ({ status: 0 }))).status === 200;
  });
  return { url, child };
}

async function leads(p: Proc): Promise<boolean> {
  const h = await call(p.url, 'GET', '/v1/health').catch(() => undefined);
  return h?.body.leader === true;
}

function kill9(p: Proc): Promise<void> {
  return new Promise((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill('SIGKILL');
  });
}

async function bindingsOn(host: string): Promise<Map<string, PortBinding>> {
  const { kvs } = await store.getPrefix(keys.hostPortBindings(host));
  return new Map(kvs.map((kv) => [kv.key, JSON.parse(kv.value) as PortBinding]));
}

test('kill -9 during a batch loses nothing: the re-sent batch completes it, a second re-send is a no-op', async () => {
  const port = await freePort();
  const first = await startProcess('crashy', port);
  await waitFor('crashy to lead', () => leads(first));

  const a = Array.from({ length: 20 }, (_, i) =>
    portRow({ id: uid(200 + i), revision_number: 1, 'binding:host_id': 'hvA' }),
  );
  assert.equal((await call(first.url, 'POST', '/v1/journal', { rows: a })).status, 200);

  // Batch B: a group, a few hundred ports (several etcd transactions), and moves of batch-A ports.
  const b = [
    row('security_group', 'create', sgDict(SG1, 1, [sgRule(1)])),
    ...Array.from({ length: 300 }, (_, i) =>
      portRow({ id: uid(300 + i), revision_number: 1, 'binding:host_id': 'hvB' }),
    ),
    ...Array.from({ length: 20 }, (_, i) =>
      portRow({ id: uid(200 + i), revision_number: 2, 'binding:host_id': 'hvB' }),
    ),
  ];
  let answered = false;
  const sent = call(first.url, 'POST', '/v1/journal', { rows: b }).then(
    (r) => ((answered = true), `answered ${r.status}`),
    (e: unknown) => ((answered = true), `failed: ${String(e)}`),
  );
  // Kill as soon as the controller has started writing batch B.
  await waitFor('batch B to start landing', async () => answered || (await bindingsOn('hvB')).size > 0);
  await kill9(first);
  const outcome = await sent;
  // The driver deletes its rows only after a 200; whatever happened, it sends batch B again.

  const second = await startProcess('crashy', port);
  await waitFor('the restarted controller to lead', () => leads(second), 30000);
  // As the driver does, a 503 (leadership not settled yet) is retried.
  let resend = await call(second.url, 'POST', '/v1/journal', { rows: b });
  for (let i = 0; resend.status === 503 && i < 60; i++) {
    await sleep(500);
    resend = await call(second.url, 'POST', '/v1/journal', { rows: b });
  }
  assert.equal(resend.status, 200, `first attempt: ${outcome}; re-send: ${JSON.stringify(resend.body)}`);
  assert.deepEqual(resend.body.rejected, []);

  assert.equal((await bindingsOn('hvA')).size, 0, 'every batch-A port moved away from hvA');
  const onB = await bindingsOn('hvB');
  assert.equal(onB.size, 320);
  for (const [key, v] of onB) assert.equal(key, keys.portBinding('hvB', v.port_id));
  assert.ok((await store.get(keys.secGroup(SG1))).kv);

  const rev = await store.revision();
  assert.equal((await call(second.url, 'POST', '/v1/journal', { rows: b })).status, 200);
  assert.equal(await store.revision(), rev, 'a second re-send writes nothing');
  await kill9(second);
});

test('a standby answers writes with 503 and the leader, then takes over when the leader is killed', async () => {
  const one = await startProcess('one', await freePort());
  await waitFor('one to lead', () => leads(one));
  const two = await startProcess('two', await freePort());

  const rows = [portRow({ id: uid(600), revision_number: 1, 'binding:host_id': 'hvC' })];
  const refused = await call(two.url, 'POST', '/v1/journal', { rows });
  assert.equal(refused.status, 503);
  assert.match(refused.body.error ?? '', /not the leader/);
  assert.equal(refused.body.leader, one.url);
  const health = await call(two.url, 'GET', '/v1/health');
  // No full sync ever reached this etcd: the standby's own watch of the marker says so too.
  assert.deepEqual(health.body, {
    status: 'ok',
    leader: false,
    etcd: 'connected',
    sync_needed: true,
    driver_journal: null,
    full_sync: null,
  });
  // Reads work on a standby.
  assert.equal((await call(two.url, 'GET', '/v1/hosts')).status, 200);

  await kill9(one);
  await waitFor('two to take over', () => leads(two), 30000);
  const ok = await call(two.url, 'POST', '/v1/journal', { rows });
  assert.equal(ok.status, 200);
  assert.ok((await store.get(keys.portBinding('hvC', uid(600)))).kv);

  // A graceful stop hands over at once (the leader resigns) — here to nobody, so the key is gone.
  two.child.kill('SIGTERM');
  await new Promise((r) => two.child.once('exit', r));
  assert.equal((await store.get(keys.controllerLeader)).kv, undefined);
});
