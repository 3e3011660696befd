// oslo.log-style logging: use_json gives one JSON object per line, log_file appends to a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureLog, logger } from '../../src/util/log.ts';

test('use_json and log_file: JSON lines appended to the file, below the level nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-log-'));
  const file = join(dir, 'agent.log');
  try {
    configureLog({ level: 'info', json: true, file });
    const log = logger('agent').child('vpp');
    log.debug('not shown');
    log.info('connected to VPP', { version: '26.06', error: new Error('boom'), n: 3n });
    configureLog({ level: 'info', json: false, file });
    log.warn('plain line', { socket: '/run/vpp/api.sock' });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 2);
    const rec = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(rec.level, 'info');
    assert.equal(rec.component, 'agent.vpp');
    assert.equal(rec.message, 'connected to VPP');
    assert.equal(rec.version, '26.06');
    assert.equal(rec.error, 'boom');
    assert.equal(rec.n, '3');
    assert.match(String(rec.time), /^\d{4}-\d\d-\d\dT/);
    assert.match(lines[1], / WARN agent\.vpp: plain line socket=\/run\/vpp\/api\.sock$/);
  } finally {
    configureLog({ level: 'warn' });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('under systemd with stderr on the journal, each line carries its syslog priority', async () => {
  // The child sets JOURNAL_STREAM as systemd would: to its stderr's dev:inode, or to another stream's.
  const child = (matching: boolean) =>
    new Promise<string>((resolve, reject) => {
      const script =
        "import { fstatSync } from 'node:fs';\n" +
        'const st = fstatSync(2);\n' +
        `process.env.JOURNAL_STREAM = ${matching ? '`${st.dev}:${st.ino}`' : "'1:1'"};\n` +
        "const { configureLog, logger } = await import('./src/util/log.ts');\n" +
        "configureLog({ level: 'debug' });\n" +
        "const log = logger('agent');\n" +
        "log.error('e'); log.warn('w'); log.info('i'); log.debug('d');\n";
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
        (e, _out, stderr) => (e ? reject(e) : resolve(stderr)),
      );
    });
  const [journal, plain] = await Promise.all([child(true), child(false)]);
  assert.deepEqual(
    journal
      .trimEnd()
      .split('\n')
      .map((l) => l.slice(0, 3)),
    ['<3>', '<4>', '<6>', '<7>'],
  );
  assert.match(journal, /^<4>\S+ WARN agent: w$/m);
  assert.match(plain, /^\S+ ERROR agent: e$/m);
  assert.doesNotMatch(plain, /^</m);
});
