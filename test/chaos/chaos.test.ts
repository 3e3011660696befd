// The short chaos seed CI runs (issue 15): a 3-member etcd, 2 controllers and 3 agents on simulators
// take Neutron's seeded changes with one fault of every kind mixed in, and must converge: the journal
// empty, etcd's desired state a fresh translation of Neutron's truth, VPP as desired on every host
// and every port ready at its latest revision. A failure names the seed: `npm run chaos -- --seed 1`
// replays it (docs/chaos.md).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from './faults.ts';
import { formatReport, runChaos } from './run.ts';
import { SIM_ONLY } from '../agent/helpers/harness.ts';

describe('chaos: one short seed', { skip: SIM_ONLY }, () => {
  it('converges after every fault kind, mixed with Neutron changes (seed 1)', async (t) => {
    const report = await runChaos({
      seed: 1,
      faults: FAULT_KINDS.length,
      changes: 40,
      convergeLimitMs: 90_000,
    });
    const text = formatReport(report).join('\n');
    // The figures in the test's output, pass or fail (docs/chaos.md quotes them with the load).
    for (const line of formatReport(report)) t.diagnostic(line);
    for (const k of FAULT_KINDS) assert.ok((report.faults[k] ?? 0) >= 1, `${k} was not injected:\n${text}`);
    assert.ok(report.totalChanges >= 40, text);
    assert.deepEqual(report.violations, [], text);
    assert.notEqual(report.convergeMs, null, text);
  });
});
