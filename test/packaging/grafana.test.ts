// packaging/grafana/netvpp.json queries only series that the agent's or the controller's registry
// exports (a renamed metric would leave a panel empty without any error).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { agentMetrics } from '../../src/agent/metrics.ts';
import { ControllerMetrics } from '../../src/controller/metrics.ts';
import { SIM_ONLY, startWorld, type World } from '../agent/helpers/harness.ts';

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

/** Every series name a registry exports: a histogram's as Prometheus spells them. */
async function seriesNames(reg: Registry): Promise<Set<string>> {
  const out = new Set<string>();
  for (const m of await reg.getMetricsAsJSON()) {
    out.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
  }
  return out;
}

describe('the Grafana dashboard', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(() => w?.stop());

  it('every metric a panel queries exists', async () => {
    const agent = w.startAgent('compute1');
    const controller = new ControllerMetrics({
      id: 'c1',
      isLeader: () => true,
      syncNeeded: () => false,
      connected: () => true,
      hostsAlive: () => 1,
      journalBacklog: () => ({ rows: 3, oldest_age_seconds: 2, reported_at: new Date().toISOString() }),
      syncWrites: () => null,
    });
    const known = new Set([
      ...(await seriesNames(agentMetrics(agent))),
      ...(await seriesNames(controller.registry)),
    ]);
    const dash = JSON.parse(
      readFileSync(new URL('../../packaging/grafana/netvpp.json', import.meta.url), 'utf8'),
    ) as Dashboard;
    let queried = 0;
    for (const p of dash.panels) {
      assert.ok(p.targets.length > 0, `${p.title} has a query`);
      for (const t of p.targets) {
        const names = t.expr.match(/\b(?:netvpp|nodejs|process)_[a-z0-9_]+/g) ?? [];
        assert.ok(names.length > 0, `${p.title}: ${t.expr} names a metric`);
        for (const n of names) {
          queried++;
          assert.ok(known.has(n), `${p.title}: ${n} is not exported by the agent or the controller`);
        }
      }
    }
    assert.ok(queried >= 15, `${queried} metrics queried`);
  });
});
