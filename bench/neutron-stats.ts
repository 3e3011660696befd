/**
 * bench/neutron.ts's figures: one port's milestones → the time of each stage, and the runs' p50/p99
 * side by side (the driver's polling baseline beside its wake-up path, from the same run).
 */

/** One port's milestones (performance.now(), ms). */
export interface Sample {
  t0: number;
  created?: number;
  /** the PUT binding:host_id answered */
  bound?: number;
  /** the port is bound (vif type chosen) in Neutron's DB (polled) */
  committed?: number;
  /** the journal row of the binding reached the controller (bench/neutron-proxy.ts) */
  journal?: number;
  /** the binding key appeared in etcd */
  binding?: number;
  /** the agent's port state key says ready */
  ready?: number;
  /** the ready event left the controller for the driver's follower (proxy) */
  delivered?: number;
  /** Neutron has the port ACTIVE */
  active?: number;
}

/** netvpp's share of create+bind → ACTIVE, in the order the stages happen. */
export const STAGES = ['forwarding', 'controller', 'agent', 'push', 'activation'] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_HELP: Record<Stage, string> = {
  forwarding: 'binding committed → its journal row at the controller (driver forwarder)',
  controller: 'row at the controller → binding key in etcd',
  agent: 'binding key → ready key (etcd watch, compile, VPP, ready write)',
  push: 'ready key → ready event sent to the driver (controller long poll)',
  activation: "event sent → ACTIVE in Neutron's DB (driver follower, provisioning block, ML2)",
};

export interface RunFigures {
  label: string;
  ports: number;
  total: number[];
  api: number[];
  create: number[];
  /** netvpp's share: binding committed → ACTIVE */
  share: number[];
  stages: Record<Stage, number[]>;
  /** samples with a milestone seen before the previous one (counted as 0) */
  reordered: number;
  wallMs: number;
}

/** Nearest-rank percentile. */
export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fig = (v: number[]): string => `p50 ${fmt(pct(v, 50))} ms, p99 ${fmt(pct(v, 99))} ms`;

export function figures(label: string, samples: Sample[], wallMs: number): RunFigures {
  const stages = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as Record<Stage, number[]>;
  const r: RunFigures = {
    label,
    ports: samples.length,
    total: [],
    api: [],
    create: [],
    share: [],
    stages,
    reordered: 0,
    wallMs,
  };
  for (const s of samples) {
    const { t0, created, bound, committed, journal, binding, ready, delivered, active } = s;
    const marks = [committed, journal, binding, ready, delivered, active];
    if (created === undefined || bound === undefined || marks.some((m) => m === undefined))
      throw new Error('incomplete sample');
    // A milestone seen before the previous one (a watch event can beat an HTTP reply) counts as 0.
    const m = marks as number[];
    for (let i = 1; i < m.length; i++) {
      if (m[i] < m[i - 1]) {
        r.reordered++;
        m[i] = m[i - 1];
      }
    }
    r.total.push(m[5] - t0);
    r.api.push(bound - t0);
    r.create.push(created - t0);
    r.share.push(m[5] - m[0]);
    STAGES.forEach((stage, i) => stages[stage].push(m[i + 1] - m[i]));
  }
  return r;
}

/** The lines of one run. */
export function describeRun(r: RunFigures): string[] {
  return [
    `create+bind → ACTIVE (${r.label}): ${fig(r.total)}`,
    `  neutron API: ${fig(r.api)} (create ${fig(r.create)}); netvpp's share: ${fig(r.share)}`,
    `  ${STAGES.map((s) => `${s}: ${fig(r.stages[s])}`).join('; ')}`,
    `  ${fmt(r.wallMs)} ms for all ${r.ports} (${(r.ports / (r.wallMs / 1000)).toFixed(1)} ports/s)` +
      (r.reordered ? `; ${r.reordered} milestones before the previous one (counted as 0)` : ''),
  ];
}

/** The comparison table (markdown) of every run, p50 / p99 in ms. */
export function table(runs: RunFigures[]): string[] {
  const cell = (v: number[]): string => `${fmt(pct(v, 50))} / ${fmt(pct(v, 99))}`;
  return [
    `| run | create+bind → ACTIVE | neutron API | netvpp's share | ${STAGES.join(' | ')} |`,
    `|---|---|---|---|${STAGES.map(() => '---|').join('')}`,
    ...runs.map(
      (r) =>
        `| ${r.label} | ${cell(r.total)} | ${cell(r.api)} | **${cell(r.share)}** | ` +
        `${STAGES.map((s) => cell(r.stages[s])).join(' | ')} |`,
    ),
  ];
}
