// Support for the fault-scenario tests (test/agent/faults-*.test.ts): an audit of VPP against what
// the test bound ("exactly as desired": nothing duplicated, leaked or left untagged), the agent's VPP
// request timeout for in-process agents, guests that keep (re)connecting, and the agent as a child
// process that a test can SIGKILL at an exact VPP write.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent, AgentHealth, ResyncStats } from '../../../src/agent/agent.ts';
import type { PortBinding } from '../../../src/model/keyspace.ts';
import type { Sim } from '../../../src/sim/index.ts';
import {
  acl_dump,
  acl_interface_list_dump,
  bridge_domain_dump,
  macip_acl_dump,
  macip_acl_interface_get,
  sw_interface_dump,
} from '../../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../../src/vpp/client.ts';
import { sleep, UPLINK, waitFor, type World } from './harness.ts';

const NO_INDEX = 0xffffffff;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Ports Neutron filters: port security on and not one of its trusted `network:*` ports. */
export function filtered(p: PortBinding): boolean {
  return p.port_security_enabled && !p.device_owner.startsWith('network:');
}

export interface Expected {
  /** Every port bound to the host. */
  ports: readonly PortBinding[];
  /** physnet → uplink interface name (default physnet1 → loop0). */
  physnets?: ReadonlyMap<string, string>;
}

function countBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/**
 * What is wrong in VPP compared with what the test bound, as a user would see it: a tag carried by
 * two objects (a duplicated ACL, bridge domain, interface), an object with netvpp's tag nothing
 * desires (leaked), an untagged interface, bridge domain or ACL (nobody but netvpp makes them here),
 * an expected object missing, a port not admin-up, not in its network's bridge, or unfiltered.
 * Empty when VPP is exactly as desired.
 */
export async function auditVpp(op: VppClient, want: Expected): Promise<string[]> {
  const physnets = want.physnets ?? new Map([['physnet1', UPLINK]]);
  const [ifs, bds, acls, macips, macipIfs, lists] = await Promise.all([
    op.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    op.dump(bridge_domain_dump, { bd_id: NO_INDEX, sw_if_index: NO_INDEX }),
    op.dump(acl_dump, { acl_index: NO_INDEX }),
    op.dump(macip_acl_dump, { acl_index: NO_INDEX }),
    op.request(macip_acl_interface_get, {}),
    op.dump(acl_interface_list_dump, { sw_if_index: NO_INDEX }),
  ]);
  const problems: string[] = [];
  const nameOf = new Map(ifs.map((d) => [d.sw_if_index, d.interface_name]));

  const nets = new Map<string, { type: string; physnet: string | null; vlan: number | null }>();
  for (const p of want.ports)
    nets.set(p.network_id, { type: p.network_type, physnet: p.physnet, vlan: p.segmentation_id });
  const wantIfTags = new Set(want.ports.map((p) => `netvpp:port:${p.port_id}`));
  // Every port's VLAN-tag guard (its admin-down default sub-interface).
  for (const p of want.ports) wantIfTags.add(`netvpp:tagdrop:${p.port_id}`);
  for (const n of nets.values()) if (n.type === 'vlan') wantIfTags.add(`netvpp:vlan:${n.physnet}:${n.vlan}`);
  const wantBdTags = new Set([...nets.keys()].map((id) => `netvpp:bd:${id}`));
  const wantMacips = new Set(want.ports.filter(filtered).map((p) => `netvpp:macip:${p.port_id}`));
  const usedGroups = new Set(want.ports.filter(filtered).flatMap((p) => p.security_groups));
  const anyFiltered = want.ports.some(filtered);

  // Interfaces.
  const uplinks = new Set(physnets.values());
  const ifsByTag = countBy(
    ifs.filter((d) => d.tag),
    (d) => d.tag,
  );
  for (const [tag, l] of ifsByTag) {
    if (l.length > 1)
      problems.push(
        `interface tag ${tag} on ${l.length} interfaces: ${l.map((d) => d.interface_name).join(', ')}`,
      );
    if (tag.startsWith('netvpp:') && !wantIfTags.has(tag))
      problems.push(`leaked interface ${l[0].interface_name} (${tag}): nothing desires it`);
  }
  for (const tag of wantIfTags) if (!ifsByTag.has(tag)) problems.push(`missing interface ${tag}`);
  for (const d of ifs) {
    if (d.tag || d.interface_name === 'local0' || uplinks.has(d.interface_name)) continue;
    const sub =
      d.sup_sw_if_index !== d.sw_if_index
        ? ` (VLAN ${d.sub_outer_vlan_id} sub-interface of ${nameOf.get(d.sup_sw_if_index)})`
        : '';
    problems.push(`untagged interface ${d.interface_name}${sub} left behind`);
  }

  // Bridge domains.
  const bdsByTag = countBy(bds, (b) => b.bd_tag);
  for (const [tag, l] of bdsByTag) {
    if (!tag) {
      problems.push(`untagged bridge domain(s) ${l.map((b) => b.bd_id).join(', ')} left behind`);
      continue;
    }
    if (l.length > 1)
      problems.push(`bd_tag ${tag} on ${l.length} bridge domains: ids ${l.map((b) => b.bd_id).join(', ')}`);
    if (tag.startsWith('netvpp:') && !wantBdTags.has(tag))
      problems.push(`leaked bridge domain ${l[0].bd_id} (${tag}): nothing desires it`);
  }
  for (const tag of wantBdTags) if (!bdsByTag.has(tag)) problems.push(`missing bridge domain ${tag}`);

  // ACLs and MAC-IP ACLs.
  const aclsByTag = countBy(acls, (a) => a.tag);
  const aclTagOf = new Map(acls.map((a) => [a.acl_index, a.tag]));
  for (const [tag, l] of aclsByTag) {
    if (!tag) {
      problems.push(`untagged ACL(s) ${l.map((a) => a.acl_index).join(', ')} left behind`);
      continue;
    }
    if (l.length > 1)
      problems.push(`ACL tag ${tag} on ${l.length} ACLs: indexes ${l.map((a) => a.acl_index).join(', ')}`);
    const sg = /^netvpp:sg:([^:]+):/.exec(tag);
    if ((sg && !usedGroups.has(sg[1])) || (/^netvpp:(base|related):/.test(tag) && !anyFiltered))
      problems.push(`leaked ACL ${l[0].acl_index} (${tag}): no port here uses it`);
  }
  const macipsByTag = countBy(macips, (a) => a.tag);
  const macipTagOf = new Map(macips.map((a) => [a.acl_index, a.tag]));
  for (const [tag, l] of macipsByTag) {
    if (!tag) {
      problems.push(`untagged MAC-IP ACL(s) ${l.map((a) => a.acl_index).join(', ')} left behind`);
      continue;
    }
    if (l.length > 1)
      problems.push(
        `MAC-IP ACL tag ${tag} on ${l.length} MAC-IP ACLs: indexes ${l.map((a) => a.acl_index).join(', ')}`,
      );
    if (tag.startsWith('netvpp:') && !wantMacips.has(tag))
      problems.push(`leaked MAC-IP ACL ${l[0].acl_index} (${tag}): nothing desires it`);
  }
  for (const tag of wantMacips) if (!macipsByTag.has(tag)) problems.push(`missing MAC-IP ACL ${tag}`);

  // Each port as a user relies on it: up, in its network's bridge, filtered when it should be.
  const bridgeOf = new Map<number, string>();
  for (const b of bds) for (const m of b.sw_if_details) bridgeOf.set(m.sw_if_index, b.bd_tag);
  const listOf = new Map(lists.map((l) => [l.sw_if_index, l]));
  for (const p of want.ports) {
    const mine = ifsByTag.get(`netvpp:port:${p.port_id}`) ?? [];
    // Missing or duplicated: said above; which copy the port uses is beside the point.
    if (mine.length !== 1) continue;
    const d = mine[0];
    const bd = `netvpp:bd:${p.network_id}`;
    if ((d.flags & 1) === 0) problems.push(`port ${p.port_id} (${d.interface_name}) is admin-down`);
    const guard = ifsByTag.get(`netvpp:tagdrop:${p.port_id}`)?.[0];
    if (guard && (guard.sup_sw_if_index !== d.sw_if_index || (guard.flags & 1) !== 0))
      problems.push(
        `port ${p.port_id}'s VLAN-tag guard ${guard.interface_name} is not an admin-down sub-interface of it`,
      );
    if (bridgeOf.get(d.sw_if_index) !== bd)
      problems.push(
        `port ${p.port_id} (${d.interface_name}) is in bridge ${bridgeOf.get(d.sw_if_index) ?? 'none'}, not ${bd}`,
      );
    if (!filtered(p)) continue;
    const l = listOf.get(d.sw_if_index);
    const named = l ? l.acls.slice(0, l.count).map((i) => aclTagOf.get(i) ?? `missing ACL #${i}`) : [];
    if (!l || l.n_input === 0 || l.count === l.n_input)
      problems.push(`port ${p.port_id} has no ACL list in both directions: ${JSON.stringify(named)}`);
    for (const t of named)
      if (!t.startsWith('netvpp:'))
        problems.push(`port ${p.port_id}'s ACL list names ${t || 'an untagged ACL'}`);
    const m = macipIfs.acls[d.sw_if_index];
    const mt = m === undefined || m === NO_INDEX ? 'none' : (macipTagOf.get(m) ?? `missing #${m}`);
    if (mt !== `netvpp:macip:${p.port_id}`) problems.push(`port ${p.port_id} has MAC-IP ACL ${mt} bound`);
  }
  // Each network's uplink side: the VLAN sub-interface (VLAN) or the uplink itself (flat) in its bridge.
  for (const [id, n] of nets) {
    const upName = n.physnet ? physnets.get(n.physnet) : undefined;
    const side =
      n.type === 'vlan'
        ? ifsByTag.get(`netvpp:vlan:${n.physnet}:${n.vlan}`)?.[0]
        : ifs.find((d) => d.interface_name === upName);
    if (side && bridgeOf.get(side.sw_if_index) !== `netvpp:bd:${id}`)
      problems.push(`${side.interface_name} is not in the bridge of network ${id}`);
  }
  return problems;
}

/** Waits until VPP is exactly as desired (a converging agent may still be cleaning up). */
export async function waitExact(op: VppClient, want: Expected, limitMs = 5000): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      'VPP exactly as desired',
      async () => (last = await auditVpp(op, want)).length === 0,
      limitMs,
    );
  } catch {
    throw new Error(`VPP is not as desired after ${limitMs} ms:\n  ${last.join('\n  ')}`);
  }
}

/** Every port's state in etcd says ready (at its binding's revision), or an error naming the last states. */
export async function waitAllReady(
  w: World,
  host: string,
  ports: readonly PortBinding[],
  limitMs = 8000,
): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      'every port ready',
      async () => {
        const states = await Promise.all(ports.map((p) => w.portState(host, p.port_id)));
        last = states.map(
          (s, i) =>
            `${ports[i].port_id}: ${s ? `ready=${s.ready} revision=${s.revision} error=${s.error}` : 'no state'}`,
        );
        return states.every((s, i) => s?.ready && s.revision === ports[i].revision);
      },
      limitMs,
    );
  } catch {
    throw new Error(`not every port became ready within ${limitMs} ms:\n  ${last.join('\n  ')}`);
  }
}

/**
 * Keeps connecting a guest to each vhost-user port's socket (after every re-create or VPP restart);
 * `ports` is read again each time (a Set the test adds to works).
 */
export function keepGuestsConnected(sim: Sim, ports: Iterable<PortBinding>): { stop(): void } {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      for (const p of ports) if (p.vhostuser) sim.connectGuest(p.vhostuser.socket);
      await sleep(25);
    }
  })();
  return {
    stop() {
      stopped = true;
    },
  };
}

// ---- the agent as a child process ---------------------------------------------------------------

export interface ChildAgentConfig {
  dir: string;
  name: string;
  host: string;
  etcdEndpoints: readonly string[];
  vppSocket: string;
  /** `physnet:interface` pairs. */
  physnets: string;
  /** Further `[agent]` lines, e.g. `tap_backend = tap`. */
  agentLines?: readonly string[];
  /** Further `[vpp]` lines, e.g. `api_timeout = 1`. */
  vppLines?: readonly string[];
}

export interface ChildAgent {
  readonly proc: ChildProcess;
  readonly logFile: string;
  /** GET /health, or undefined while it does not answer. */
  health(): Promise<AgentHealth | undefined>;
  /** SIGKILL, synchronously (for a simulator hook); `exited` resolves when it is gone. */
  kill(): void;
  /** SIGTERM, and waits until it exits (SIGKILL after 5 s). */
  stop(): Promise<void>;
  exited: Promise<void>;
  /** The log so far. */
  log(): string;
}

/** Starts `netvpp agent --config-file <ini>` (src/cli/main.ts through tsx), as an operator would. */
export function spawnAgent(c: ChildAgentConfig): ChildAgent {
  const ini = join(c.dir, `${c.name}.ini`);
  writeFileSync(
    ini,
    [
      `# written by ${c.name}`,
      '[DEFAULT]',
      `host = ${c.host}`,
      'log_level = info',
      '',
      '[agent]',
      `physnets = ${c.physnets}`,
      'health_port = 0',
      ...(c.agentLines ?? []),
      '',
      '[etcd]',
      `hosts = ${c.etcdEndpoints.join(',')}`,
      '',
      '[vpp]',
      `socket = ${c.vppSocket}`,
      ...(c.vppLines ?? []),
      '',
    ].join('\n'),
  );
  const logFile = join(c.dir, `${c.name}.log`);
  const fd = openSync(logFile, 'a');
  // The child's configuration is the ini file alone: no NETVPP_* variable from the test's environment.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('NETVPP_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  // Every incremental pass checked against a full one, as for in-process agents (errors in the log).
  env.NETVPP_AGENT_VERIFY = '1';
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'agent', '--config-file', ini],
    { cwd: REPO, stdio: ['ignore', fd, fd], env },
  );
  closeSync(fd);
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  let url: string | undefined;
  const log = (): string => readFileSync(logFile, 'utf8');
  return {
    proc,
    logFile,
    exited,
    log,
    async health() {
      url ??= /health endpoint listening url=(\S+)/.exec(log())?.[1];
      if (!url) return undefined;
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
        return (await r.json()) as AgentHealth;
      } catch {
        return undefined;
      }
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Errors a child agent logged that a correct agent never logs (verify differences). */
export function verifyErrors(log: string): string[] {
  return log.split('\n').filter((l) => / ERROR .*verify:/.test(l));
}

/** `p`, or a rejection with `what` after `ms` (the timer does not outlive it). */
export async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(what())), ms))),
    ]);
  } finally {
    clearTimeout(t);
  }
}

/** The agent's next 'synced' (the end of its next resync), with its figures. */
export function synced(a: Agent, limitMs = 10000): Promise<ResyncStats> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out waiting for the agent to sync')), limitMs);
    a.once('synced', (s: ResyncStats) => {
      clearTimeout(t);
      resolve(s);
    });
  });
}
