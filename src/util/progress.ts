// Progress of long work (a resync, a full sync): a tracker the daemon updates, the figures every
// reader derives from its snapshot (rate, ETA), and the text and bar the CLI prints.
import type { WorkProgress } from '../model/keyspace.ts';

export class ProgressTracker {
  private current: WorkProgress | null = null;
  private startedMs = 0;

  /** `onPhase`: told at every start and phase (a reader's cue; the count moves in between). */
  constructor(
    private readonly onPhase: (p: WorkProgress) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts (or restarts) `what`; the total is unknown until set. */
  start(what: string, phase: string, total: number | null = null): void {
    this.startedMs = this.now();
    const at = new Date(this.startedMs).toISOString();
    this.current = { what, phase, done: 0, total, started_at: at, at };
    this.onPhase({ ...this.current });
  }

  /** A new step: its own count (and rate) from zero. */
  phase(phase: string, total: number | null): void {
    if (!this.current) return;
    this.startedMs = this.now();
    const at = new Date(this.startedMs).toISOString();
    this.current = { ...this.current, phase, done: 0, total, started_at: at, at };
    this.onPhase({ ...this.current });
  }

  advance(n = 1): void {
    if (this.current) this.current.done += n;
  }

  finish(): void {
    this.current = null;
  }

  get active(): boolean {
    return this.current !== null;
  }

  /** The figures now, or null when nothing is in progress. */
  snapshot(): WorkProgress | null {
    return this.current && { ...this.current, at: new Date(this.now()).toISOString() };
  }
}

export interface ProgressFigures {
  /** Items per second since the step started; null before a second's worth of evidence. */
  rate: number | null;
  /** Seconds left at that rate; null when the total or the rate is unknown. */
  etaSeconds: number | null;
  /** 0..1, or null without a total. */
  fraction: number | null;
}

export function progressFigures(p: WorkProgress): ProgressFigures {
  const elapsed = (Date.parse(p.at) - Date.parse(p.started_at)) / 1000;
  const rate = elapsed > 0 && p.done > 0 ? p.done / elapsed : null;
  const left = p.total === null ? null : Math.max(0, p.total - p.done);
  return {
    rate,
    etaSeconds: left === null || rate === null ? null : left / rate,
    fraction: p.total === null ? null : p.total === 0 ? 1 : Math.min(1, p.done / p.total),
  };
}

/** GET /health's form: the snapshot with its rate and ETA. */
export function progressJson(p: WorkProgress | null): (WorkProgress & ProgressFigures) | null {
  return p && { ...p, ...progressFigures(p) };
}

const secs = (s: number): string =>
  s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

/** One line: `resync applying 40/100 (40%), 12.5/s, ETA 5 s`. */
export function formatProgress(p: WorkProgress): string {
  const f = progressFigures(p);
  const count =
    p.total === null ? `${p.done}` : `${p.done}/${p.total} (${Math.floor((f.fraction ?? 0) * 100)}%)`;
  const rate = f.rate === null ? '' : `, ${f.rate.toFixed(1)}/s`;
  const eta = f.etaSeconds === null ? '' : `, ETA ${secs(f.etaSeconds)}`;
  return `${p.what} ${p.phase} ${count}${rate}${eta}`;
}

/**
 * A bar for a terminal: `[#########-----------] resync applying 45/100 …`. Hand-written: the CLI
 * redraws one line from figures it polls out of etcd, which is all a progress library's bar would
 * do here, at the cost of a runtime dependency in the package.
 */
export function progressBar(p: WorkProgress, width = 24): string {
  const f = progressFigures(p).fraction;
  const filled = f === null ? 0 : Math.round(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${formatProgress(p)}`;
}
