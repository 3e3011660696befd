/**
 * Reads the request/reply traces recorded from a real VPP 26.06: the reference recording
 * (../shared/vpp-traces) and the sessions this project recorded since for the messages it added
 * (test/sim/recorded/<session>/, by tools/vpp-traces/record.py).
 *
 * A session is one run of a freshly started VPP, recorded over one connection: the files in the
 * directory itself are the first session, each subdirectory is another (`tools/vpp-traces/`
 * records one). Every session has its own handshake.json, whose message table gives the ids in
 * its frames: VPPs built with other plugins number messages differently.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const TRACE_DIR =
  process.env.NETVPP_TRACE_DIR ?? new URL('../../../shared/vpp-traces', import.meta.url).pathname;

export interface TraceFrame {
  dir: 'to_vpp' | 'from_vpp';
  hex: string;
}
export interface TraceStep {
  call: string;
  args: Record<string, unknown>;
  reply?: Record<string, unknown>;
  details?: Record<string, unknown>[];
  frames: TraceFrame[];
  error?: string;
}
export interface Trace {
  file: string;
  doc: string;
  /** FIRST_SESSION, or the name of the subdirectory it was read from. */
  session: string;
  steps: TraceStep[];
}

/** The files at the top of the trace directory, whose handshake is the reference for message ids. */
export const FIRST_SESSION = '';

/** The sessions recorded by this project, kept with the code that must match them. */
export const RECORDED_DIR = new URL('../sim/recorded', import.meta.url).pathname;

const dirOf = (session: string): string => {
  if (session === FIRST_SESSION) return TRACE_DIR;
  const shared = join(TRACE_DIR, session);
  return existsSync(join(shared, 'handshake.json')) ? shared : join(RECORDED_DIR, session);
};

const subSessions = (root: string): string[] =>
  existsSync(root)
    ? readdirSync(root).filter(
        (d) => statSync(join(root, d)).isDirectory() && existsSync(join(root, d, 'handshake.json')),
      )
    : [];

export function tracesAvailable(): boolean {
  return existsSync(join(TRACE_DIR, 'handshake.json'));
}

/** Every session: FIRST_SESSION, then the subdirectories (shared or ours) that hold a handshake, by name. */
export function sessions(): string[] {
  const subs = new Set([...subSessions(TRACE_DIR), ...subSessions(RECORDED_DIR)]);
  return [FIRST_SESSION, ...[...subs].sort()];
}

export function handshakeFrames(session = FIRST_SESSION): TraceFrame[] {
  return (
    JSON.parse(readFileSync(join(dirOf(session), 'handshake.json'), 'utf8')) as { frames: TraceFrame[] }
  ).frames;
}

/** The traces of every session, each session's files by name. */
export function loadTraces(): Trace[] {
  return sessions().flatMap((session) =>
    readdirSync(dirOf(session))
      .filter((f) => f.endsWith('.json') && f !== 'handshake.json')
      .sort()
      .map((f) => ({
        ...(JSON.parse(readFileSync(join(dirOf(session), f), 'utf8')) as Omit<Trace, 'file' | 'session'>),
        file: session === FIRST_SESSION ? f : `${session}/${f}`,
        session,
      })),
  );
}
/** Recorded values use numbers where the codec gives bigint, and no message id field. */
export function normalize(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== '_0') o[k] = normalize(x);
    return o;
  }
  return v;
}

/** The message a group with `unbasedDetails` (src/vpp/groups.ts) counts its details' ids from. */
const UNBASED_FROM: Record<string, string> = { one_: 'one_add_del_locator_set' };

/**
 * The id a dump's details come with when VPP leaves the plugin's base out of it (the lisp plugin's
 * one_*_dump), given a table of name → id; undefined for other calls.
 */
export function unbasedDetailsId(ids: ReadonlyMap<string, number>, call: string): number | undefined {
  if (!call.endsWith('_dump')) return undefined;
  const from = Object.entries(UNBASED_FROM).find(([prefix]) => call.startsWith(prefix))?.[1];
  const details = ids.get(`${call.slice(0, -'_dump'.length)}_details`);
  const base = from === undefined ? undefined : ids.get(from);
  return details === undefined || base === undefined ? undefined : details - base;
}
