// Controller configuration: an OpenStack-style ini file (sections [controller] and [etcd]; the agent
// may share the file, see src/util/ini.ts), overridden by environment variables, overridden by
// command-line flags.
import { readFileSync } from 'node:fs';
import { ETCD_OPTIONS, etcdClientConfig, FORMER_ETCD_INI_NAMES } from '../store/config.ts';
import {
  checkSections,
  DEFAULT_SECTION_OPTIONS,
  type Ini,
  type OptionSpec,
  parseIni,
  resolveOptions,
} from '../util/ini.ts';
import { type ControllerConfig, DEFAULTS } from './controller.ts';

export const DEFAULT_CONFIG_FILE = '/etc/netvpp/netvpp.ini';

/** Where each setting can come from: ini section/option, environment variable, flag. */
const OPTIONS = [
  {
    name: 'bind_host',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_BIND_HOST',
    flag: 'bind-host',
    help: 'listen address (default 127.0.0.1)',
  },
  {
    name: 'bind_port',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_BIND_PORT',
    flag: 'bind-port',
    help: 'listen port (default 9797)',
  },
  {
    name: 'advertise_url',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_ADVERTISE_URL',
    flag: 'advertise-url',
    help: "this instance's URL for the driver (default http://<bind_host>:<bind_port>)",
  },
  {
    name: 'controller_id',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_ID',
    flag: 'controller-id',
    help: 'name in the election (default <hostname>:<pid>)',
  },
  {
    name: 'election_ttl',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_ELECTION_TTL',
    flag: 'election-ttl',
    help: 'seconds until a dead leader is replaced (default 10)',
  },
  {
    name: 'tombstone_ttl',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_TOMBSTONE_TTL',
    flag: 'tombstone-ttl',
    help: 'seconds a deleted resource is remembered (default 86400)',
  },
  {
    name: 'max_body_mb',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_MAX_BODY_MB',
    flag: 'max-body-mb',
    help: 'largest request body (default 64)',
  },
  ...ETCD_OPTIONS,
] as const satisfies readonly OptionSpec[];

type OptionName = (typeof OPTIONS)[number]['name'];

export const USAGE = `usage: netvpp controller [--config-file PATH] [--<option> VALUE ...]
  --config-file PATH   ini file with [controller] and [etcd] (default ${DEFAULT_CONFIG_FILE}; env NETVPP_CONFIG)
${OPTIONS.map((o) => `  --${o.flag.padEnd(22)} [${o.section}] ${o.name}, env ${o.env}: ${o.help}`).join('\n')}`;

export interface ParsedArgs {
  configFile: string | null;
  flags: Partial<Record<OptionName, string>>;
  help: boolean;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { configFile: null, flags: {}, help: false };
  const byFlag = new Map<string, OptionName>(OPTIONS.map((o) => [o.flag, o.name]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      out.help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument "${a}"\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    if (m[1] === 'config-file') out.configFile = value;
    else {
      const name = byFlag.get(m[1]);
      if (!name) throw new Error(`unknown option --${m[1]}\n${USAGE}`);
      out.flags[name] = value;
    }
  }
  return out;
}

/**
 * Builds the configuration. `configFile` null means the default path, which may be absent; an
 * explicitly named file must exist. Throws one Error listing every problem.
 */
export function loadConfig(
  args: ParsedArgs,
  env: NodeJS.ProcessEnv = process.env,
): { config: ControllerConfig; source: string | null } {
  const problems: string[] = [];
  const explicit = args.configFile ?? env.NETVPP_CONFIG ?? null;
  const path = explicit ?? DEFAULT_CONFIG_FILE;
  let ini: Ini = new Map();
  let source: string | null = null;
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
    source = path;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing || explicit) problems.push(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  if (text !== undefined) {
    const parsed = parseIni(text, path);
    ini = parsed.ini;
    problems.push(...parsed.problems);
    // [controller] and [etcd] are the controller's; [DEFAULT] is shared (its options are the
    // agent's, accepted here); [agent] and [vpp] are the agent's and not looked at.
    problems.push(
      ...checkSections(
        ini,
        path,
        'controller',
        [...OPTIONS, ...DEFAULT_SECTION_OPTIONS],
        FORMER_ETCD_INI_NAMES,
      ),
    );
  }
  const { values, where } = resolveOptions(OPTIONS, { ini, file: source, env, flags: args.flags });
  const v = (name: OptionName): string | undefined => (values[name] === '' ? undefined : values[name]);
  const number = (name: OptionName, min: number): number | undefined => {
    const x = v(name);
    if (x === undefined) return undefined;
    const n = Number(x);
    if (Number.isFinite(n) && n >= min) return n;
    problems.push(`${name} must be a number >= ${min}, got "${x}" (${where(name)})`);
    return undefined;
  };

  const cfg: ControllerConfig = { ...DEFAULTS, etcd: { ...DEFAULTS.etcd } };
  cfg.bindHost = v('bind_host') ?? cfg.bindHost;
  cfg.bindPort = number('bind_port', 0) ?? cfg.bindPort;
  cfg.advertiseUrl = v('advertise_url') ?? null;
  cfg.id = v('controller_id') ?? null;
  cfg.electionTtlSec = number('election_ttl', 2) ?? cfg.electionTtlSec;
  cfg.tombstoneTtlSec = number('tombstone_ttl', 1) ?? cfg.tombstoneTtlSec;
  const maxBodyMb = number('max_body_mb', 1);
  if (maxBodyMb !== undefined) cfg.maxBodyBytes = maxBodyMb * 1024 * 1024;
  cfg.etcd = etcdClientConfig(values, where, problems);

  if (problems.length === 1) throw new Error(problems[0]);
  if (problems.length) throw new Error(`invalid controller configuration:\n  - ${problems.join('\n  - ')}`);
  return { config: cfg, source };
}
