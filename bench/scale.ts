// `npm run bench:scale -- [--agents 1000] [--ports 10] [--stores 10] [--updates 100]`: what a cloud of
// many hosts does to etcd and the controller (issue 15). On the chaos run's 3-member etcd and one
// controller process, `--agents` lightweight agents live in this process: each holds what a real
// agent holds in etcd (its liveness key on its own lease, its watch of `nodes/<host>/` and the sync
// marker, a watch of the security group its ports use), but no VPP. Then Neutron's full sync of
// agents × ports ports, and `--updates` port updates one at a time through the journal.
// Figures: time for the full sync to reach every agent, journal→agent latency p50/p99 under that
// load, events per agent (and those not about the agent's own ports: the goal is 0), etcd keys,
// watchers and database size, controller and etcd CPU and memory.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { hostStateValue } from '../src/agent/agent-health.ts';
import type { AgentConfig } from '../src/agent/config.ts';
import { keys, PREFIX } from '../src/model/keyspace.ts';
import { keepLeaseKey, openStore, watchPrefixes, type Store } from '../src/store/index.ts';
import { setLogLevel } from '../src/util/log.ts';
import { ControllerProcess } from '../test/chaos/controller-process.ts';
import { EtcdCluster } from '../test/chaos/etcd-cluster.ts';
import { ClientLink } from '../test/chaos/proxy.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number above 0');
  return n;
};
const o = new Command('bench:scale')
  .option('--agents <n>', 'lightweight agents', int, 1000)
  .option('--ports <n>', 'ports per agent', int, 10)
  .option('--stores <n>', 'etcd clients the agents share', int, 10)
  .option('--updates <n>', 'port updates timed through the journal', int, 100)
  .option('--page <n>', 'send the full sync in pages of this many resources (POST /v1/sync/session)', int)
  .parse()
  .opts<{ agents: number; ports: number; stores: number; updates: number; page?: number }>();

setLogLevel('error');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const GROUPS = 10;
const NETS = 10;
const uuid = (kind: number, n: number) =>
  `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** CPU seconds (user + system) and resident memory (MiB) of a process, from /proc. */
function usage(pid: number | undefined): { cpuS: number; rssMiB: number } {
  if (!pid) return { cpuS: 0, rssMiB: 0 };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { cpuS: ticks / 100, rssMiB: Number(rss ?? 0) / 1024 };
  } catch {
    return { cpuS: 0, rssMiB: 0 };
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const t0 = Date.now();
const loadAtStart = loadavg()[0];
const dir = mkdtempSync(join(tmpdir(), 'netvpp-scale-'));
const etcd = await EtcdCluster.start(3);
const link = await ClientLink.start(etcd.endpoints);
const ctl = await ControllerProcess.start({ dir, id: 'ctl1', link, electionTtlSec: 10 });
await ctl.answering();
while (!(await ctl.leads())) await sleep(200);
const admin = openStore({ endpoints: etcd.endpoints, namespace: PREFIX, requestTimeoutMs: 30_000 });
const stores: Store[] = Array.from({ length: o.stores }, (_, i) =>
  openStore({
    endpoints: [...etcd.endpoints.slice(i % 3), ...etcd.endpoints.slice(0, i % 3)],
    namespace: PREFIX,
    requestTimeoutMs: 30_000,
  }),
);

interface Lite {
  host: string;
  bindings: Map<string, number>;
  events: number;
  irrelevant: number;
  /** Members of the agent's own group, which no rule here names as a remote group. */
  unneededMembers: number;
}
const agents: Lite[] = [];
const closers: (() => Promise<void>)[] = [];
const waiters = new Map<string, { rev: number; resolve: () => void }>();
console.log(`starting ${o.agents} lightweight agents on ${o.stores} etcd clients`);
for (let i = 0; i < o.agents; i++) {
  const host = `scale${i}`;
  const store = stores[i % stores.length];
  const a: Lite = { host, bindings: new Map(), events: 0, irrelevant: 0, unneededMembers: 0 };
  agents.push(a);
  const cfg = { host, physnets: new Map([['physnet1', 'loop0']]), tapBackend: 'tap' } as AgentConfig;
  const lease = keepLeaseKey(store, {
    key: keys.hostAlive(host),
    value: hostStateValue({
      config: cfg,
      groups: undefined,
      vpp: { connected: true, version: 'bench' },
      startedAt: new Date().toISOString(),
    }),
    ttlSec: 30,
    log: () => {},
  });
  const mine = keys.hostPortBindings(host);
  const onBinding = (key: string, value: string | null) => {
    a.events++;
    if (!key.startsWith(mine)) {
      if (key.startsWith('nodes/')) a.irrelevant++;
      return;
    }
    const id = key.slice(mine.length);
    if (value === null) a.bindings.delete(id);
    else {
      const rev = (JSON.parse(value) as { revision: number }).revision;
      a.bindings.set(id, rev);
      const w = waiters.get(id);
      if (w && rev >= w.rev) w.resolve();
    }
  };
  const w1 = watchPrefixes(store, {
    prefixes: [keys.hostNodes(host), keys.syncMarker],
    log: () => {},
    onEvent: (ev) => {
      if (ev.type === 'put') onBinding(ev.key, ev.value);
      else if (ev.type === 'delete') onBinding(ev.key, null);
      else if (ev.type === 'resync') for (const kv of ev.changed) onBinding(kv.key, kv.value);
    },
  });
  const g = uuid(2, i % GROUPS);
  const w2 = watchPrefixes(store, {
    prefixes: [keys.secGroup(g), keys.remoteGroup(g)],
    log: () => {},
    onEvent: (ev) => {
      if (ev.type === 'put' || ev.type === 'delete') {
        a.events++;
        if (!ev.key.includes(g)) a.irrelevant++;
        // The bench's groups have prefix rules only: no rule needs a member list.
        else if (ev.key.startsWith(keys.remoteGroups)) a.unneededMembers++;
      }
    },
  });
  closers.push(async () => {
    await w1.close();
    await w2.close();
    await lease.close();
  });
  if (i % 100 === 99) await Promise.all([w1.ready, w2.ready]);
}
const tAgents = Date.now();
console.log(`agents up in ${((tAgents - t0) / 1000).toFixed(1)} s (with etcd and the controller)`);

// Neutron's state: NETS VLAN networks, GROUPS groups (prefix rules only), agents × ports ports.
const netDict = (n: number) => ({
  id: uuid(1, n),
  name: 'scale',
  mtu: 1500,
  revision_number: 1,
  'provider:network_type': 'vlan',
});
const groupDict = (n: number) => ({
  id: uuid(2, n),
  name: 'scale',
  stateful: true,
  revision_number: 1,
  security_group_rules: [22, 80, 443].map((port, r) => ({
    id: uuid(3, n * 10 + r),
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 'tcp',
    port_range_min: port,
    port_range_max: port,
    remote_ip_prefix: '10.0.0.0/8',
    remote_group_id: null,
    remote_address_group_id: null,
  })),
});
const portDict = (host: number, k: number, rev: number) => {
  const n = host * o.ports + k;
  const net = n % NETS;
  return {
    id: uuid(4, n),
    name: '',
    network_id: uuid(1, net),
    mac_address: `fa:16:3e:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`,
    fixed_ips: [
      { subnet_id: uuid(5, net), ip_address: `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}` },
    ],
    device_owner: 'compute:nova',
    device_id: `vm-${n}`,
    admin_state_up: true,
    status: 'DOWN',
    security_groups: [uuid(2, host % GROUPS)],
    port_security_enabled: true,
    allowed_address_pairs: [],
    'binding:host_id': `scale${host}`,
    'binding:vif_type': 'tap',
    'binding:vnic_type': 'normal',
    'binding:vif_details': {},
    'netvpp:network': {
      id: uuid(1, net),
      network_type: 'vlan',
      physical_network: 'physnet1',
      segmentation_id: 100 + net,
      mtu: 1500,
    },
    revision_number: rev,
  };
};

/** One driver request, tried again while the controller answers 503/429 (etcd slow on a loaded machine). */
async function post(path: string, body?: unknown): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce(path, body);
    } catch (e) {
      if (attempt >= 60 || !/: (503|429) /.test((e as Error).message)) throw e;
      await sleep(500);
    }
  }
}

/** One request; node:http rather than fetch, whose 5-minute headers timeout a large commit outlasts. */
function postOnce(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      ctl.url + path,
      {
        method: body === undefined ? 'GET' : 'POST',
        headers: data === undefined ? {} : { 'content-type': 'application/json' },
        timeout: 1_800_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
            if (res.statusCode !== 200 && res.statusCode !== 201)
              reject(new Error(`${path}: ${res.statusCode} ${JSON.stringify(parsed).slice(0, 300)}`));
            else resolve(parsed);
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const ctlBefore = usage(ctl.pid);
const etcdBefore = etcd.pids.map(usage);
const totalPorts = o.agents * o.ports;
const tSync = Date.now();
const { token } = await post('/v1/sync');
const body = {
  token,
  networks: Array.from({ length: NETS }, (_, n) => netDict(n)),
  security_groups: Array.from({ length: GROUPS }, (_, n) => groupDict(n)),
  ports: Array.from({ length: totalPorts }, (_, n) => portDict(Math.floor(n / o.ports), n % o.ports, 1)),
};
// The controller's peak memory during the sync, sampled.
let ctlPeakMiB = 0;
const sampler = setInterval(() => (ctlPeakMiB = Math.max(ctlPeakMiB, usage(ctl.pid).rssMiB)), 200);
let syncBytes = 0;
let pages = 0;
let syncRestarts = 0;
if (o.page) {
  // As the driver does past [netvpp] sync_page_items: begin, pages (networks and groups first), commit;
  // a session lost (the leader lost etcd on a loaded machine: 404) begins again, as the driver does.
  for (let attempt = 0; ; attempt++) {
    try {
      syncBytes = 0;
      pages = 0;
      const { session } = await post('/v1/sync/session', {
        token,
        lists: ['networks', 'security_groups', 'ports'],
      });
      const page = async (p: Record<string, unknown>) => {
        syncBytes += JSON.stringify(p).length;
        await post(`/v1/sync/session/${String(session)}/page`, { ...p, seq: pages });
        pages++;
      };
      await page({ networks: body.networks, security_groups: body.security_groups });
      for (let i = 0; i < body.ports.length; i += o.page)
        await page({ ports: body.ports.slice(i, i + o.page) });
      await post(`/v1/sync/session/${String(session)}/commit`, { pages });
      break;
    } catch (e) {
      if (attempt >= 10 || !/: 404 /.test((e as Error).message)) throw e;
      console.log(`paged sync begun again: ${(e as Error).message.slice(0, 120)}`);
      syncRestarts++;
    }
  }
} else {
  syncBytes = JSON.stringify(body).length;
  await post('/v1/sync', body);
}
clearInterval(sampler);
const tWritten = Date.now();
while (agents.some((a) => a.bindings.size < o.ports)) await sleep(50);
const tReached = Date.now();
const ctlSync = usage(ctl.pid);
console.log(
  `full sync of ${totalPorts} ports: written in ${((tWritten - tSync) / 1000).toFixed(1)} s, at every agent after ${((tReached - tSync) / 1000).toFixed(1)} s`,
);

// Journal → agent latency, one port update at a time, under the load of every agent's watches.
const lat: number[] = [];
for (let u = 0; u < o.updates; u++) {
  const host = (u * 7919) % o.agents;
  const k = u % o.ports;
  const d = portDict(host, k, 2 + u);
  d.fixed_ips = [{ subnet_id: d.fixed_ips[0].subnet_id, ip_address: `10.200.${u >> 8}.${u & 0xff}` }];
  const seen = new Promise<void>((resolve) => waiters.set(d.id, { rev: d.revision_number, resolve }));
  const t = performance.now();
  await post('/v1/journal', {
    rows: [
      { id: u + 1, resource: 'port', op: 'update', resource_id: d.id, revision: d.revision_number, data: d },
    ],
  });
  await seen;
  lat.push(performance.now() - t);
  waiters.delete(d.id);
}

const ctlAfter = usage(ctl.pid);
const etcdAfter = etcd.pids.map(usage);
const status = await admin.etcd.maintenance.status();
const keyCount = Number((await admin.etcd.getAll().prefix(PREFIX).count()) ?? 0);
const watchers = await metric(etcd.metricsUrls[0], 'etcd_debugging_mvcc_watcher_total');
const watchersAll = (
  await Promise.all(etcd.metricsUrls.map((u) => metric(u, 'etcd_debugging_mvcc_watcher_total')))
).reduce((a, b) => a + b, 0);
const events = agents.map((a) => a.events);
const irrelevant = agents.reduce((s, a) => s + a.irrelevant, 0);
const unneeded = agents.map((a) => a.unneededMembers);

const lines = [
  `scale: ${o.agents} agents × ${o.ports} ports = ${totalPorts} ports, 3-member etcd, 1 controller; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`,
  `  agents' etcd clients: ${o.stores} (each agent: 1 lease, 2 watch streams = 3 watches)`,
  `  full sync: written ${((tWritten - tSync) / 1000).toFixed(1)} s, at every agent ${((tReached - tSync) / 1000).toFixed(1)} s; ${(syncBytes / 2 ** 20).toFixed(1)} MiB sent ${o.page ? `in ${pages} pages (${syncRestarts} sessions begun again)` : 'in one body'}; controller peak RSS ${ctlPeakMiB.toFixed(0)} MiB`,
  `  journal → agent latency (${lat.length} updates): p50 ${pct(lat, 50).toFixed(0)} ms, p99 ${pct(lat, 99).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms`,
  `  events per agent: p50 ${pct(events, 50)}, max ${Math.max(...events)}; about other hosts' ports: ${irrelevant}; remote-group members no rule names: p50 ${pct(unneeded, 50)} per agent`,
  `  etcd: ${keyCount} keys, db ${(Number(status.dbSize) / 2 ** 20).toFixed(1)} MiB (${(Number(status.dbSize) / totalPorts).toFixed(0)} B per port), watchers ${watchersAll} (${watchers} on m0)`,
  `  controller: CPU ${(ctlSync.cpuS - ctlBefore.cpuS).toFixed(1)} s for the sync, ${(ctlAfter.cpuS - ctlSync.cpuS).toFixed(1)} s for ${lat.length} updates; RSS ${ctlAfter.rssMiB.toFixed(0)} MiB`,
  `  etcd members: CPU ${etcdAfter.map((u, i) => (u.cpuS - (etcdBefore[i]?.cpuS ?? 0)).toFixed(1)).join(' / ')} s over sync + updates; RSS ${etcdAfter.map((u) => u.rssMiB.toFixed(0)).join(' / ')} MiB`,
  `  this process (the agents): RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
];
for (const l of lines) console.log(l);
// What the controller's own log says about the run (leadership, stalls of its event loop).
const ctlLog = readFileSync(ctl.logFile, 'utf8').split('\n');
const lost = ctlLog.filter((l) => l.includes('leadership lost')).length;
const stalls = ctlLog.filter((l) => l.includes('event loop stalled'));
const worst = Math.max(0, ...stalls.map((l) => Number(/ ms=(\d+)/.exec(l)?.[1] ?? 0)));
console.log(
  `  controller log: ${lost} leadership losses, ${stalls.length} event-loop stalls ≥ 1 s (worst ${worst} ms)`,
);

for (const c of closers) await c();
for (const s of stores) s.close();
admin.close();
await ctl.stop();
await link.close();
await etcd.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
