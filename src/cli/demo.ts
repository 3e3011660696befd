/**
 * `netvpp demo`: netvpp's main job on an embedded default. Starts a local etcd, the controller and
 * one agent per host (each on its own VPP simulator, or on the real VPP at /run/vpp/api.sock for
 * the first host when one is running), then plays what Neutron would send: a VLAN network, a
 * security group and a VM port bound to compute1 — and shows the port going ready and what VPP
 * now holds. Without --once it keeps running until Ctrl-C.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startEtcd, openStore } from '../store/index.ts';
import type { Sim } from '../sim/index.ts';
import { startAgent } from '../agent/run.ts';
import { keys, PREFIX, decodeValue } from '../model/keyspace.ts';
import { logger, setLogLevel } from '../util/log.ts';
import { DEFAULT_SOCKET, VppClient } from '../vpp/client.ts';
import { showVpp } from './vpp-show.ts';
import { DEMO_UPLINK, startLocalController, startSimNode } from './stack.ts';
import { neutronDemoUnavailableReason, runNeutronDemo } from './demo-neutron.ts';
const HOSTS = ['compute1', 'compute2'];

async function realVppAvailable(): Promise<boolean> {
  if (!existsSync(DEFAULT_SOCKET)) return false;
  try {
    const c = await VppClient.connect({ socket: DEFAULT_SOCKET, connectTimeoutMs: 1000 });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const j = (await r.json()) as Record<string, unknown>;
  if (!r.ok) throw new Error(`${url}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

/** With Neutron installed (and NETVPP_DEMO_NEUTRON not 0) the demo drives real Neutron. */
export async function runDemo(opts: { once: boolean }): Promise<void> {
  const why =
    process.env.NETVPP_DEMO_NEUTRON === '0' ? 'NETVPP_DEMO_NEUTRON=0' : neutronDemoUnavailableReason();
  if (why === null) return runNeutronDemo(opts);
  console.log(`netvpp demo: without Neutron (${why}); playing the ML2 driver's journal rows instead`);
  return runJournalDemo(opts);
}

async function runJournalDemo(opts: { once: boolean }): Promise<void> {
  setLogLevel((process.env.NETVPP_LOG_LEVEL as 'info' | undefined) ?? 'warn');
  const log = logger('demo');
  const say = (s: string): void => console.log(`netvpp demo: ${s}`);
  const work = mkdtempSync(join(tmpdir(), 'netvpp-demo-'));
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const c of cleanups.reverse())
      await c().catch((e: unknown) => log.warn('cleanup failed', { error: e }));
    rmSync(work, { recursive: true, force: true });
  };
  try {
    const etcd = await startEtcd({ dataDir: join(work, 'etcd') });
    cleanups.push(() => etcd.destroy());
    say(`etcd ${etcd.endpoints.join(',')} (pid ${etcd.pid})`);

    const controller = await startLocalController(etcd.endpoints);
    cleanups.push(() => controller.stop());
    say(`controller ${controller.url} (leader); dashboard ${controller.url}/dashboard`);
    say('each simulated host attaches a stand-in guest to every vhost-user socket, as QEMU would');

    const useReal = await realVppAvailable();
    const sims = new Map<string, Sim>();
    const vhostDirs = new Map<string, string>();
    for (const [i, host] of HOSTS.entries()) {
      if (i === 0 && useReal) {
        // The operator's VPP: the uplink must exist there under DEMO_UPLINK's name.
        const vhostDir = join(work, `${host}-vhost`);
        mkdirSync(vhostDir, { recursive: true });
        const agent = await startAgent({
          host,
          etcd: { endpoints: etcd.endpoints },
          vppSocket: DEFAULT_SOCKET,
          physnets: new Map([['physnet1', DEMO_UPLINK]]),
          vhostUserDir: vhostDir,
          tapBackend: 'tap',
          tapBackendSetting: 'tap',
          logLevel: 'warn',
          health: null,
          configFile: null,
        });
        cleanups.push(() => agent.stop());
        vhostDirs.set(host, vhostDir);
        say(`${host}: agent on the real VPP at ${DEFAULT_SOCKET}`);
        continue;
      }
      const node = await startSimNode({
        host,
        etcdEndpoints: etcd.endpoints,
        dir: join(work, host),
        health: true,
      });
      cleanups.push(() => node.stop());
      sims.set(host, node.sim);
      vhostDirs.set(host, node.vhostDir);
      const health = node.agent.health ? `, health http://127.0.0.1:${node.agent.health.port}/health` : '';
      say(`${host}: agent on a VPP simulator at ${node.sim.socket} (uplink ${DEMO_UPLINK})${health}`);
    }

    // What the ML2 driver would forward from Neutron.
    const net = randomUUID();
    const sg = randomUUID();
    const port = randomUUID();
    const host = HOSTS[0];
    const socketPath = join(vhostDirs.get(host) as string, `vhu${port.slice(0, 11)}`);
    const rows = [
      {
        id: 1,
        resource: 'network',
        op: 'create',
        resource_id: net,
        revision: 1,
        data: {
          id: net,
          name: 'demo-net',
          mtu: 1500,
          revision_number: 1,
          'provider:network_type': 'vlan',
          'provider:physical_network': 'physnet1',
          'provider:segmentation_id': 100,
        },
      },
      {
        id: 2,
        resource: 'security_group',
        op: 'create',
        resource_id: sg,
        revision: 1,
        data: {
          id: sg,
          name: 'web',
          stateful: true,
          revision_number: 1,
          security_group_rules: [
            {
              id: randomUUID(),
              direction: 'ingress',
              ethertype: 'IPv4',
              protocol: 'tcp',
              port_range_min: 22,
              port_range_max: 22,
              remote_ip_prefix: '0.0.0.0/0',
              remote_group_id: null,
            },
            {
              id: randomUUID(),
              direction: 'egress',
              ethertype: 'IPv4',
              protocol: null,
              port_range_min: null,
              port_range_max: null,
              remote_ip_prefix: null,
              remote_group_id: null,
            },
          ],
        },
      },
      {
        id: 3,
        resource: 'port',
        op: 'create',
        resource_id: port,
        revision: 3,
        data: {
          id: port,
          name: 'vm1-eth0',
          network_id: net,
          mac_address: 'fa:16:3e:12:34:56',
          fixed_ips: [{ subnet_id: randomUUID(), ip_address: '10.0.0.5' }],
          device_owner: 'compute:nova',
          device_id: 'vm1',
          admin_state_up: true,
          status: 'DOWN',
          security_groups: [sg],
          port_security_enabled: true,
          allowed_address_pairs: [],
          'binding:host_id': host,
          'binding:vif_type': 'vhostuser',
          'binding:vnic_type': 'normal',
          'binding:vif_details': { vhostuser_socket: socketPath, vhostuser_mode: 'server' },
          'netvpp:bound': true,
          'netvpp:network': {
            id: net,
            network_type: 'vlan',
            physical_network: 'physnet1',
            segmentation_id: 100,
            mtu: 1500,
          },
          revision_number: 3,
        },
      },
    ];
    // As the driver does when it starts: a full sync (here: an empty Neutron), then the journal.
    await post(`${controller.url}/v1/sync`, { networks: [], ports: [], security_groups: [] });
    const t0 = Date.now();
    const reply = await post(`${controller.url}/v1/journal`, { rows });
    say(
      `journal: ${JSON.stringify(reply)} (network VLAN 100, security group "web", port vm1-eth0 on ${host})`,
    );

    const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    cleanups.push(async () => store.close());
    const stateKey = keys.portState(host, port);
    for (;;) {
      const { kv } = await store.get(stateKey);
      const st = kv ? decodeValue('portState', kv.value) : null;
      if (st?.ok && st.value.ready) {
        say(`port vm1-eth0 READY on ${host} after ${Date.now() - t0} ms (revision ${st.value.revision})`);
        break;
      }
      if (st?.ok && st.value.error) say(`port state: ${st.value.error}`);
      if (Date.now() - t0 > 30_000) throw new Error('the port did not become ready within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await showVpp(sims.get(host)?.socket ?? DEFAULT_SOCKET, (l) => console.log(`  ${l}`));
    if (opts.once) return;
    say('stack running; Ctrl-C stops it');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    await stopAll();
  }
}
