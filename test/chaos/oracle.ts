// The convergence oracle, run after a quiet period: the journal is empty; etcd's desired state equals
// a fresh translation of Neutron's truth (src/controller/translate.ts on the generator's dicts); and
// on every host the agent's own inspection (what `netvpp plan` / `netvpp audit` print) finds nothing
// to change in VPP, and every port bound there is reported ready at its latest revision.
import { inspectHost } from '../../src/agent/inspect.ts';
import { neutronPortSchema, neutronSecurityGroupSchema } from '../../src/controller/neutron.ts';
import { canonical, portOwns, sameContent, securityGroup } from '../../src/controller/translate.ts';
import { decodeValue, keys } from '../../src/model/keyspace.ts';
import { run } from '../../src/model/validate.ts';
import type { Driver } from './driver.ts';
import type { NeutronTruth } from './neutron-truth.ts';
import type { ChaosStack } from './stack.ts';

/** Desired-state key → value, as a fresh translation of the truth gives it. */
export function translateTruth(truth: NeutronTruth): Map<string, unknown> {
  const want = new Map<string, unknown>();
  for (const p of truth.ports.values()) {
    const parsed = run(neutronPortSchema, truth.portDict(p));
    if (!parsed.ok) throw new Error(`generator made a bad port: ${JSON.stringify(parsed.errors)}`);
    const mtu = truth.nets.get(p.net)?.mtu ?? null;
    for (const [k, v] of Object.entries(portOwns(parsed.value, p.rev, mtu))) want.set(k, v);
  }
  for (const g of truth.groups.values()) {
    const parsed = run(neutronSecurityGroupSchema, truth.groupDict(g));
    if (!parsed.ok) throw new Error(`generator made a bad group: ${JSON.stringify(parsed.errors)}`);
    want.set(keys.secGroup(g.id), securityGroup(parsed.value, g.rev));
  }
  return want;
}

const DESIRED_PREFIXES = ['nodes/', 'global/secgroups/', 'global/remote_group/'];

async function checkEtcd(stack: ChaosStack, truth: NeutronTruth, garbage: Set<string>): Promise<string[]> {
  const want = translateTruth(truth);
  const { kvs } = await stack.store.getPrefixes(DESIRED_PREFIXES);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const kv of kvs) {
    if (garbage.has(kv.key) || !/^nodes\/[^/]+\/ports\/|^global\//.test(kv.key)) continue;
    seen.add(kv.key);
    const w = want.get(kv.key);
    if (w === undefined) {
      problems.push(`etcd: ${kv.key} is desired by nobody in Neutron`);
      continue;
    }
    let got: unknown;
    try {
      got = JSON.parse(kv.value);
    } catch {
      got = kv.value;
    }
    // Values are rewritten only when their content changes (translate.ts, sameContent): a value's
    // revision is that of the last change that mattered, so the revision is left out here.
    const same = sameContent(got, w);
    if (!same) problems.push(`etcd: ${kv.key} is ${kv.value}, translation gives ${canonical(w)}`);
  }
  for (const k of want.keys()) if (!seen.has(k) && !garbage.has(k)) problems.push(`etcd: ${k} is missing`);
  return problems;
}

async function checkHosts(stack: ChaosStack, truth: NeutronTruth): Promise<string[]> {
  const problems: string[] = [];
  for (const h of stack.hosts) {
    const insp = await inspectHost({
      store: stack.store,
      vpp: h.operator,
      config: stack.config(h),
      timeoutMs: 10_000,
    });
    if (!insp.deletions.allowed) problems.push(`${h.name}: deletions are held`);
    for (const op of insp.order) problems.push(`${h.name}: VPP differs from desired: ${op.type} ${op.key}`);
    for (const p of truth.ports.values()) {
      if (p.host !== h.name) continue;
      const { kv } = await stack.store.get(keys.portState(h.name, p.id));
      const st = kv ? decodeValue('portState', kv.value) : null;
      // The latest revision that mattered: the binding's (checked against the translation above).
      const binding = await stack.store.get(keys.portBinding(h.name, p.id));
      const b = binding.kv ? decodeValue('portBinding', binding.kv.value) : null;
      const latest = b?.ok ? b.value.revision : p.rev;
      if (!st?.ok) problems.push(`${h.name}: port ${p.id} has no readable state`);
      else if (!st.value.ready || st.value.revision !== latest)
        problems.push(
          `${h.name}: port ${p.id} is ${st.value.ready ? 'ready' : 'not ready'} at revision ${st.value.revision} (latest ${latest})${st.value.error ? `: ${st.value.error}` : ''}`,
        );
    }
    for (const f of stack.verifyErrors(h))
      problems.push(`${h.name}: incremental pass differed from a full one: ${f}`);
  }
  return problems;
}

/** Every violation found now (empty: converged). */
export async function oracle(
  stack: ChaosStack,
  truth: NeutronTruth,
  driver: Driver,
  garbage: Set<string>,
): Promise<string[]> {
  const problems: string[] = [];
  if (driver.journal.length > 0)
    problems.push(`journal: ${driver.journal.length} rows not confirmed (last error: ${driver.lastError})`);
  if (driver.syncPending)
    problems.push(
      `driver: a full sync is wanted and not applied (last try: ${driver.lastSyncError || 'none yet'})`,
    );
  problems.push(...(await checkEtcd(stack, truth, garbage)));
  problems.push(...(await checkHosts(stack, truth)));
  return problems;
}
