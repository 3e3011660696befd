// The `netvpp` command line: one parser (commander) for every subcommand, --help and --version exit
// 0, a usage error exits 2 with the message, the daemons' option tables are their flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSigner, loadVerifier } from '../../src/model/signing.ts';
import { netvpp, ROOT } from './helpers.ts';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('netvpp --version and --help exit 0; no command lists the commands', async () => {
  const [v, h, none] = await Promise.all([netvpp(['--version']), netvpp(['--help']), netvpp([])]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), version);
  for (const r of [h, none]) {
    assert.equal(r.code, 0, r.stderr);
    for (const c of ['demo', 'vpp', 'sim', 'agent', 'controller', 'plan', 'audit'])
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  }
});

test("each daemon's --help lists its option table; unknown options and commands exit 2", async () => {
  const [agent, controller, badOpt, badCmd, noValue] = await Promise.all([
    netvpp(['agent', '--help']),
    netvpp(['controller', '--help']),
    netvpp(['controller', '--bind-prot', '1']),
    netvpp(['frobnicate']),
    netvpp(['agent', '--physnets']),
  ]);
  assert.equal(agent.code, 0);
  const a = agent.stdout.replace(/\s+/g, ' ');
  assert.match(a, /--physnets <value> .*?\(NETVPP_PHYSNETS; \[AGENT\] physnets\)/);
  assert.match(a, /--config-file <path> ini file, repeatable/);
  assert.match(a, /--debug log at debug level/);
  assert.equal(controller.code, 0);
  assert.match(controller.stdout.replace(/\s+/g, ' '), /--bind-port <value> .*?\[CONTROLLER\] bind_port/);
  assert.equal(badOpt.code, 2);
  assert.match(badOpt.stderr, /unknown option '--bind-prot'/);
  assert.equal(badCmd.code, 2);
  assert.match(badCmd.stderr, /unknown command 'frobnicate'/);
  assert.equal(noValue.code, 2);
  assert.match(noValue.stderr, /option '--physnets <value>' argument missing/);
});

test('[DEFAULT] debug = True no longer stops a command: it gets as far as VPP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-cli-'));
  try {
    const ini = join(dir, 'netvpp.ini');
    const sock = join(dir, 'nothing.sock');
    writeFileSync(
      ini,
      `[DEFAULT]\ndebug = True\nuse_json = true\n[agent]\nphysnets = p:loop0\n[vpp]\nsocket = ${sock}\n`,
    );
    const r = await netvpp(['plan', '--config-file', ini]);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, /invalid agent configuration/);
    assert.match(r.stderr, new RegExp(`cannot connect to VPP at ${sock}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netvpp keys generate writes a key pair the daemons load, and never replaces one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-cli-keys-'));
  try {
    const out = join(dir, 'keys');
    const made = await netvpp(['keys', 'generate', '--out', out]);
    assert.equal(made.code, 0, made.stderr);
    const kid = /^key id (netvpp-\d{8}-[0-9a-f]{6})$/m.exec(made.stdout)?.[1];
    assert.ok(kid, made.stdout);
    const signer = loadSigner(join(out, `${kid}.key`));
    const verifier = loadVerifier([out]);
    assert.deepEqual(verifier.kids, [kid]);
    const key = 'global/secgroups/x';
    assert.ok(verifier.open(key, signer.seal(key, '{"id":"x"}')).ok);

    const named = await netvpp(['keys', 'generate', '--out', out, '--kid', 'ctl-2027']);
    assert.equal(named.code, 0, named.stderr);
    const again = await netvpp(['keys', 'generate', '--out', out, '--kid', 'ctl-2027']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /ctl-2027\.key already exists/);
    const missing = await netvpp(['keys', 'generate']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--out <dir>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
