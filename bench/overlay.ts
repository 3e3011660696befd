/**
 * Overlay benchmark: flood-list convergence. N hosts (BENCH_HOSTS, default 100) each have one port
 * on a VXLAN network, M more (BENCH_BYSTANDERS, default 20) are on another network only; then a new
 * host binds its first port on the first network. Figures: how long until every peer's VPP has the
 * new host's tunnel and its MAC (p50/p99/max), beside the baseline of the same run (how long the
 * new host takes to plumb its own port), and the etcd events each agent received for the join
 * (peers: a few; bystanders: none). Real agents and etcd; each host's VPP is a simulator in this
 * process, its writes timed by its onWrite hook.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../src/agent/agent.ts';
import type { AgentConfig } from '../src/agent/config.ts';
import { RecordingHostNet } from '../src/agent/host-net.ts';
import { encodeValue, keys, PREFIX, tapName, type PortBinding } from '../src/model/keyspace.ts';
import { startSimulator, type Sim } from '../src/sim/index.ts';
import { openStore, startEtcd, type Store } from '../src/store/index.ts';
import { setLogLevel } from '../src/util/log.ts';
import { create_loopback_instance } from '../src/vpp/binapi/index.ts';
import { VppClient } from '../src/vpp/client.ts';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 100);
const BYSTANDERS = Number(process.env.BENCH_BYSTANDERS ?? 20);
const NET = '00000000-0000-4000-9000-000000000001';
const OTHER_NET = '00000000-0000-4000-9000-000000000002';
setLogLevel((process.env.NETVPP_LOG_LEVEL as 'warn' | undefined) ?? 'error');
const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

interface Host {
  name: string;
  sim: Sim;
  agent: Agent;
  /** When this host's VPP got a static MAC after the join (ms after it), if it did. */
  macAt?: number;
}

const vtep = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`;

function port(i: number, net: string, vni: number): PortBinding {
  const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  return {
    port_id: id,
    network_id: net,
    network_type: 'vxlan',
    physnet: null,
    segmentation_id: vni,
    mtu: 1450,
    mac: `fa:16:3e:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    fixed_ips: [{ subnet_id: net, ip_address: `172.16.${(i >> 8) & 255}.${i & 255}` }],
    vif_type: 'tap',
    vhostuser: null,
    tap: { host_ifname: tapName(id) },
    device_owner: 'network:dhcp',
    admin_state_up: true,
    security_groups: [],
    port_security_enabled: false,
    allowed_address_pairs: [],
    revision: 1,
  };
}

async function bind(store: Store, host: string, b: PortBinding): Promise<void> {
  const k = keys.overlayPort(b.network_id, b.port_id);
  await store.txnBatch([
    {
      op: 'put',
      key: keys.portBinding(host, b.port_id),
      value: encodeValue(keys.portBinding(host, b.port_id), b),
    },
    {
      op: 'put',
      key: k,
      value: encodeValue(k, { host, mac: b.mac, ips: b.fixed_ips.map((f) => f.ip_address), revision: 1 }),
    },
  ]);
}

async function startHost(i: number, endpoints: string[], dir: string): Promise<Host> {
  const name = `host${i}`;
  const sim = await startSimulator({ socket: join(dir, `${name}.sock`) });
  const op = await VppClient.connect({ socket: sim.socket, name: 'operator' });
  await op.request(create_loopback_instance, { is_specified: true, user_instance: 0 });
  await op.request(create_loopback_instance, { is_specified: true, user_instance: 1 });
  await op.close();
  const config: AgentConfig = {
    host: name,
    etcd: { endpoints },
    vppSocket: sim.socket,
    physnets: new Map([['physnet1', 'loop0']]),
    vhostUserDir: '/var/run/netvpp/vhost',
    tapBackend: 'tap',
    tapBackendSetting: 'tap',
    logLevel: 'error',
    health: null,
    configFile: null,
    vxlan: { localIp: vtep(i), underlay: { name: 'loop1', prefixLen: 8 } },
  };
  const agent = new Agent(config, { hostNet: new RecordingHostNet(), livenessTtlSec: 30 });
  agent.start();
  return { name, sim, agent };
}

async function until(what: string, cond: () => boolean, limitMs = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > limitMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-bench-overlay-'));
  await store.put(
    keys.syncMarker,
    encodeValue(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'bench' }),
  );
  const peers: Host[] = [];
  const bystanders: Host[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 1; i <= HOSTS + BYSTANDERS; i++) {
    const h = await startHost(i, etcd.endpoints, dir);
    (i <= HOSTS ? peers : bystanders).push(h);
    await bind(store, h.name, i <= HOSTS ? port(i, NET, 5001) : port(i, OTHER_NET, 5002));
  }
  const everyone = [...peers, ...bystanders];
  await until('every host ready', () => everyone.every((h) => h.agent.health().ports.ready === 1));
  // Every peer has a tunnel to every other: HOSTS × (HOSTS - 1) tunnels in all.
  console.log(
    `${HOSTS} hosts on one VXLAN network (+${BYSTANDERS} on another): up and meshed in ${(msSince(t0) / 1000).toFixed(1)} s`,
  );
  await new Promise((r) => setTimeout(r, 500));

  // The newcomer's agent is up (its liveness key, with its VTEP, written) before its port is bound.
  const newcomer = await startHost(HOSTS + BYSTANDERS + 1, etcd.endpoints, dir);
  const newPort = port(HOSTS + BYSTANDERS + 1, NET, 5001);
  await until('the newcomer connected', () => newcomer.agent.health().vpp.connected);
  await new Promise((r) => setTimeout(r, 500));
  const before = new Map(everyone.map((h) => [h.name, h.agent.health().etcd.events]));
  const bindAt = process.hrtime.bigint();
  // A peer has the newcomer once its VPP took the newcomer's MAC (after the tunnel and its membership).
  for (const h of everyone) {
    h.sim.onWrite((w) => {
      if (w.message === 'l2fib_add_del' && w.retval === 0 && h.macAt === undefined) h.macAt = msSince(bindAt);
    });
  }
  await bind(store, newcomer.name, newPort);
  await until('the newcomer’s port ready', () => newcomer.agent.health().ports.ready === 1);
  const ownMs = msSince(bindAt);
  await until('every peer has the newcomer', () => peers.every((h) => h.macAt !== undefined));
  const times = peers.map((h) => h.macAt as number);
  await new Promise((r) => setTimeout(r, 500));
  const delta = (h: Host) => {
    const b = before.get(h.name) as ReturnType<Agent['health']>['etcd']['events'];
    const a = h.agent.health().etcd.events;
    return a.host - b.host + a.groups - b.groups + a.overlays - b.overlays + a.peers - b.peers;
  };
  const peerEvents = peers.map(delta);
  const bystanderEvents = bystanders.map(delta);
  console.log(`baseline: the newcomer plumbs its own port (bind → ready): ${ownMs.toFixed(0)} ms`);
  console.log(
    `every peer has its tunnel and MAC: p50 ${pct(times, 50).toFixed(0)} ms, p99 ${pct(times, 99).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms (${peers.length} peers)`,
  );
  console.log(
    `etcd events for the join: each peer ${Math.min(...peerEvents)}..${Math.max(...peerEvents)}, each bystander ${Math.min(...bystanderEvents)}..${Math.max(...bystanderEvents)}`,
  );
  const all = [...everyone, newcomer];
  for (const h of all) h.sim.onWrite(null);
  await Promise.all(all.map((h) => h.agent.stop()));
  await Promise.all(all.map((h) => h.sim.stop()));
  store.close();
  await etcd.destroy();
  rmSync(dir, { recursive: true, force: true });
}

await main();
