// What `netvpp plan` and `netvpp audit` share: the agent's configuration (the same file, environment
// and flags as `netvpp agent`, plus --json), the connections to etcd and VPP, and the exit status 2
// when the host can't be inspected.
import { ConfigError, loadConfig, usage, type AgentConfig } from '../agent/config.ts';
import { inspectHost, UnreachableError, type HostInspection } from '../agent/inspect.ts';
import { PREFIX } from '../model/keyspace.ts';
import { openStore } from '../store/index.ts';
import { logger, setLogLevel } from '../util/log.ts';
import { VppClient } from '../vpp/client.ts';

export interface Rendered {
  lines: string[];
  exitCode: number;
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Connects to the host's etcd and VPP as configured, inspects, and closes both. */
export async function inspectConfigured(config: AgentConfig): Promise<HostInspection> {
  const etcdAddress = config.etcd.endpoints.join(',');
  let vpp: VppClient;
  try {
    vpp = await VppClient.connect({
      socket: config.vppSocket,
      name: 'netvpp-cli',
      connectTimeoutMs: 5000,
      log: logger('vpp'),
    });
  } catch (e) {
    throw new UnreachableError('VPP', config.vppSocket, e instanceof Error ? e.message : String(e));
  }
  const store = openStore({ ...config.etcd, namespace: PREFIX });
  try {
    return await inspectHost({
      store,
      vpp,
      config,
      etcdAddress,
      timeoutMs: Math.max(10_000, (config.etcd.requestTimeoutMs ?? 5000) * 2),
    });
  } finally {
    store.close();
    await vpp.close();
  }
}

/**
 * Runs `netvpp <cmd> [agent options] [--json]`; returns the exit status: render's, or 2 when the
 * configuration is wrong or etcd or VPP can't be reached (or anything else stops the inspection).
 */
export async function runInspect(
  cmd: string,
  argv: string[],
  render: (insp: HostInspection, json: boolean) => Rendered,
  io: CliIo = defaultIo,
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(`usage: netvpp ${cmd} [--config-file PATH] [--host NAME] [--json] [agent options]\n${usage()}`);
    return 0;
  }
  const json = argv.includes('--json');
  let config: AgentConfig;
  try {
    config = loadConfig({ argv: argv.filter((a) => a !== '--json'), ...(io.env ? { env: io.env } : {}) });
  } catch (e) {
    io.err(e instanceof ConfigError ? e.message : `netvpp ${cmd}: ${String(e)}`);
    return 2;
  }
  // The agent's log lines (etcd connected...) are not this command's output.
  setLogLevel(config.logLevel === 'debug' ? 'debug' : 'error');
  let insp: HostInspection;
  try {
    insp = await inspectConfigured(config);
  } catch (e) {
    io.err(`netvpp ${cmd}: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const r = render(insp, json);
  for (const l of r.lines) io.out(l);
  return r.exitCode;
}

/** A value as the CLI prints it. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return '(none)';
  return JSON.stringify(v);
}
