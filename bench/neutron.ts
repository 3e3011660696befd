/**
 * Neutron end-to-end latency: create + bind → ACTIVE for BENCH_PORTS ports (default 100), through
 * the whole stack, every part real: neutron-server (Debian's Zed) with MariaDB and the netvpp ML2
 * driver, the controller (its own process), etcd, and one compute node (its own process: the agent
 * on the VPP simulator, plus Nova/QEMU's guest on each vhost-user socket).
 *
 * Each port is created and then bound the way Nova does it, with two calls to Neutron's REST API
 * (POST /v2.0/ports, then PUT binding:host_id, device_owner compute:nova); the openstack CLI would
 * add about a second of Python start-up per call. The latency of a port, from the POST to Neutron
 * showing ACTIVE, is the neutron API's part (POST sent → PUT answered) and netvpp's share (the
 * binding committed in Neutron's DB → ACTIVE), split at what each stage produces
 * (bench/neutron-stats.ts):
 *   committed   the port is bound (vif_type vhostuser in ml2_port_bindings: ML2 commits the host first,
 *               then, in another transaction, what bind_port chose); the bench's SQL client polls
 *               every BENCH_POLL_MS, default 10 ms, as it does for ACTIVE: both are late by ~5 ms
 *   forwarding  → the binding's journal row reaches the controller (seen by a pass-through proxy
 *                 between the driver and the controller, bench/neutron-proxy.ts)
 *   controller  → the binding key appears in etcd (watched)
 *   agent       → the agent's port state key says ready (VPP plumbed, guest attached; watched)
 *   push        → the controller's event reply saying so leaves for the driver's follower (proxy)
 *   activation  → Neutron has the port ACTIVE (follower → provisioning block → ML2), read from
 *                 Neutron's database by one long-lived SQL client, so the polling costs
 *                 neutron-server nothing; each run ends by checking through the REST API that every
 *                 port is ACTIVE.
 * Every BENCH_MODES entry (default "polling,wakeup") restarts neutron-server with the driver so
 * configured: `polling` is the old path (no wake-up across neutron-server processes,
 * `journal_wakeup_socket =`: rows of the API process wait for the forwarder's poll; the follower
 * handles events one after the other, `events_concurrency = 1`), `wakeup` the defaults. Each mode runs once per BENCH_CONCURRENCY entry (default "10,1": 10 ports in flight, then
 * one at a time), deleting the ports in between; a table of all runs ends the output. Skips with the
 * reason when neutron-server is not installed. BENCH_KEEP=1 keeps the logs (controller,
 * neutron-server, etcd) in the work directory; BENCH_NEUTRON_DEBUG=1 runs neutron-server with debug
 * logging.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Teardown, waitHostAlive } from '../src/cli/stack.ts';
import { pollUntil as until, sleep } from '../src/util/wait.ts';
import { decodeValue, keys, parseKey, PREFIX } from '../src/model/keyspace.ts';
import { openStore, startEtcd, watchPrefixes, type KeyValue, type Store } from '../src/store/index.ts';
import { setLogLevel, type Level } from '../src/util/log.ts';
import { ControllerProcess } from '../test/e2e/netvpp-stack.ts';
import { NeutronEnv, neutronUnavailableReason } from '../test/e2e/neutron-harness.ts';
import { ControllerProxy } from './neutron-proxy.ts';
import { describeRun, figures, table, type RunFigures, type Sample } from './neutron-stats.ts';

const PORTS = Number(process.env.BENCH_PORTS ?? 100);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '10,1').split(',').map(Number);
/** The driver's configurations compared, `[ml2_netvpp]` options over the test defaults. */
const MODES: Record<string, Record<string, string>> = {
  polling: { journal_wakeup_socket: '', events_concurrency: '1' },
  wakeup: {},
};
const MODE_NAMES = (process.env.BENCH_MODES ?? 'polling,wakeup').split(',');
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 10);
const WARMUP = 3;
const HOST = 'compute1';
const say = (m: string): void => console.log(`bench:neutron: ${m}`);

/** The compute node process (bench/neutron-node.ts). */
async function startNode(
  etcdEndpoints: string[],
  dir: string,
): Promise<{ vhostDir: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('./neutron-node.ts', import.meta.url).pathname,
      HOST,
      etcdEndpoints.join(','),
      dir,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the compute node process exited (${code})`)));
  });
  lines.on('line', (l) => console.log(`[${HOST}] ${l}`));
  return { vhostDir: (JSON.parse(first) as { vhostDir: string }).vhostDir, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(10_000).then(() => 'late')])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * One long-lived `mariadb` client on Neutron's database: a status query costs about a millisecond
 * of MariaDB and nothing of neutron-server, whose single API process the benchmark measures (polling
 * its REST API every few ms would take a large share of it on a small machine).
 */
class SqlSession {
  private readonly child: ChildProcess;
  private buf = '';
  private waiter: ((lines: string[]) => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(socket: string) {
    this.child = spawn(
      '/usr/bin/mariadb',
      [`--socket=${socket}`, '--batch', '--skip-column-names', '--unbuffered', 'neutron'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    this.child.stdout?.on('data', (b: Buffer) => {
      this.buf += b.toString();
      const end = this.buf.indexOf(`${END}\n`);
      if (end < 0 || !this.waiter) return;
      const lines = this.buf.slice(0, end).split('\n').filter(Boolean);
      this.buf = this.buf.slice(end + END.length + 1);
      const w = this.waiter;
      this.waiter = null;
      w(lines);
    });
  }

  /** Runs one statement; its rows as tab-separated lines. */
  query(sql: string): Promise<string[]> {
    const run = this.queue.then(
      () =>
        new Promise<string[]>((resolve) => {
          this.waiter = resolve;
          this.child.stdin?.write(`${sql};\nSELECT '${END}';\n`);
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin?.end();
    await exited;
  }
}
const END = '#netvpp-bench-end';

/**
 * Watches the node's bindings and port states in etcd, and Neutron's port status in its database:
 * fills in the milestones of every port it is told about (`track`) and resolves its promise at ACTIVE.
 */
class Tracker {
  readonly samples = new Map<string, Sample>();
  private readonly waiting = new Map<string, () => void>();
  /** Milestones seen in etcd before the port was tracked (its id comes back with the POST reply). */
  private readonly early = new Map<string, { binding?: number; ready?: number }>();
  private polling = true;
  private poller: Promise<void> = Promise.resolve();

  constructor(private readonly sql: SqlSession) {}

  onEtcd(key: string, value: string): void {
    const now = performance.now();
    const k = parseKey(key);
    if (!k || (k.kind !== 'portBinding' && k.kind !== 'portState')) return;
    const s = this.samples.get(k.portId);
    const e = s ?? this.early.get(k.portId) ?? {};
    if (k.kind === 'portBinding') e.binding ??= now;
    else {
      const st = decodeValue('portState', value);
      if (st.ok && st.value.ready) e.ready ??= now;
    }
    if (!s) this.early.set(k.portId, e);
  }

  /** `proxy`: the journal and delivery milestones, filled in once a run is over. */
  complete(id: string, proxy: ControllerProxy): Sample {
    const s = this.samples.get(id) as Sample;
    return { ...s, journal: proxy.journal.get(id), delivered: proxy.delivered.get(id) };
  }

  track(id: string, s: Sample): Promise<void> {
    const e = this.early.get(id);
    this.early.delete(id);
    this.samples.set(id, { ...s, ...e });
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  bound(id: string): void {
    const s = this.samples.get(id);
    if (s) s.bound = performance.now();
  }

  start(): void {
    this.poller = this.pollActive();
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.poller;
  }

  /** Polls Neutron's DB for the ports' binding commit (ml2_port_bindings) and their ACTIVE status. */
  private async pollActive(): Promise<void> {
    // ids are Neutron's UUIDs: safe to quote as they are
    const list = (ids: string[]): string => ids.map((id) => `'${id}'`).join(',');
    while (this.polling) {
      const waiting = [...this.waiting.keys()];
      const uncommitted = waiting.filter((id) => this.samples.get(id)?.committed === undefined);
      const committed = waiting.filter((id) => this.samples.get(id)?.committed !== undefined);
      if (uncommitted.length > 0) {
        const rows = await this.sql.query(
          `SELECT port_id FROM ml2_port_bindings WHERE host = '${HOST}' AND vif_type = 'vhostuser' ` +
            `AND port_id IN (${list(uncommitted)})`,
        );
        const now = performance.now();
        for (const id of rows) {
          const s = this.samples.get(id);
          if (s) s.committed ??= now;
        }
      }
      if (committed.length > 0) {
        const rows = await this.sql.query(
          `SELECT id FROM ports WHERE status = 'ACTIVE' AND id IN (${list(committed)})`,
        );
        const now = performance.now();
        for (const id of rows) {
          const s = this.samples.get(id);
          if (s) s.active = now;
          this.waiting.get(id)?.();
          this.waiting.delete(id);
        }
      }
      await sleep(POLL_MS);
    }
  }
}

interface Fixture {
  neutron: NeutronEnv;
  proxy: ControllerProxy;
  /** the mode neutron-server runs with */
  mode: string;
  store: Store;
  tracker: Tracker;
  netId: string;
  sgId: string;
}

/** Creates and binds one port (its id goes into `ids` as soon as it exists) and waits for ACTIVE. */
async function createAndBind(f: Fixture, name: string, ids: string[]): Promise<void> {
  const s: Sample = { t0: performance.now() };
  const { port } = await f.neutron.api<{ port: { id: string } }>('POST', '/ports', {
    port: {
      network_id: f.netId,
      name,
      security_groups: [f.sgId],
      device_owner: 'compute:nova',
      device_id: randomUUID(),
    },
  });
  s.created = performance.now();
  ids.push(port.id);
  const active = f.tracker.track(port.id, s);
  await f.neutron.api('PUT', `/ports/${port.id}`, { port: { 'binding:host_id': HOST } });
  f.tracker.bound(port.id);
  try {
    await withLimit(active, 60_000, `port ${port.id} to be ACTIVE`);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${await diagnose(f, port.id)}`);
  }
}

/** Where a port that did not turn ACTIVE got stuck: etcd, the driver's wait row, Neutron. */
async function diagnose(f: Fixture, portId: string): Promise<string> {
  const describe = (kv: KeyValue | undefined): string => {
    if (!kv) return 'absent';
    const v = JSON.parse(kv.value) as { revision?: number; ready?: boolean; error?: string | null };
    const ready = v.ready === undefined ? '' : `, ready ${String(v.ready)}`;
    return `revision ${String(v.revision)}${ready}${v.error ? `, ${v.error}` : ''} (etcd revision ${kv.modRevision})`;
  };
  const binding = (await f.store.get(keys.portBinding(HOST, portId))).kv;
  const state = (await f.store.get(keys.portState(HOST, portId))).kv;
  // ports whose state the agent wrote in the same etcd transaction as this one
  const { kvs } = await f.store.getPrefix(keys.hostPortStates(HOST));
  const sameTxn = state
    ? kvs.filter((kv) => kv.modRevision === state.modRevision && kv.key !== state.key)
    : [];
  const { port } = await f.neutron.api<{ port: { status: string; revision_number: number } }>(
    'GET',
    `/ports/${portId}`,
  );
  const waitRow = f.neutron.db.sql(
    `SELECT host, revision FROM netvpp_port_provisioning WHERE port_id = '${portId}'`,
    'neutron',
  );
  const blocks = f.neutron.db.sql(
    'SELECT entity FROM provisioningblocks pb JOIN ports p ON p.standard_attr_id = pb.standard_attr_id ' +
      `WHERE p.id = '${portId}'`,
    'neutron',
  );
  const log = f.neutron
    .serverLogLines()
    .filter((l) => l.includes(portId) && !l.includes('GET /v2.0/ports'))
    .slice(-10)
    .map((l) => `    ${l}`);
  return [
    `  etcd binding: ${describe(binding)}`,
    `  etcd port state: ${describe(state)}` +
      (sameTxn.length ? `; written in one transaction with ${sameTxn.length} other port state(s)` : ''),
    `  driver wait row (host, revision): ${waitRow.trim().replace('\t', ', ') || 'none'}; ` +
      `provisioning blocks: ${blocks.trim().split('\n').filter(Boolean).join(', ') || 'none'}`,
    `  Neutron: ${port.status}, revision ${port.revision_number}`,
    '  neutron-server.log about this port:',
    ...log,
  ].join('\n');
}

async function withLimit<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` on 0..n-1 with at most `width` in flight; after a failure starts no more, and throws it. */
async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < n) {
      try {
        await fn(next++);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(width, n) }, lane));
  const bad = lanes.find((l) => l.status === 'rejected');
  if (bad) throw bad.reason;
}

/** Deletes the ports and waits until the node has removed every trace of them. */
async function deleteAll(f: Fixture, ids: string[]): Promise<void> {
  await pool(ids.length, 10, async (i) => {
    await f.neutron.api('DELETE', `/ports/${ids[i]}`);
  });
  await until(
    'the node to remove the deleted ports',
    async () => {
      const [b, s] = await Promise.all([
        f.store.getPrefix(keys.hostPortBindings(HOST)),
        f.store.getPrefix(keys.hostPortStates(HOST)),
      ]);
      return b.kvs.length === 0 && s.kvs.length === 0 ? true : undefined;
    },
    120_000,
    200,
  );
}

/** One run; null (after printing why and removing its ports) when a port did not turn ACTIVE. */
async function measure(f: Fixture, mode: string, width: number, run: number): Promise<RunFigures | null> {
  const label = `${mode}, ${PORTS} ports ${width === 1 ? 'one at a time' : `${width} at a time`}`;
  const ids: string[] = [];
  f.proxy.resetTriggers();
  const started = performance.now();
  try {
    await pool(PORTS, width, (i) => createAndBind(f, `bench-${run}-${i}`, ids));
  } catch (e) {
    console.log(`create+bind → ACTIVE (${label}): FAILED: ${e instanceof Error ? e.message : String(e)}`);
    await deleteAll(f, ids);
    return null;
  }
  const wall = performance.now() - started;
  const { ports } = await f.neutron.api<{ ports: { id: string; status: string }[] }>(
    'GET',
    `/ports?network_id=${f.netId}&fields=id&fields=status`,
  );
  const notActive = ports.filter((p) => ids.includes(p.id) && p.status !== 'ACTIVE');
  if (notActive.length > 0)
    throw new Error(`the API shows ${notActive.length} ports not ACTIVE: ${notActive[0].id}`);
  const r = figures(
    label,
    ids.map((id) => f.tracker.complete(id, f.proxy)),
    wall,
  );
  for (const line of describeRun(r)) console.log(line);
  const triggers = [...f.proxy.triggers].map(([t, n]) => `${t} ${n}`).join(', ');
  console.log(`  journal batches by what woke the driver's forwarder: ${triggers}`);
  await deleteAll(f, ids);
  return r;
}

/** (Re)starts neutron-server with the driver configured for `mode`, then warms it up. */
async function useMode(f: Fixture, mode: string): Promise<void> {
  const options = MODES[mode];
  if (f.mode !== mode) {
    await f.neutron.stopServer();
    f.neutron.setDriverOptions(options);
    await f.neutron.startServer();
    f.mode = mode;
  }
  const warm: string[] = [];
  for (let i = 0; i < WARMUP; i++) await createAndBind(f, `warmup-${mode}-${i}`, warm);
  await deleteAll(f, warm);
  say(
    `mode ${mode}: neutron-server with [ml2_netvpp] ${JSON.stringify(options)}; ${WARMUP} warm-up ports (not counted)`,
  );
}

async function main(): Promise<void> {
  const unknown = MODE_NAMES.find((m) => !(m in MODES));
  if (unknown) throw new Error(`BENCH_MODES: no mode ${unknown} (${Object.keys(MODES).join(', ')})`);
  const why = neutronUnavailableReason();
  if (why) {
    say(`skipped: ${why}`);
    return;
  }
  setLogLevel((process.env.NETVPP_LOG_LEVEL as Level | undefined) ?? 'warn');
  if (process.env.BENCH_KEEP) process.env.NETVPP_E2E_KEEP = '1'; // NeutronEnv keeps its logs too
  const work = mkdtempSync(join(tmpdir(), 'netvpp-bench-neutron-'));
  const teardown = new Teardown((m) => say(m));
  teardown.add('the work directory', async () => {
    if (process.env.BENCH_KEEP) say(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  });
  try {
    const etcd = await startEtcd({ dataDir: join(work, 'etcd') });
    teardown.add('etcd', () => etcd.destroy());
    const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    teardown.add('the etcd client', async () => store.close());
    teardown.check();

    const controller = new ControllerProcess(etcd.endpoints, join(work, 'controller.log'));
    teardown.add('the controller', () => controller.stop());
    await controller.start();
    teardown.check();

    const node = await startNode(etcd.endpoints, join(work, HOST));
    teardown.add(HOST, () => stopChild(node.child));
    await waitHostAlive(controller.url, HOST);
    teardown.check();

    const proxy = new ControllerProxy(new URL(controller.url), HOST);
    await proxy.start();
    teardown.add('the controller proxy', () => proxy.stop());

    const neutron = new NeutronEnv({
      controllerUrl: proxy.url,
      driverOptions: MODES[MODE_NAMES[0]],
      vhostSocketDir: node.vhostDir,
      workDir: join(work, 'neutron'),
      debug: process.env.BENCH_NEUTRON_DEBUG === '1',
      log: (m) => say(m),
    });
    teardown.add('neutron-server and MariaDB', () => neutron.stop());
    await neutron.up();
    teardown.check();
    say(
      `stack up: etcd, controller ${controller.url}, ${HOST} (agent on the simulator), neutron ${neutron.endpoint}`,
    );

    const sql = new SqlSession(neutron.db.socket);
    teardown.add('the SQL session', () => sql.close());
    const tracker = new Tracker(sql);
    const watcher = watchPrefixes(store, {
      prefixes: [keys.hostPortBindings(HOST), keys.hostPortStates(HOST)],
      onEvent: (ev) => {
        if (ev.type === 'put') tracker.onEtcd(ev.key, ev.value);
      },
    });
    teardown.add('the etcd watch', () => watcher.close());
    await watcher.ready;
    tracker.start();
    teardown.add('the ACTIVE poller', () => tracker.stop());

    const { network } = await neutron.api<{ network: { id: string } }>('POST', '/networks', {
      network: {
        name: 'bench-net',
        'provider:network_type': 'vlan',
        'provider:physical_network': 'physnet1',
        'provider:segmentation_id': 100,
      },
    });
    await neutron.api('POST', '/subnets', {
      subnet: { network_id: network.id, ip_version: 4, cidr: '10.64.0.0/20', name: 'bench-subnet' },
    });
    const { security_group: sg } = await neutron.api<{ security_group: { id: string } }>(
      'POST',
      '/security-groups',
      { security_group: { name: 'bench-sg' } },
    );
    await neutron.api('POST', '/security-group-rules', {
      security_group_rule: {
        security_group_id: sg.id,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: 22,
        port_range_max: 22,
      },
    });
    const f: Fixture = {
      neutron,
      proxy,
      mode: MODE_NAMES[0],
      store,
      tracker,
      netId: network.id,
      sgId: sg.id,
    };
    say(
      `network (VLAN 100 on physnet1), subnet, security group with an SSH rule; ${PORTS} ports per run ` +
        `over REST (POST, then PUT binding:host_id); ACTIVE read from the DB every ${POLL_MS} ms`,
    );
    const runs: RunFigures[] = [];
    for (const mode of MODE_NAMES) {
      teardown.check();
      await useMode(f, mode);
      for (const width of CONCURRENCY) {
        teardown.check();
        const r = await measure(f, mode, width, runs.length);
        if (r) runs.push(r);
        else process.exitCode = 1;
      }
    }
    console.log("\np50 / p99 in ms; netvpp's share = binding committed → ACTIVE, split into its stages:");
    for (const line of table(runs)) console.log(line);
  } finally {
    await teardown.run();
  }
}

main().catch((e: unknown) => {
  console.error(`bench:neutron failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
