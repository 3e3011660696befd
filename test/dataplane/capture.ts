// tcpdump in a network namespace, for the real-dataplane tests that look at frames on a wire
// (test/dataplane/taas.test.ts): started and waited for until it listens, its decoded lines kept,
// stopped once a condition on them holds (polled) or a generous time passes.
import { spawn } from 'node:child_process';
import { waitFor } from '../agent/helpers/harness.ts';

export interface Capture {
  /** The lines tcpdump printed so far (one per frame, more with -v). */
  lines(): string[];
  /** Waits until `done(lines)` holds (up to `ms`), then stops tcpdump; returns its lines. */
  until(what: string, done: (lines: string[]) => boolean, ms?: number): Promise<string[]>;
  stop(): Promise<string[]>;
}

/** Starts `tcpdump -n -l <opts> -i <ifname> <filter>` in `ns`. */
export async function capture(ns: string, ifname: string, filter: string, opts = '-e'): Promise<Capture> {
  const args = ['netns', 'exec', ns, 'tcpdump', '-n', '-l', '-U', ...opts.split(' ').filter(Boolean)];
  const c = spawn('ip', [...args, '-i', ifname, ...filter.split(' ')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = false;
  c.stdout.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<void>((res) =>
    c.on('close', () => {
      exited = true;
      res();
    }),
  );
  await waitFor(
    `tcpdump listening on ${ifname} in ${ns}`,
    () => err.includes('listening on') || exited,
    15_000,
  );
  if (exited) throw new Error(`tcpdump in ${ns}: ${err}`);
  // With -v a frame's decode may continue on indented lines: they are joined to their frame's line.
  const lines = (): string[] =>
    out
      .split('\n')
      .filter((l) => l !== '')
      .reduce<string[]>((acc, l) => {
        if (/^\s/.test(l) && acc.length > 0) acc[acc.length - 1] += ' ' + l.trim();
        else acc.push(l);
        return acc;
      }, []);
  const stop = async (): Promise<string[]> => {
    if (!exited) c.kill('SIGINT');
    await closed;
    return lines();
  };
  return {
    lines,
    stop,
    async until(what, done, ms = 20_000) {
      await waitFor(what, () => done(lines()), ms).catch(() => undefined);
      return stop();
    },
  };
}

/** How many of `lines` match `re`. */
export const count = (lines: readonly string[], re: RegExp): number => lines.filter((l) => re.test(l)).length;
