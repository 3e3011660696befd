// The incremental path gives the same result as a full compile → diff: after every step of random
// etcd changes (fixed seeds), the incrementally kept compiled state equals a compile from scratch,
// every key and port whose result changed is in what the update says it touched, and a diff
// restricted to the keys that can be out of sync plans exactly what the full diff plans. End to end,
// an agent taking random changes leaves VPP and the port states exactly as a full resync wants them.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { ActualState } from '../../src/agent/engine/actual.ts';
import type { Agent, ResyncStats } from '../../src/agent/agent.ts';
import { compile, HostCompiler, type Compiled, type CompileOptions } from '../../src/agent/compile.ts';
import { DesiredState } from '../../src/agent/desired.ts';
import type { PassResult } from '../../src/agent/engine/apply.ts';
import { diff, outOfSync, type Blocked, type Plan } from '../../src/agent/engine/diff.ts';
import { checkAfterPass } from '../../src/agent/engine/reconciler.ts';
import type { VppObject } from '../../src/agent/kinds/index.ts';
import { keys, parseKey } from '../../src/model/keyspace.ts';
import type { KeyValue } from '../../src/store/index.ts';
import { VHOST_DIR } from './helpers/fixtures.ts';
import { sleep, SIM_ONLY, startWorld, type World } from './helpers/harness.ts';
import { GROUP_IDS, rng, Universe } from './helpers/random-desired.ts';

const HOST = 'compute1';
const H = HOST;
const OPTS: CompileOptions = {
  physnets: new Map([
    ['physnet1', 'GigabitEthernet0/8/0'],
    ['physnet2', 'GigabitEthernet0/9/0'],
  ]),
  vhostUserDir: VHOST_DIR,
  tapBackend: 'tap',
};

const kv = (key: string, value: string): KeyValue => ({
  key,
  value,
  createRevision: 1,
  modRevision: 1,
  version: 1,
  lease: '0',
});

/**
 * etcd content and a DesiredState fed from it as the agent's feed does: this host's keys always, a
 * group's keys while the group is watched (random watches and drops stand in for the feed's interest).
 */
class FakeFeed {
  readonly etcd = new Map<string, string>();
  readonly watched = new Set<string>();
  readonly state = new DesiredState(HOST);

  constructor(readonly u: Universe) {
    this.state.resetHost([]);
  }

  private groupKvs(g: string): KeyValue[] {
    return [...this.etcd]
      .filter(([k]) => k === keys.secGroup(g) || k.startsWith(keys.remoteGroup(g)))
      .map(([k, v]) => kv(k, v));
  }

  step(): string {
    const u = this.u;
    const r = u.random();
    if (r < 0.1) {
      const g = u.pick(GROUP_IDS);
      this.watched.add(g);
      this.state.resetGroup(g, this.groupKvs(g));
      return `watch ${g}`;
    }
    if (r < 0.14) {
      const g = u.pick(GROUP_IDS);
      this.watched.delete(g);
      this.state.dropGroup(g);
      return `drop ${g}`;
    }
    if (r < 0.16) {
      const host = [...this.etcd].filter(([k]) => k.startsWith(keys.hostNodes(HOST)));
      this.state.resetHost(host.map(([k, v]) => kv(k, v)));
      return 'host re-read';
    }
    const [key, value] = u.change();
    if (value === null) this.etcd.delete(key);
    else this.etcd.set(key, value);
    const ev =
      value === null
        ? { type: 'delete' as const, key, prefix: '', modRevision: 1 }
        : { type: 'put' as const, prefix: '', ...kv(key, value) };
    const k = parseKey(key);
    if (k?.kind === 'portBinding') this.state.hostEvent(ev);
    else if ((k?.kind === 'secGroup' || k?.kind === 'remoteGroupMember') && this.watched.has(k.sgId))
      this.state.groupEvent(k.sgId, ev);
    return `${value === null ? 'delete' : 'put'} ${key}`;
  }
}

/** Keys whose object or frozen state differ between two compiled states. */
function changedKeys(a: Compiled, b: Compiled): string[] {
  const all = new Set([...a.objects.keys(), ...b.objects.keys(), ...a.frozenKeys, ...b.frozenKeys]);
  return [...all].filter(
    (k) =>
      !isDeepStrictEqual(a.objects.get(k), b.objects.get(k)) || a.frozenKeys.has(k) !== b.frozenKeys.has(k),
  );
}

function snapshot(c: Compiled): Compiled {
  return {
    objects: new Map(c.objects),
    frozenKeys: new Set(c.frozenKeys),
    frozenPorts: new Set(c.frozenPorts),
    ports: new Map([...c.ports].map(([id, p]) => [id, structuredClone(p)])),
    l3: new Map([...c.l3].map(([id, p]) => [id, structuredClone(p)])),
    taas: new Map(c.taas),
    frozenPrefixes: new Set(c.frozenPrefixes),
    warnings: new Map(c.warnings),
  };
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`incremental compile equals a full compile after each of 400 random changes (seed ${seed})`, () => {
    const feed = new FakeFeed(new Universe(HOST, rng(seed)));
    const hc = new HostCompiler(OPTS);
    hc.rebuild(feed.state);
    feed.state.takeChanges();
    for (let i = 0; i < 400; i++) {
      const what = feed.step();
      const before = snapshot(hc.compiled);
      const changes = feed.state.takeChanges();
      const delta = changes.full ? null : hc.update(feed.state, changes);
      if (changes.full) hc.rebuild(feed.state);
      const full = compile(feed.state, OPTS);
      const at = `step ${i} (${what})`;
      assert.deepStrictEqual(hc.compiled, full, `compiled state differs after ${at}`);
      if (delta) {
        for (const k of changedKeys(before, full))
          assert.ok(delta.keys.has(k), `${k} changed, not in delta, ${at}`);
        const ids = new Set([...before.ports.keys(), ...full.ports.keys()]);
        for (const id of ids) {
          if (!isDeepStrictEqual(before.ports.get(id), full.ports.get(id)))
            assert.ok(delta.ports.has(id), `plan of ${id} changed, not in delta, ${at}`);
        }
      }
      // The groups the host watches (kept per binding change) are those its bindings name, plus
      // their remote groups.
      const named = new Set<string>();
      for (const e of feed.state.bindings.values())
        if (e.ok) for (const g of e.value.security_groups) named.add(g);
      for (const g of [...named]) {
        const e = feed.state.groups.get(g);
        if (e?.ok) for (const r of e.value.rules) if (r.remote_group_id) named.add(r.remote_group_id);
      }
      assert.deepStrictEqual(feed.state.interest(), named, `interest after ${at}`);
      // Every port whose readiness needs a key is among the ports the compiler says may need it.
      for (const p of full.ports.values()) {
        for (const k of p.requires) {
          assert.ok(new Set(hc.portsNeeding(k)).has(p.portId), `${p.portId} needs ${k}, not found, ${at}`);
        }
      }
    }
  });
}

// ---- diff restricted to the keys that can be out of sync ----------------------------------------

/** An "apply" without VPP: each op succeeds (recorded in actual) or fails, at random. */
function fakeApply(
  plan: Plan,
  actual: ActualState,
  ok: () => boolean,
): Pick<PassResult, 'failed' | 'blocked'> {
  let handle = 1000;
  type Op = Plan['ops'][number];
  const done = new Set<Op>();
  const failed = new Map<Op, Error>();
  const blocked = new Map<Op, Blocked>();
  const settled = (op: Op): boolean => done.has(op) || failed.has(op) || blocked.has(op);
  // Ops in an order that respects waitsFor; a failed or blocked op blocks its dependents.
  let progress = true;
  while (progress) {
    progress = false;
    for (const op of plan.ops) {
      if (settled(op)) continue;
      if (op.waitsFor.some((w) => failed.has(w) || blocked.has(w))) {
        blocked.set(op, { reason: 'needs a failed op', error: true });
        progress = true;
        continue;
      }
      if (!op.waitsFor.every((w) => done.has(w))) continue;
      progress = true;
      if (op.blocked) blocked.set(op, op.blocked);
      else if (!ok()) failed.set(op, new Error('failed at random'));
      else {
        done.add(op);
        if (op.type === 'delete') {
          const a = actual.get(op.key);
          actual.remove(op.key);
          // What VPP drops with an interface.
          if (a?.kind === 'port') for (const k of [`l2:${op.key}`, `up:${op.key}`]) actual.remove(k);
        } else {
          const h = actual.handle(op.key);
          actual.set(structuredClone(op.desired as VppObject), h ?? handle++);
        }
      }
    }
  }
  return { failed, blocked };
}

const opsOf = (p: Plan): string[] =>
  p.ops
    .map(
      (o) =>
        `${o.type} ${o.key} <- [${o.waitsFor
          .map((w) => `${w.type} ${w.key}`)
          .sort()
          .join(', ')}]${o.blocked ? ` blocked: ${o.blocked.reason}` : ''}`,
    )
    .sort();

for (const seed of [11, 12, 13, 14, 15, 16]) {
  test(`a diff of the out-of-sync keys plans what the full diff plans (seed ${seed})`, () => {
    const random = rng(seed);
    const feed = new FakeFeed(new Universe(HOST, random));
    const hc = new HostCompiler(OPTS);
    const actual = new ActualState();
    hc.rebuild(feed.state);
    feed.state.takeChanges();
    let unsynced = new Set<string>();
    const hold = (): undefined => undefined;
    for (let i = 0; i < 300; i++) {
      const what = feed.step();
      const changes = feed.state.takeChanges();
      let candidates: Set<string>;
      if (changes.full) {
        hc.rebuild(feed.state);
        candidates = new Set([...hc.compiled.objects.keys(), ...actual.objects.keys()]);
      } else {
        candidates = new Set([...unsynced, ...hc.update(feed.state, changes).keys]);
      }
      const touched = actual.takeTouched();
      for (const k of touched) candidates.add(k);
      const closed = actual.closure(candidates);
      const fullPlan = diff(hc.compiled, actual, hold);
      const restricted = diff(hc.compiled, actual, hold, closed);
      assert.deepStrictEqual(opsOf(restricted), opsOf(fullPlan), `plans differ at step ${i} (${what})`);
      const res = fakeApply(fullPlan, actual, () => random() < 0.85);
      // Now and then the pass counts as a full one (which trusts the ops that succeeded).
      const evaluated = checkAfterPass(fullPlan, res, actual, random() < 0.2 ? undefined : closed);
      unsynced = new Set([...evaluated].filter((k) => outOfSync(k, hc.compiled, actual)));
      // Nothing outside what was evaluated is out of sync.
      const all = new Set([...hc.compiled.objects.keys(), ...actual.objects.keys()]);
      for (const k of all) {
        if (outOfSync(k, hc.compiled, actual))
          assert.ok(unsynced.has(k), `${k} is out of sync but was not tracked, step ${i} (${what})`);
      }
    }
  });
}

// ---- end to end: etcd → agent → VPP (the simulator) -----------------------------------------------

describe('incremental passes against VPP', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    await w?.stop();
  });

  /** Until the agent has taken every change written so far and has nothing left to do. */
  async function settle(a: Agent): Promise<void> {
    const deadline = Date.now() + 30_000; // only bounds a hang
    for (;;) {
      if (Date.now() > deadline) throw new Error('the agent did not settle');
      const v = a.desired.version;
      await a.whenIdle();
      await sleep(150);
      if (a.desired.version === v) {
        await a.whenIdle();
        return;
      }
    }
  }

  it('after 150 random changes in bursts, VPP and the port states are what a full resync makes them', async () => {
    const u = new Universe(H, rng(42));
    // Verify mode (the harness turns it on) checks each incremental pass against a full one.
    const agent = w.startAgent(H);
    for (let i = 0; i < 150;) {
      const burst = 1 + Math.floor(u.random() * 6);
      const writes: Promise<unknown>[] = [];
      for (let j = 0; j < burst && i < 150; j++, i++) {
        const [key, value] = u.change();
        writes.push(value === null ? w.store.delete(key) : w.store.put(key, value));
      }
      await Promise.all(writes);
      if (u.chance(0.3)) await settle(agent);
    }
    await settle(agent);
    assert.deepEqual(agent.verifyFailures, []);
    const states = await w.store.getPrefix(keys.hostPortStates(H));
    assert.ok(states.kvs.length > 0, 'some ports are bound');
    await w.stopAgent(agent);

    // A fresh agent compiles and diffs everything: it finds nothing to change, in VPP or in etcd.
    const before = await w.store.revision();
    const fresh = w.startAgent(H);
    const stats = await new Promise<ResyncStats>((resolve) => fresh.once('synced', resolve));
    await settle(fresh);
    assert.equal(stats.writes, 0, `a full resync still had ${stats.writes} VPP writes to make`);
    const after = await w.store.getPrefix(keys.hostPortStates(H));
    assert.deepEqual(
      after.kvs.filter((kv) => kv.modRevision > before).map((kv) => kv.key),
      [],
      'port states a full resync rewrote',
    );
    assert.equal(after.kvs.length, states.kvs.length);
    await w.stopAgent(fresh);
  });
});
