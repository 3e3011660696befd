// What `netvpp status`, `port show` and `resync` need of netvpp.ini: the [etcd] options (and this
// node's name), read from the same files, environment and flags as the daemons. A node that runs
// only the controller has no [agent] physnets, so the agent's full configuration is optional here.
import { hostname } from 'node:os';
import { AGENT_OPTIONS } from '../agent/config.ts';
import {
  ETCD_OPTIONS,
  etcdClientConfig,
  type EtcdClientConfig,
  FORMER_ETCD_INI_NAMES,
} from '../store/config.ts';
import { type ConfigArgs, DEFAULT_CONFIG_FILE } from '../util/cli-options.ts';
import { DEFAULT_SECTION_OPTIONS, readConfigFiles, resolveOptions } from '../util/ini.ts';
import { PREFIX } from '../model/keyspace.ts';
import { openStore, type Store } from '../store/index.ts';

export interface ClusterConfig {
  etcd: EtcdClientConfig;
  /** [DEFAULT] host, else this machine's name. */
  host: string;
}

/** A configuration or reachability problem: the command exits 2 with its message. */
export class CliError extends Error {}

export function clusterConfig(args: ConfigArgs, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const problems = [...args.problems];
  const explicit = args.configFiles.length
    ? args.configFiles
    : env.NETVPP_CONFIG
      ? [env.NETVPP_CONFIG]
      : null;
  const read = readConfigFiles(explicit, DEFAULT_CONFIG_FILE, 'agent', AGENT_OPTIONS, FORMER_ETCD_INI_NAMES);
  problems.push(...read.problems);
  const specs = [...DEFAULT_SECTION_OPTIONS, ...ETCD_OPTIONS];
  const { values, where } = resolveOptions(specs, {
    ini: read.ini,
    file: read.files.at(-1) ?? null,
    env,
    flags: args.flags,
  });
  const etcd = etcdClientConfig(values, where, problems);
  if (problems.length) throw new CliError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return { etcd, host: values.host ?? hostname() };
}

export function openClusterStore(c: ClusterConfig): Store {
  return openStore({ ...c.etcd, namespace: PREFIX });
}

/** etcd's answer within `ms`, or an error naming the address (etcd3 retries for long otherwise). */
export async function reachEtcd<T>(c: ClusterConfig, p: Promise<T>, ms = 10_000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const address = c.etcd.endpoints.join(',');
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(new Error(`no answer in ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } catch (e) {
    throw new CliError(`cannot reach etcd at ${address}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    clearTimeout(t);
  }
}
