// The whole netvpp path for end-to-end tests, every part real and on loopback:
//   etcd (src/store/etcd-process.ts) → netvpp-controller (src/controller/main.ts, its own process)
//   → agents (AGENT STEP below) → MariaDB + neutron-server with the netvpp driver (neutron-harness.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PREFIX } from '../../src/model/keyspace.ts';
import { kidOf, payloadOf } from '../../src/model/signing.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { AclRule, PolicerDetails } from '../../src/vpp/binapi/index.ts';
import type { GroupName } from '../../src/vpp/groups.ts';
import { AgentNode } from './agent-node.ts';
import { AgentStandIn } from './agent-standin.ts';
import { freePort, NeutronEnv, REPO_ROOT, sleep, waitFor } from './neutron-harness.ts';
import { controllerRequest, makeControllerSecurity, type ControllerSecurity } from './stack-security.ts';
import { killOnExit } from '../../src/util/reaper.ts';

export interface AgentSpec {
  host: string;
  physnets: string[];
  /** The node's VXLAN tunnel endpoint (it then carries vxlan networks). */
  vtep?: string;
  /** Message groups its VPP lacks (e.g. `ip`: it offers no router vif type and carries no router). */
  withoutGroups?: GroupName[];
  /** Tap ports as veth pairs made in the kernel (a DHCP agent's namespace plugs into them); default: taps in VPP only. */
  tapBackend?: 'veth';
  /** A real VPP's API socket instead of a simulator. */
  vppSocket?: string;
}

/** A compute node as the tests see it. */
export interface Node {
  readonly host: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** ACL rules on the port's VPP interface; undefined when the node has no VPP (stand-in). */
  portAclRules?(portId: string): Promise<AclRule[]>;
  /** Every call of `message` to the node's VPP fails with `retval` until clearVppFaults(); absent without a VPP. */
  failVpp?(message: string, retval: number): void;
  clearVppFaults?(): void;
  /** How many times VPP received `message` (simulator counters); undefined without a VPP. */
  vppCalls?(message: string): number;
  /** Remote VTEPs of the node's VXLAN tunnels for a VNI; undefined without a VPP. */
  vxlanPeers?(vni: number): Promise<string[]>;
  /** A gpe VNI's remote mappings in LISP, `<mac> <rloc>` sorted; undefined without a VPP. */
  gpeRemotes?(vni: number): Promise<string[]>;
  /** The node's netvpp policers by name (`netvpp:policer-<in|out>:<port>`); undefined without a VPP. */
  policers?(): Promise<Map<string, PolicerDetails>>;
  /** The trunk sub-ports' sub-interfaces of a port's interface; undefined without a VPP. */
  subInterfaces?(parentPortId: string): Promise<SubInterface[]>;
  /** The node's device-level SPAN mirrors, by the tags of their ends; undefined without a VPP. */
  mirrors?(): Promise<Mirror[]>;
}

/** One SPAN mirror as the operator reads it from VPP (`sw_interface_span_dump`, device level). */
export interface Mirror {
  /** Tag of the mirrored interface (`netvpp:port:<id>`), or `#<sw_if_index>` if it has none. */
  from: string;
  /** Tag of the interface the copies go to (a port, or a tunnel). */
  to: string;
  /** VPP's span state: 1 rx, 2 tx, 3 both. */
  state: number;
}

/** A VLAN sub-interface of a parent port, as the operator reads it from VPP. */
export interface SubInterface {
  /** Its netvpp tag (`netvpp:subport:<port id>`). */
  tag: string;
  vlan: number;
  /** Tag popped on ingress (VPP's vtr_op pop 1). */
  pop: boolean;
  adminUp: boolean;
  /** The tag of the bridge it is a member of, or null. */
  bridge: string | null;
}

/**
 * Which agent runs on each node: 'real' (default) is the netvpp agent on a VPP simulator;
 * 'standin' (NETVPP_E2E_AGENT=standin) only reports through etcd, for isolating the Neutron side.
 */
export const AGENT_KIND = process.env.NETVPP_E2E_AGENT === 'standin' ? 'standin' : 'real';

export interface StackOptions {
  agents: AgentSpec[];
  vhostSocketDir?: string;
  /** neutron-server's RPC transport (NeutronOptions.transportUrl): a RabbitMQ for the DHCP agent. */
  transportUrl?: string;
  log?: (msg: string) => void;
  /** `[ml2_netvpp]` options of neutron-server over the test defaults */
  driverOptions?: Record<string, string | number>;
}

/** The controller as the operator runs it: `node --import tsx src/controller/main.ts`. */
export class ControllerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  port = 0;

  /** `security`: HTTPS and the driver token (the e2e stack); null: plain HTTP, noauth (benchmarks). */
  constructor(
    private readonly etcdEndpoints: string[],
    readonly logFile: string,
    readonly security: ControllerSecurity | null = null,
  ) {}

  get url(): string {
    return `${this.security ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** A request to the controller's API as the driver makes it (CA trusted, token sent). */
  fetch(
    path: string,
    init: { method?: string; body?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    return controllerRequest(`${this.url}${path}`, this.security, init);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const fd = openSync(this.logFile, 'a');
    const args = [
      '--import',
      'tsx',
      join(REPO_ROOT, 'src', 'controller', 'main.ts'),
      '--config-file',
      '/dev/null',
      '--bind-port',
      String(this.port),
      '--etcd-hosts',
      this.etcdEndpoints.join(','),
      '--controller-id',
      'e2e-controller',
      ...(this.security
        ? [
            '--auth-token-file',
            this.security.tokenFile,
            '--tls-cert-file',
            this.security.certFile,
            '--tls-key-file',
            this.security.keyFile,
            '--signing-key-file',
            this.security.signingKeyFile,
          ]
        : ['--auth-strategy', 'noauth']),
    ];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NETVPP_LOG_LEVEL: process.env.NETVPP_LOG_LEVEL ?? 'info',
    };
    delete env.NODE_TEST_CONTEXT; // the controller is not a test: keep its normal log level
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    this.child = child;
    const forget = killOnExit(() => child.kill('SIGKILL'));
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        forget();
        resolve();
      }),
    );
    await waitFor('the controller to lead and be connected to etcd', async () => {
      if (child.exitCode !== null) throw new Error(`controller exited:\n${this.tail(20)}`);
      try {
        const r = await this.fetch('/v1/health', { signal: AbortSignal.timeout(2000) });
        const h = (await r.json()) as { leader?: boolean; etcd?: string };
        return r.ok && h.leader === true ? true : undefined;
      } catch {
        return undefined;
      }
    });
  }

  /** SIGSTOP/SIGCONT: a controller that hangs (requests time out) without losing its state. */
  pause(): void {
    if (this.child?.pid) process.kill(this.child.pid, 'SIGSTOP');
  }

  resume(): void {
    if (this.child?.pid) process.kill(this.child.pid, 'SIGCONT');
  }

  /** SIGKILL: the controller dies mid-work, as on a power cut; start() brings it back. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await this.exited;
    }
  }

  tail(lines = 30): string {
    if (!existsSync(this.logFile)) return '(no controller log)';
    return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  }
}

export class NetvppStack {
  etcd: EtcdProcess | undefined;
  /** etcd as the tests read it: keys relative to /netvpp/v1/. */
  store: Store | undefined;
  controller: ControllerProcess | undefined;
  neutron: NeutronEnv | undefined;
  /** The controller's certificate, CA and driver token. */
  security: ControllerSecurity | undefined;
  readonly agents = new Map<string, Node>();
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: StackOptions) {
    this.log = opts.log ?? ((m) => console.log(`[e2e] ${m}`));
  }

  static async start(opts: StackOptions): Promise<NetvppStack> {
    const s = new NetvppStack(opts);
    try {
      await s.setUp();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private async setUp(): Promise<void> {
    let t = Date.now();
    const lap = (what: string): void => {
      this.log(`${what} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      t = Date.now();
    };
    this.etcd = await startEtcd();
    this.store = openStore({ endpoints: this.etcd.endpoints, namespace: PREFIX });
    lap(`etcd up on ${this.etcd.endpoints.join(',')}`);

    // neutron first (for its work dir), but pointed at the controller's port picked now
    const controllerPort = await freePort();
    this.security = makeControllerSecurity();
    this.neutron = new NeutronEnv({
      controllerUrl: `https://127.0.0.1:${controllerPort}`,
      controllerTokenFile: this.security.tokenFile,
      controllerCaFile: this.security.caFile,
      vhostSocketDir: this.opts.vhostSocketDir,
      transportUrl: this.opts.transportUrl,
      log: this.log,
      driverOptions: this.opts.driverOptions,
    });
    this.controller = new ControllerProcess(
      this.etcd.endpoints,
      join(this.neutron.workDir, 'logs', 'controller.log'),
      this.security,
    );
    this.controller.port = controllerPort;
    await this.controller.start();
    lap(`controller leading on ${this.controller.url}`);

    // ---- AGENT STEP -------------------------------------------------------------------------------
    // One node per spec: the real agent on a VPP simulator (agent-node.ts), or the etcd-only stand-in.
    for (const spec of this.opts.agents) {
      const node: Node =
        AGENT_KIND === 'real'
          ? new AgentNode({
              etcdEndpoints: this.etcd.endpoints,
              host: spec.host,
              physnets: spec.physnets,
              vtep: spec.vtep,
              withoutGroups: spec.withoutGroups,
              tapBackend: spec.tapBackend,
              vppSocket: spec.vppSocket,
              vhostUserDir: this.opts.vhostSocketDir ?? '/var/run/netvpp/vhost',
              verifyKeys: this.security.verifyKeys,
            })
          : new AgentStandIn({
              etcdEndpoints: this.etcd.endpoints,
              host: spec.host,
              physnets: spec.physnets,
              vtep: spec.vtep,
              withoutGroups: spec.withoutGroups,
            });
      this.agents.set(spec.host, node);
      await node.start();
    }
    lap(
      `${AGENT_KIND} agents up: ${this.opts.agents.map((a) => `${a.host} (${a.physnets.join(',')})`).join(', ')}`,
    );
    // ---- end of AGENT STEP ------------------------------------------------------------------------

    await this.neutron.up();
  }

  /**
   * Reads one desired-state or state key (relative to /netvpp/v1/), parsed without its signature
   * envelope; undefined if absent.
   */
  async etcdGet<T = unknown>(key: string): Promise<T | undefined> {
    const { kv } = await (this.store as Store).get(key);
    return kv ? (JSON.parse(payloadOf(kv.value)) as T) : undefined;
  }

  /** The key id a stored value is signed with (null: unsigned; undefined: absent). */
  async etcdSignedBy(key: string): Promise<string | null | undefined> {
    const { kv } = await (this.store as Store).get(key);
    return kv ? kidOf(kv.value) : undefined;
  }

  /** The controller's API, as the driver calls it (token, CA). */
  controllerFetch(path: string, init: { signal?: AbortSignal } = {}): Promise<Response> {
    return (this.controller as ControllerProcess).fetch(path, init);
  }

  async etcdKeys(prefix: string): Promise<string[]> {
    const { kvs } = await (this.store as Store).getPrefix(prefix);
    return kvs.map((kv) => kv.key);
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    await attempt(async () => this.neutron?.stop());
    for (const a of this.agents.values()) await attempt(() => a.stop());
    await attempt(async () => this.controller?.stop());
    this.store?.close();
    await attempt(async () => this.etcd?.destroy());
    if (this.security) rmSync(this.security.dir, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }
}
