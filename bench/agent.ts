/**
 * Agent benchmark: a cold resync of N ports (100 security groups × 20 rules) into an empty VPP; on
 * that busy host, the steady-state figures (one new port, a burst of 100 port changes, one security
 * group rule change); then a warm restart of the agent against the VPP it just programmed. Real etcd
 * (started here), and the simulator in a child process unless NETVPP_TEST_VPP_SOCKET (or
 * `-- --vpp-socket PATH`) names a real VPP; against a local real VPP it also prints how many memory
 * mappings VPP holds after the cold run (each MAC-IP ACL's classify tables map their own heaps, and
 * Linux caps mappings at vm.max_map_count). BENCH_RX_MODE sets [agent] rx_mode (default adaptive).
 * BENCH_CONNECTIONS sets [vpp] connections (default the agent's, 1; e.g. 1,8 runs each size with 1 and then 8
 * connections, the baseline in the same run). One line per figure. BENCH_PORTS=1000,10000 chooses the sizes. BENCH_SIGNED: 0 (default) unsigned
 * values, 1 every value signed by a controller key and verified by the agent ([security]
 * verify_keys), both: each size unsigned then signed (the baseline in the same run).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type ResyncStats } from '../src/agent/agent.ts';
import type { AgentConfig } from '../src/agent/config.ts';
import { RecordingHostNet } from '../src/agent/host-net.ts';
import {
  decodeValue,
  encodeValue as encodePlain,
  keys,
  PREFIX,
  type PortBinding,
  type PortState,
  type SecurityGroup,
  type SecurityGroupRule,
} from '../src/model/keyspace.ts';
import { generateKeyFiles, loadSigner, loadVerifier, type Signer } from '../src/model/signing.ts';
import { openStore, startEtcd, watchPrefixes, type Store, type WriteOp } from '../src/store/index.ts';
import { setLogLevel } from '../src/util/log.ts';
import { RX_MODES, type RxModeName } from '../src/agent/kinds/index.ts';
import { DEFAULT_VPP_CONNECTIONS } from '../src/agent/vpp-lanes.ts';
import {
  acl_dump,
  control_ping,
  create_loopback_instance,
  sw_interface_dump,
  type AclDetails,
} from '../src/vpp/binapi/index.ts';
import { VppClient } from '../src/vpp/client.ts';
import { startSimProcess, type SimProcess } from './sim-process.ts';

const SIZES = (process.env.BENCH_PORTS ?? '1000,10000').split(',').map(Number);
const GROUPS = 100;
const RULES = 20;
const NETWORKS = 100;
const HOST = 'bench-compute';
const VHOST_DIR = '/var/run/netvpp/vhost';
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const BURST = 100;
const socketArg = process.argv.indexOf('--vpp-socket');
const real = (socketArg > 0 ? process.argv[socketArg + 1] : undefined) ?? process.env.NETVPP_TEST_VPP_SOCKET;
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? String(DEFAULT_VPP_CONNECTIONS)).split(',').map(Number);
const RX_MODE = (process.env.BENCH_RX_MODE ?? 'adaptive') as RxModeName;
if (!Object.hasOwn(RX_MODES, RX_MODE))
  throw new Error(`BENCH_RX_MODE must be adaptive, interrupt or polling`);

/** VPP's memory mappings (lines of /proc/<pid>/maps) and the kernel's cap, when VPP runs on this host. */
function mappings(pid: number): string | null {
  try {
    const n = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').length - 1;
    const cap = readFileSync('/proc/sys/vm/max_map_count', 'utf8').trim();
    return `${fmt(n)} memory mappings (vm.max_map_count ${Number(cap).toLocaleString('en-US')})`;
  } catch {
    return null;
  }
}
/** The tap steps need VPP's taps: the simulator has them; a real VPP needs the host's /dev/vhost-net. */
const taps = !real || existsSync('/dev/vhost-net');
setLogLevel((process.env.NETVPP_LOG_LEVEL as 'warn' | undefined) ?? 'warn');
const SIGNED = process.env.BENCH_SIGNED ?? '0';
if (!['0', '1', 'both'].includes(SIGNED)) throw new Error(`BENCH_SIGNED must be 0, 1 or both, got ${SIGNED}`);

/** The controller's key while a signed run writes to etcd; null: values are written unsigned. */
let signer: Signer | null = null;
function encodeValue(key: string, value: unknown): string {
  const plain = encodePlain(key, value);
  return signer ? signer.seal(key, plain) : plain;
}

/** A deterministic UUID from a kind and a number (so runs are comparable). */
function id(kind: number, n: number): string {
  const h = (kind * 0x10000000 + n).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${h}`;
}

function group(g: number): SecurityGroup {
  const sgId = id(1, g);
  const rules: SecurityGroupRule[] = [];
  for (let r = 0; r < RULES; r++) {
    const base = { id: id(2, g * RULES + r), remote_ip_prefix: null, remote_group_id: null } as const;
    if (r < 10) {
      rules.push({
        ...base,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 6,
        port_range_min: 1000 + r,
        port_range_max: 1000 + r,
        remote_ip_prefix: `10.${g}.${r}.0/24`,
      });
    } else if (r < 14) {
      rules.push({
        ...base,
        direction: 'ingress',
        ethertype: 'IPv6',
        protocol: 17,
        port_range_min: 2000 + r,
        port_range_max: 2100 + r,
        remote_ip_prefix: `fd00:${g.toString(16)}:${r}::/48`,
      });
    } else if (r < 17) {
      rules.push({
        ...base,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 1,
        port_range_min: r - 14,
        port_range_max: null,
      });
    } else if (r < 19) {
      rules.push({
        ...base,
        direction: 'egress',
        ethertype: r === 17 ? 'IPv4' : 'IPv6',
        protocol: null,
        port_range_min: null,
        port_range_max: null,
      });
    } else {
      // Every tenth group is like Neutron's default: it lets its own members in.
      rules.push(
        g % 10 === 0
          ? {
              ...base,
              direction: 'ingress',
              ethertype: 'IPv4',
              protocol: null,
              port_range_min: null,
              port_range_max: null,
              remote_group_id: sgId,
            }
          : {
              ...base,
              direction: 'ingress',
              ethertype: 'IPv4',
              protocol: 6,
              port_range_min: 22,
              port_range_max: 22,
              remote_ip_prefix: '192.0.2.0/24',
            },
      );
    }
  }
  return { id: sgId, revision: 1, stateful: true, rules };
}

/** Each port is in two groups (one when both picks coincide). */
function groupsOf(n: number): number[] {
  const a = n % GROUPS;
  const b = (n * 7 + 3) % GROUPS;
  return a === b ? [a] : [a, b];
}

function port(n: number): PortBinding {
  const portId = id(3, n);
  const net = n % NETWORKS;
  const ip = `10.${100 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
  return {
    port_id: portId,
    network_id: id(4, net),
    network_type: 'vlan',
    physnet: 'physnet1',
    segmentation_id: 100 + net,
    mtu: 1500,
    mac: `fa:16:3e:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`,
    fixed_ips: [{ subnet_id: id(5, net), ip_address: ip }],
    vif_type: 'vhostuser',
    vhostuser: { socket: `${VHOST_DIR}/${portId}`, mode: 'server' },
    tap: null,
    device_owner: 'compute:nova',
    admin_state_up: true,
    security_groups: groupsOf(n).map((g) => id(1, g)),
    port_security_enabled: true,
    allowed_address_pairs: [],
    revision: 1,
  };
}

function runUntilSynced(config: AgentConfig): Promise<{ agent: Agent; stats: ResyncStats; seconds: number }> {
  const agent = new Agent(config, { hostNet: new RecordingHostNet() });
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    agent.once('synced', (stats: ResyncStats) => {
      resolve({ agent, stats, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
    });
    agent.start();
  });
}

async function putBinding(store: Store, b: PortBinding): Promise<void> {
  await store.put(keys.portBinding(HOST, b.port_id), encodeValue(keys.portBinding(HOST, b.port_id), b));
}

/** Watches this host's port states; `until(ids, revision)` resolves when all are ready at it. */
async function watchStates(store: Store): Promise<{
  until(ids: string[], revision: number): Promise<void>;
  close(): Promise<void>;
}> {
  const states = new Map<string, PortState>();
  let check: () => void = () => {};
  const w = watchPrefixes(store, {
    prefixes: [keys.hostPortStates(HOST)],
    onEvent: (ev) => {
      if (ev.type === 'resync') {
        states.clear();
        for (const kv of ev.kvs) {
          const r = decodeValue('portState', kv.value);
          if (r.ok) states.set(kv.key.slice(kv.key.lastIndexOf('/') + 1), r.value);
        }
      } else if (ev.type === 'put') {
        const r = decodeValue('portState', ev.value);
        if (r.ok) states.set(ev.key.slice(ev.key.lastIndexOf('/') + 1), r.value);
      } else return;
      check();
    },
  });
  await w.ready;
  return {
    until: (ids, revision) =>
      new Promise<void>((resolve) => {
        check = () => {
          const done = ids.every((id) => {
            const s = states.get(id);
            return s?.ready === true && s.revision === revision;
          });
          if (done) {
            check = () => {};
            resolve();
          }
        };
        check();
      }),
    close: () => w.close(),
  };
}

/** A tap port bound next to `n` others, then a burst of changes to tap ports (timed). */
async function tapSteps(n: number, agent: Agent, store: Store, mode: string): Promise<void> {
  await agent.whenIdle();
  const extra: PortBinding = {
    ...port(n),
    vif_type: 'tap',
    vhostuser: null,
    tap: { host_ifname: 'tap' + id(3, n).slice(0, 11) },
    device_owner: 'network:dhcp',
  };
  const t0 = process.hrtime.bigint();
  await putBinding(store, extra);
  for (;;) {
    const { kv } = await store.get(keys.portState(HOST, extra.port_id));
    if (kv && (JSON.parse(kv.value) as { ready: boolean }).ready) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  console.log(`bind 1 port next to ${n}${mode}: ${msSince(t0).toFixed(0)} ms to ready`);

  // A burst of port changes. The host's VM ports are vhost-user, which are ready only once a guest
  // connects, so the burst changes tap ports bound for it beforehand (their binding is untimed):
  // a new allowed address pair each (a new MAC-IP ACL), written as separate puts at once, as a
  // controller flushing its queue would; until every one is ready at its new revision.
  const states = await watchStates(store);
  const burst = Array.from({ length: BURST }, (_, i): PortBinding => {
    const p = port(n + 1 + i);
    return { ...p, vif_type: 'tap', vhostuser: null, tap: { host_ifname: 'tap' + p.port_id.slice(0, 11) } };
  });
  await Promise.all(burst.map((b) => putBinding(store, b)));
  await states.until(
    burst.map((b) => b.port_id),
    1,
  );
  await agent.whenIdle();
  const changed = burst.map((b, i) => ({
    ...b,
    allowed_address_pairs: [{ ip_address: `192.168.${i}.1`, mac_address: b.mac }],
    revision: 2,
  }));
  const t1 = process.hrtime.bigint();
  await Promise.all(changed.map((b) => putBinding(store, b)));
  await states.until(
    changed.map((b) => b.port_id),
    2,
  );
  console.log(
    `${BURST} port changes in a burst next to ${n}${mode}: ${(msSince(t1) / 1000).toFixed(2)} s until all ready`,
  );
  await states.close();
}

async function benchSize(n: number, signed: boolean, connections: number): Promise<void> {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-bench-agent-'));
  const keyFiles = signed ? generateKeyFiles(dir, 'bench') : null;
  signer = keyFiles ? loadSigner(keyFiles.privateFile) : null;
  const mode = (signed ? ' (signed)' : '') + (CONNECTIONS.length > 1 ? `, ${connections} connection(s)` : '');
  let sim: SimProcess | null = null;
  const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  try {
    sim = real ? null : await startSimProcess();
    const socket = real ?? (sim as SimProcess).socket;
    const op = await VppClient.connect({ socket, name: 'bench-operator' });
    const uplink =
      (await op.dump(sw_interface_dump, { sw_if_index: 0xffffffff })).find(
        (d) => d.interface_name === 'loop0',
      ) ?? (await op.request(create_loopback_instance, { is_specified: true, user_instance: 0 }));
    void uplink;

    // A cloud whose driver has synced: the marker says etcd's desired state is complete.
    const marker = { at: new Date().toISOString(), neutron_rows: n + GROUPS, controller_id: 'bench' };
    const ops: WriteOp[] = [{ op: 'put', key: keys.syncMarker, value: encodeValue(keys.syncMarker, marker) }];
    for (let g = 0; g < GROUPS; g++) {
      const sg = group(g);
      ops.push({ op: 'put', key: keys.secGroup(sg.id), value: encodeValue(keys.secGroup(sg.id), sg) });
    }
    for (let i = 0; i < n; i++) {
      const p = port(i);
      ops.push({
        op: 'put',
        key: keys.portBinding(HOST, p.port_id),
        value: encodeValue(keys.portBinding(HOST, p.port_id), p),
      });
      for (const g of groupsOf(i)) {
        if (g % 10 !== 0) continue; // only the default-like groups are remote groups
        const sg = id(1, g);
        const k = keys.remoteGroupMember(sg, p.port_id);
        ops.push({
          op: 'put',
          key: k,
          value: encodeValue(k, { ips: p.fixed_ips.map((f) => f.ip_address), revision: 1 }),
        });
      }
    }
    await store.txnBatch(ops);

    const config: AgentConfig = {
      host: HOST,
      etcd: { endpoints: etcd.endpoints },
      vppSocket: socket,
      physnets: new Map([['physnet1', 'loop0']]),
      vhostUserDir: VHOST_DIR,
      tapBackend: 'tap',
      tapBackendSetting: 'tap',
      rxMode: RX_MODE,
      vppConnections: connections,
      logLevel: 'warn',
      health: null,
      configFile: null,
      verifier: keyFiles ? loadVerifier([keyFiles.publicFile]) : null,
    };
    if (real) {
      // A real VPP keeps what earlier runs made: an agent whose etcd binds nothing (and says it is
      // complete) removes every netvpp object first, so the cold run starts from an empty VPP.
      const emptyEtcd = await startEtcd();
      try {
        const m = { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'bench' };
        const clean = openStore({ endpoints: emptyEtcd.endpoints, namespace: PREFIX });
        await clean.put(keys.syncMarker, encodeValue(keys.syncMarker, m));
        clean.close();
        const cleared = await runUntilSynced({
          ...config,
          etcd: { endpoints: emptyEtcd.endpoints },
          verifier: null,
        });
        await cleared.agent.stop();
        console.log(`  (cleared VPP of earlier runs: ${fmt(cleared.stats.writes)} VPP writes)`);
      } finally {
        await emptyEtcd.destroy();
      }
    }
    const cold = await runUntilSynced(config);
    console.log(`cold ${n} ports${mode}: ${cold.seconds.toFixed(1)} s, ${fmt(cold.stats.calls)} VPP calls`);
    if (real)
      console.log(
        `  (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`,
      );
    const h = cold.agent.health();
    if (h.failing.length) console.log(`  (${h.failing.length} objects failing, e.g. ${h.failing[0].error})`);
    if (real) {
      const m = mappings((await op.request(control_ping, {})).vpe_pid);
      if (m) console.log(`  (VPP after the cold run: ${m})`);
    }

    if (!taps)
      console.log(
        '  (bind and burst steps skipped: they use tap ports, and this host has no /dev/vhost-net)',
      );
    // One more port on a busy host, once the agent is idle: etcd write → VPP → state key says ready.
    if (taps) await tapSteps(n, cold.agent, store, mode);

    // A rule added to a group ~2 % of the ports use: until VPP's ACL holds it.
    await cold.agent.whenIdle();

    const sg = group(1);
    const tag = `netvpp:sg:${sg.id}:ingress`;
    const before = (await op.dump(acl_dump, { acl_index: 0xffffffff })).find((a) => a.tag === tag);
    if (!before) throw new Error(`no ACL ${tag} in VPP`);
    const updated: SecurityGroup = {
      ...sg,
      revision: 2,
      rules: [
        ...sg.rules,
        {
          id: id(6, 1),
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol: 6,
          port_range_min: 8080,
          port_range_max: 8080,
          remote_ip_prefix: '198.51.100.0/24',
          remote_group_id: null,
        },
      ],
    };
    const t2 = process.hrtime.bigint();
    await store.put(keys.secGroup(sg.id), encodeValue(keys.secGroup(sg.id), updated));
    for (;;) {
      const now: AclDetails[] = await op.dump(acl_dump, { acl_index: before.acl_index });
      if (now[0] && now[0].count > before.count) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    console.log(`SG rule change next to ${n} ports${mode}: ${msSince(t2).toFixed(0)} ms until VPP updated`);
    await op.close();
    await cold.agent.stop();

    const warm = await runUntilSynced(config);
    console.log(
      `warm ${n} ports${mode}: ${warm.seconds.toFixed(1)} s, ${fmt(warm.stats.writes)} VPP writes (${fmt(warm.stats.calls)} calls)`,
    );
    await warm.agent.stop();
  } finally {
    store.close();
    await sim?.stop();
    await etcd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `target: ${real ? `VPP at ${real}` : 'simulator (child process)'}; ${GROUPS} security groups × ${RULES} rules, ${NETWORKS} VLAN networks; rx_mode ${RX_MODE}`,
);
for (const n of SIZES) {
  for (const k of CONNECTIONS) {
    if (SIGNED !== '1') await benchSize(n, false, k);
    if (SIGNED !== '0') await benchSize(n, true, k);
  }
}
