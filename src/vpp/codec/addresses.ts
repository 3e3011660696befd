/** Text <-> wire forms of the address types VPP's API carries as raw bytes. */
import { isIPv4, isIPv6 } from 'node:net';

export class CodecError extends Error {
  override name = 'CodecError';
}

export function ip4ToBytes(s: string, out: Uint8Array, off: number): void {
  if (!isIPv4(s)) throw new CodecError(`not an IPv4 address: ${JSON.stringify(s)}`);
  const p = s.split('.');
  for (let i = 0; i < 4; i++) out[off + i] = Number(p[i]);
}

export function ip4FromBytes(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function ip6ToBytes(s: string, out: Uint8Array, off: number): void {
  if (!isIPv6(s)) throw new CodecError(`not an IPv6 address: ${JSON.stringify(s)}`);
  let text = s;
  const words: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two 16-bit words.
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  let tail: number[] = [];
  if (v4) {
    const b = new Uint8Array(4);
    ip4ToBytes(v4[1], b, 0);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    text = text.slice(0, -v4[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.split('::');
  const parse = (part: string | undefined): number[] =>
    part
      ? part
          .split(':')
          .filter((x) => x !== '')
          .map((h) => parseInt(h, 16))
      : [];
  const hw = parse(head);
  const tw = [...parse(rest), ...tail];
  if (rest === undefined) words.push(...hw, ...tw);
  else words.push(...hw, ...new Array<number>(8 - hw.length - tw.length).fill(0), ...tw);
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = words[i] >> 8;
    out[off + 2 * i + 1] = words[i] & 0xff;
  }
}

/** RFC 5952 text: lower case, longest run (>1) of zero words shortened to "::". */
export function ip6FromBytes(b: Uint8Array, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

export function macToBytes(s: string, out: Uint8Array, off: number): void {
  const m =
    /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(
      s,
    );
  if (!m) throw new CodecError(`not a MAC address: ${JSON.stringify(s)}`);
  for (let i = 0; i < 6; i++) out[off + i] = parseInt(m[i + 1], 16);
}

export function macFromBytes(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const x = b[off + i];
    s += (i ? ':' : '') + (x < 16 ? '0' : '') + x.toString(16);
  }
  return s;
}

/** "10.0.0.0/24" -> ["10.0.0.0", 24]; a bare address gets the full length. */
export function splitPrefix(s: string): [string, number] {
  const slash = s.indexOf('/');
  if (slash < 0) return [s, isIPv6(s) ? 128 : 32];
  const len = Number(s.slice(slash + 1));
  const addr = s.slice(0, slash);
  const max = isIPv6(addr) ? 128 : 32;
  if (!Number.isInteger(len) || len < 0 || len > max)
    throw new CodecError(`bad prefix length in ${JSON.stringify(s)}`);
  return [addr, len];
}
