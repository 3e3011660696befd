// Controller configuration: an OpenStack-style ini file (sections [controller] and [etcd]; the agent
// may share the file, see src/util/ini.ts), overridden by environment variables, overridden by
// command-line flags.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ETCD_OPTIONS, etcdClientConfig, FORMER_ETCD_INI_NAMES } from '../store/config.ts';
import {
  addOptionTable,
  type ConfigArgs,
  configArgs,
  DEFAULT_CONFIG_FILE,
  parseOptionArgs,
  quietCommand,
} from '../util/cli-options.ts';
import {
  DEFAULT_SECTION_OPTIONS,
  LOG_OPTIONS,
  type OptionSpec,
  readConfigFiles,
  resolveOptions,
  SIGNING_KEY_OPTION,
  VERIFY_KEYS_OPTION,
} from '../util/ini.ts';
import { loadSigner } from '../model/signing.ts';
import type { LogSettings } from '../util/log.ts';
import { logSettings } from '../util/log-config.ts';
import { type ControllerConfig, DEFAULTS } from './controller.ts';

export { DEFAULT_CONFIG_FILE };

/** Where each setting can come from: ini section/option, environment variable, flag. */
const OPTIONS = [
  ...LOG_OPTIONS,
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
  {
    name: 'max_rows',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_MAX_ROWS',
    flag: 'max-rows',
    help: 'most journal rows in one request (default 1000)',
  },
  {
    name: 'max_queued',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_MAX_QUEUED',
    flag: 'max-queued',
    help: 'most journal/sync requests waiting their turn; more get 429 (default 8)',
  },
  {
    name: 'sync_delete_limit_percent',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_SYNC_DELETE_LIMIT_PERCENT',
    flag: 'sync-delete-limit-percent',
    help: 'a full sync or journal batch deleting more than this % of the desired state is held until confirmed (default 50; 100: never)',
  },
  {
    name: 'journal_delete_min_keys',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_JOURNAL_DELETE_MIN_KEYS',
    flag: 'journal-delete-min-keys',
    help: 'a journal batch deleting at most this many desired-state keys is never held (default 100)',
  },
  {
    name: 'sync_delete_min_keys',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_SYNC_DELETE_MIN_KEYS',
    flag: 'sync-delete-min-keys',
    help: 'a full sync deleting at most this many desired-state keys, and not every one, is never held (default 10)',
  },
  {
    name: 'auth_strategy',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_AUTH_STRATEGY',
    flag: 'auth-strategy',
    help: 'token (default: the driver must send a token of auth_token_file) or noauth',
  },
  {
    name: 'auth_token_file',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_AUTH_TOKEN_FILE',
    flag: 'auth-token-file',
    help: 'file of accepted driver tokens, one a line (re-read when it changes)',
  },
  {
    name: 'dashboard_token_file',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_DASHBOARD_TOKEN_FILE',
    flag: 'dashboard-token-file',
    help: 'file of read-only tokens for the dashboard (/dashboard), one a line; driver tokens work there too',
  },
  {
    name: 'tls_cert_file',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_TLS_CERT_FILE',
    flag: 'tls-cert-file',
    help: 'serve HTTPS with this certificate (PEM, chain first); needs tls_key_file',
  },
  {
    name: 'tls_key_file',
    section: 'controller',
    env: 'NETVPP_CONTROLLER_TLS_KEY_FILE',
    flag: 'tls-key-file',
    help: 'private key (PEM) of tls_cert_file',
  },
  ...ETCD_OPTIONS,
  SIGNING_KEY_OPTION,
] as const satisfies readonly OptionSpec[];

type OptionName = (typeof OPTIONS)[number]['name'];

/** The controller's options on a commander command (`netvpp controller`). */
export function addControllerOptions(cmd: Command): Command {
  return addOptionTable(cmd, OPTIONS);
}

/** The option table, for `netvpp config sample`. */
export const CONTROLLER_OPTIONS: readonly OptionSpec[] = OPTIONS;

/** `netvpp controller --help` (commander's, from the option table). */
export const USAGE = addControllerOptions(quietCommand('controller').description('the netvpp controller'))
  .helpInformation()
  .trimEnd();

export type ParsedArgs = ConfigArgs<OptionName>;

/** What the command line gave, by option name (from a command made with `addControllerOptions`). */
export function controllerArgs(opts: Record<string, unknown>): ParsedArgs {
  return configArgs(opts, OPTIONS);
}

/** Parses the options alone (tests; `netvpp controller` parses with its command); throws on a bad one. */
export function parseArgs(argv: string[]): ParsedArgs {
  const args = parseOptionArgs(OPTIONS, argv);
  if (args.problems.length) throw new Error(args.problems.join('; '));
  return args;
}

/**
 * Builds the configuration. No `configFiles` (and no NETVPP_CONFIG) means the default path, which may
 * be absent; an explicitly named file must exist. Throws one Error listing every problem.
 */
export function loadConfig(
  args: ParsedArgs,
  env: NodeJS.ProcessEnv = process.env,
): { config: ControllerConfig; source: string | null; log: LogSettings } {
  const problems: string[] = [...args.problems];
  const explicit = args.configFiles.length
    ? args.configFiles
    : env.NETVPP_CONFIG
      ? [env.NETVPP_CONFIG]
      : null;
  // [controller] and [etcd] are the controller's; [DEFAULT] is shared (host is the agent's, accepted
  // here); [agent] and [vpp] are the agent's and not looked at.
  const read = readConfigFiles(
    explicit,
    DEFAULT_CONFIG_FILE,
    'controller',
    // [security] verify_keys is the agents': accepted in a shared file, not read.
    [...OPTIONS, ...DEFAULT_SECTION_OPTIONS, VERIFY_KEYS_OPTION],
    FORMER_ETCD_INI_NAMES,
  );
  const ini = read.ini;
  const source = read.files.at(-1) ?? null;
  problems.push(...read.problems);
  const { values, where } = resolveOptions(OPTIONS, { ini, file: source, env, flags: args.flags });
  const log = logSettings(values, where, problems);
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
  cfg.maxRows = number('max_rows', 1) ?? cfg.maxRows;
  cfg.maxQueued = number('max_queued', 1) ?? cfg.maxQueued;
  const pct = number('sync_delete_limit_percent', 0);
  if (pct !== undefined && pct > 100)
    problems.push(
      `sync_delete_limit_percent must be 0..100, got ${pct} (${where('sync_delete_limit_percent')})`,
    );
  else if (pct !== undefined) cfg.syncDeleteLimit = pct / 100;
  cfg.journalDeleteMinKeys = number('journal_delete_min_keys', 0) ?? cfg.journalDeleteMinKeys;
  cfg.syncDeleteMinKeys = number('sync_delete_min_keys', 0) ?? cfg.syncDeleteMinKeys;
  cfg.etcd = etcdClientConfig(values, where, problems);

  const strategy = v('auth_strategy') ?? 'token';
  const tokenFile = v('auth_token_file');
  if (strategy === 'token') {
    if (tokenFile === undefined)
      problems.push(
        'auth_token_file is needed with auth_strategy = token (the default); set auth_strategy = noauth ' +
          'to accept unauthenticated requests',
      );
    else if (!existsSync(tokenFile))
      problems.push(`${where('auth_token_file')}: file ${tokenFile} does not exist`);
    else cfg.authTokenFile = tokenFile;
  } else if (strategy !== 'noauth') {
    problems.push(`auth_strategy must be token or noauth, got "${strategy}" (${where('auth_strategy')})`);
  } else if (tokenFile !== undefined) {
    problems.push('auth_token_file is set but auth_strategy = noauth would ignore it');
  }
  const dashboardTokens = v('dashboard_token_file');
  if (dashboardTokens !== undefined) {
    if (strategy === 'noauth')
      problems.push('dashboard_token_file is set but auth_strategy = noauth leaves the dashboard open');
    else if (!existsSync(dashboardTokens))
      problems.push(`${where('dashboard_token_file')}: file ${dashboardTokens} does not exist`);
    else cfg.dashboardTokenFile = dashboardTokens;
  }
  const certFile = v('tls_cert_file');
  const keyFile = v('tls_key_file');
  if (!certFile !== !keyFile) problems.push('tls_cert_file and tls_key_file go together');
  for (const n of ['tls_cert_file', 'tls_key_file'] as const) {
    const f = v(n);
    if (f !== undefined && !existsSync(f)) problems.push(`${where(n)}: file ${f} does not exist`);
  }
  if (certFile && keyFile) cfg.tls = { certFile, keyFile };
  const signingKey = v('signing_key_file');
  if (signingKey !== undefined) {
    try {
      cfg.signer = loadSigner(signingKey);
    } catch (e) {
      problems.push(`${where('signing_key_file')}: ${(e as Error).message}`);
    }
  }

  if (problems.length === 1) throw new Error(problems[0]);
  if (problems.length) throw new Error(`invalid controller configuration:\n  - ${problems.join('\n  - ')}`);
  return { config: cfg, source, log };
}
