// One netvpp.ini for both daemons: the parser, and the agent and the controller reading one file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig as loadAgentConfig } from '../../src/agent/config.ts';
import { loadConfig as loadControllerConfig, parseArgs } from '../../src/controller/config.ts';
import { generateKeyFiles } from '../../src/model/signing.ts';
import { parseIni } from '../../src/util/ini.ts';

function inDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-ini-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const agent = (path: string, env: NodeJS.ProcessEnv = {}) =>
  loadAgentConfig({ argv: ['--config-file', path], env, hasVhostNet: () => true });
// Driver authentication (on by default) is not what these tests are about.
const controller = (path: string, env: NodeJS.ProcessEnv = {}) =>
  loadControllerConfig(parseArgs(['--config-file', path]), {
    NETVPP_CONTROLLER_AUTH_STRATEGY: 'noauth',
    ...env,
  }).config;

/** The problems of the agent (ConfigError) or the controller (Error) as one string. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof ConfigError ? e.problems.join('\n') : (e as Error).message;
  }
  assert.fail('expected a configuration error');
}

test('parser: sections and options are lower-cased; "=" or ":"; comment lines; line numbers', () => {
  const { ini, problems } = parseIni(
    '; c\n[DEFAULT]\nHost: compute1\n# x\n[Agent]\nphysnets = a:b \n',
    'f.ini',
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(ini.get('default')?.options.get('host'), { value: 'compute1', line: 3 });
  assert.deepEqual(ini.get('agent')?.options.get('physnets'), { value: 'a:b', line: 6 });
  assert.equal(ini.get('agent')?.line, 5);
});

test('parser: indented lines continue the value above; a comment is skipped, a blank line ends it', () => {
  const text = [
    '[etcd]',
    'hosts = etcd1:2379,',
    '    etcd2:2379,',
    '    # etcd3:2379,',
    '    etcd4:2379',
    'username = netvpp',
    '',
    '  password = s3cret',
    '[agent]',
    '  physnets =',
    '    physnet1:eth0',
    '\tphysnet2:eth1',
  ].join('\n');
  const { ini, problems } = parseIni(text, 'f.ini');
  assert.deepEqual(problems, []);
  const etcd = ini.get('etcd')?.options;
  assert.equal(etcd?.get('hosts')?.value, 'etcd1:2379,\netcd2:2379,\netcd4:2379');
  assert.equal(etcd?.get('username')?.value, 'netvpp');
  assert.equal(etcd?.get('password')?.value, 's3cret');
  assert.equal(ini.get('agent')?.options.get('physnets')?.value, '\nphysnet1:eth0\nphysnet2:eth1');
});

test('parser: what it cannot read is a file:line problem, not an exception', () => {
  const { ini, problems } = parseIni('early = 1\n[a]\nx = 1\nno pair here\n= 2\n[b\n', 'f.ini');
  assert.deepEqual(problems, [
    'f.ini:1: option early appears before any [section]',
    'f.ini:4: expected "option = value" or "[section]", got "no pair here"',
    'f.ini:5: expected "option = value" or "[section]", got "= 2"',
    'f.ini:6: expected "option = value" or "[section]", got "[b"',
  ]);
  assert.equal(ini.get('a')?.options.get('x')?.value, '1');
});

/** One file for a node that runs both daemons, as docs/agent.md shows it. */
const SHARED = (dir: string) => `
[DEFAULT]
host = node1
log_level = info

[etcd]
hosts = etcd1:2379,
        etcd2:2379, etcd3
ca_cert = ${dir}/ca.pem
cert_file = ${dir}/client.pem
key_file = ${dir}/client.key
username = netvpp
password = s3cret
request_timeout = 3

[agent]
physnets = physnet1:GigabitEthernet0/8/0,
           physnet2:host-eth1

[vpp]
socket = /run/vpp/api.sock

[controller]
bind_host = 0.0.0.0
bind_port = 9797
advertise_url = http://node1:9797
`;

test('one file with [DEFAULT], [etcd], [agent], [vpp] and [controller] serves both daemons alike', () => {
  inDir((dir) => {
    for (const f of ['ca.pem', 'client.pem', 'client.key']) writeFileSync(join(dir, f), 'x');
    const path = join(dir, 'netvpp.ini');
    writeFileSync(path, SHARED(dir));

    const a = agent(path);
    const c = controller(path);
    const etcd = {
      endpoints: ['https://etcd1:2379', 'https://etcd2:2379', 'https://etcd3:2379'],
      tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') },
      auth: { username: 'netvpp', password: 's3cret' },
      requestTimeoutMs: 3000,
    };
    assert.deepEqual(a.etcd, etcd);
    assert.deepEqual(c.etcd, etcd);

    assert.equal(a.host, 'node1');
    assert.deepEqual(
      [...a.physnets],
      [
        ['physnet1', 'GigabitEthernet0/8/0'],
        ['physnet2', 'host-eth1'],
      ],
    );
    assert.equal(c.bindHost, '0.0.0.0');
    assert.equal(c.advertiseUrl, 'http://node1:9797');

    // The same environment override reaches both.
    const env = { NETVPP_ETCD_HOSTS: 'https://etcd9:2379' };
    assert.deepEqual(agent(path, env).etcd.endpoints, ['https://etcd9:2379']);
    assert.deepEqual(controller(path, env).etcd.endpoints, ['https://etcd9:2379']);
  });
});

test("each daemon checks its own sections and skips the other's; a section nobody reads fails both", () => {
  inDir((dir) => {
    const path = join(dir, 'netvpp.ini');
    writeFileSync(path, '[agent]\nphysnets = p:loop0\nphysnet_map = x\n[controller]\nbind_port = 9000\n');
    assert.match(
      failure(() => agent(path)),
      /netvpp\.ini:3: unknown option physnet_map in \[AGENT\]/,
    );
    assert.equal(controller(path).bindPort, 9000);

    writeFileSync(path, '[agent]\nphysnets = p:loop0\n[controller]\nbind_prot = 9000\n');
    assert.equal(agent(path).physnets.get('p'), 'loop0');
    assert.match(
      failure(() => controller(path)),
      /netvpp\.ini:4: unknown option bind_prot in \[CONTROLLER\]/,
    );

    writeFileSync(path, '[agent]\nphysnets = p:loop0\n\n[nonsense]\nx = 1\n');
    for (const load of [agent, controller])
      assert.match(
        failure(() => load(path)),
        /netvpp\.ini:4: unknown section \[NONSENSE\]/,
      );

    // [DEFAULT] and [etcd] are read by both: a typo there fails both.
    writeFileSync(path, '[agent]\nphysnets = p:loop0\n[etcd]\nhost = etcd1\n');
    for (const load of [agent, controller])
      assert.match(
        failure(() => load(path)),
        /netvpp\.ini:4: unknown option host in \[ETCD\]/,
      );
  });
});

test('both daemons apply the same [etcd] checks', () => {
  inDir((dir) => {
    const path = join(dir, 'netvpp.ini');
    const cases: [string, RegExp][] = [
      [
        `cert_file = ${dir}/c.pem\nkey_file = ${dir}/k.pem`,
        /a client certificate or key is set but no ca_cert/,
      ],
      [`ca_cert = ${dir}/ca.pem`, /\[ETCD\] ca_cert: file .*ca\.pem does not exist/],
      [
        'hosts = http://etcd1:2379\nca_cert = /dev/null',
        /http:\/\/etcd1:2379 uses http:\/\/; use https:\/\//,
      ],
      ['hosts = ftp://etcd1:2379', /"ftp:\/\/etcd1:2379" is not http\(s\):\/\/host:port/],
      ['hosts = ,', /\[ETCD\] hosts: no etcd endpoint/],
      ['username = netvpp', /username and password go together/],
      ['request_timeout = soon', /request_timeout must be a number >= 1, got "soon"/],
    ];
    for (const [etcd, re] of cases) {
      writeFileSync(path, `[agent]\nphysnets = p:loop0\n[etcd]\n${etcd}\n`);
      assert.match(
        failure(() => agent(path)),
        re,
        `agent: ${etcd}`,
      );
      assert.match(
        failure(() => controller(path)),
        re,
        `controller: ${etcd}`,
      );
    }
  });
});

test('[security]: the controller loads its signing key, the agent its verify keys, from one file', () => {
  inDir((dir) => {
    generateKeyFiles(join(dir, 'keys'), 'k1');
    generateKeyFiles(join(dir, 'keys'), 'k2');
    const path = join(dir, 'netvpp.ini');
    const file = (security: string) =>
      writeFileSync(path, `[agent]\nphysnets = p:loop0\n\n[security]\n${security}\n`);
    file(`signing_key_file = ${dir}/keys/k2.key\nverify_keys = ${dir}/keys/`);
    assert.deepEqual(agent(path).verifier?.kids, ['k1', 'k2']);
    assert.equal(controller(path).signer?.kid, 'k2');

    // Unset: signing off on both sides.
    file('');
    assert.equal(agent(path).verifier, null);
    assert.equal(controller(path).signer, null);

    file(`verify_keys = ${dir}/keys/k1.pub, ${dir}/keys/nope.pub`);
    assert.match(
      failure(() => agent(path)),
      /netvpp\.ini:5 \[SECURITY\] verify_keys: .*nope\.pub: no such file/,
    );
    file(`signing_key_file = ${dir}/keys/k1.pub`);
    assert.match(
      failure(() => controller(path)),
      /signing_key_file.*named <key id>\.key/,
    );
  });
});
