// Controller configuration: an OpenStack-style ini file (sections [controller] and [etcd]),
// overridden by environment variables, overridden by command-line flags.
import { readFileSync } from 'node:fs';
import type { StoreOptions } from '../store/index.ts';
import { type ControllerConfig, DEFAULTS } from './controller.ts';

export const DEFAULT_CONFIG_FILE = '/etc/netvpp/netvpp.ini';

export type Ini = Record<string, Record<string, string>>;

/** Parses ini text: `[section]`, `key = value`, `#`/`;` comments, indented continuation lines. */
export function parseIni(text: string, source = 'ini'): Ini {
  const out: Ini = {};
  let section: string | undefined;
  let last: { sec: string; key: string } | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    if (/^\s*([#;]|$)/.test(line)) return;
    if (/^\s/.test(line) && last) {
      out[last.sec][last.key] += '\n' + line.trim();
      return;
    }
    const sec = /^\[([^\]]+)\]\s*$/.exec(line);
    if (sec) {
      section = sec[1].trim();
      out[section] ??= {};
      last = undefined;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`${source}:${i + 1}: expected "key = value" or "[section]"`);
    if (!section) throw new Error(`${source}:${i + 1}: "${kv[1]}" is outside any [section]`);
    out[section][kv[1]] = kv[2].trim();
    last = { sec: section, key: kv[1] };
  });
  return out;
}

/** Where each setting can come from: ini section/key, environment variable, flag. */
const OPTIONS = {
  bind_host: { section: 'controller', env: 'NETVPP_CONTROLLER_BIND_HOST', flag: 'bind-host' },
  bind_port: { section: 'controller', env: 'NETVPP_CONTROLLER_BIND_PORT', flag: 'bind-port' },
  advertise_url: { section: 'controller', env: 'NETVPP_CONTROLLER_ADVERTISE_URL', flag: 'advertise-url' },
  controller_id: { section: 'controller', env: 'NETVPP_CONTROLLER_ID', flag: 'controller-id' },
  election_ttl: { section: 'controller', env: 'NETVPP_CONTROLLER_ELECTION_TTL', flag: 'election-ttl' },
  tombstone_ttl: { section: 'controller', env: 'NETVPP_CONTROLLER_TOMBSTONE_TTL', flag: 'tombstone-ttl' },
  max_body_mb: { section: 'controller', env: 'NETVPP_CONTROLLER_MAX_BODY_MB', flag: 'max-body-mb' },
  hosts: { section: 'etcd', env: 'NETVPP_ETCD_HOSTS', flag: 'etcd-hosts' },
  ca_cert: { section: 'etcd', env: 'NETVPP_ETCD_CA_CERT', flag: 'etcd-ca-cert' },
  cert_file: { section: 'etcd', env: 'NETVPP_ETCD_CERT_FILE', flag: 'etcd-cert-file' },
  key_file: { section: 'etcd', env: 'NETVPP_ETCD_KEY_FILE', flag: 'etcd-key-file' },
  username: { section: 'etcd', env: 'NETVPP_ETCD_USERNAME', flag: 'etcd-username' },
  password: { section: 'etcd', env: 'NETVPP_ETCD_PASSWORD', flag: 'etcd-password' },
  request_timeout: { section: 'etcd', env: 'NETVPP_ETCD_REQUEST_TIMEOUT', flag: 'etcd-request-timeout' },
} as const;

type OptionName = keyof typeof OPTIONS;

export const USAGE = `usage: netvpp controller [--config-file PATH] [--<option> VALUE ...]
  --config-file PATH   ini file with [controller] and [etcd] (default ${DEFAULT_CONFIG_FILE}; env NETVPP_CONFIG)
${Object.entries(OPTIONS)
  .map(([k, o]) => `  --${o.flag.padEnd(22)} [${o.section}] ${k}, env ${o.env}`)
  .join('\n')}`;

export interface ParsedArgs {
  configFile: string | null;
  flags: Partial<Record<OptionName, string>>;
  help: boolean;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { configFile: null, flags: {}, help: false };
  const byFlag = new Map<string, OptionName>(
    Object.entries(OPTIONS).map(([k, o]) => [o.flag, k as OptionName]),
  );
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

function positive(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got "${v}"`);
  return n;
}

/** "a:2379,https://b:2379" → URLs (plain host:port gets http://, or https:// when a CA is set). */
export function etcdEndpoints(hosts: string, tls: boolean): string[] {
  return hosts
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) =>
      /^https?:\/\//.test(h) ? h : `${tls ? 'https' : 'http'}://${h.includes(':') ? h : `${h}:2379`}`,
    );
}

/**
 * Builds the configuration. `configFile` null means the default path, which may be absent; an
 * explicitly named file must exist.
 */
export function loadConfig(
  args: ParsedArgs,
  env: NodeJS.ProcessEnv = process.env,
): { config: ControllerConfig; source: string | null } {
  const explicit = args.configFile ?? env.NETVPP_CONFIG ?? null;
  const path = explicit ?? DEFAULT_CONFIG_FILE;
  let ini: Ini = {};
  let source: string | null = null;
  try {
    ini = parseIni(readFileSync(path, 'utf8'), path);
    source = path;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing || explicit) throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  const get = (name: OptionName): string | undefined => {
    const o = OPTIONS[name];
    return args.flags[name] ?? env[o.env] ?? ini[o.section]?.[name];
  };

  const cfg: ControllerConfig = { ...DEFAULTS, etcd: { ...DEFAULTS.etcd } };
  const v = (name: OptionName) => {
    const x = get(name);
    return x === undefined || x === '' ? undefined : x;
  };
  cfg.bindHost = v('bind_host') ?? cfg.bindHost;
  if (v('bind_port')) cfg.bindPort = positive('bind_port', v('bind_port') as string, 0);
  cfg.advertiseUrl = v('advertise_url') ?? null;
  cfg.id = v('controller_id') ?? null;
  if (v('election_ttl')) cfg.electionTtlSec = positive('election_ttl', v('election_ttl') as string, 2);
  if (v('tombstone_ttl')) cfg.tombstoneTtlSec = positive('tombstone_ttl', v('tombstone_ttl') as string);
  if (v('max_body_mb')) cfg.maxBodyBytes = positive('max_body_mb', v('max_body_mb') as string) * 1024 * 1024;

  const ca = v('ca_cert');
  const etcd: StoreOptions = { endpoints: etcdEndpoints(v('hosts') ?? '127.0.0.1:2379', ca !== undefined) };
  if (ca)
    etcd.tls = {
      ca,
      ...(v('cert_file') ? { cert: v('cert_file') } : {}),
      ...(v('key_file') ? { key: v('key_file') } : {}),
    };
  const user = v('username');
  if (user) etcd.auth = { username: user, password: v('password') ?? '' };
  if (v('request_timeout'))
    etcd.requestTimeoutMs = positive('request_timeout', v('request_timeout') as string) * 1000;
  if (etcd.endpoints.length === 0) throw new Error('[etcd] hosts is empty');
  cfg.etcd = etcd;
  return { config: cfg, source };
}
