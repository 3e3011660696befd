// Shell helpers the real-dataplane tests share: whether a command is installed, and running one.
import { spawnSync } from 'node:child_process';

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Runs `cmd` in sh; throws with its output when it fails, unless `ok`. Returns its stdout. */
export function sh(cmd: string, ok = false): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0 && !ok) throw new Error(`${cmd}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
