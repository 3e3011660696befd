// IP prefixes as numbers: parsing, host-bit masking, exact aggregation. The text form is produced by
// the VPP codec's own address printer, so a rule compiled here and the same rule read back from VPP
// (acl_dump) compare equal as strings — otherwise every resync would look like a change.
import { isIPv4, isIPv6 } from 'node:net';
import { ip6FromBytes, ip6ToBytes } from '../../vpp/codec/addresses.ts';

export type Family = 4 | 6;

export interface Prefix {
  family: Family;
  /** The address as an unsigned integer (32 or 128 bits). */
  addr: bigint;
  len: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function familyBits(f: Family): number {
  return BITS[f];
}

function parseAddress(text: string): { family: Family; addr: bigint } | null {
  if (isIPv4(text)) {
    let n = 0n;
    for (const p of text.split('.')) n = (n << 8n) | BigInt(Number(p));
    return { family: 4, addr: n };
  }
  // Zone ids (fe80::1%eth0) have no meaning in a filter.
  if (isIPv6(text) && !text.includes('%')) {
    const b = new Uint8Array(16);
    ip6ToBytes(text, b, 0);
    let n = 0n;
    for (const x of b) n = (n << 8n) | BigInt(x);
    return { family: 6, addr: n };
  }
  return null;
}

/** "10.0.0.1" (a host prefix) or "10.0.0.0/8"; host bits are kept. Null when malformed. */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  const a = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!a) return null;
  if (slash < 0) return { ...a, len: BITS[a.family] };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return null;
  const len = Number(lenText);
  if (len > BITS[a.family]) return null;
  return { ...a, len };
}

function hostMask(p: { family: Family; len: number }): bigint {
  return (1n << BigInt(BITS[p.family] - p.len)) - 1n;
}

/** Clears the host bits: VPP's acl_add_replace rejects a prefix with host bits set. */
export function normalize(p: Prefix): Prefix {
  return { family: p.family, addr: p.addr & ~hostMask(p), len: p.len };
}

export function formatAddress(family: Family, addr: bigint): string {
  if (family === 4) {
    const n = Number(addr);
    return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
  }
  const b = new Uint8Array(16);
  let v = addr;
  for (let i = 15; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return ip6FromBytes(b, 0);
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.family, p.addr)}/${p.len}`;
}

/** The "any" prefix of a family: 0.0.0.0/0 or ::/0. */
export function anyPrefix(f: Family): Prefix {
  return { family: f, addr: 0n, len: 0 };
}

/** Orders by family, then address, then length (shorter first). */
export function comparePrefix(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  return a.len - b.len;
}

/** The largest aligned prefixes that exactly cover [start, end] (inclusive). */
function rangeToPrefixes(family: Family, start: bigint, end: bigint): Prefix[] {
  const bits = BITS[family];
  const out: Prefix[] = [];
  let s = start;
  while (s <= end) {
    // Grow the block while it stays aligned at s and inside the range.
    let len = bits;
    while (len > 0) {
      const size = 1n << BigInt(bits - len + 1);
      if ((s & (size - 1n)) !== 0n || s + size - 1n > end) break;
      len--;
    }
    out.push({ family, addr: s, len });
    s += 1n << BigInt(bits - len);
  }
  return out;
}

/**
 * The smallest list of prefixes whose union is exactly the union of `ps` (one family or both), sorted.
 * Remote-group expansion produces one prefix per member address; neighbouring addresses collapse into
 * one rule and duplicates or covered prefixes vanish, so ACLs stay small and unchanged when a
 * membership change does not change the covered address set.
 */
export function aggregate(ps: readonly Prefix[]): Prefix[] {
  const out: Prefix[] = [];
  for (const family of [4, 6] as const) {
    const ranges = ps
      .filter((p) => p.family === family)
      .map((p) => {
        const n = normalize(p);
        return [n.addr, n.addr | hostMask(n)] as [bigint, bigint];
      })
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let cur: [bigint, bigint] | null = null;
    for (const r of ranges) {
      if (cur && r[0] <= cur[1] + 1n) {
        if (r[1] > cur[1]) cur[1] = r[1];
        continue;
      }
      if (cur) out.push(...rangeToPrefixes(family, cur[0], cur[1]));
      cur = [r[0], r[1]];
    }
    if (cur) out.push(...rangeToPrefixes(family, cur[0], cur[1]));
  }
  return out;
}
