/** Reads the request/reply traces recorded from a real VPP 26.06 (../shared/vpp-traces). */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
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
  /**
   * Files of one session were recorded one after another on one freshly started VPP, over one
   * connection (contexts keep counting across them). Files without one are the first session.
   */
  session?: string;
  steps: TraceStep[];
}

export const FIRST_SESSION = 'first';

export function tracesAvailable(): boolean {
  return existsSync(join(TRACE_DIR, 'handshake.json'));
}

export function handshakeFrames(): TraceFrame[] {
  return (JSON.parse(readFileSync(join(TRACE_DIR, 'handshake.json'), 'utf8')) as { frames: TraceFrame[] })
    .frames;
}

export function loadTraces(): Trace[] {
  return readdirSync(TRACE_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'handshake.json')
    .sort()
    .map((f) => ({
      file: f,
      ...(JSON.parse(readFileSync(join(TRACE_DIR, f), 'utf8')) as Omit<Trace, 'file'>),
    }));
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
