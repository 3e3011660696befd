import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig, parseArgs, parseIni } from '../../src/controller/config.ts';

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

const INI = `
# netvpp
[DEFAULT]
debug = true

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
  const ini = parseIni(INI);
  assert.equal(ini.controller.bind_port, '9000');
  assert.equal(ini.etcd.hosts, 'etcd1:2379, etcd2 ,https://etcd3:4001');
  assert.equal(ini.DEFAULT.debug, 'true');
  assert.throws(() => parseIni('key = 1', 'x.ini'), /x.ini:1: "key" is outside any \[section\]/);
  assert.throws(() => parseIni('[a]\nnot a pair', 'x.ini'), /x.ini:2: expected "key = value"/);
});

test('the file sets options; environment overrides the file; flags override both', () => {
  withIni(INI, (path) => {
    const fromFile = loadConfig(parseArgs(['--config-file', path]), {}).config;
    assert.equal(fromFile.bindHost, '0.0.0.0');
    assert.equal(fromFile.bindPort, 9000);
    assert.equal(fromFile.electionTtlSec, 5);
    assert.deepEqual(fromFile.etcd.endpoints, [
      'http://etcd1:2379',
      'http://etcd2:2379',
      'https://etcd3:4001',
    ]);
    assert.deepEqual(fromFile.etcd.auth, { username: 'netvpp', password: 's3cret' });

    const env = { NETVPP_CONTROLLER_BIND_PORT: '9100', NETVPP_ETCD_HOSTS: '10.0.0.1:2379' };
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
    const cfg = loadConfig(parseArgs([]), { NETVPP_CONFIG: undefined }).config;
    assert.equal(cfg.bindPort, 9797);
    assert.throws(
      () => loadConfig(parseArgs(['--config-file', '/nonexistent/netvpp.ini']), {}),
      /cannot read config file \/nonexistent\/netvpp.ini/,
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
  assert.throws(() => parseArgs(['--bind-prot', '1']), /unknown option --bind-prot/);
  assert.throws(() => parseArgs(['--bind-port']), /--bind-port needs a value/);
});

test('with a CA certificate, bare etcd hosts are reached over https', () => {
  withIni('[etcd]\nhosts = etcd1\nca_cert = /etc/netvpp/ca.pem\n', (path) => {
    const cfg = loadConfig(parseArgs(['--config-file', path]), {}).config;
    assert.deepEqual(cfg.etcd.endpoints, ['https://etcd1:2379']);
    assert.equal(cfg.etcd.tls?.ca, '/etc/netvpp/ca.pem');
  });
});
