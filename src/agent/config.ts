// The agent's configuration: an OpenStack-style ini file (default /etc/netvpp/netvpp.ini), then
// environment variables (NETVPP_*), then command-line flags, each overriding the one before.
// Every problem is collected and reported at once, naming the option and where it came from.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { MAX_PHYSNET_LENGTH } from '../model/keyspace.ts';
import type { Level } from '../util/log.ts';

export const DEFAULT_CONFIG_FILE = '/etc/netvpp/netvpp.ini';

/** How a tap port's kernel side is made: VPP's tap (needs /dev/vhost-net) or a veth + af_packet. */
export type TapBackend = 'tap' | 'veth';

export interface AgentConfig {
  /** This node's name: the <host> of `nodes/<host>/` (Neutron's binding:host_id). */
  host: string;
  etcd: {
    endpoints: string[];
    tls?: { ca: string; cert?: string; key?: string };
    auth?: { username: string; password: string };
  };
  vppSocket: string;
  /** physnet name → name of the VPP interface that carries it (found by name, never created). */
  physnets: Map<string, string>;
  /** vhost-user sockets must live under this directory (a binding naming another path is refused). */
  vhostUserDir: string;
  tapBackend: TapBackend;
  /** As configured ('auto' resolves to tap when /dev/vhost-net exists, else veth). */
  tapBackendSetting: TapBackend | 'auto';
  logLevel: Level;
  /** Loopback address and port of the health endpoint; port 0 picks a free one; null disables it. */
  health: { host: string; port: number } | null;
  /** The file that was read, if any. */
  configFile: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** One ini file: section → option → value (sections and options lower-cased). */
export type Ini = Map<string, Map<string, { value: string; line: number }>>;

/** Parses OpenStack-style ini text: `[section]`, `key = value` (or `key: value`), `#`/`;` comments. */
export function parseIni(text: string, file = 'config'): { ini: Ini; problems: string[] } {
  const ini: Ini = new Map();
  const problems: string[] = [];
  let section: Map<string, { value: string; line: number }> | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      const name = sec[1].trim().toLowerCase();
      section = ini.get(name) ?? new Map();
      ini.set(name, section);
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!kv) {
      problems.push(
        `${file}:${i + 1}: expected "option = value" or "[section]", got ${JSON.stringify(line)}`,
      );
      return;
    }
    if (!section) {
      problems.push(`${file}:${i + 1}: option ${kv[1]} appears before any [section]`);
      return;
    }
    section.set(kv[1].toLowerCase(), { value: kv[2].trim(), line: i + 1 });
  });
  return { ini, problems };
}

/** Every option: where it lives in the ini file, its env variable and flag. */
interface OptionSpec {
  name: keyof RawOptions;
  section: 'default' | 'agent' | 'etcd' | 'vpp';
  env: string;
  flag: string;
  help: string;
}

interface RawOptions {
  host: string;
  log_level: string;
  physnets: string;
  vhost_user_dir: string;
  tap_backend: string;
  health_port: string;
  health_host: string;
  endpoints: string;
  ca_file: string;
  cert_file: string;
  key_file: string;
  username: string;
  password: string;
  socket: string;
}

const OPTIONS: OptionSpec[] = [
  { name: 'host', section: 'default', env: 'NETVPP_HOST', flag: 'host', help: 'this node name' },
  {
    name: 'log_level',
    section: 'default',
    env: 'NETVPP_LOG_LEVEL',
    flag: 'log-level',
    help: 'debug|info|warn|error',
  },
  {
    name: 'physnets',
    section: 'agent',
    env: 'NETVPP_PHYSNETS',
    flag: 'physnets',
    help: 'physnet1:GigabitEthernet0/8/0,physnet2:host-eth1',
  },
  {
    name: 'vhost_user_dir',
    section: 'agent',
    env: 'NETVPP_VHOST_USER_DIR',
    flag: 'vhost-user-dir',
    help: 'directory of vhost-user sockets',
  },
  {
    name: 'tap_backend',
    section: 'agent',
    env: 'NETVPP_TAP_BACKEND',
    flag: 'tap-backend',
    help: 'auto|tap|veth',
  },
  {
    name: 'health_port',
    section: 'agent',
    env: 'NETVPP_HEALTH_PORT',
    flag: 'health-port',
    help: 'port of GET /health on loopback (0 = any free port, "off" = none)',
  },
  {
    name: 'health_host',
    section: 'agent',
    env: 'NETVPP_HEALTH_HOST',
    flag: 'health-host',
    help: 'loopback address',
  },
  {
    name: 'endpoints',
    section: 'etcd',
    env: 'NETVPP_ETCD_ENDPOINTS',
    flag: 'etcd-endpoints',
    help: 'comma-separated etcd client URLs or host:port',
  },
  {
    name: 'ca_file',
    section: 'etcd',
    env: 'NETVPP_ETCD_CA',
    flag: 'etcd-ca',
    help: 'CA certificate (PEM) for TLS',
  },
  {
    name: 'cert_file',
    section: 'etcd',
    env: 'NETVPP_ETCD_CERT',
    flag: 'etcd-cert',
    help: 'client certificate (PEM)',
  },
  { name: 'key_file', section: 'etcd', env: 'NETVPP_ETCD_KEY', flag: 'etcd-key', help: 'client key (PEM)' },
  {
    name: 'username',
    section: 'etcd',
    env: 'NETVPP_ETCD_USERNAME',
    flag: 'etcd-username',
    help: 'etcd user',
  },
  {
    name: 'password',
    section: 'etcd',
    env: 'NETVPP_ETCD_PASSWORD',
    flag: 'etcd-password',
    help: 'etcd password',
  },
  { name: 'socket', section: 'vpp', env: 'NETVPP_VPP_SOCKET', flag: 'vpp-socket', help: 'VPP API socket' },
];

export const DEFAULTS: Partial<RawOptions> = {
  log_level: 'info',
  vhost_user_dir: '/var/run/netvpp/vhost',
  tap_backend: 'auto',
  health_port: '9697',
  health_host: '127.0.0.1',
  endpoints: 'http://127.0.0.1:2379',
  socket: '/run/vpp/api.sock',
};

/** Usage text for `netvpp agent --help`. */
export function usage(): string {
  const lines = [
    'Options (flag / environment / ini [section] option):',
    '  --config-file PATH  (NETVPP_CONFIG)',
  ];
  for (const o of OPTIONS) {
    lines.push(`  --${o.flag} VALUE  (${o.env}; [${o.section.toUpperCase()}] ${o.name}): ${o.help}`);
  }
  return lines.join('\n');
}

/** Splits `--name value` / `--name=value` flags; unknown flags are problems. */
function parseFlags(
  argv: string[],
  problems: string[],
): { values: Map<string, string>; configFile?: string } {
  const known = new Set(OPTIONS.map((o) => o.flag).concat('config-file'));
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      problems.push(`unexpected argument ${JSON.stringify(a)}`);
      continue;
    }
    const name = m[1];
    if (!known.has(name)) {
      problems.push(`unknown flag --${name}`);
      continue;
    }
    let v = m[2];
    if (v === undefined) {
      v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) {
        problems.push(`flag --${name} needs a value`);
        continue;
      }
      i++;
    }
    values.set(name, v);
  }
  const configFile = values.get('config-file');
  values.delete('config-file');
  return { values, configFile };
}

/** Parses `physnet:ifname,…` (spaces ignored). */
export function parsePhysnets(s: string, problems: string[], where = 'physnets'): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of s.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const i = item.indexOf(':');
    if (i <= 0 || i === item.length - 1) {
      problems.push(`${where}: expected "physnet:interface", got ${JSON.stringify(item)}`);
      continue;
    }
    const name = item.slice(0, i).trim();
    const ifname = item.slice(i + 1).trim();
    if (name.length > MAX_PHYSNET_LENGTH || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      problems.push(
        `${where}: physnet name ${JSON.stringify(name)} must be 1..${MAX_PHYSNET_LENGTH} characters of A-Z a-z 0-9 _ . -`,
      );
      continue;
    }
    if (ifname.length > 63) {
      problems.push(`${where}: interface name ${JSON.stringify(ifname)} is longer than VPP's 63 characters`);
      continue;
    }
    if (map.has(name)) {
      problems.push(`${where}: physnet ${name} is listed twice`);
      continue;
    }
    map.set(name, ifname);
  }
  return map;
}

/** Turns `host:port` into `http://host:port`; keeps URLs as they are. */
function endpointUrl(e: string, problems: string[]): string {
  const s = e.trim();
  const url = /^[a-z]+:\/\//.test(s) ? s : `http://${s}`;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    if (!u.port) throw new Error('port');
  } catch {
    problems.push(`etcd endpoints: ${JSON.stringify(s)} is not http(s)://host:port or host:port`);
  }
  return url;
}

export interface LoadOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Used to decide tap_backend=auto; default: does /dev/vhost-net exist. */
  hasVhostNet?: () => boolean;
}

/** Reads ini file, environment and flags into a checked AgentConfig; throws ConfigError listing every problem. */
export function loadConfig(opts: LoadOptions = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const flags = parseFlags(opts.argv ?? [], problems);

  const explicitFile = flags.configFile ?? env.NETVPP_CONFIG;
  const file = explicitFile ?? DEFAULT_CONFIG_FILE;
  let ini: Ini = new Map();
  let configFile: string | null = null;
  if (existsSync(file)) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
      configFile = file;
    } catch (e) {
      problems.push(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    const parsed = parseIni(text, file);
    ini = parsed.ini;
    problems.push(...parsed.problems);
  } else if (explicitFile) {
    problems.push(`config file ${file} does not exist`);
  }

  // Later sources override earlier ones; `from` says where a value came from, for error messages.
  const raw: Partial<RawOptions> = { ...DEFAULTS };
  const from = new Map<keyof RawOptions, string>();
  for (const o of OPTIONS) {
    const sec = ini.get(o.section === 'default' ? 'default' : o.section);
    const iv = sec?.get(o.name);
    if (iv !== undefined) {
      raw[o.name] = iv.value;
      from.set(o.name, `${configFile}:${iv.line} [${o.section.toUpperCase()}] ${o.name}`);
    }
    const ev = env[o.env];
    if (ev !== undefined && ev !== '') {
      raw[o.name] = ev;
      from.set(o.name, o.env);
    }
    const fv = flags.values.get(o.flag);
    if (fv !== undefined) {
      raw[o.name] = fv;
      from.set(o.name, `--${o.flag}`);
    }
  }
  for (const [name, sec] of ini) {
    for (const [opt, v] of sec) {
      if (!OPTIONS.some((o) => o.section === name && o.name === opt)) {
        problems.push(`${configFile}:${v.line}: unknown option ${opt} in [${name.toUpperCase()}]`);
      }
    }
  }
  const where = (n: keyof RawOptions) => from.get(n) ?? `default ${n}`;

  const host = raw.host ?? hostname();
  if (!/^[^/\s]{1,255}$/.test(host))
    problems.push(`${where('host')}: host name ${JSON.stringify(host)} is not valid`);

  const levels: Level[] = ['debug', 'info', 'warn', 'error'];
  const logLevel = (raw.log_level ?? 'info').toLowerCase() as Level;
  if (!levels.includes(logLevel))
    problems.push(`${where('log_level')}: log level must be one of ${levels.join('|')}`);

  const physnets = parsePhysnets(raw.physnets ?? '', problems, where('physnets'));
  if (physnets.size === 0 && raw.physnets === undefined) {
    problems.push('physnets: no physnet is configured (e.g. physnets = physnet1:GigabitEthernet0/8/0)');
  }

  const vhostUserDir = raw.vhost_user_dir ?? '';
  if (!isAbsolute(vhostUserDir)) problems.push(`${where('vhost_user_dir')}: must be an absolute path`);

  const tapSetting = (raw.tap_backend ?? 'auto').toLowerCase();
  if (!['auto', 'tap', 'veth'].includes(tapSetting)) {
    problems.push(`${where('tap_backend')}: must be auto, tap or veth, got ${JSON.stringify(tapSetting)}`);
  }
  const hasVhostNet = opts.hasVhostNet ?? (() => existsSync('/dev/vhost-net'));
  const tapBackend: TapBackend =
    tapSetting === 'veth' || (tapSetting === 'auto' && !hasVhostNet()) ? 'veth' : 'tap';

  let health: AgentConfig['health'] = null;
  const hp = (raw.health_port ?? '').toLowerCase();
  if (hp !== 'off' && hp !== '') {
    const port = Number(hp);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      problems.push(`${where('health_port')}: must be a port number 0..65535 or "off"`);
    } else {
      health = { host: raw.health_host ?? '127.0.0.1', port };
    }
  }

  const endpoints = (raw.endpoints ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => endpointUrl(s, problems));
  if (endpoints.length === 0) problems.push(`${where('endpoints')}: no etcd endpoint`);
  let tls: AgentConfig['etcd']['tls'];
  if (raw.ca_file || raw.cert_file || raw.key_file) {
    if (!raw.ca_file) problems.push('etcd TLS: a client certificate or key is set but no ca_file');
    if (!!raw.cert_file !== !!raw.key_file) problems.push('etcd TLS: cert_file and key_file go together');
    for (const n of ['ca_file', 'cert_file', 'key_file'] as const) {
      const p = raw[n];
      if (p && !existsSync(p)) problems.push(`${where(n)}: file ${p} does not exist`);
    }
    tls = {
      ca: raw.ca_file ?? '',
      ...(raw.cert_file ? { cert: raw.cert_file } : {}),
      ...(raw.key_file ? { key: raw.key_file } : {}),
    };
    if (endpoints.some((e) => e.startsWith('http://'))) {
      problems.push('etcd TLS files are set but an endpoint uses http://; use https://');
    }
  }
  let auth: AgentConfig['etcd']['auth'];
  if (raw.username || raw.password) {
    if (!raw.username || !raw.password) problems.push('etcd: username and password go together');
    auth = { username: raw.username ?? '', password: raw.password ?? '' };
  }

  const vppSocket = raw.socket ?? '';
  if (!isAbsolute(vppSocket))
    problems.push(`${where('socket')}: the VPP API socket must be an absolute path`);

  if (problems.length) throw new ConfigError(problems);
  return {
    host,
    etcd: { endpoints, ...(tls ? { tls } : {}), ...(auth ? { auth } : {}) },
    vppSocket,
    physnets,
    vhostUserDir: vhostUserDir.replace(/\/+$/, '') || '/',
    tapBackend,
    tapBackendSetting: tapSetting as TapBackend | 'auto',
    logLevel,
    health,
    configFile,
  };
}
