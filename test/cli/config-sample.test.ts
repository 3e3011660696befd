// `netvpp config sample`: every option of both daemons' tables, commented; the file as printed, and
// with every option that has a default uncommented, is accepted by the agent and the controller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_OPTIONS, loadConfig as loadAgent } from '../../src/agent/config.ts';
import { CONTROLLER_OPTIONS, loadConfig as loadController, parseArgs } from '../../src/controller/config.ts';
import { configSample } from '../../src/cli/config-sample.ts';
import { netvpp } from './helpers.ts';

test('the sample names every option, and both daemons read it (commented, and with defaults set)', () => {
  const sample = configSample();
  for (const o of [...AGENT_OPTIONS, ...CONTROLLER_OPTIONS]) {
    assert.match(sample, new RegExp(`^#${o.name} =`, 'm'), `${o.section}.${o.name}`);
    assert.ok(sample.includes(o.env), o.env);
  }
  assert.match(sample, /^\[DEFAULT\]$/m);
  assert.match(sample, /^\[controller\]$/m);
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sample-'));
  try {
    const uncommented = sample.replace(/^#(\w+ = \S.*)$/gm, '$1');
    assert.match(uncommented, /^hosts = 127\.0\.0\.1:2379$/m);
    for (const [name, text] of [
      ['commented.ini', sample],
      ['defaults.ini', uncommented],
    ]) {
      const path = join(dir, name);
      writeFileSync(path, text);
      const env = { NETVPP_PHYSNETS: 'physnet1:eth0' };
      const a = loadAgent({ argv: ['--config-file', path], env, hasVhostNet: () => true });
      assert.equal(a.vppSocket, '/run/vpp/api.sock');
      // Driver authentication is on by default: it needs its token file.
      const tokens = join(dir, 'tokens');
      writeFileSync(tokens, 'a-token-of-sixteen-or-more\n');
      const c = loadController(parseArgs(['--config-file', path]), {
        NETVPP_CONTROLLER_AUTH_TOKEN_FILE: tokens,
      });
      assert.equal(c.config.bindPort, 9797);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netvpp config sample prints it', async () => {
  const r = await netvpp(['config', 'sample']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, configSample());
});
