// An agent's world for scenario tests: a real etcd (started on loopback), a VPP (the simulator, or a
// real VPP when NETVPP_TEST_VPP_SOCKET names one) with an "operator" who made the uplink, and agents
// started and stopped at will. Everything started here is stopped by stop().
import { Agent, type AgentOptions } from '../../../src/agent/agent.ts';
import type { AgentConfig } from '../../../src/agent/config.ts';
import { RecordingHostNet } from '../../../src/agent/host-net.ts';
import {
  decodeValue,
  encodeValue as encodePlain,
  keys,
  PREFIX,
  type PortBinding,
  type PortState,
  type SecurityGroup,
} from '../../../src/model/keyspace.ts';
import {
  openStore,
  startEtcd,
  watchPrefixes,
  type EtcdProcess,
  type Store,
} from '../../../src/store/index.ts';
import {
  create_loopback_instance,
  sw_interface_dump,
  type SwInterfaceDetails,
} from '../../../src/vpp/binapi/index.ts';
import type { SimOptions } from '../../../src/sim/index.ts';
import type { Signer } from '../../../src/model/signing.ts';
import { VppClient } from '../../../src/vpp/client.ts';
import { REAL_VPP_SOCKET, vppTarget, type VppTarget } from '../../helpers/vpp.ts';
import { VHOST_DIR } from './fixtures.ts';

export const UPLINK = 'loop0';

/**
 * Scenario suites need the simulator: guests connect to vhost-user sockets through it, and faults
 * (crash, failed calls) are injected with it. Against a real VPP they are skipped with this reason.
 */
export const SIM_ONLY: string | false = REAL_VPP_SOCKET
  ? 'needs the simulator (vhost-user guests, fault injection); NETVPP_TEST_VPP_SOCKET is set'
  : false;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` until true (a throw counts as false); the limit only bounds a hang. */
export async function waitFor<T>(
  what: string,
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  limitMs = 20000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: last });
    await sleep(20);
  }
}

/** One compute node's VPP, with the operator's own connection to it. */
export interface Node {
  vpp: VppTarget;
  /** The operator's VPP connection (makes the uplink, inspects VPP). */
  operator: VppClient;
}

export interface World {
  etcd: EtcdProcess;
  store: Store;
  /** compute1's VPP (the simulator, or the real VPP of NETVPP_TEST_VPP_SOCKET). */
  vpp: VppTarget;
  operator: VppClient;
  /**
   * The VPP of another host (a further simulator, built with `sim`, e.g. without a plugin); throws
   * with a real VPP, which is one host only.
   */
  node(host: string, sim?: Omit<SimOptions, 'socket'>): Promise<Node>;
  hostNet: RecordingHostNet;
  agents: Agent[];
  config(host?: string, over?: Partial<AgentConfig>): AgentConfig;
  startAgent(host?: string, over?: Partial<AgentConfig>, opts?: AgentOptions): Agent;
  stopAgent(a: Agent): Promise<void>;
  /** Creates the uplink (loop0) as the operator would; after a VPP restart too. */
  makeUplink(host?: string): Promise<number>;
  /** Writes meta/synced as a controller does after a full sync (now, or at `at`). */
  markSynced(at?: Date): Promise<void>;
  /** Deletes meta/synced (what a wiped etcd or a controller finding etcd went back in time leaves). */
  unmarkSynced(): Promise<void>;
  bind(host: string, b: PortBinding): Promise<void>;
  /** Binds each port and lists its fixed IPs as a member of `sgId`, as a controller would. */
  bindAsMembers(host: string, sgId: string, ports: PortBinding[]): Promise<void>;
  unbind(host: string, portId: string): Promise<void>;
  /** Binds a port on an overlay network and publishes it to the network's other hosts, as a controller would. */
  bindOverlay(host: string, b: PortBinding): Promise<void>;
  unbindOverlay(host: string, b: PortBinding): Promise<void>;
  putGroup(sg: SecurityGroup): Promise<void>;
  deleteGroup(sgId: string): Promise<void>;
  putMember(sgId: string, portId: string, ips: string[]): Promise<void>;
  deleteMember(sgId: string, portId: string): Promise<void>;
  portState(host: string, portId: string): Promise<PortState | undefined>;
  waitReady(host: string, portId: string, revision?: number): Promise<PortState>;
  waitState(
    host: string,
    portId: string,
    what: string,
    pred: (s: PortState | undefined) => boolean,
  ): Promise<PortState | undefined>;
  /** Every value the port's state key takes from now on (a watch, so short-lived states are seen too). */
  recordStates(host: string, portId: string): { values: PortState[]; stop(): Promise<void> };
  /** The VPP interface of a port (by its netvpp tag), if any. */
  portInterface(portId: string, host?: string): Promise<SwInterfaceDetails | undefined>;
  /** A guest (QEMU) connects to the port's vhost-user socket; retried until the interface exists. */
  connectGuest(b: PortBinding, host?: string): Promise<void>;
  stop(): Promise<void>;
}

/** The incremental path of the agent agreed with a full compile → diff → readiness at every pass. */
function assertVerified(a: Agent): void {
  if (a.verifyFailures.length > 0)
    throw new Error(`incremental pass differed from a full one: ${a.verifyFailures.join(' | ')}`);
}

async function makeUplink(operator: VppClient): Promise<number> {
  // Right after a VPP restart the old connection may not have noticed yet: reconnect until it works.
  const all = await waitFor('the operator connected to VPP', async () => {
    if (!operator.connected) await operator.reconnect();
    return await operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
  });
  const existing = all.find((d) => d.interface_name === UPLINK);
  if (existing) return existing.sw_if_index;
  const r = await operator.request(create_loopback_instance, {
    mac_address: '02:fe:00:00:00:01',
    is_specified: true,
    user_instance: 0,
  });
  return r.sw_if_index;
}

async function startNode(sim: Omit<SimOptions, 'socket'> = {}): Promise<Node> {
  const vpp = await vppTarget(sim);
  const operator = await VppClient.connect({ socket: vpp.socket, name: 'operator' });
  await makeUplink(operator);
  return { vpp, operator };
}

/** `signer`: desired state is written signed with it, as a controller with a signing key does. */
export async function startWorld(opts: { signer?: Signer } = {}): Promise<World> {
  const signer = opts.signer;
  const encodeValue = (key: string, value: unknown): string => {
    const plain = encodePlain(key, value);
    return signer ? signer.seal(key, plain) : plain;
  };
  const etcd = await startEtcd();
  const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  const first = await startNode();
  const nodes = new Map<string, Node>([['compute1', first]]);
  const hostNet = new RecordingHostNet();
  const agents: Agent[] = [];
  const nodeOf = (host: string): Node => {
    const n = nodes.get(host);
    if (!n) throw new Error(`no VPP for ${host}: call world.node('${host}') first`);
    return n;
  };

  const w: World = {
    etcd,
    store,
    vpp: first.vpp,
    operator: first.operator,
    hostNet,
    agents,
    async node(host, sim) {
      const n = nodes.get(host);
      if (n) return n;
      if (REAL_VPP_SOCKET) throw new Error('a second host needs a second VPP: only with the simulator');
      const created = await startNode(sim);
      nodes.set(host, created);
      return created;
    },
    config(host = 'compute1', over = {}) {
      return {
        host,
        etcd: { endpoints: etcd.endpoints },
        vppSocket: nodeOf(host).vpp.socket,
        physnets: new Map([['physnet1', UPLINK]]),
        vhostUserDir: VHOST_DIR,
        tapBackend: 'tap',
        tapBackendSetting: 'tap',
        logLevel: 'warn',
        health: null,
        configFile: null,
        ...over,
      };
    },
    startAgent(host = 'compute1', over = {}, opts = {}) {
      const a = new Agent(w.config(host, over), {
        hostNet,
        backoff: { minMs: 50, maxMs: 500 },
        vppRetryMinMs: 20,
        vppRetryMaxMs: 200,
        livenessTtlSec: 5,
        groupDropAfterMs: 200,
        // Every incremental pass is checked against a full compile, diff and readiness.
        verify: true,
        ...opts,
      });
      agents.push(a);
      a.start();
      return a;
    },
    async stopAgent(a) {
      agents.splice(agents.indexOf(a), 1);
      await a.stop();
      assertVerified(a);
    },
    makeUplink(host = 'compute1') {
      return makeUplink(nodeOf(host).operator);
    },
    async markSynced(at = new Date()) {
      const marker = { at: at.toISOString(), neutron_rows: 0, controller_id: 'test' };
      await store.put(keys.syncMarker, encodeValue(keys.syncMarker, marker));
    },
    async unmarkSynced() {
      await store.delete(keys.syncMarker);
    },
    async bind(host, b) {
      await store.put(keys.portBinding(host, b.port_id), encodeValue(keys.portBinding(host, b.port_id), b));
    },
    async bindAsMembers(host, sgId, ports) {
      for (const p of ports) {
        await w.bind(host, p);
        await w.putMember(
          sgId,
          p.port_id,
          p.fixed_ips.map((f) => f.ip_address),
        );
      }
    },
    async unbind(host, portId) {
      await store.delete(keys.portBinding(host, portId));
    },
    async bindOverlay(host, b) {
      const k = keys.overlayPort(b.network_id, b.port_id);
      const entry = { host, mac: b.mac, ips: b.fixed_ips.map((f) => f.ip_address), revision: b.revision };
      await store.txnBatch([
        {
          op: 'put',
          key: keys.portBinding(host, b.port_id),
          value: encodeValue(keys.portBinding(host, b.port_id), b),
        },
        { op: 'put', key: k, value: encodeValue(k, entry) },
      ]);
    },
    async unbindOverlay(host, b) {
      await store.txnBatch([
        { op: 'delete', key: keys.portBinding(host, b.port_id) },
        { op: 'delete', key: keys.overlayPort(b.network_id, b.port_id) },
      ]);
    },
    async putGroup(sg) {
      await store.put(keys.secGroup(sg.id), encodeValue(keys.secGroup(sg.id), sg));
    },
    async deleteGroup(sgId) {
      await store.delete(keys.secGroup(sgId));
    },
    async putMember(sgId, portId, ips) {
      const k = keys.remoteGroupMember(sgId, portId);
      await store.put(k, encodeValue(k, { ips, revision: 1 }));
    },
    async deleteMember(sgId, portId) {
      await store.delete(keys.remoteGroupMember(sgId, portId));
    },
    async portState(host, portId) {
      const { kv } = await store.get(keys.portState(host, portId));
      if (!kv) return undefined;
      const r = decodeValue('portState', kv.value);
      if (!r.ok) throw new Error(`bad port state: ${kv.value}`);
      return r.value;
    },
    async waitReady(host, portId, revision) {
      let last: PortState | undefined;
      try {
        return await waitFor(
          `port ${portId} ready${revision !== undefined ? ` at revision ${revision}` : ''}`,
          async () => {
            const s = (last = await w.portState(host, portId));
            return s?.ready && (revision === undefined || s.revision === revision) ? s : undefined;
          },
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}; last state: ${JSON.stringify(last)}`);
      }
    },
    async waitState(host, portId, what, pred) {
      let last: PortState | undefined;
      await waitFor(what, async () => {
        last = await w.portState(host, portId);
        return pred(last);
      });
      return last;
    },
    recordStates(host, portId) {
      const values: PortState[] = [];
      const watcher = watchPrefixes(store, {
        prefixes: [keys.portState(host, portId)],
        onEvent: (ev) => {
          if (ev.type !== 'put') return;
          const r = decodeValue('portState', ev.value);
          if (r.ok) values.push(r.value);
        },
      });
      return { values, stop: () => watcher.close() };
    },
    async portInterface(portId, host = 'compute1') {
      const all = await nodeOf(host).operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
      return all.find((d) => d.tag === `netvpp:port:${portId}`);
    },
    async connectGuest(b, host = 'compute1') {
      const sim = nodeOf(host).vpp.sim;
      if (!sim || !b.vhostuser) return;
      await waitFor(`vhost-user interface of ${b.port_id}`, () =>
        sim.connectGuest(b.vhostuser?.socket ?? ''),
      );
    },
    async stop() {
      for (const a of [...agents]) await a.stop();
      for (const n of nodes.values()) {
        await n.operator.close();
        await n.vpp.stop();
      }
      store.close();
      await etcd.destroy();
      // Last, so that a failure still stops everything.
      for (const a of agents) assertVerified(a);
    },
  };
  // As in a cloud whose driver has synced: etcd's desired state is complete, deletions go ahead.
  await w.markSynced();
  return w;
}
