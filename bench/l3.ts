/**
 * L3 benchmark: one network node carrying ROUTERS routers (an interface on a network of its own, a
 * gateway with SNAT on one shared external network) and FIPS floating IPs spread over them. Cold
 * resync into an empty VPP (time, VPP calls), one floating IP associated on that busy host (etcd
 * write → its state says ready, which the agent writes once VPP has the mapping and its ARP entry),
 * and a warm restart (VPP writes: 0 expected). Baseline from the same run: a cold resync and a warm
 * restart of as many plain ports as there are floating IPs. Real etcd (started here), the simulator
 * in a child process unless NETVPP_TEST_VPP_SOCKET names a real VPP (which must be empty of netvpp
 * objects). BENCH_ROUTERS / BENCH_FIPS choose the sizes.
 */
import { Agent, type ResyncStats } from '../src/agent/agent.ts';
import type { AgentConfig } from '../src/agent/config.ts';
import { RecordingHostNet } from '../src/agent/host-net.ts';
import {
  encodeValue,
  keys,
  PREFIX,
  type FloatingIpDoc,
  type ObjectState,
  type PortBinding,
  type RouterDoc,
} from '../src/model/keyspace.ts';
import { openStore, startEtcd, type Store, type WriteOp } from '../src/store/index.ts';
import { setLogLevel } from '../src/util/log.ts';
import { create_loopback_instance, sw_interface_dump } from '../src/vpp/binapi/index.ts';
import { VppClient } from '../src/vpp/client.ts';
import { startSimProcess, type SimProcess } from './sim-process.ts';

const ROUTERS = Number(process.env.BENCH_ROUTERS ?? 100);
const FIPS = Number(process.env.BENCH_FIPS ?? 1000);
const HOST = 'bench-network';
const EXT_VLAN = 2000;
const real = process.env.NETVPP_TEST_VPP_SOCKET;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
setLogLevel((process.env.NETVPP_LOG_LEVEL as 'warn' | undefined) ?? 'warn');

/** A deterministic UUID from a kind and a number (so runs are comparable). */
function id(kind: number, n: number): string {
  return `00000000-0000-4000-8000-${(kind * 0x10000000 + n).toString(16).padStart(12, '0')}`;
}
const mac = (kind: number, n: number): string =>
  `fa:16:${kind.toString(16).padStart(2, '0')}:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
/** An address of 100.64.0.0/10 (the external network) by number. */
const extIp = (n: number): string => `100.${64 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;

function binding(n: number, over: Partial<PortBinding> & Pick<PortBinding, 'port_id'>): PortBinding {
  return {
    network_id: id(4, n),
    network_type: 'vlan',
    physnet: 'physnet1',
    segmentation_id: 100 + n,
    mtu: 1500,
    mac: mac(1, n),
    fixed_ips: [],
    vif_type: 'vhostuser',
    vhostuser: { socket: `/var/run/netvpp/vhost/${over.port_id}`, mode: 'server' },
    tap: null,
    device_owner: 'compute:nova',
    admin_state_up: true,
    security_groups: [],
    port_security_enabled: false,
    allowed_address_pairs: [],
    revision: 1,
    ...over,
  };
}

function routerPorts(r: number): PortBinding[] {
  const routerId = id(7, r);
  const rif = binding(r, {
    port_id: id(8, r),
    mac: mac(2, r),
    fixed_ips: [{ subnet_id: id(5, r), ip_address: `10.${r >> 8}.${r & 0xff}.1` }],
    vif_type: 'router',
    vhostuser: null,
    device_owner: 'network:router_interface',
    router: { router_id: routerId, addresses: [`10.${r >> 8}.${r & 0xff}.1/24`], role: 'interface' },
  });
  const gw = binding(r, {
    port_id: id(9, r),
    network_id: id(4, 100_000),
    segmentation_id: EXT_VLAN,
    mac: mac(3, r),
    fixed_ips: [{ subnet_id: id(5, 100_000), ip_address: extIp(256 + r) }],
    vif_type: 'router',
    vhostuser: null,
    device_owner: 'network:router_gateway',
    router: { router_id: routerId, addresses: [`${extIp(256 + r)}/10`], role: 'gateway' },
  });
  return [rif, gw];
}

function routerDoc(r: number): RouterDoc {
  return {
    router_id: id(7, r),
    admin_state_up: true,
    ha: false,
    gateway: {
      port_id: id(9, r),
      network_id: id(4, 100_000),
      next_hops: ['100.64.0.1'],
      snat: true,
      addresses: [`${extIp(256 + r)}/10`],
    },
    routes: [],
    revision: 1,
  };
}

/** Floating IP n: on router n % ROUTERS, for a VM of that router's network. */
function fip(n: number): FloatingIpDoc {
  const r = n % ROUTERS;
  const k = Math.floor(n / ROUTERS);
  return {
    id: id(10, n),
    router_id: id(7, r),
    floating_ip: extIp(4096 + n),
    fixed_ip: `10.${r >> 8}.${r & 0xff}.${10 + k}`,
    port_id: id(11, n),
    revision: 1,
  };
}

function runUntilSynced(config: AgentConfig): Promise<{ agent: Agent; stats: ResyncStats; seconds: number }> {
  const agent = new Agent(config, { hostNet: new RecordingHostNet() });
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    agent.once('synced', (stats: ResyncStats) =>
      resolve({ agent, stats, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }),
    );
    agent.start();
  });
}

type Put = Extract<WriteOp, { op: 'put' }>;
const put = (key: string, v: unknown): Put => ({ op: 'put', key, value: encodeValue(key, v) });

async function waitReady(store: Store, key: string): Promise<void> {
  for (;;) {
    const { kv } = await store.get(key);
    if (kv && (JSON.parse(kv.value) as ObjectState).ready) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** One host's desired state in etcd, an agent synced from cold, then warm; returns its figures. */
async function scenario(
  label: string,
  ops: Put[],
  socket: string,
  busy?: (agent: Agent, store: Store) => Promise<void>,
): Promise<void> {
  const etcd = await startEtcd();
  const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  try {
    const marker = { at: new Date().toISOString(), neutron_rows: ops.length, controller_id: 'bench' };
    await store.txnBatch([put(keys.syncMarker, marker), ...ops]);
    const config: AgentConfig = {
      host: HOST,
      etcd: { endpoints: etcd.endpoints },
      vppSocket: socket,
      physnets: new Map([['physnet1', 'loop0']]),
      vhostUserDir: '/var/run/netvpp/vhost',
      tapBackend: 'tap',
      tapBackendSetting: 'tap',
      logLevel: 'warn',
      health: null,
      configFile: null,
    };
    const cold = await runUntilSynced(config);
    console.log(`${label}: cold ${cold.seconds.toFixed(1)} s, ${fmt(cold.stats.calls)} VPP calls`);
    const h = cold.agent.health();
    if (h.failing.length) console.log(`  (${h.failing.length} objects failing, e.g. ${h.failing[0].error})`);
    await cold.agent.whenIdle();
    if (busy) await busy(cold.agent, store);
    await cold.agent.stop();
    const warm = await runUntilSynced(config);
    console.log(
      `${label}: warm restart ${warm.seconds.toFixed(1)} s, ${fmt(warm.stats.writes)} VPP writes (${fmt(warm.stats.calls)} calls)`,
    );
    // Leaves VPP empty for the next scenario: an agent with nothing desired removes all of it.
    await warm.agent.stop();
    await store.txnBatch(ops.map((o) => ({ op: 'delete', key: o.key })));
    const clear = await runUntilSynced(config);
    await clear.agent.whenIdle();
    await clear.agent.stop();
  } finally {
    store.close();
    await etcd.destroy();
  }
}

let sim: SimProcess | null = null;
try {
  sim = real ? null : await startSimProcess();
  const socket = real ?? (sim as SimProcess).socket;
  const op = await VppClient.connect({ socket, name: 'bench-operator' });
  if (
    !(await op.dump(sw_interface_dump, { sw_if_index: 0xffffffff })).some((d) => d.interface_name === 'loop0')
  )
    await op.request(create_loopback_instance, { is_specified: true, user_instance: 0 });
  await op.close();
  console.log(
    `target: ${real ? `VPP at ${real}` : 'simulator (child process)'}; ${ROUTERS} routers with SNAT on one external network, ${fmt(FIPS)} floating IPs`,
  );

  // Baseline: as many plain ports (vhost-user, no security groups) as there are floating IPs.
  const plain: Put[] = [];
  for (let i = 0; i < FIPS; i++) {
    const b = binding(i % ROUTERS, { port_id: id(3, i), mac: mac(4, i) });
    plain.push(put(keys.portBinding(HOST, b.port_id), b));
  }
  await scenario(`baseline, ${fmt(FIPS)} plain ports`, plain, socket);

  const l3: Put[] = [];
  for (let r = 0; r < ROUTERS; r++) {
    for (const b of routerPorts(r)) l3.push(put(keys.portBinding(HOST, b.port_id), b));
    l3.push(put(keys.router(HOST, id(7, r)), routerDoc(r)));
  }
  for (let n = 0; n < FIPS; n++) l3.push(put(keys.floatingIp(HOST, id(10, n)), fip(n)));
  await scenario(`${ROUTERS} routers × ${fmt(FIPS)} floating IPs`, l3, socket, async (agent, store) => {
    const f = fip(FIPS);
    const t0 = process.hrtime.bigint();
    await store.put(keys.floatingIp(HOST, f.id), encodeValue(keys.floatingIp(HOST, f.id), f));
    await waitReady(store, keys.floatingIpState(HOST, f.id));
    console.log(
      `  one floating IP associated next to ${fmt(FIPS)}: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms until in VPP (its state ready)`,
    );
    await store.delete(keys.floatingIp(HOST, f.id));
    while ((await store.get(keys.floatingIpState(HOST, f.id))).kv) await new Promise((r) => setTimeout(r, 2));
    await agent.whenIdle();
  });
} finally {
  await sim?.stop();
}
