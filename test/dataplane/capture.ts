// tcpdump in a network namespace, for the real-dataplane tests that look at frames on a wire
// (test/dataplane/taas.test.ts): started and waited for until it listens, its decoded lines kept,
// stopped once a condition on them holds (polled) or a generous time passes.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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

/** The bytes of a frame's line from `tcpdump -x` (the IP packet, as hex after each offset). */
export function hexBytes(line: string): Buffer {
  const hex = [...line.matchAll(/0x[0-9a-f]{4}:\s+((?:[0-9a-f]{2,4}\s?)+)/g)].map((m) =>
    m[1].replace(/\s/g, ''),
  );
  return Buffer.from(hex.join(''), 'hex');
}

/** An ERSPAN type II packet (IPv4, GRE 0x88be), as its headers say; null if it is not one. */
export interface Erspan {
  greSeq: number | null;
  version: number;
  vlan: number;
  cos: number;
  session: number;
  index: number;
  /** The mirrored frame. */
  frame: Buffer;
}

export function decodeErspan(ip: Buffer): Erspan | null {
  if (ip.length < 20 || ip[0] >> 4 !== 4 || ip[9] !== 47) return null;
  let o = (ip[0] & 0xf) * 4;
  const flags = ip.readUInt16BE(o);
  if (ip.readUInt16BE(o + 2) !== 0x88be) return null;
  o += 4;
  if (flags & 0x8000) o += 4; // checksum
  if (flags & 0x2000) o += 4; // key
  let greSeq: number | null = null;
  if (flags & 0x1000) {
    greSeq = ip.readUInt32BE(o);
    o += 4;
  }
  const h = ip.subarray(o, o + 8);
  if (h.length < 8) return null;
  return {
    greSeq,
    version: h[0] >> 4,
    vlan: ((h[0] & 0xf) << 8) | h[1],
    cos: h[2] >> 5,
    session: ((h[2] & 3) << 8) | h[3],
    index: h.readUInt32BE(4) & 0xfffff,
    frame: ip.subarray(o + 8),
  };
}

/** tcpdump's decode (`-n -e`) of Ethernet frames, one line each, through a pcap file in `dir`. */
export function tcpdumpFrames(frames: readonly Buffer[], file: string): string[] {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const recs = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(i, 0);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  writeFileSync(file, Buffer.concat([head, ...recs]));
  const r = spawnSync('tcpdump', ['-n', '-e', '-r', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tcpdump -r ${file}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}
