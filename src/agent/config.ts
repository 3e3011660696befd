// The agent's configuration: an OpenStack-style ini file (default /etc/netvpp/netvpp.ini, which the
// controller may share: src/util/ini.ts), then environment variables (NETVPP_*), then command-line
// flags, each overriding the one before. Every problem is collected and reported at once, naming
// the option and where it came from.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { MAX_PHYSNET_LENGTH } from '../model/keyspace.ts';
import { checkBondUse, parseBonds, type BondConfig } from './bond-config.ts';
import {
  ETCD_OPTIONS,
  etcdClientConfig,
  type EtcdClientConfig,
  FORMER_ETCD_INI_NAMES,
  FORMER_ETCD_NAMES,
  formerEtcdEnvProblems,
  formerEtcdFlag,
} from '../store/config.ts';
import type { Command } from 'commander';
import {
  addOptionTable,
  type ConfigArgs,
  configArgs,
  DEFAULT_CONFIG_FILE,
  type FormerFlag,
  parseOptionArgs,
  quietCommand,
} from '../util/cli-options.ts';
import {
  DEFAULT_SECTION_OPTIONS,
  type OptionSpec,
  readConfigFiles,
  resolveOptions,
  SIGNING_KEY_OPTION,
  VERIFY_KEYS_OPTION,
} from '../util/ini.ts';
import { loadVerifier, type Verifier } from '../model/signing.ts';
import { DEFAULT_RX_MODE, RX_MODES, type RxModeName } from './kinds/rxmode.ts';
import { DEFAULT_VPP_CONNECTIONS } from './vpp-lanes.ts';
import type { Level, LogSettings } from '../util/log.ts';
import { logSettings } from '../util/log-config.ts';

export { DEFAULT_CONFIG_FILE };

/** How a tap port's kernel side is made: VPP's tap (needs /dev/vhost-net) or a veth + af_packet. */
export type TapBackend = 'tap' | 'veth';

export interface AgentConfig {
  /** This node's name: the <host> of `nodes/<host>/` (Neutron's binding:host_id). */
  host: string;
  /** From the [etcd] options both daemons share (src/store/config.ts). */
  etcd: EtcdClientConfig;
  vppSocket: string;
  /** How long a VPP request may go unanswered (ms; default 10 s). */
  vppRequestTimeoutMs?: number;
  /** [vpp] connections: how many API connections carry the agent's requests (default 1; 8 for big hosts). */
  vppConnections?: number;
  /** physnet name → name of the VPP interface that carries it (found by name, never created). */
  physnets: Map<string, string>;
  /** [agent] bonds: bond interfaces the agent makes (by VPP name; a physnet may name one). */
  bonds?: ReadonlyMap<string, BondConfig>;
  /** vhost-user sockets must live under this directory (a binding naming another path is refused). */
  vhostUserDir: string;
  tapBackend: TapBackend;
  /** As configured ('auto' resolves to tap when /dev/vhost-net exists, else veth). */
  tapBackendSetting: TapBackend | 'auto';
  /** GSO on vhost-user and tap interfaces (off unless enable_gso = true). */
  gso?: boolean;
  /** rx-mode of vhost-user and tap port interfaces ([agent] rx_mode; absent: adaptive). */
  rxMode?: RxModeName;
  /** Lease TTL (s) of the HA router elections this agent campaigns in (ha.ts; default 6). */
  haLeaseTtlSec?: number;
  /** VXLAN overlay networks ([vxlan]); null when local_ip is not set (no vxlan networks here). */
  vxlan?: VxlanConfig | null;
  /**
   * [security] verify_keys: desired state must be signed by one of these keys (a value that is not
   * is an error on its object); null or absent: values are taken unsigned (signing off).
   */
  verifier?: Verifier | null;
  logLevel: Level;
  /** [DEFAULT] use_json and log_file (oslo.log); absent: text lines on stderr. */
  log?: Omit<LogSettings, 'level'>;
  /** Loopback address and port of the health endpoint; port 0 picks a free one; null disables it. */
  health: { host: string; port: number } | null;
  /** The file that was read, if any (the last, when several were). */
  configFile: string | null;
  /** Every file read, in order. */
  configFiles?: string[];
}

/** [vxlan]: this host's tunnel endpoint. */
export interface VxlanConfig {
  /** The VTEP address tunnels start from (a plain address). */
  localIp: string;
  /**
   * The VPP interface that carries the underlay, found by name (never created): the agent sets it
   * up and gives it localIp/prefixLen. null: the operator has configured the address in VPP.
   */
  underlay: { name: string; prefixLen: number } | null;
}

/** What read-back needs of [vxlan]: this host's VTEP and the underlay interface the agent manages. */
export function vxlanRead(c: Pick<AgentConfig, 'vxlan'>): { vtep: string | null; underlay: string | null } {
  return { vtep: c.vxlan?.localIp ?? null, underlay: c.vxlan?.underlay?.name ?? null };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Every option: where it lives in the ini file, its env variable and flag (usage() lists them in this order). */
const OPTIONS = [
  ...DEFAULT_SECTION_OPTIONS,
  {
    name: 'physnets',
    section: 'agent',
    env: 'NETVPP_PHYSNETS',
    flag: 'physnets',
    help: 'physnet1:GigabitEthernet0/8/0,physnet2:host-eth1',
  },
  {
    name: 'bonds',
    section: 'agent',
    env: 'NETVPP_BONDS',
    flag: 'bonds',
    help:
      'bonds the agent makes, e.g. BondEthernet0:GigabitEthernet0/8/0+GigabitEthernet0/9/0:lacp:l34 ' +
      '(mode lacp|active-backup|xor, load balancing l2|l23|l34, LACP passive, long-timeout); ' +
      'a physnet may name the bond (docs/bonds.md)',
  },
  {
    name: 'vhost_user_dir',
    section: 'agent',
    env: 'NETVPP_VHOST_USER_DIR',
    flag: 'vhost-user-dir',
    help: 'directory of vhost-user sockets',
    default: '/var/run/netvpp/vhost',
  },
  {
    name: 'tap_backend',
    section: 'agent',
    env: 'NETVPP_TAP_BACKEND',
    flag: 'tap-backend',
    help: 'auto|tap|veth',
    default: 'auto',
  },
  {
    name: 'enable_gso',
    section: 'agent',
    env: 'NETVPP_ENABLE_GSO',
    flag: 'enable-gso',
    help: 'GSO and checksum offload on vhost-user and tap ports (true|false)',
    default: 'false',
  },
  {
    name: 'rx_mode',
    section: 'agent',
    env: 'NETVPP_RX_MODE',
    flag: 'rx-mode',
    help: "rx-mode of vhost-user and tap ports: adaptive|interrupt|polling (polling leaves VPP's default)",
    default: DEFAULT_RX_MODE,
  },
  {
    name: 'ha_lease_ttl',
    section: 'agent',
    env: 'NETVPP_HA_LEASE_TTL',
    flag: 'ha-lease-ttl',
    help: 'seconds an HA router election lease lives: a dead active host is replaced within it (2..300)',
    default: '6',
  },
  {
    name: 'health_port',
    section: 'agent',
    env: 'NETVPP_HEALTH_PORT',
    flag: 'health-port',
    help: 'port of GET /health on loopback (0 = any free port, "off" = none)',
    default: '9697',
  },
  {
    name: 'health_host',
    section: 'agent',
    env: 'NETVPP_HEALTH_HOST',
    flag: 'health-host',
    help: 'loopback address',
    default: '127.0.0.1',
  },
  ...ETCD_OPTIONS,
  {
    name: 'socket',
    section: 'vpp',
    env: 'NETVPP_VPP_SOCKET',
    flag: 'vpp-socket',
    help: 'VPP API socket',
    default: '/run/vpp/api.sock',
  },
  {
    name: 'api_timeout',
    section: 'vpp',
    env: 'NETVPP_VPP_API_TIMEOUT',
    flag: 'vpp-api-timeout',
    help: 'seconds to wait for each VPP reply (a write that timed out is read back before a retry)',
    default: '10',
  },
  {
    name: 'connections',
    section: 'vpp',
    env: 'NETVPP_VPP_CONNECTIONS',
    flag: 'vpp-connections',
    help:
      'API connections the agent spreads its requests over (VPP reads each one once per main-loop turn, ' +
      '4 KiB at a time: more connections, fewer turns for a big resync)',
    default: String(DEFAULT_VPP_CONNECTIONS),
  },
  {
    name: 'local_ip',
    section: 'vxlan',
    env: 'NETVPP_VXLAN_LOCAL_IP',
    flag: 'vxlan-local-ip',
    help: 'VTEP address for VXLAN networks (with underlay_interface: address/prefix length)',
  },
  {
    name: 'underlay_interface',
    section: 'vxlan',
    env: 'NETVPP_VXLAN_UNDERLAY_INTERFACE',
    flag: 'vxlan-underlay-interface',
    help: 'VPP interface that carries the tunnels; the agent sets it up and gives it local_ip',
  },
  VERIFY_KEYS_OPTION,
] as const satisfies readonly OptionSpec[];

type OptionName = (typeof OPTIONS)[number]['name'];

/** The agent's former etcd flags, refused with their new names. */
const FORMER_ETCD_FLAGS: readonly FormerFlag[] = FORMER_ETCD_NAMES.map((f) => ({
  flag: f.flag,
  now: formerEtcdFlag(f.flag) ?? f.flag,
}));

/** The agent's options on a commander command (`netvpp agent`, `plan`, `audit`, ...). */
export function addAgentOptions(cmd: Command): Command {
  return addOptionTable(cmd, OPTIONS, FORMER_ETCD_FLAGS);
}

/** What the command line gave, by option name (from a command made with `addAgentOptions`). */
export function agentArgs(opts: Record<string, unknown>): ConfigArgs {
  return configArgs(opts, OPTIONS, FORMER_ETCD_FLAGS);
}

/** Usage text for `netvpp agent --help` (commander's, from the option table). */
export function usage(): string {
  return addAgentOptions(quietCommand('agent')).helpInformation();
}

/** The option table, for `netvpp config sample`. */
export const AGENT_OPTIONS: readonly OptionSpec[] = OPTIONS;

/** Parses `physnet:ifname,…` (spaces ignored; newlines, as from continuation lines, separate too). */
export function parsePhysnets(s: string, problems: string[], where = 'physnets'): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of s.split(/[,\n]/)) {
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

function vxlanConfig(
  localIp: string | undefined,
  underlay: string | undefined,
  physnets: ReadonlyMap<string, string>,
  where: (name: OptionName) => string,
  problems: string[],
): VxlanConfig | null {
  if (localIp === undefined || localIp === '') {
    if (underlay) problems.push(`${where('underlay_interface')}: needs [vxlan] local_ip`);
    return null;
  }
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(localIp.trim());
  const addr = m?.[1] ?? '';
  const family = isIP(addr);
  const len = m?.[2] === undefined ? null : Number(m[2]);
  if (family === 0 || (len !== null && len > (family === 4 ? 32 : 128))) {
    problems.push(
      `${where('local_ip')}: expected an IP address (or address/prefix length), got ${JSON.stringify(localIp)}`,
    );
    return null;
  }
  if (!underlay) return { localIp: addr, underlay: null };
  if (len === null) {
    problems.push(
      `${where('local_ip')}: with underlay_interface, give the prefix length too (e.g. ${addr}/24)`,
    );
    return null;
  }
  if ([...physnets.values()].includes(underlay)) {
    problems.push(
      `${where('underlay_interface')}: ${underlay} is a physnet's uplink (a bridged interface has no address)`,
    );
    return null;
  }
  return { localIp: addr, underlay: { name: underlay, prefixLen: len } };
}

export interface LoadOptions {
  /** Command-line options alone (parsed with commander); or `args`, already parsed. */
  argv?: string[];
  args?: ConfigArgs;
  env?: NodeJS.ProcessEnv;
  /** Used to decide tap_backend=auto; default: does /dev/vhost-net exist. */
  hasVhostNet?: () => boolean;
}

/** Reads ini file, environment and flags into a checked AgentConfig; throws ConfigError listing every problem. */
export function loadConfig(opts: LoadOptions = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const args = opts.args ?? parseOptionArgs(OPTIONS, opts.argv ?? [], FORMER_ETCD_FLAGS);
  const problems: string[] = [...args.problems];

  const explicit = args.configFiles.length
    ? args.configFiles
    : env.NETVPP_CONFIG
      ? [env.NETVPP_CONFIG]
      : null;
  // [DEFAULT], [etcd], [agent] and [vpp] are the agent's; [controller] is the controller's.
  // [security] signing_key_file is the controller's: accepted in a shared file, not read.
  const read = readConfigFiles(
    explicit,
    DEFAULT_CONFIG_FILE,
    'agent',
    [...OPTIONS, SIGNING_KEY_OPTION],
    FORMER_ETCD_INI_NAMES,
  );
  const ini = read.ini;
  const configFile = read.files.at(-1) ?? null;
  problems.push(...read.problems);
  problems.push(...formerEtcdEnvProblems(env));

  // Later sources override earlier ones; `where` says where a value came from, for error messages.
  const { values: raw, where } = resolveOptions(OPTIONS, { ini, file: configFile, env, flags: args.flags });

  const host = raw.host ?? hostname();
  if (!/^[^/\s]{1,255}$/.test(host))
    problems.push(`${where('host')}: host name ${JSON.stringify(host)} is not valid`);

  const { level: logLevel, ...log } = logSettings(raw, where, problems);

  const physnets = parsePhysnets(raw.physnets ?? '', problems, where('physnets'));
  if (physnets.size === 0 && raw.physnets === undefined) {
    problems.push('physnets: no physnet is configured (e.g. physnets = physnet1:GigabitEthernet0/8/0)');
  }

  const bonds = parseBonds(raw.bonds ?? '', problems, where('bonds'));
  checkBondUse(
    bonds,
    physnets,
    raw.underlay_interface,
    { bonds: where('bonds'), physnets: where('physnets'), underlay: where('underlay_interface') },
    problems,
  );

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

  const etcd = etcdClientConfig(raw, where, problems);

  const vppSocket = raw.socket ?? '';
  if (!isAbsolute(vppSocket))
    problems.push(`${where('socket')}: the VPP API socket must be an absolute path`);

  const gsoSetting = (raw.enable_gso ?? 'false').toLowerCase();
  if (!['true', 'false'].includes(gsoSetting))
    problems.push(`${where('enable_gso')}: must be true or false, got ${JSON.stringify(raw.enable_gso)}`);

  const rxMode = (raw.rx_mode ?? DEFAULT_RX_MODE).toLowerCase();
  if (!Object.hasOwn(RX_MODES, rxMode))
    problems.push(
      `${where('rx_mode')}: must be adaptive, interrupt or polling, got ${JSON.stringify(raw.rx_mode)}`,
    );

  const haTtl = Number(raw.ha_lease_ttl ?? '6');
  if (!(Number.isInteger(haTtl) && haTtl >= 2 && haTtl <= 300))
    problems.push(`${where('ha_lease_ttl')}: must be a whole number of seconds from 2 to 300`);

  const connections = Number(raw.connections);
  if (!Number.isInteger(connections) || connections < 1 || connections > 64)
    problems.push(`${where('connections')}: must be a whole number from 1 to 64`);
  const timeout = Number(raw.api_timeout);
  if (!(timeout > 0 && timeout <= 3600))
    problems.push(`${where('api_timeout')}: must be a number of seconds above 0 (at most 3600)`);

  const vxlan = vxlanConfig(raw.local_ip, raw.underlay_interface, physnets, where, problems);

  let verifier: Verifier | null = null;
  const verifyPaths = (raw.verify_keys ?? '')
    .split(/[,\n]/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (verifyPaths.length) {
    try {
      verifier = loadVerifier(verifyPaths);
    } catch (e) {
      problems.push(`${where('verify_keys')}: ${(e as Error).message}`);
    }
  }

  if (problems.length) throw new ConfigError(problems);
  return {
    vxlan,
    verifier,
    host,
    etcd,
    vppSocket,
    vppRequestTimeoutMs: Math.round(timeout * 1000),
    vppConnections: connections,
    physnets,
    bonds,
    vhostUserDir: vhostUserDir.replace(/\/+$/, '') || '/',
    tapBackend,
    tapBackendSetting: tapSetting as TapBackend | 'auto',
    gso: gsoSetting === 'true',
    rxMode: rxMode as RxModeName,
    haLeaseTtlSec: haTtl,
    logLevel,
    log,
    health,
    configFile,
    configFiles: read.files,
  };
}
