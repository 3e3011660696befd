/**
 * `netvpp demo` with Neutron: the whole local stack — etcd, the controller, one compute node
 * (an agent on a VPP simulator whose NIC GigabitEthernet0/8/0 carries physnet1), MariaDB and
 * neutron-server with the netvpp ML2 driver (scripts/neutron/start.sh) — then the `openstack` CLI
 * creates a VLAN network, a subnet, a security group with an SSH rule and a port bound to compute1,
 * and the demo shows the port going ACTIVE and what VPP now holds. Needs Neutron's Debian packages
 * (scripts/neutron/install.sh); `neutronDemoUnavailableReason()` says whether they are there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeValue, keys, PREFIX } from '../model/keyspace.ts';
import { openStore, startEtcd } from '../store/index.ts';
import { setLogLevel, type Level } from '../util/log.ts';
import { sleep } from '../util/wait.ts';
import { startLocalController, startSimNode, Teardown, waitHostAlive } from './stack.ts';
import { showVpp } from './vpp-show.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NEUTRON_SCRIPTS = join(REPO_ROOT, 'scripts', 'neutron');
/** Debian's interpreter: a pyenv or venv python first on PATH has no Neutron. */
const PYTHON = '/usr/bin/python3';
const OPENSTACK = '/usr/bin/openstack';
const HOST = 'compute1';
const VLAN = 100;

/** Why the Neutron demo cannot run on this machine, or null when it can. */
export function neutronDemoUnavailableReason(): string | null {
  const fix = 'run scripts/neutron/install.sh as root';
  for (const bin of [
    PYTHON,
    OPENSTACK,
    '/usr/sbin/mariadbd',
    '/usr/bin/mariadb-install-db',
    '/usr/bin/mariadb',
  ]) {
    if (!existsSync(bin)) return `${bin} is missing (${fix})`;
  }
  // Neutron loads mechanism drivers by entry point: the driver must be installed, not only importable.
  const probe =
    'import neutron, networking_netvpp\n' +
    'from importlib.metadata import entry_points\n' +
    "assert any(e.name == 'netvpp' for e in entry_points(group='neutron.ml2.mechanism_drivers')), 'no netvpp entry point'\n";
  const r = spawnSync(PYTHON, ['-c', probe], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, PYTHONPATH: join(REPO_ROOT, 'neutron') },
  });
  if (r.status !== 0) {
    const last = (r.stderr || r.error?.message || '').trim().split('\n').pop();
    return `neutron-server or the networking-netvpp driver is not installed for ${PYTHON} (${last}; ${fix})`;
  }
  return null;
}

/** `preferred` when nothing listens on it, else a free loopback port. */
function loopbackPort(preferred = 0): Promise<number> {
  const tryPort = (p: number): Promise<number | null> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(null));
      srv.listen(p, '127.0.0.1', () => {
        const addr = srv.address();
        const port = typeof addr === 'object' && addr ? addr.port : null;
        srv.close(() => resolve(port));
      });
    });
  return tryPort(preferred).then(async (p) => p ?? ((await tryPort(0)) as number));
}

const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/**
 * Runs a script of scripts/neutron/, its output indented under the demo's (without its hint on how to
 * stop: the demo stops what it started); `quiet` shows the output only when the script fails.
 */
function runScript(name: string, env: NodeJS.ProcessEnv, quiet = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(NEUTRON_SCRIPTS, name), [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let held = '';
    const show = (b: Buffer): void => {
      if (quiet) held += b.toString();
      else
        for (const line of b.toString().split('\n'))
          if (line && !/^\s*stop:/.test(line)) console.log(`  ${line}`);
    };
    child.stdout.on('data', show);
    child.stderr.on('data', show);
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      if (code === 0) return resolve();
      reject(new Error(`scripts/neutron/${name} failed (${code ?? sig})${held ? `:\n${indent(held)}` : ''}`));
    });
  });
}

/** The openstack CLI against a noauth Neutron; the command is echoed as a user would type it. */
function openstackCli(endpoint: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OS_')) env[k] = v;
  return (args: string[], opts: { echo?: boolean } = {}): Promise<string> => {
    if (opts.echo !== false) console.log(`\n$ openstack ${args.map(shellWord).join(' ')}`);
    return new Promise((resolve, reject) => {
      const child = spawn(OPENSTACK, ['--os-auth-type', 'none', '--os-endpoint', endpoint, ...args], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0
          ? resolve(out)
          : reject(new Error(`openstack ${args.join(' ')}: ${err.trim() || out.trim()}`)),
      );
    });
  };
}

function shellWord(w: string): string {
  return /^[\w./:=@,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** Runs the demo with real Neutron; the caller has checked neutronDemoUnavailableReason(). */
export async function runNeutronDemo(opts: { once: boolean }): Promise<void> {
  setLogLevel((process.env.NETVPP_LOG_LEVEL as Level | undefined) ?? 'warn');
  const say = (s: string): void => console.log(`netvpp demo: ${s}`);
  const work = mkdtempSync(join(tmpdir(), 'netvpp-demo-neutron-'));
  // Ctrl-C stops etcd at once (it shares the terminal's process group, and the etcd helper kills it
  // on SIGINT too): what the agent and controller would say about that while stopping is noise.
  const teardown = new Teardown((m) => say(m), { onSignal: () => setLogLevel('error') });
  teardown.add('the work directory', async () => rmSync(work, { recursive: true, force: true }));
  try {
    const etcd = await startEtcd({ dataDir: join(work, 'etcd') });
    teardown.add('etcd', () => etcd.destroy());
    say(`etcd ${etcd.endpoints.join(',')} (pid ${etcd.pid})`);
    teardown.check();

    const controller = await startLocalController(etcd.endpoints);
    teardown.add('the controller', () => controller.stop());
    say(`controller ${controller.url} (leader)`);
    teardown.check();

    const node = await startSimNode({
      host: HOST,
      etcdEndpoints: etcd.endpoints,
      dir: join(work, HOST),
      health: true,
    });
    teardown.add(`${HOST} (agent and VPP simulator)`, () => node.stop());
    await waitHostAlive(controller.url, HOST);
    const health = node.agent.health ? `, health http://127.0.0.1:${node.agent.health.port}/health` : '';
    say(`${HOST}: agent on a VPP simulator (${node.sim.socket}), physnet1 on GigabitEthernet0/8/0${health}`);
    teardown.check();

    // Neutron on its usual port when that is free, so the usual OS_ENDPOINT works.
    const apiPort = await loopbackPort(9696);
    const neutronEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NETVPP_NEUTRON_WORK: join(work, 'neutron'),
      NEUTRON_PORT: String(apiPort),
      NEUTRON_DB_PORT: String(await loopbackPort()),
      NETVPP_CONTROLLER_URL: controller.url,
      NETVPP_VHOST_DIR: node.vhostDir,
    };
    const endpoint = `http://127.0.0.1:${apiPort}`;
    say('starting MariaDB and neutron-server with the netvpp ML2 driver (scripts/neutron/start.sh)');
    // stop.sh also cleans up after a start.sh that failed half-way (it reads the recorded PIDs)
    teardown.add('neutron-server and MariaDB', () => runScript('stop.sh', neutronEnv, true));
    await runScript('start.sh', neutronEnv);
    teardown.check();

    const openstack = openstackCli(endpoint);
    say(
      `Neutron at ${endpoint}; every command below runs as \`openstack --os-auth-type none --os-endpoint ${endpoint} ...\``,
    );
    const json = async (args: string[]): Promise<Record<string, unknown>> =>
      JSON.parse(await openstack([...args, '-f', 'json'])) as Record<string, unknown>;

    const net = await json([
      'network', 'create', '--provider-network-type', 'vlan', '--provider-physical-network', 'physnet1',
      '--provider-segment', String(VLAN), 'demo-net',
    ]); // prettier-ignore
    console.log(
      `  network ${String(net.id)}: ${String(net['provider:network_type'])} ${String(net['provider:segmentation_id'])} on ${String(net['provider:physical_network'])}`,
    );
    const subnet = await json([
      'subnet',
      'create',
      '--network',
      'demo-net',
      '--subnet-range',
      '10.0.0.0/24',
      'demo-subnet',
    ]);
    console.log(
      `  subnet ${String(subnet.id)}: ${String(subnet.cidr)}, gateway ${String(subnet.gateway_ip)}`,
    );
    const sg = await json(['security', 'group', 'create', 'demo-sg']);
    console.log(`  security group ${String(sg.id)}`);
    const rule = await json([
      'security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '22', 'demo-sg',
    ]); // prettier-ignore
    console.log(
      `  rule ${String(rule.id)}: ingress tcp/22 from ${String(rule.remote_ip_prefix ?? 'anywhere')}`,
    );
    teardown.check();

    const port = await json([
      'port', 'create', '--network', 'demo-net', '--security-group', 'demo-sg', '--host', HOST, 'vm1-eth0',
    ]); // prettier-ignore
    const created = Date.now();
    const portId = String(port.id);
    const ips = (port.fixed_ips as { ip_address: string }[] | undefined)?.map((f) => f.ip_address).join(', ');
    console.log(
      `  port ${portId}: ${String(port.status)}, ${String(port.binding_vif_type)} on ${String(port.binding_host_id)}, ${ips}, ${String(port.mac_address)}`,
    );
    await watchPortGoActive(etcd.endpoints, endpoint, portId, created, say, teardown);

    console.log(
      await openstack([
        'port',
        'show',
        'vm1-eth0',
        '-c',
        'status',
        '-c',
        'binding_host_id',
        '-c',
        'binding_vif_type',
        '-c',
        'binding_vif_details',
      ]),
    );
    say(`VPP on ${HOST} (netvpp vpp --socket ${node.sim.socket}):`);
    await showVpp(node.sim.socket, (l) => console.log(`  ${l}`));
    if (opts.once) return;

    console.log('');
    say('the stack is running; Ctrl-C stops all of it');
    console.log(
      [
        `  Neutron API     ${endpoint}   (noauth: every request acts as an admin; no token needed)`,
        `  openstack CLI   export OS_AUTH_TYPE=none OS_ENDPOINT=${endpoint}`,
        `                  openstack port create --network demo-net --host ${HOST} vm2-eth0`,
        `  controller      ${controller.url}/v1/health   ${controller.url}/v1/hosts`,
        `  etcd            ETCDCTL_API=3 etcdctl --endpoints ${etcd.endpoints.join(',')} get --prefix ${PREFIX}`,
        `  ${HOST} VPP    npm run netvpp -- vpp --socket ${node.sim.socket}`,
        ...(node.agent.health ? [`  ${HOST} agent  http://127.0.0.1:${node.agent.health.port}/health`] : []),
        `  Neutron logs    ${join(work, 'neutron', 'logs')}`,
      ].join('\n'),
    );
    await teardown.signal();
  } catch (e) {
    // a step that failed because Ctrl-C also reached it (start.sh, the openstack CLI) is no error
    if (!teardown.stoppedBy) throw e;
  } finally {
    setLogLevel('error'); // the controller's "leadership lost" as it stops, and the like
    if (teardown.stoppedBy) say('stopping');
    await teardown.run();
  }
}

/**
 * Follows the port from Neutron to VPP and back: the controller writes the binding to etcd, the agent
 * reports the port ready (VPP plumbed, guest attached), the driver completes Neutron's provisioning
 * block, and Neutron shows ACTIVE.
 */
async function watchPortGoActive(
  etcdEndpoints: string[],
  endpoint: string,
  portId: string,
  since: number,
  say: (s: string) => void,
  teardown: Teardown,
): Promise<void> {
  const store = openStore({ endpoints: etcdEndpoints, namespace: PREFIX });
  const ms = (): string => `+${Date.now() - since} ms`;
  const seen = new Set<string>();
  const mark = (what: string, line: string): void => {
    if (seen.has(what)) return;
    seen.add(what);
    console.log(`  ${ms().padStart(9)}  ${line}`);
  };
  try {
    say('following the port (times since `openstack port create` returned):');
    for (;;) {
      teardown.check();
      const [binding, state, neutron] = await Promise.all([
        store.get(keys.portBinding(HOST, portId)),
        store.get(keys.portState(HOST, portId)),
        fetch(`${endpoint}/v2.0/ports/${portId}?fields=status`).then(
          async (r) => ((await r.json()) as { port?: { status?: string } }).port?.status,
        ),
      ]);
      if (binding.kv)
        mark('binding', `etcd: binding ${PREFIX}${keys.portBinding(HOST, portId)} written by the controller`);
      const st = state.kv ? decodeValue('portState', state.kv.value) : null;
      if (st?.ok && st.value.error) mark(`error:${st.value.error}`, `agent: ${st.value.error}`);
      if (st?.ok && st.value.ready)
        mark('ready', `agent: port ready in VPP (revision ${String(st.value.revision)}), guest attached`);
      if (neutron === 'ACTIVE') {
        mark('active', 'Neutron: port ACTIVE');
        return;
      }
      if (Date.now() - since > 60_000)
        throw new Error(`port ${portId} is still ${String(neutron)} after 60 s`);
      await sleep(50);
    }
  } finally {
    store.close();
  }
}
