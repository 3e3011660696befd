// Runs test/store/fixtures/holder.ts in its own process, so a test can SIGKILL it.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../fixtures/holder.ts', import.meta.url));

export interface Child {
  proc: ChildProcess;
  /** Resolves when the child printed `line`. */
  saw(line: string): Promise<void>;
  kill(): Promise<void>;
}

export function spawnHolder(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters: Array<() => void> = [];
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    saw(line) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (out.split('\n').includes(line)) resolve();
          else if (proc.exitCode !== null) reject(new Error(`holder exited before printing ${line}`));
          else waiters.push(check);
        };
        check();
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
