// The [etcd] options of netvpp.ini, one definition for the agent and the controller (docs/agent.md,
// docs/controller.md): their names, environment variables and flags, and how they become the
// etcd client's settings, with the same checks in both daemons.
import { existsSync } from 'node:fs';
import type { OptionSpec } from '../util/ini.ts';

export type EtcdOptionName =
  'hosts' | 'ca_cert' | 'cert_file' | 'key_file' | 'username' | 'password' | 'request_timeout';

export const DEFAULT_ETCD_HOSTS = '127.0.0.1:2379';

export const ETCD_OPTIONS: readonly OptionSpec<EtcdOptionName>[] = [
  {
    name: 'hosts',
    section: 'etcd',
    env: 'NETVPP_ETCD_HOSTS',
    flag: 'etcd-hosts',
    help: 'comma-separated host[:port] (port 2379 if none) or http(s)://host:port',
    default: DEFAULT_ETCD_HOSTS,
  },
  {
    name: 'ca_cert',
    section: 'etcd',
    env: 'NETVPP_ETCD_CA_CERT',
    flag: 'etcd-ca-cert',
    help: 'CA certificate (PEM file) for TLS; bare hosts then use https',
  },
  {
    name: 'cert_file',
    section: 'etcd',
    env: 'NETVPP_ETCD_CERT_FILE',
    flag: 'etcd-cert-file',
    help: 'client certificate (PEM file)',
  },
  {
    name: 'key_file',
    section: 'etcd',
    env: 'NETVPP_ETCD_KEY_FILE',
    flag: 'etcd-key-file',
    help: 'client key (PEM file)',
  },
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
  {
    name: 'request_timeout',
    section: 'etcd',
    env: 'NETVPP_ETCD_REQUEST_TIMEOUT',
    flag: 'etcd-request-timeout',
    help: 'seconds per etcd request (default 5)',
  },
];

/**
 * The agent's names for [etcd] options before both daemons shared this definition. They are not
 * read any more; they are named in errors so an old file, environment or command line is not
 * silently ignored.
 */
export const FORMER_ETCD_NAMES: readonly { now: EtcdOptionName; ini?: string; env: string; flag: string }[] =
  [
    { now: 'hosts', ini: 'endpoints', env: 'NETVPP_ETCD_ENDPOINTS', flag: 'etcd-endpoints' },
    { now: 'ca_cert', ini: 'ca_file', env: 'NETVPP_ETCD_CA', flag: 'etcd-ca' },
    { now: 'cert_file', env: 'NETVPP_ETCD_CERT', flag: 'etcd-cert' },
    { now: 'key_file', env: 'NETVPP_ETCD_KEY', flag: 'etcd-key' },
  ];

const spec = (name: EtcdOptionName) =>
  ETCD_OPTIONS.find((o) => o.name === name) as OptionSpec<EtcdOptionName>;

/** `section.option` → new name, for `checkSections`: `{ 'etcd.endpoints': 'hosts', … }`. */
export const FORMER_ETCD_INI_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  FORMER_ETCD_NAMES.filter((f) => f.ini).map((f) => [`etcd.${f.ini}`, f.now]),
);

/** The flag that replaced a former one (`etcd-endpoints` → `etcd-hosts`), if `flag` is one. */
export function formerEtcdFlag(flag: string): string | undefined {
  const f = FORMER_ETCD_NAMES.find((x) => x.flag === flag);
  return f && spec(f.now).flag;
}

/** A problem for each former [etcd] environment variable that is set. */
export function formerEtcdEnvProblems(env: NodeJS.ProcessEnv): string[] {
  return FORMER_ETCD_NAMES.filter((f) => env[f.env] !== undefined && env[f.env] !== '').map(
    (f) => `${f.env} is no longer read; use ${spec(f.now).env}`,
  );
}

/** The etcd client settings netvpp.ini gives: a `StoreOptions` (src/store/client.ts) without namespace. */
export interface EtcdClientConfig {
  /** http(s)://host:port URLs. */
  endpoints: string[];
  /** Paths of PEM files. */
  tls?: { ca: string; cert?: string; key?: string };
  auth?: { username: string; password: string };
  requestTimeoutMs?: number;
}

/**
 * `hosts` as URLs: `host:port` and `host` (port 2379) get http://, or https:// when `tls`; URLs are
 * kept. Items are separated by commas or newlines. Anything that is not http(s) with a host and a
 * port is a problem.
 */
export function etcdEndpoints(hosts: string, tls: boolean, problems: string[] = []): string[] {
  return hosts
    .split(/[,\n]/)
    .map((h) => h.trim())
    .filter((h) => h !== '')
    .map((h) => {
      const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(h)
        ? h
        : `${tls ? 'https' : 'http'}://${/:\d+$/.test(h) ? h : `${h}:2379`}`;
      try {
        const u = new URL(url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
        if (!u.port || !u.hostname) throw new Error('port');
      } catch {
        problems.push(`etcd hosts: ${JSON.stringify(h)} is not http(s)://host:port, host:port or host`);
      }
      return url;
    });
}

/**
 * Checks the [etcd] options (`values` as resolved from file, environment and flags; `where` names
 * the source of each in messages) and turns them into client settings. Every problem is added to
 * `problems`.
 */
export function etcdClientConfig(
  values: Partial<Record<EtcdOptionName, string>>,
  where: (name: EtcdOptionName) => string,
  problems: string[],
): EtcdClientConfig {
  const set = (n: EtcdOptionName): string | undefined => (values[n] === '' ? undefined : values[n]);
  const ca = set('ca_cert');
  const cert = set('cert_file');
  const key = set('key_file');

  const endpoints = etcdEndpoints(values.hosts ?? '', ca !== undefined, problems);
  if (endpoints.length === 0) problems.push(`${where('hosts')}: no etcd endpoint`);

  let tls: EtcdClientConfig['tls'];
  if (ca || cert || key) {
    if (!ca) problems.push('etcd TLS: a client certificate or key is set but no ca_cert');
    if (!cert !== !key) problems.push('etcd TLS: cert_file and key_file go together');
    for (const n of ['ca_cert', 'cert_file', 'key_file'] as const) {
      const p = set(n);
      if (p && !existsSync(p)) problems.push(`${where(n)}: file ${p} does not exist`);
    }
    if (ca) {
      tls = { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
      const plain = endpoints.filter((e) => e.startsWith('http://'));
      if (plain.length)
        problems.push(`etcd TLS: ca_cert is set but ${plain.join(', ')} uses http://; use https://`);
    }
  }

  let auth: EtcdClientConfig['auth'];
  const username = set('username');
  const password = set('password');
  if (username || password) {
    if (!username || !password) problems.push('etcd: username and password go together');
    auth = { username: username ?? '', password: password ?? '' };
  }

  let requestTimeoutMs: number | undefined;
  const rt = set('request_timeout');
  if (rt !== undefined) {
    const n = Number(rt);
    if (!Number.isFinite(n) || n < 1)
      problems.push(`request_timeout must be a number >= 1, got "${rt}" (${where('request_timeout')})`);
    else requestTimeoutMs = n * 1000;
  }

  return {
    endpoints,
    ...(tls ? { tls } : {}),
    ...(auth ? { auth } : {}),
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
  };
}
