// The installable package: `npm pack` (which builds dist/ with tsc) gives a tarball that installs
// offline into an empty prefix without dev dependencies, and the installed `netvpp` runs the
// compiled JavaScript: --version, --help and `config sample` as from the sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configSample } from '../../src/cli/config-sample.ts';
import { ROOT } from './helpers.ts';

const run = promisify(execFile);

/** The caller's environment without NETVPP_* (an installed command reads them). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NETVPP_')) env[k] = v;
  return env;
}

test('npm pack → npm install --offline --omit=dev → the installed netvpp runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-pkg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = cleanEnv();
  const big = { env, maxBuffer: 16 << 20 };

  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { ...big, cwd: ROOT });
  // npm prints the prepack build's output before the JSON.
  const json = packed.stdout.slice(packed.stdout.indexOf('['));
  const [info] = JSON.parse(json) as { filename: string; files: { path: string }[] }[];
  const paths = info.files.map((f) => f.path);
  assert.ok(paths.includes('dist/cli/main.js'), 'the compiled CLI is in the tarball');
  assert.ok(paths.includes('packaging/systemd/netvpp-agent.service'), 'and the systemd units');
  assert.ok(!paths.some((p) => p.startsWith('src/') || p.startsWith('test/')), 'no sources or tests');

  // --offline: every dependency must come from the tarball itself (bundled), not a registry.
  const prefix = join(dir, 'prefix');
  await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--offline',
      '--omit=dev',
      '--no-audit',
      '--no-fund',
      join(dir, info.filename),
    ],
    { ...big, cwd: dir },
  );
  const installed = join(prefix, 'lib', 'node_modules', 'netvpp');
  assert.ok(!existsSync(join(installed, 'node_modules', 'tsx')), 'no dev dependency installed');
  assert.ok(!existsSync(join(installed, 'src')), 'the installed package runs dist/');

  const bin = join(prefix, 'bin', 'netvpp');
  const opts = { ...big, cwd: dir };
  const [version, help, sample] = await Promise.all([
    run(bin, ['--version'], opts),
    run(bin, ['--help'], opts),
    run(bin, ['config', 'sample'], opts),
  ]);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(version.stdout.trim(), pkg.version);
  for (const cmd of ['agent', 'controller', 'status', 'resync', 'config']) {
    assert.match(help.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), `--help lists ${cmd}`);
  }
  assert.equal(sample.stdout, configSample());
});
