// The agent's configuration: ini file, then environment, then flags; every mistake named clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseIni } from '../../src/agent/config.ts';

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
endpoints = 10.0.0.1:2379,https://10.0.0.2:2379

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
    `[DEFAULT]\nhost = a/b\nlog_level = loud\n[agent]\nphysnets = physnet1,this-physnet-name-is-much-too-long-for-a-vpp-tag:eth0\ntap_backend = kernel\nhealth_port = 99999\nvhost_user_dir = relative/dir\nmystery = 1\n[etcd]\nendpoints = ftp://x:1\ncert_file = /nonexistent.pem\n[vpp]\nsocket = api.sock\ngarbage line\n`,
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

test('ini parsing: comments, colons, sections are case-insensitive', () => {
  const { ini, problems: p } = parseIni('; c\n[Agent]\nPhysnets: a:b\n# x\n');
  assert.deepEqual(p, []);
  assert.equal(ini.get('agent')?.get('physnets')?.value, 'a:b');
});
