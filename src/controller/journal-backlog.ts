// The driver's journal backlog as the controller last heard it. The driver counts its journal
// table (rows waiting, age of the oldest by the database's clock) when it reads a batch and sends
// the figures with it; what is left after the reply is that count minus the rows acknowledged.
// The controller is the one place an operator already watches (metrics, /v1/health, netvpp
// status), and neutron-server has no metrics endpoint of its own.

export interface BacklogReport {
  /** Rows in the journal table when the batch was read (the batch included). */
  rows: number;
  /** Seconds since the oldest of them was committed. */
  oldest_age_seconds: number;
}

export interface BacklogFigures {
  /** Rows still waiting after the last acknowledged batch. */
  rows: number;
  /** Age of the oldest waiting row now (it kept ageing since the report); 0 when none waits. */
  oldest_age_seconds: number;
  /** When the driver last reported. */
  reported_at: string;
}

/** The `backlog` member of a journal request, or an error saying what is wrong with it. */
export function parseBacklog(
  v: unknown,
): { ok: true; value: BacklogReport | null } | { ok: false; error: string } {
  if (v === undefined || v === null) return { ok: true, value: null };
  const o = v as Partial<Record<keyof BacklogReport, unknown>>;
  const count = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  if (typeof v !== 'object' || !count(o.rows) || !count(o.oldest_age_seconds))
    return {
      ok: false,
      error: '"backlog" must be {"rows": <n ≥ 0>, "oldest_age_seconds": <s ≥ 0>}',
    };
  return { ok: true, value: { rows: o.rows as number, oldest_age_seconds: o.oldest_age_seconds as number } };
}

export class JournalBacklog {
  private last: { rows: number; age: number; atMs: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** A batch carried `report`; `acked` of its rows were acknowledged. */
  record(report: BacklogReport, acked: number): void {
    const rows = Math.max(0, Math.round(report.rows) - acked);
    this.last = { rows, age: rows > 0 ? report.oldest_age_seconds : 0, atMs: this.now() };
  }

  /** Null until a driver has reported (drivers older than this field never do). */
  figures(): BacklogFigures | null {
    const l = this.last;
    if (!l) return null;
    const since = Math.max(0, (this.now() - l.atMs) / 1000);
    return {
      rows: l.rows,
      oldest_age_seconds: l.rows > 0 ? l.age + since : 0,
      reported_at: new Date(l.atMs).toISOString(),
    };
  }
}
