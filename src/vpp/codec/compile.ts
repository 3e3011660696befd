/**
 * Compiles binapi descriptors into closures that encode/decode VPP's wire format:
 * big-endian, packed (no padding), arrays either fixed, counted by an earlier field, or
 * running to the end of the message. Compiled once per message, then reused.
 */
import {
  CodecError,
  ip4FromBytes,
  ip4ToBytes,
  ip6FromBytes,
  ip6ToBytes,
  macFromBytes,
  macToBytes,
  splitPrefix,
} from './addresses.ts';
import type { FieldDef, Scalar, TypeRef } from './schema.ts';

/** Read position shared by nested decoders (avoids allocating a tuple per field). */
export interface Cursor {
  off: number;
  end: number;
}

export interface Codec {
  /** Byte size when every value has the same size, else null. */
  readonly fixed: number | null;
  size(v: unknown): number;
  write(b: Buffer, off: number, v: unknown): number;
  read(b: Buffer, c: Cursor): unknown;
}

type Obj = Record<string, unknown>;

function need(c: Cursor, n: number, what: string): void {
  if (c.off + n > c.end)
    throw new CodecError(`truncated message: ${what} needs ${n} bytes at offset ${c.off}`);
}

const SCALAR_SIZE: Record<Scalar, number> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};

function num(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined || v === null) return 0;
  throw new CodecError(`${what}: expected a number, got ${JSON.stringify(v)}`);
}

function scalarCodec(t: Scalar): Codec {
  const n = SCALAR_SIZE[t];
  const base = { fixed: n, size: () => n };
  switch (t) {
    case 'u8':
      return {
        ...base,
        write: (b, o, v) => (b.writeUInt8(num(v, t) & 0xff, o), o + 1),
        read: (b, c) => (need(c, 1, t), b[c.off++]),
      };
    case 'i8':
      return {
        ...base,
        write: (b, o, v) => (b.writeInt8(num(v, t), o), o + 1),
        read: (b, c) => (need(c, 1, t), b.readInt8(c.off++)),
      };
    case 'bool':
      return {
        ...base,
        write: (b, o, v) => ((b[o] = v ? 1 : 0), o + 1),
        read: (b, c) => (need(c, 1, t), b[c.off++] !== 0),
      };
    case 'u16':
      return {
        ...base,
        write: (b, o, v) => b.writeUInt16BE(num(v, t), o),
        read: (b, c) => (need(c, 2, t), (c.off += 2), b.readUInt16BE(c.off - 2)),
      };
    case 'i16':
      return {
        ...base,
        write: (b, o, v) => b.writeInt16BE(num(v, t), o),
        read: (b, c) => (need(c, 2, t), (c.off += 2), b.readInt16BE(c.off - 2)),
      };
    case 'u32':
      return {
        ...base,
        write: (b, o, v) => b.writeUInt32BE(num(v, t) >>> 0, o),
        read: (b, c) => (need(c, 4, t), (c.off += 4), b.readUInt32BE(c.off - 4)),
      };
    case 'i32':
      return {
        ...base,
        write: (b, o, v) => b.writeInt32BE(num(v, t) | 0, o),
        read: (b, c) => (need(c, 4, t), (c.off += 4), b.readInt32BE(c.off - 4)),
      };
    case 'u64':
      return {
        ...base,
        write: (b, o, v) => b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(num64(v, t))), o),
        read: (b, c) => (need(c, 8, t), (c.off += 8), b.readBigUInt64BE(c.off - 8)),
      };
    case 'i64':
      return {
        ...base,
        write: (b, o, v) => b.writeBigInt64BE(BigInt.asIntN(64, BigInt(num64(v, t))), o),
        read: (b, c) => (need(c, 8, t), (c.off += 8), b.readBigInt64BE(c.off - 8)),
      };
    case 'f64':
      return {
        ...base,
        // VPP sends f64 in host order (vppinfra's clib_host_to_net_f64 is the identity; vpp_papi
        // reads it native): little-endian on the x86 and arm64 hosts VPP runs on.
        write: (b, o, v) => b.writeDoubleLE(num(v, t), o),
        read: (b, c) => (need(c, 8, t), (c.off += 8), b.readDoubleLE(c.off - 8)),
      };
  }
}

function num64(v: unknown, what: string): bigint | number {
  return typeof v === 'bigint' ? v : num(v, what);
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new CodecError(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function fixedString(len: number): Codec {
  return {
    fixed: len,
    size: () => len,
    write(b, o, v) {
      const s = str(v, `string[${len}]`);
      const n = Buffer.byteLength(s);
      // Keep room for the NUL terminator VPP's C handlers rely on.
      if (n >= len) throw new CodecError(`string ${JSON.stringify(s)} is ${n} bytes, at most ${len - 1} fit`);
      b.write(s, o, 'utf8');
      return o + len;
    },
    read(b, c) {
      need(c, len, `string[${len}]`);
      let z = c.off;
      const stop = c.off + len;
      while (z < stop && b[z] !== 0) z++;
      const s = b.toString('utf8', c.off, z);
      c.off = stop;
      return s;
    },
  };
}

const varString: Codec = {
  fixed: null,
  size: (v) => 4 + Buffer.byteLength(str(v, 'string')),
  write(b, o, v) {
    const n = b.write(str(v, 'string'), o + 4, 'utf8');
    b.writeUInt32BE(n, o);
    return o + 4 + n;
  },
  read(b, c) {
    need(c, 4, 'string length');
    const n = b.readUInt32BE(c.off);
    c.off += 4;
    need(c, n, 'string');
    // VPP sometimes counts a trailing NUL in the length; it is not part of the text.
    let e = c.off + n;
    while (e > c.off && b[e - 1] === 0) e--;
    const s = b.toString('utf8', c.off, e);
    c.off += n;
    return s;
  },
};

const ip4: Codec = {
  fixed: 4,
  size: () => 4,
  write: (b, o, v) => (v === undefined ? o + 4 : (ip4ToBytes(str(v, 'ip4'), b, o), o + 4)),
  read: (b, c) => (need(c, 4, 'ip4'), (c.off += 4), ip4FromBytes(b, c.off - 4)),
};

const ip6: Codec = {
  fixed: 16,
  size: () => 16,
  write: (b, o, v) => (v === undefined ? o + 16 : (ip6ToBytes(str(v, 'ip6'), b, o), o + 16)),
  read: (b, c) => (need(c, 16, 'ip6'), (c.off += 16), ip6FromBytes(b, c.off - 16)),
};

const mac: Codec = {
  fixed: 6,
  size: () => 6,
  write: (b, o, v) => (v === undefined ? o + 6 : (macToBytes(str(v, 'mac'), b, o), o + 6)),
  read: (b, c) => (need(c, 6, 'mac'), (c.off += 6), macFromBytes(b, c.off - 6)),
};

/** vl_api_address_t: af (0 = IPv4, 1 = IPv6) then a 16-byte union. */
const address: Codec = {
  fixed: 17,
  size: () => 17,
  write(b, o, v) {
    if (v === undefined || v === '') return o + 17;
    const s = str(v, 'address');
    if (s.includes(':')) {
      b[o] = 1;
      ip6ToBytes(s, b, o + 1);
    } else {
      b[o] = 0;
      ip4ToBytes(s, b, o + 1);
    }
    return o + 17;
  },
  read(b, c) {
    need(c, 17, 'address');
    const af = b[c.off];
    const s = af === 1 ? ip6FromBytes(b, c.off + 1) : ip4FromBytes(b, c.off + 1);
    c.off += 17;
    return s;
  },
};

const prefix: Codec = {
  fixed: 18,
  size: () => 18,
  write(b, o, v) {
    if (v === undefined || v === '') return o + 18;
    const [a, len] = splitPrefix(str(v, 'prefix'));
    address.write(b, o, a);
    b[o + 17] = len;
    return o + 18;
  },
  read(b, c) {
    const a = address.read(b, c) as string;
    need(c, 1, 'prefix length');
    return `${a}/${b[c.off++]}`;
  },
};

function familyPrefix(inner: Codec, bits: number): Codec {
  const n = (inner.fixed as number) + 1;
  return {
    fixed: n,
    size: () => n,
    write(b, o, v) {
      if (v === undefined || v === '') return o + n;
      const [a, len] = splitPrefix(str(v, 'prefix'));
      if (len > bits) throw new CodecError(`prefix ${JSON.stringify(v)} is longer than ${bits} bits`);
      inner.write(b, o, a);
      b[o + n - 1] = len;
      return o + n;
    },
    read(b, c) {
      const a = inner.read(b, c) as string;
      need(c, 1, 'prefix length');
      return `${a}/${b[c.off++]}`;
    },
  };
}

function bytesCodec(len: number | null): Codec {
  // len null: length decided by the value (counted or rest-of-message arrays).
  return {
    fixed: len,
    size: (v) => len ?? byteArray(v).length,
    write(b, o, v) {
      const a = byteArray(v);
      if (len !== null && a.length > len) throw new CodecError(`${a.length} bytes given for u8[${len}]`);
      b.set(a, o);
      return o + (len ?? a.length);
    },
    read(b, c) {
      const n = len ?? c.end - c.off;
      need(c, n, `u8[${n}]`);
      const out = Buffer.from(b.subarray(c.off, c.off + n));
      c.off += n;
      return out;
    },
  };
}

function byteArray(v: unknown): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  throw new CodecError(`expected bytes, got ${JSON.stringify(v)}`);
}

const cache = new WeakMap<TypeRef, Codec>();

export function typeCodec(t: TypeRef): Codec {
  let c = cache.get(t);
  if (!c) {
    c = buildType(t);
    cache.set(t, c);
  }
  return c;
}

function buildType(t: TypeRef): Codec {
  switch (t.kind) {
    case 'scalar':
      return scalarCodec(t.t);
    case 'enum':
      return scalarCodec(t.t);
    case 'string':
      return t.len > 0 ? fixedString(t.len) : varString;
    case 'ip4':
      return ip4;
    case 'ip6':
      return ip6;
    case 'mac':
      return mac;
    case 'address':
      return address;
    case 'prefix':
      return prefix;
    case 'ip4_prefix':
      return familyPrefix(ip4, 32);
    case 'ip6_prefix':
      return familyPrefix(ip6, 128);
    case 'struct':
      return structCodec(t.fields);
    case 'union':
      return unionCodec(t.name, t.members);
  }
}

/** A union's wire size is its largest member; a value names the one member it sets. */
function unionCodec(name: string, members: readonly FieldDef[]): Codec {
  const parts = members.map((m) => ({ name: m.name, codec: fieldCodec(m) }));
  let size = 0;
  for (const p of parts) {
    if (p.codec.fixed === null) throw new CodecError(`union ${name}: member ${p.name} has no fixed size`);
    size = Math.max(size, p.codec.fixed);
  }
  return {
    fixed: size,
    size: () => size,
    write(b, o, v) {
      if (v === undefined || v === null) return o + size;
      const val = v as Obj;
      const set = parts.filter((p) => val[p.name] !== undefined);
      if (set.length > 1)
        throw new CodecError(`union ${name}: set only one of ${parts.map((p) => p.name).join(', ')}`);
      if (set.length === 1) set[0].codec.write(b, o, val[set[0].name]);
      return o + size;
    },
    read(b, c) {
      need(c, size, `union ${name}`);
      // Like reading a C union: every member is decoded from the same bytes.
      const out: Obj = {};
      for (const p of parts) {
        const sub: Cursor = { off: c.off, end: c.off + size };
        out[p.name] = p.codec.read(b, sub);
      }
      c.off += size;
      return out;
    },
  };
}

/** An array whose length comes from an earlier count field. */
interface CountedCodec extends Codec {
  readN(b: Buffer, c: Cursor, n: number): unknown;
}

/** Codec for one field including its array shape. */
function fieldCodec(f: FieldDef): Codec | CountedCodec {
  const el = typeCodec(f.type);
  const isU8 = f.type.kind === 'scalar' && f.type.t === 'u8';
  const a = f.array;
  if (!a) return el;
  if ('fixed' in a) {
    if (isU8) return bytesCodec(a.fixed);
    const n = a.fixed;
    const elFixed = el.fixed;
    return {
      fixed: elFixed === null ? null : elFixed * n,
      size: (v) => {
        if (elFixed !== null) return elFixed * n;
        const xs = (v as unknown[] | undefined) ?? [];
        let s = 0;
        for (let i = 0; i < n; i++) s += el.size(xs[i]);
        return s;
      },
      write(b, o, v) {
        const xs = (v as unknown[] | undefined) ?? [];
        if (xs.length > n) throw new CodecError(`${xs.length} elements given, the array holds ${n}`);
        for (let i = 0; i < n; i++) o = el.write(b, o, xs[i]);
        return o;
      },
      read(b, c) {
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = el.read(b, c);
        return out;
      },
    };
  }
  if (isU8) {
    const bytes = bytesCodec(null);
    return {
      ...bytes,
      readN(b, c, n) {
        need(c, n, `${f.name}[${n}]`);
        const out = Buffer.from(b.subarray(c.off, c.off + n));
        c.off += n;
        return out;
      },
    };
  }
  return {
    fixed: null,
    size(v) {
      const xs = (v as unknown[] | undefined) ?? [];
      if (el.fixed !== null) return el.fixed * xs.length;
      let s = 0;
      for (const x of xs) s += el.size(x);
      return s;
    },
    write(b, o, v) {
      for (const x of (v as unknown[] | undefined) ?? []) o = el.write(b, o, x);
      return o;
    },
    // Rest-of-message arrays run to the end.
    read(b, c) {
      const out: unknown[] = [];
      while (c.off < c.end) out.push(el.read(b, c));
      return out;
    },
    readN(b, c, n) {
      if (el.fixed !== null) need(c, el.fixed * n, `${f.name}[${n}]`);
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = el.read(b, c);
      return out;
    },
  };
}

interface CompiledField {
  name: string;
  codec: Codec;
  /** When this field is the count of an array: that array's name. */
  countOf?: string;
  /** When this field is a counted array: its count field's name. */
  countedBy?: string;
  default?: unknown;
}

export function structCodec(fields: readonly FieldDef[]): Codec {
  const countOf = new Map<string, string>();
  for (const f of fields) if (f.array && 'count' in f.array) countOf.set(f.array.count, f.name);
  const cf: CompiledField[] = fields.map((f) => ({
    name: f.name,
    codec: fieldCodec(f),
    countOf: countOf.get(f.name),
    countedBy: f.array && 'count' in f.array ? f.array.count : undefined,
    default: f.default,
  }));
  let fixed: number | null = 0;
  for (const f of cf) fixed = fixed === null || f.codec.fixed === null ? null : fixed + f.codec.fixed;
  const fixedSize = fixed;
  return {
    fixed: fixedSize,
    size(v) {
      if (fixedSize !== null) return fixedSize;
      const o = (v ?? {}) as Obj;
      let s = 0;
      for (const f of cf) s += f.codec.size(o[f.name]);
      return s;
    },
    write(b, off, v) {
      const o = (v ?? {}) as Obj;
      for (const f of cf) {
        let x = o[f.name];
        if (f.countOf !== undefined) {
          const arr = o[f.countOf] as { length: number } | undefined;
          x = arr ? arr.length : 0;
        } else if (x === undefined && f.default !== undefined) x = f.default;
        try {
          off = f.codec.write(b, off, x);
        } catch (e) {
          if (e instanceof CodecError) throw new CodecError(`${f.name}: ${e.message}`);
          if (e instanceof RangeError) throw new CodecError(`${f.name}: value ${String(x)} is out of range`);
          throw e;
        }
      }
      return off;
    },
    read(b, c) {
      const out: Obj = {};
      for (const f of cf) {
        out[f.name] =
          f.countedBy !== undefined
            ? (f.codec as CountedCodec).readN(b, c, out[f.countedBy] as number)
            : f.codec.read(b, c);
      }
      return out;
    },
  };
}
