// `netvpp etcd-setup`: the etcd roles and users netvpp runs under (src/model/permissions.ts), made to
// match exactly: missing roles, users and grants are added, grants a role should not have are
// revoked, and every change is printed (nothing printed: nothing changed). A new user's password is
// generated and written to <password-dir>/<user> (mode 0600), or taken from that file when it exists.
// With --enable-auth it also makes etcd's root user (password from --root-password-file) and turns
// authentication on. Run it again after adding a host.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Etcd3, Range } from 'etcd3';
import { PREFIX } from '../model/keyspace.ts';
import {
  CONTROLLER_ROLE,
  CONTROLLER_USER,
  controllerGrants,
  type Grant,
  hostGrants,
  hostRole,
  hostUser,
} from '../model/permissions.ts';
import { ETCD_OPTIONS, etcdClientConfig, type EtcdOptionName } from '../store/config.ts';
import { openStore } from '../store/index.ts';
import { type Ini, parseIni, resolveOptions } from '../util/ini.ts';

export const ETCD_SETUP_USAGE = `usage: netvpp etcd-setup --host HOST [--host HOST ...] --password-dir DIR
                         [--enable-auth --root-password-file FILE] [--config-file PATH] [--etcd-... VALUE]
  --host HOST               a compute or network node (repeat, or comma-separated)
  --password-dir DIR        where new users' passwords are written (and existing ones read)
  --enable-auth             also create etcd's root user and turn authentication on
  --root-password-file FILE root's password (for --enable-auth; and to connect once auth is on)
  --config-file PATH        read [etcd] from this ini file (as the controller does)
${ETCD_OPTIONS.map((o) => `  --${o.flag.padEnd(24)}[etcd] ${o.name}: ${o.help}`).join('\n')}`;

export interface SetupOptions {
  hosts: string[];
  passwordDir: string;
  enableAuth?: boolean;
  rootPassword?: string;
}

type PermName = 'Read' | 'Readwrite';

function range(g: Grant): Range {
  const abs = PREFIX + g.key;
  return g.prefix ? Range.prefix(abs) : new Range(abs);
}

const permName = (g: Grant): PermName => (g.access === 'read' ? 'Read' : 'Readwrite');
const id = (p: string, r: Range): string => `${p}:${r.start.toString('hex')}:${r.end.toString('hex')}`;

async function ensureRole(
  etcd: Etcd3,
  name: string,
  grants: Grant[],
  say: (s: string) => void,
): Promise<void> {
  const role = etcd.role(name);
  if (!(await etcd.getRoles()).some((r) => r.name === name)) {
    await role.create();
    say(`created role ${name}`);
  }
  const have = new Map((await role.permissions()).map((p) => [id(String(p.permission), p.range), p]));
  const want = new Set<string>();
  for (const g of grants) {
    const r = range(g);
    const k = id(permName(g), r);
    want.add(k);
    if (have.has(k)) continue;
    await role.grant({ permission: permName(g), range: r });
    say(`granted ${name} ${g.access} ${g.prefix ? `${PREFIX}${g.key}*` : PREFIX + g.key} (${g.why})`);
  }
  for (const [k, p] of have) {
    if (want.has(k)) continue;
    await role.revoke({ permission: p.permission, range: p.range });
    say(
      `revoked from ${name} ${String(p.permission)} ${p.range.start.toString()}..${p.range.end.toString()}`,
    );
  }
}

async function ensureUser(
  etcd: Etcd3,
  name: string,
  role: string,
  password: () => string,
  say: (s: string) => void,
): Promise<void> {
  const user = etcd.user(name);
  if (!(await etcd.getUsers()).some((u) => u.name === name)) {
    await user.create(password());
    say(`created user ${name}`);
  }
  const roles = (await user.roles()).map((r) => r.name);
  if (!roles.includes(role)) {
    await user.addRole(role);
    say(`gave user ${name} role ${role}`);
  }
}

/** The password of `user`: from its file, else a new one written there. */
function passwordOf(dir: string, user: string, say: (s: string) => void): string {
  const file = join(dir, user);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pw = randomBytes(24).toString('base64url');
  writeFileSync(file, `${pw}\n`, { mode: 0o600 });
  say(`wrote the password of ${user} to ${file}`);
  return pw;
}

/** Makes etcd's roles and users match; returns the changes made, in order. */
export async function etcdSetup(etcd: Etcd3, o: SetupOptions): Promise<string[]> {
  const changes: string[] = [];
  const say = (s: string) => changes.push(s);
  await ensureRole(etcd, CONTROLLER_ROLE, controllerGrants(), say);
  await ensureUser(
    etcd,
    CONTROLLER_USER,
    CONTROLLER_ROLE,
    () => passwordOf(o.passwordDir, CONTROLLER_USER, say),
    say,
  );
  for (const host of o.hosts) {
    await ensureRole(etcd, hostRole(host), hostGrants(host), say);
    await ensureUser(
      etcd,
      hostUser(host),
      hostRole(host),
      () => passwordOf(o.passwordDir, hostUser(host), say),
      say,
    );
  }
  if (o.enableAuth) {
    if (!o.rootPassword) throw new Error('--enable-auth needs --root-password-file');
    await ensureUser(etcd, 'root', 'root', () => o.rootPassword as string, say);
    // etcd ignores the request when authentication is on already; 3.4 cannot be asked which it is.
    await etcd.auth.authEnable();
  }
  return changes;
}

export async function runEtcdSetup(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(ETCD_SETUP_USAGE);
    return 0;
  }
  const hosts: string[] = [];
  let passwordDir: string | undefined;
  let rootPasswordFile: string | undefined;
  let enableAuth = false;
  let configFile: string | undefined;
  const flags: Partial<Record<EtcdOptionName, string>> = {};
  const byFlag = new Map(ETCD_OPTIONS.map((o) => [o.flag, o.name]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const etcdOption = byFlag.get(a.replace(/^--/, ''));
    if (a === '--host') hosts.push(...value().split(',').filter(Boolean));
    else if (a === '--password-dir') passwordDir = value();
    else if (a === '--root-password-file') rootPasswordFile = value();
    else if (a === '--enable-auth') enableAuth = true;
    else if (a === '--config-file') configFile = value();
    else if (etcdOption) flags[etcdOption] = value();
    else throw new Error(`unexpected argument "${a}"\n${ETCD_SETUP_USAGE}`);
  }
  if (!passwordDir) throw new Error(`--password-dir is needed\n${ETCD_SETUP_USAGE}`);
  const problems: string[] = [];
  let ini: Ini = new Map();
  if (configFile) {
    const parsed = parseIni(readFileSync(configFile, 'utf8'), configFile);
    ini = parsed.ini;
    problems.push(...parsed.problems);
  }
  const { values, where } = resolveOptions(ETCD_OPTIONS, { ini, file: configFile ?? null, env, flags });
  const etcdCfg = etcdClientConfig(values, where, problems);
  if (problems.length) throw new Error(problems.join('\n'));
  const rootPassword = rootPasswordFile ? readFileSync(rootPasswordFile, 'utf8').trim() : undefined;
  // Once authentication is on, only root may change roles: connect as root when its password is known.
  const auth = etcdCfg.auth ?? (rootPassword ? { username: 'root', password: rootPassword } : undefined);
  const store = openStore({ ...etcdCfg, ...(auth ? { auth } : {}) });
  try {
    let changes: string[];
    try {
      changes = await etcdSetup(store.etcd, { hosts, passwordDir, enableAuth, rootPassword });
    } catch (e) {
      // Before auth is on, etcd refuses root's credentials: that is the first run; go without them.
      if (!(auth && !etcdCfg.auth && /authentication is not enabled/i.test(String(e)))) throw e;
      store.close();
      const plain = openStore(etcdCfg);
      try {
        changes = await etcdSetup(plain.etcd, { hosts, passwordDir, enableAuth, rootPassword });
      } finally {
        plain.close();
      }
    }
    for (const c of changes) console.log(c);
    if (enableAuth) console.log('etcd authentication is on');
    if (changes.length === 0) console.log('nothing to change');
  } finally {
    store.close();
  }
  return 0;
}
