// The bench the veth-backed real-VPP dataplane tests share (trunk, VLAN hopping, QoS): network
// namespaces as VMs and a "wire", an uplink veth whose VPP end is an af_packet interface (the
// physnet's uplink) and whose other end is in the wire namespace, an etcd of its own, a VPP API
// connection for the test, the sync marker written, and the agent (tap ports veth-backed). `close`
// undoes all of it, whatever was made. Also: a listener run in a namespace (a python script that
// prints "ready", then one JSON document when done).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { encodeValue, keys, PREFIX, type PortBinding } from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { af_packet_create_v3, af_packet_delete } from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { vethAgent } from './agent.ts';
import { sh } from './shell.ts';

export interface LabOptions {
  /** The agent's host name (its etcd keys). */
  host: string;
  /** The test's VPP API client name. */
  client: string;
  /** Every namespace the test uses, the wire's included; made fresh, deleted at the end. */
  namespaces: string[];
  /** The wire: the uplink's far end `peer` goes into namespace `ns`, up. */
  wire: { ns: string; peer: string };
  /** The uplink veth's VPP end (physnet1's interface is host-<uplink>). */
  uplink: string;
  /** Scripts written into the lab's directory, by file name. */
  files?: Record<string, string>;
}

export interface Lab {
  store: Store;
  /** The test's own connection to VPP. */
  op: VppClient;
  /** The running agent, if any. */
  agent: Agent | undefined;
  /** A temporary directory (vhost-user sockets, the scripts of `files`). */
  dir: string;
  etcd: EtcdProcess;
  /** The uplink's sw_if_index in VPP. */
  uplinkIndex: number;
  /** Writes `value` to etcd at `key`, encoded as that key's schema wants. */
  put(key: string, value: unknown): Promise<void>;
  /** Writes a port's binding on the lab's host. */
  bind(p: PortBinding): Promise<void>;
  /** Resolves once the agent reports the port ready (at `revision`, when given). */
  ready(p: PortBinding, revision?: number): Promise<void>;
  /** Starts an agent (the previous one must be stopped). */
  startAgent(): Agent;
  /** Stops the agent, if one runs. */
  stopAgent(): Promise<void>;
  close(): Promise<void>;
}

/** Sets the lab up; on a failure half-way it is undone and the error thrown. */
export async function vethLab(o: LabOptions): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), `netvpp-${o.client}-`));
  for (const [name, text] of Object.entries(o.files ?? {})) writeFileSync(join(dir, name), text);
  let etcd: EtcdProcess | undefined;
  let store: Store | undefined;
  let op: VppClient | undefined;
  let uplinkIndex = -1;
  const lab: Partial<Lab> & { agent: Agent | undefined } = { agent: undefined, dir };
  const close = async () => {
    try {
      await lab.agent?.stop();
      lab.agent = undefined;
    } finally {
      if (op?.connected) {
        if (uplinkIndex >= 0)
          await op.request(af_packet_delete, { host_if_name: o.uplink }).catch(() => undefined);
        await op.close();
      }
      for (const ns of o.namespaces) sh(`ip netns del ${ns}`, true);
      sh(`ip link del ${o.uplink}`, true);
      store?.close();
      await etcd?.destroy();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    for (const ns of o.namespaces) sh(`ip netns del ${ns}`, true);
    sh(`ip link del ${o.uplink}`, true);
    for (const ns of o.namespaces) sh(`ip netns add ${ns}`);
    sh(`ip link add ${o.uplink} type veth peer name ${o.wire.peer}`);
    sh(
      `ip link set ${o.wire.peer} netns ${o.wire.ns} && ip netns exec ${o.wire.ns} ip link set ${o.wire.peer} up`,
    );
    sh(`ip link set ${o.uplink} up`);
    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    op = await VppClient.connect({ socket: REAL_VPP_SOCKET, name: o.client });
    uplinkIndex = (
      await op.request(af_packet_create_v3, {
        mode: 1,
        host_if_name: o.uplink,
        use_random_hw_addr: true,
        rx_frame_size: 2048,
        tx_frame_size: 2048,
        rx_frames_per_block: 32,
        tx_frames_per_block: 32,
      })
    ).sw_if_index;
    const marker = { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' };
    await store.put(keys.syncMarker, encodeValue(keys.syncMarker, marker));
  } catch (e) {
    await close();
    throw e;
  }
  const s = store;
  const e = etcd;
  const put = async (key: string, value: unknown): Promise<void> => {
    await s.put(key, encodeValue(key, value as never));
  };
  const startAgent = (): Agent => {
    if (lab.agent) throw new Error('an agent is running already');
    const a = vethAgent({
      host: o.host,
      endpoints: e.endpoints,
      vppSocket: REAL_VPP_SOCKET,
      physnets: new Map([['physnet1', `host-${o.uplink}`]]),
      vhostUserDir: dir,
    });
    a.start();
    lab.agent = a;
    return a;
  };
  return Object.assign(lab, {
    store: s,
    op,
    etcd: e,
    uplinkIndex,
    put,
    bind: (p: PortBinding) => put(keys.portBinding(o.host, p.port_id), p),
    ready: async (p: PortBinding, revision?: number) => {
      await waitFor(
        `port ${p.port_id} ready${revision === undefined ? '' : ` at revision ${revision}`}`,
        async () => {
          const { kv } = await s.get(keys.portState(o.host, p.port_id));
          const st = kv ? (JSON.parse(kv.value) as { ready: boolean; revision: number }) : undefined;
          return st?.ready === true && (revision === undefined || st.revision === revision);
        },
        60_000,
      );
    },
    startAgent,
    stopAgent: async () => {
      const a = lab.agent;
      lab.agent = undefined;
      await a?.stop();
    },
    close,
  }) as Lab;
}

/**
 * Runs `python3 <script> ...args` in namespace `ns`; resolves once it prints "ready" and gives a
 * function that waits for its end and returns the JSON it printed after that.
 */
export async function listen<T>(ns: string, script: string, args: string[]): Promise<() => Promise<T>> {
  const c = spawn('ip', ['netns', 'exec', ns, 'python3', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  c.stdout.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number | null>((res) => c.on('close', res));
  await waitFor(`a listener in ${ns}`, () => out.startsWith('ready\n') || err !== '', 10_000);
  if (err) throw new Error(`listener in ${ns}: ${err}`);
  return async () => {
    if ((await done) !== 0) throw new Error(`listener in ${ns}: ${err}`);
    return JSON.parse(out.slice('ready\n'.length)) as T;
  };
}
