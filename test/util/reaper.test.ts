// A process stopped by a signal (as node's test runner stops a timed-out file) takes the children
// it registered with it, so one hung test file cannot leave daemons loading the rest of a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pollUntil, sleep } from '../../src/util/wait.ts';

const reaper = fileURLToPath(new URL('../../src/util/reaper.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a ${signal} to the parent kills the children it registered`, async () => {
    const script = `
      import { spawn } from 'node:child_process';
      import { killOnExit } from ${JSON.stringify(reaper)};
      const kept = spawn('sleep', ['300'], { stdio: 'ignore' });
      killOnExit(() => kept.kill('SIGKILL'));
      const loose = spawn('sleep', ['300'], { stdio: 'ignore', detached: true });
      console.log(kept.pid + ' ' + loose.pid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await pollUntil(
      'the parent to start its children',
      () => (/^\d+ \d+\n/.test(out) ? true : undefined),
      30_000,
    );
    const [kept, loose] = out.trim().split(' ').map(Number);
    try {
      assert.ok(alive(kept) && alive(loose));
      parent.kill(signal);
      await pollUntil(
        'the registered child to die with its parent',
        () => (alive(kept) ? undefined : true),
        30_000,
      );
      await sleep(200);
      assert.ok(
        alive(loose),
        'a child nobody registered is left alone (the hook kills only what it was given)',
      );
    } finally {
      for (const pid of [kept, loose]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
}
