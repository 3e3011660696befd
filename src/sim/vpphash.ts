/**
 * vppinfra's uword hash (src/vppinfra/hash.c), as far as the order of `hash_foreach` shows through
 * dumps: a table of 64 slots at first (BITS(uword)), doubled when an insert finds it 3/4 full,
 * halved when a delete leaves it under 1/4 full with over 32 entries; a key's slot is
 * `hash_uword(key) & (slots - 1)` (Bob Jenkins' 64-bit mix); `hash_foreach` walks the slots in
 * order. Keys sharing a slot are kept in insertion order here (VPP keeps them in a side vector).
 */
const M = (1n << 64n) - 1n;

function step(a: bigint, b: bigint, c: bigint, s0: bigint, s1: bigint, s2: bigint): [bigint, bigint, bigint] {
  a = (a - (b + c)) & M;
  a ^= c >> s0;
  b = (b - (c + a)) & M;
  b = (b ^ (a << s1)) & M;
  c = (c - (a + b)) & M;
  c ^= b >> s2;
  return [a, b, c];
}

/** hash_mix64 of (a, b, c): its c. */
function mix(a: bigint, b: bigint, c: bigint): bigint {
  [a, b, c] = step(a, b, c, 43n, 9n, 8n);
  [a, b, c] = step(a, b, c, 38n, 23n, 5n);
  [a, b, c] = step(a, b, c, 35n, 49n, 11n);
  [, , c] = step(a, b, c, 12n, 18n, 22n);
  return c;
}

const GOLDEN = 0x9e3779b97f4a7c13n;

/** hash_uword on a 64-bit build. */
export function hashUword(x: bigint): bigint {
  return mix((GOLDEN + x) & M, GOLDEN, 0n);
}

/**
 * hash_memory of a key shorter than 3 words (`bytes` long, as three little-endian words `w`,
 * zero past its end): the mem hash's key_sum (mem_key_sum, state 0).
 */
export function hashMemoryShort(w: [bigint, bigint, bigint], bytes: number): bigint {
  return mix((GOLDEN + w[0]) & M, (GOLDEN + w[1]) & M, (BigInt(bytes) + w[2]) & M);
}

/** An IPv4 address as VPP's `ip4_address_t.as_u32` on a little-endian host. */
export function ip4AsU32(ip: string): bigint {
  const [b0, b1, b2, b3] = ip.split('.').map(Number);
  return BigInt((b0 | (b1 << 8) | (b2 << 16)) + b3 * 2 ** 24);
}

/** The slot count of a uword hash, followed through inserts and deletes. */
export class HashSize {
  slots = 64;
  private elts = 0;

  /** `noShrink`: HASH_FLAG_NO_AUTO_SHRINK. */
  constructor(private readonly noShrink = false) {}

  /** After a new key went in (_hash_set3: grown when 3/4 full, counting the next one). */
  inserted(): void {
    this.elts++;
    if (4 * (this.elts + 1) > 3 * this.slots) this.slots *= 2;
  }

  deleted(): void {
    this.elts--;
    if (!this.noShrink && this.elts > 32 && 4 * (this.elts + 1) < this.slots) this.slots /= 2;
  }

  /** Keys in `hash_foreach` order (ties: the given order). */
  order<T>(items: T[], key: (t: T) => bigint, sum: (k: bigint) => bigint = hashUword): T[] {
    const mask = BigInt(this.slots - 1);
    return items
      .map((t, i) => ({ t, i, slot: sum(key(t)) & mask }))
      .sort((x, y) => (x.slot === y.slot ? x.i - y.i : x.slot < y.slot ? -1 : 1))
      .map((x) => x.t);
  }
}
