/** Runs the simulator in a child process, so a benchmark's client does not share its CPU. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SimProcess {
  socket: string;
  stop(): Promise<void>;
}

export function startSimProcess(): Promise<SimProcess> {
  return startPeerProcess(new URL('../src/sim/main.ts', import.meta.url).pathname, (s) => ['--socket', s]);
}

/** The minimal echo peer (bench/echo-peer.ts): the client's own ceiling. */
export function startEchoPeer(): Promise<SimProcess> {
  return startPeerProcess(new URL('./echo-peer.ts', import.meta.url).pathname, (s) => [s]);
}

async function startPeerProcess(main: string, args: (socket: string) => string[]): Promise<SimProcess> {
  const socket = join(mkdtempSync(join(tmpdir(), 'netvpp-bench-')), 'api.sock');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', main, ...args(socket)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const t0 = Date.now();
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`${main} exited with ${child.exitCode}`);
    if (Date.now() - t0 > 15_000) throw new Error(`${main} did not start within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    socket,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
