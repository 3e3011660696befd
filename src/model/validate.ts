// A small schema-checking toolkit: each Check walks an unknown value, returns the typed (normalised)
// value and appends one FieldError per problem, so a caller can report every bad field at once
// instead of the first one. Unknown object fields are dropped (newer writers may add fields).
import { isIP } from 'node:net';

export interface FieldError {
  /** Dotted path of the offending field, e.g. `fixed_ips[1].ip_address`; '' for the value itself. */
  field: string;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Checks `v`; on error pushes to `errs` and returns a placeholder (never used when errs is non-empty). */
export type Check<T> = (v: unknown, path: string, errs: FieldError[]) => T;

export function run<T>(check: Check<T>, v: unknown): Result<T> {
  const errors: FieldError[] = [];
  const value = check(v, '', errors);
  return errors.length ? { ok: false, errors } : { ok: true, value };
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}

/** Thrown by `mustBe` when a value does not match its schema. */
export class SchemaError extends Error {
  constructor(
    readonly what: string,
    readonly errors: FieldError[],
  ) {
    super(`invalid ${what}: ${formatErrors(errors)}`);
    this.name = 'SchemaError';
  }
}

export function mustBe<T>(check: Check<T>, v: unknown, what: string): T {
  const r = run(check, v);
  if (!r.ok) throw new SchemaError(what, r.errors);
  return r.value;
}

function fail<T>(errs: FieldError[], path: string, message: string, placeholder: T): T {
  errs.push({ field: path, message });
  return placeholder;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export function str(
  opts: { min?: number; max?: number; pattern?: RegExp; what?: string } = {},
): Check<string> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 65535;
  return (v, path, errs) => {
    if (typeof v !== 'string') return fail(errs, path, `expected a string, got ${describe(v)}`, '');
    if (v.length < min) return fail(errs, path, min === 1 ? 'must not be empty' : `shorter than ${min}`, v);
    if (v.length > max) return fail(errs, path, `longer than ${max} characters`, v);
    if (opts.pattern && !opts.pattern.test(v))
      return fail(
        errs,
        path,
        `expected ${opts.what ?? `a string matching ${opts.pattern}`}, got ${describe(v)}`,
        v,
      );
    return v;
  };
}

export function int(min: number, max: number): Check<number> {
  return (v, path, errs) => {
    if (typeof v !== 'number' || !Number.isInteger(v))
      return fail(errs, path, `expected an integer, got ${describe(v)}`, 0);
    if (v < min || v > max) return fail(errs, path, `must be between ${min} and ${max}, got ${v}`, v);
    return v;
  };
}

export const bool: Check<boolean> = (v, path, errs) =>
  typeof v === 'boolean' ? v : fail(errs, path, `expected true or false, got ${describe(v)}`, false);

export function literal<const T extends string>(...values: T[]): Check<T> {
  return (v, path, errs) =>
    typeof v === 'string' && (values as string[]).includes(v)
      ? (v as T)
      : fail(errs, path, `expected one of ${values.join('|')}, got ${describe(v)}`, values[0]);
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, path, errs) => (v === null || v === undefined ? null : check(v, path, errs));
}

/** A field that may be absent (or null); `dflt` stands in for it. */
export function optional<T>(check: Check<T>, dflt: T): Check<T> {
  return (v, path, errs) => (v === undefined || v === null ? dflt : check(v, path, errs));
}

export function arrayOf<T>(check: Check<T>, opts: { max?: number } = {}): Check<T[]> {
  return (v, path, errs) => {
    if (!Array.isArray(v)) return fail(errs, path, `expected a list, got ${describe(v)}`, []);
    if (opts.max !== undefined && v.length > opts.max)
      return fail(errs, path, `more than ${opts.max} entries`, []);
    return v.map((item, i) => check(item, `${path}[${i}]`, errs));
  };
}

export type Shape<T> = { [K in keyof T]-?: Check<T[K]> };

/**
 * An object with exactly the fields of `shape` (extra input fields are ignored and dropped; an
 * optional field without a default stays absent).
 */
export function obj<T>(shape: Shape<T>): Check<T> {
  return (v, path, errs) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return fail(errs, path, `expected an object, got ${describe(v)}`, {} as T);
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(shape) as (keyof T & string)[]) {
      const p = path ? `${path}.${k}` : k;
      const before = errs.length;
      const value = shape[k](src[k], p, errs);
      if (value !== undefined) out[k] = value;
      // An absent required field: say so, instead of what it should have been.
      if (src[k] === undefined && errs.length === before + 1 && errs[before].field === p) {
        errs[before] = { field: p, message: 'missing' };
      }
    }
    return out as T;
  };
}

/** Runs `check`, then `test` on the result when the check itself passed. */
export function refine<T>(check: Check<T>, test: (value: T) => string | null): Check<T> {
  return (v, path, errs) => {
    const before = errs.length;
    const value = check(v, path, errs);
    if (errs.length === before) {
      const msg = test(value);
      if (msg) errs.push({ field: path, message: msg });
    }
    return value;
  };
}

// ---- common formats --------------------------------------------------------------------------------

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const uuid: Check<string> = (v, path, errs) => {
  const s = str({ pattern: UUID_RE, what: 'a UUID' })(v, path, errs);
  return s.toLowerCase();
};

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
export const mac: Check<string> = (v, path, errs) =>
  str({ pattern: MAC_RE, what: 'a MAC address like fa:16:3e:00:00:01' })(v, path, errs).toLowerCase();

/** A key segment (host name, id): no '/', no whitespace, not empty. */
export const KEY_SEGMENT_RE = /^[^/\s]{1,255}$/;
export const hostName: Check<string> = str({ pattern: KEY_SEGMENT_RE, what: 'a host name without "/"' });

export const ipAddress: Check<string> = (v, path, errs) => {
  const s = str()(v, path, errs);
  if (typeof v === 'string' && isIP(s) === 0) return fail(errs, path, `not an IP address: ${describe(v)}`, s);
  return s;
};

/** Parses "a.b.c.d/len" or "a::/len"; null when malformed. */
export function parseCidr(s: string): { address: string; prefixLen: number; family: 4 | 6 } | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const address = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  const family = isIP(address);
  if (family === 0 || !/^\d{1,3}$/.test(lenText)) return null;
  const prefixLen = Number(lenText);
  if (prefixLen > (family === 4 ? 32 : 128)) return null;
  return { address, prefixLen, family: family as 4 | 6 };
}

export const cidr: Check<string> = (v, path, errs) => {
  const s = str()(v, path, errs);
  if (typeof v === 'string' && !parseCidr(s)) return fail(errs, path, `not a CIDR: ${describe(v)}`, s);
  return s;
};

/** An address or a CIDR (allowed address pairs may be either). */
export const ipOrCidr: Check<string> = (v, path, errs) => {
  const s = str()(v, path, errs);
  if (typeof v === 'string' && isIP(s) === 0 && !parseCidr(s))
    return fail(errs, path, `not an IP address or CIDR: ${describe(v)}`, s);
  return s;
};

export const isoTime: Check<string> = (v, path, errs) => {
  const s = str()(v, path, errs);
  if (typeof v === 'string' && Number.isNaN(Date.parse(s)))
    return fail(errs, path, `not an ISO 8601 time: ${describe(v)}`, s);
  return s;
};
