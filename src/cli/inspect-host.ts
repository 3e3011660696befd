// What `netvpp plan` and `netvpp audit` share: the agent's configuration (the same file, environment
// and flags as `netvpp agent`, plus --json), the connections to etcd and VPP, and the exit status 2
// when the host can't be inspected.
import { ConfigError, loadConfig, type AgentConfig } from '../agent/config.ts';
import type { ConfigArgs } from '../util/cli-options.ts';
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
  /** Redraws one progress line (null: clears it); only where a terminal shows it. */
  progress?: (line: string | null) => void;
}

export const defaultIo: CliIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  // On a terminal only: a redrawn line in a log or a pipe is noise.
  ...(process.stderr.isTTY
    ? {
        progress: (l: string | null) =>
          process.stderr.write(
            l === null ? '\r\x1b[K' : `\r\x1b[K${l.slice(0, process.stderr.columns || 80)}`,
          ),
      }
    : {}),
};

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

/** What `netvpp plan`, `audit` and the other host commands are given: agent options, and --json. */
export interface HostArgs {
  args: ConfigArgs;
  json: boolean;
}

/**
 * The agent's configuration for a CLI command, or the exit status 2 (with the message written) when
 * it is wrong. Turns the agent's log lines (etcd connected...) down: they are not the command's output.
 */
export function cliAgentConfig(cmd: string, args: ConfigArgs, io: CliIo): AgentConfig | number {
  let config: AgentConfig;
  try {
    config = loadConfig({ args, ...(io.env ? { env: io.env } : {}) });
  } catch (e) {
    io.err(e instanceof ConfigError ? e.message : `netvpp ${cmd}: ${String(e)}`);
    return 2;
  }
  setLogLevel(config.logLevel === 'debug' ? 'debug' : 'error');
  return config;
}

/**
 * Runs `netvpp <cmd> [agent options] [--json]`; returns the exit status: render's, or 2 when the
 * configuration is wrong or etcd or VPP can't be reached (or anything else stops the inspection).
 */
export async function runInspect(
  cmd: string,
  { args, json }: HostArgs,
  render: (insp: HostInspection, json: boolean) => Rendered,
  io: CliIo = defaultIo,
): Promise<number> {
  const config = cliAgentConfig(cmd, args, io);
  if (typeof config === 'number') return config;
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
