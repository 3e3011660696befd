import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig, parseArgs, USAGE } from '../../src/controller/config.ts';
import { parseIni } from '../../src/util/ini.ts';

function withIni(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-cfg-'));
  try {
    const path = join(dir, 'netvpp.ini');
    writeFileSync(path, text);
    fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The driver-authentication default (token) needs a token file; most tests here are about other options. */
const NOAUTH = { NETVPP_CONTROLLER_AUTH_STRATEGY: 'noauth' };

const INI = `
# netvpp
[DEFAULT]
log_level = debug

[controller]
bind_host = 0.0.0.0
bind_port = 9000
election_ttl = 5
; a comment
[etcd]
hosts = etcd1:2379, etcd2 ,https://etcd3:4001
username = netvpp
password = s3cret
`;

test('ini sections and keys are read; comments and blank lines are skipped', () => {
  const { ini, problems } = parseIni(INI);
  assert.deepEqual(problems, []);
  assert.equal(ini.get('controller')?.options.get('bind_port')?.value, '9000');
  assert.equal(ini.get('etcd')?.options.get('hosts')?.value, 'etcd1:2379, etcd2 ,https://etcd3:4001');
  assert.equal(ini.get('default')?.options.get('log_level')?.value, 'debug');
  assert.deepEqual(parseIni('key = 1', 'x.ini').problems, [
    'x.ini:1: option key appears before any [section]',
  ]);
  assert.match(parseIni('[a]\nnot a pair', 'x.ini').problems.join(), /x.ini:2: expected "option = value"/);
});

test('the file sets options; environment overrides the file; flags override both', () => {
  withIni(INI, (path) => {
    const fromFile = loadConfig(parseArgs(['--config-file', path]), NOAUTH).config;
    assert.equal(fromFile.bindHost, '0.0.0.0');
    assert.equal(fromFile.bindPort, 9000);
    assert.equal(fromFile.electionTtlSec, 5);
    assert.deepEqual(fromFile.etcd.endpoints, [
      'http://etcd1:2379',
      'http://etcd2:2379',
      'https://etcd3:4001',
    ]);
    assert.deepEqual(fromFile.etcd.auth, { username: 'netvpp', password: 's3cret' });

    const env = { ...NOAUTH, NETVPP_CONTROLLER_BIND_PORT: '9100', NETVPP_ETCD_HOSTS: '10.0.0.1:2379' };
    const fromEnv = loadConfig(parseArgs(['--config-file', path]), env).config;
    assert.equal(fromEnv.bindPort, 9100);
    assert.deepEqual(fromEnv.etcd.endpoints, ['http://10.0.0.1:2379']);

    const fromFlag = loadConfig(parseArgs(['--config-file', path, '--bind-port=9200']), env).config;
    assert.equal(fromFlag.bindPort, 9200);
  });
});

test(
  'a missing default file means defaults; a named file that is missing is an error',
  {
    skip: existsSync(DEFAULT_CONFIG_FILE) && `${DEFAULT_CONFIG_FILE} exists here`,
  },
  () => {
    const cfg = loadConfig(parseArgs([]), { ...NOAUTH, NETVPP_CONFIG: undefined }).config;
    assert.equal(cfg.bindPort, 9797);
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', '/nonexistent/netvpp.ini']), {}),
      /config file \/nonexistent\/netvpp.ini does not exist/,
    );
  },
);

test('bad values and unknown flags are refused with the option named', () => {
  withIni('[controller]\nelection_ttl = soon\n', (path) => {
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', path]), {}),
      /election_ttl must be a number >= 2/,
    );
  });
  assert.throws(() => parseArgs(['--bind-prot', '1']), /unknown flag --bind-prot/);
  assert.throws(() => parseArgs(['--bind-port']), /--bind-port needs a value/);
});

test('with a CA certificate, bare etcd hosts are reached over https', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-cfg-'));
  try {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'x');
    withIni(`[etcd]\nhosts = etcd1\nca_cert = ${ca}\n`, (path) => {
      const cfg = loadConfig(parseArgs(['--config-file', path]), NOAUTH).config;
      assert.deepEqual(cfg.etcd.endpoints, ['https://etcd1:2379']);
      assert.equal(cfg.etcd.tls?.ca, ca);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad line, an unknown option in [controller] or [etcd], and a missing TLS file are all reported', () => {
  withIni(
    '[controller]\nbind_prot = 9000\nelection_ttl = 1\n[etcd]\nhosts = etcd1\nca_cert = /nonexistent/ca.pem\nrequest_timeout = 0\ngarbage\nendpoints = etcd2\n',
    (path) => {
      assert.throws(
        () => loadConfig(parseArgs(['--config-file', path]), {}),
        (e: Error) => {
          for (const re of [
            /^invalid controller configuration:/,
            /netvpp\.ini:2: unknown option bind_prot in \[CONTROLLER\]/,
            /election_ttl must be a number >= 2, got "1" \(.*netvpp\.ini:3 \[CONTROLLER\] election_ttl\)/,
            /netvpp\.ini:6 \[ETCD\] ca_cert: file \/nonexistent\/ca\.pem does not exist/,
            /request_timeout must be a number >= 1, got "0"/,
            /netvpp\.ini:8: expected "option = value" or "\[section\]", got "garbage"/,
            /netvpp\.ini:9: unknown option endpoints in \[ETCD\] \(now hosts\)/,
          ])
            assert.match(e.message, re);
          return true;
        },
      );
    },
  );
});

test("the agent's [agent] and [vpp] sections are skipped; a section nobody reads is an error", () => {
  withIni('[agent]\nphysnets = p:eth0\nwhatever = 1\n[vpp]\nsocket = /x\n', (path) => {
    assert.equal(loadConfig(parseArgs(['--config-file', path]), NOAUTH).config.bindPort, 9797);
  });
  withIni('[controller]\nbind_port = 9000\n[nonsense]\nx = 1\n', (path) => {
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', path]), {}),
      /netvpp\.ini:3: unknown section \[NONSENSE\]/,
    );
  });
});

test('usage lists every option with its ini name and environment variable', () => {
  // Help is wrapped for an 80-column terminal: compare it as one line.
  const u = USAGE.replace(/\s+/g, ' ');
  for (const re of [
    /--config-file <path> ini file, repeatable/,
    /--etcd-hosts <value> .*?\(NETVPP_ETCD_HOSTS; \[ETCD\] hosts; default 127\.0\.0\.1:2379\)/,
    /--etcd-ca-cert <value> .*?\(NETVPP_ETCD_CA_CERT; \[ETCD\] ca_cert\)/,
    /--etcd-request-timeout <value> .*\(NETVPP_ETCD_REQUEST_TIMEOUT; \[ETCD\] request_timeout\)/,
    /--bind-port <value> .*\(NETVPP_CONTROLLER_BIND_PORT; \[CONTROLLER\] bind_port\)/,
    /--debug log at debug level/,
  ])
    assert.match(u, re);
});

test('oslo.log options: debug, use_json, log_file; repeated --config-file, later files win', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-cfg-'));
  try {
    const a = join(dir, 'a.ini');
    const b = join(dir, 'b.ini');
    writeFileSync(a, '[DEFAULT]\ndebug = True\n[controller]\nbind_port = 9001\nelection_ttl = 7\n');
    writeFileSync(
      b,
      `[DEFAULT]\nuse_json = true\nlog_file = ${join(dir, 'c.log')}\n[controller]\nbind_port = 9002\n`,
    );
    const r = loadConfig(parseArgs(['--config-file', a, '--config-file', b]), NOAUTH);
    assert.equal(r.config.bindPort, 9002);
    assert.equal(r.config.electionTtlSec, 7);
    assert.equal(r.source, b);
    assert.deepEqual(r.log, { level: 'debug', json: true, file: join(dir, 'c.log') });
    writeFileSync(b, '[DEFAULT]\nuse_json = maybe\n[controller]\nelection_ttl = 1\n');
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', a, '--config-file', b]), NOAUTH),
      (e: Error) =>
        /b\.ini:2 \[DEFAULT\] use_json: must be true or false/.test(e.message) &&
        /election_ttl must be a number >= 2, got "1" \(.*b\.ini:4 \[CONTROLLER\] election_ttl\)/.test(
          e.message,
        ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('driver authentication is on by default: a token file is required unless auth_strategy = noauth', () => {
  withIni('[controller]\n', (path) => {
    assert.throws(() => loadConfig(parseArgs(['--config-file', path]), {}), /auth_token_file is needed/);
    assert.equal(loadConfig(parseArgs(['--config-file', path]), NOAUTH).config.authTokenFile, null);
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', path, '--auth-strategy', 'keystone']), {}),
      /auth_strategy must be token or noauth, got "keystone"/,
    );
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', path, '--auth-token-file', '/nonexistent/token']), {}),
      /file \/nonexistent\/token does not exist/,
    );
    const cfg = loadConfig(parseArgs(['--config-file', path, '--auth-token-file', path]), {}).config;
    assert.equal(cfg.authTokenFile, path);
    assert.equal(cfg.tls, null);
  });
});

test('tls_cert_file and tls_key_file turn on HTTPS and go together', () => {
  withIni('[controller]\nauth_strategy = noauth\n', (path) => {
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', path, '--tls-cert-file', path]), {}),
      /tls_cert_file and tls_key_file go together/,
    );
    const cfg = loadConfig(
      parseArgs(['--config-file', path, '--tls-cert-file', path, '--tls-key-file', path]),
      {},
    ).config;
    assert.deepEqual(cfg.tls, { certFile: path, keyFile: path });
  });
});
