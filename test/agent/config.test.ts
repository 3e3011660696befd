// The agent's configuration: ini file, then environment, then flags; every mistake named clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, usage } from '../../src/agent/config.ts';

function withFile(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-config-'));
  try {
    const p = join(dir, 'netvpp.ini');
    writeFileSync(p, text);
    fn(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  assert.fail('expected a ConfigError');
}

const INI = `
# netvpp agent on compute1
[DEFAULT]
host = compute1
log_level = debug

[agent]
physnets = physnet1:GigabitEthernet0/8/0, physnet2 : host-eth1
vhost_user_dir = /var/run/vpp-sockets/
tap_backend = veth
health_port = 9700

[etcd]
hosts = 10.0.0.1:2379,https://10.0.0.2:2379

[vpp]
socket = /run/vpp/api.sock
`;

test('an OpenStack-style ini file gives the whole configuration', () => {
  withFile(INI.replace('https://10.0.0.2', 'http://10.0.0.2'), (path) => {
    const c = loadConfig({ argv: ['--config-file', path], env: {} });
    assert.equal(c.host, 'compute1');
    assert.equal(c.logLevel, 'debug');
    assert.deepEqual(
      [...c.physnets],
      [
        ['physnet1', 'GigabitEthernet0/8/0'],
        ['physnet2', 'host-eth1'],
      ],
    );
    assert.equal(c.vhostUserDir, '/var/run/vpp-sockets');
    assert.equal(c.tapBackend, 'veth');
    assert.deepEqual(c.health, { host: '127.0.0.1', port: 9700 });
    assert.deepEqual(c.etcd.endpoints, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    assert.equal(c.vppSocket, '/run/vpp/api.sock');
    assert.equal(c.configFile, path);
  });
});

test('environment overrides the file and flags override both', () => {
  withFile(INI.replace('https://10.0.0.2', 'http://10.0.0.2'), (path) => {
    const c = loadConfig({
      argv: ['--config-file', path, '--host=compute9', '--physnets', 'p:loop0'],
      env: { NETVPP_HOST: 'compute5', NETVPP_VPP_SOCKET: '/tmp/vpp.sock', NETVPP_HEALTH_PORT: 'off' },
    });
    assert.equal(c.host, 'compute9');
    assert.deepEqual([...c.physnets], [['p', 'loop0']]);
    assert.equal(c.vppSocket, '/tmp/vpp.sock');
    assert.equal(c.health, null);
  });
});

test('tap_backend = auto picks VPP taps when /dev/vhost-net exists, else veth pairs', () => {
  const env = { NETVPP_PHYSNETS: 'physnet1:loop0' };
  const argv = ['--config-file', '/dev/null'];
  assert.equal(loadConfig({ argv, env, hasVhostNet: () => true }).tapBackend, 'tap');
  assert.equal(loadConfig({ argv, env, hasVhostNet: () => false }).tapBackend, 'veth');
});

test('bad configuration is reported all at once, naming each option and where it came from', () => {
  withFile(
    `[DEFAULT]\nhost = a/b\nlog_level = loud\n[agent]\nphysnets = physnet1,this-physnet-name-is-much-too-long-for-a-vpp-tag:eth0\ntap_backend = kernel\nhealth_port = 99999\nvhost_user_dir = relative/dir\nmystery = 1\n[etcd]\nhosts = ftp://x:1\ncert_file = /nonexistent.pem\n[vpp]\nsocket = api.sock\ngarbage line\n`,
    (path) => {
      const p = problems(() => loadConfig({ argv: ['--config-file', path], env: {} })).join('\n');
      for (const re of [
        /netvpp\.ini:\d+: expected "option = value"/,
        /unknown option mystery in \[AGENT\]/,
        /host name "a\/b" is not valid/,
        /log level must be one of debug\|info\|warn\|error/,
        /expected "physnet:interface", got "physnet1"/,
        /physnet name "this-physnet-name-is-much-too-long-for-a-vpp-tag" must be 1\.\.32 characters/,
        /tap_backend: must be auto, tap or veth/,
        /health_port: must be a port number/,
        /vhost_user_dir: must be an absolute path/,
        /"ftp:\/\/x:1" is not http\(s\):\/\/host:port/,
        /cert_file and key_file go together/,
        /file \/nonexistent\.pem does not exist/,
        /the VPP API socket must be an absolute path/,
      ]) {
        assert.match(p, re);
      }
    },
  );
});

test('no physnets at all, an unknown flag, and a missing config file are errors', () => {
  const p = problems(() =>
    loadConfig({ argv: ['--config-file', '/nonexistent/netvpp.ini', '--colour', 'blue'], env: {} }),
  );
  assert.ok(p.some((x) => /config file \/nonexistent\/netvpp\.ini does not exist/.test(x)));
  assert.ok(p.some((x) => /unknown flag --colour/.test(x)));
  assert.ok(p.some((x) => /no physnet is configured/.test(x)));
});

test('an unknown option in [DEFAULT], [agent], [etcd] or [vpp] is an error naming file and line', () => {
  withFile(
    '[DEFAULT]\nverbose = true\n[agent]\nphysnets = p:loop0\nphysnet = q:loop1\n[etcd]\nhost = etcd1\n[vpp]\nsockt = /run/vpp/api.sock\n',
    (path) => {
      const p = problems(() => loadConfig({ argv: ['--config-file', path], env: {} }));
      assert.deepEqual(p, [
        `${path}:2: unknown option verbose in [DEFAULT]`,
        `${path}:5: unknown option physnet in [AGENT]`,
        `${path}:7: unknown option host in [ETCD]`,
        `${path}:9: unknown option sockt in [VPP]`,
      ]);
    },
  );
});

test("the controller's [controller] section is skipped; a section nobody reads is an error", () => {
  withFile(
    '[agent]\nphysnets = p:loop0\n[controller]\nbind_port = 9797\nanything = goes\n[nonsense]\nx = 1\n',
    (path) => {
      const p = problems(() => loadConfig({ argv: ['--config-file', path], env: {} }));
      assert.equal(p.length, 1, p.join('\n'));
      assert.match(p[0], /netvpp\.ini:6: unknown section \[NONSENSE\]/);
    },
  );
});

test('the former [etcd] names of the agent are refused with the new name', () => {
  withFile('[agent]\nphysnets = p:loop0\n[etcd]\nendpoints = 10.0.0.1:2379\nca_file = /x.pem\n', (path) => {
    const p = problems(() =>
      loadConfig({
        argv: ['--config-file', path, '--etcd-endpoints', '10.0.0.2:2379'],
        env: { NETVPP_ETCD_CA: '/ca.pem' },
      }),
    ).join('\n');
    assert.match(p, /netvpp\.ini:4: unknown option endpoints in \[ETCD\] \(now hosts\)/);
    assert.match(p, /netvpp\.ini:5: unknown option ca_file in \[ETCD\] \(now ca_cert\)/);
    assert.match(p, /unknown flag --etcd-endpoints \(now --etcd-hosts\)/);
    assert.match(p, /NETVPP_ETCD_CA is no longer read; use NETVPP_ETCD_CA_CERT/);
  });
});

test('etcd options: flags, environment, TLS and request timeout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-config-'));
  try {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'x');
    const c = loadConfig({
      argv: ['--config-file', '/dev/null', '--etcd-hosts', 'etcd1,etcd2:4001', '--etcd-ca-cert', ca],
      env: { NETVPP_PHYSNETS: 'p:loop0', NETVPP_ETCD_REQUEST_TIMEOUT: '2', NETVPP_ETCD_HOSTS: 'ignored:1' },
    });
    assert.deepEqual(c.etcd, {
      endpoints: ['https://etcd1:2379', 'https://etcd2:4001'],
      tls: { ca },
      requestTimeoutMs: 2000,
    });
    const p = problems(() =>
      loadConfig({
        argv: ['--config-file', '/dev/null'],
        env: {
          NETVPP_PHYSNETS: 'p:loop0',
          NETVPP_ETCD_HOSTS: 'http://etcd1:2379',
          NETVPP_ETCD_CA_CERT: ca,
          NETVPP_ETCD_KEY_FILE: join(dir, 'missing.key'),
          NETVPP_ETCD_USERNAME: 'netvpp',
        },
      }),
    ).join('\n');
    assert.match(p, /http:\/\/etcd1:2379 uses http:\/\/; use https:\/\//);
    assert.match(p, /cert_file and key_file go together/);
    assert.match(p, /NETVPP_ETCD_KEY_FILE: file .*missing\.key does not exist/);
    assert.match(p, /username and password go together/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage lists every option with its flag, environment variable and ini name', () => {
  // Help is wrapped for an 80-column terminal: compare it as one line.
  const u = usage().replace(/\s+/g, ' ');
  assert.match(u, /--etcd-hosts <value> .*?\(NETVPP_ETCD_HOSTS; \[ETCD\] hosts; default 127\.0\.0\.1:2379\)/);
  assert.match(u, /--etcd-ca-cert <value> .*?\(NETVPP_ETCD_CA_CERT; \[ETCD\] ca_cert\)/);
  assert.match(u, /--physnets <value> .*?\(NETVPP_PHYSNETS; \[AGENT\] physnets\)/);
  assert.match(u, /--host <value> .*?\(NETVPP_HOST; \[DEFAULT\] host\)/);
  assert.match(
    u,
    /--vpp-socket <value> .*?\(NETVPP_VPP_SOCKET; \[VPP\] socket; default \/run\/vpp\/api\.sock\)/,
  );
  assert.match(u, /--config-file <path> ini file, repeatable/);
});

test('oslo.log options in [DEFAULT]: debug = True is log level debug; use_json and log_file', () => {
  withFile('[DEFAULT]\ndebug = True\nuse_json = yes\n[agent]\nphysnets = p:loop0\n', (path) => {
    const c = loadConfig({ argv: ['--config-file', path], env: {} });
    assert.equal(c.logLevel, 'debug');
    assert.deepEqual(c.log, { json: true, file: null });
    const off = loadConfig({ argv: ['--config-file', path], env: { NETVPP_DEBUG: 'false' } });
    assert.equal(off.logLevel, 'info');
    const p = problems(() =>
      loadConfig({ argv: ['--config-file', path, '--log-file', '/nonexistent/dir/agent.log'], env: {} }),
    );
    assert.deepEqual(p, ['--log-file: directory /nonexistent/dir does not exist']);
  });
});

test('--config-file repeated: later files override earlier ones; errors name the file', () => {
  withFile('[agent]\nphysnets = p:loop0\ntap_backend = tap\n[vpp]\nsocket = /run/a.sock\n', (first) =>
    withFile('[vpp]\nsocket = /run/b.sock\n[agent]\ntap_backend = bogus\n', (second) => {
      const p = problems(() =>
        loadConfig({ argv: ['--config-file', first, '--config-file', second], env: {} }),
      );
      assert.deepEqual(
        p.map((x) => x.replace(second, 'SECOND')),
        ['SECOND:4 [AGENT] tap_backend: must be auto, tap or veth, got "bogus"'],
      );
      writeFileSync(second, '[vpp]\nsocket = /run/b.sock\n');
      const c = loadConfig({ argv: ['--config-file', first, '--config-file', second], env: {} });
      assert.equal(c.vppSocket, '/run/b.sock');
      assert.equal(c.tapBackend, 'tap');
      assert.deepEqual(c.configFiles, [first, second]);
    }),
  );
});
