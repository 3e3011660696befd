// The fault kinds of a chaos run. Each is started by one function here, with its parameters drawn
// from the run's PRNG. A fault that lasts (a cut link, an isolated member, a stopped controller, an
// agent killed and started again) is repaired in the background while the driver and the other
// components keep working; faults on the same target (a host, the etcd cluster, the controllers)
// wait for the one before to be repaired, so the run never, say, isolates two members at once.
import { keys } from '../../src/model/keyspace.ts';
import { payloadOf } from '../../src/model/signing.ts';
import type { ControllerProcess } from './controller-process.ts';
import type { Driver } from './driver.ts';
import type { NeutronTruth } from './neutron-truth.ts';
import type { Prng } from './prng.ts';
import type { ChaosStack, Host } from './stack.ts';
import { AGENT_VPP_TIMEOUT_S } from './stack.ts';

export const FAULT_KINDS = [
  'agent SIGKILL at write',
  'vpp crash at write',
  'vpp reply delayed',
  'vpp call fails',
  'etcd leader killed',
  'etcd member isolated',
  'agent cut from etcd',
  'controller cut from etcd',
  'controller leader killed',
  'controller leader stopped',
  'compaction',
  'malformed value',
  'duplicated request',
] as const;
/**
 * Kinds a run takes only when asked (`npm run chaos -- --marker-loss`), not yet in CI's seed: with
 * `sync marker lost` one run in five of seed 1 (load 13–25) found an agent whose incremental pass
 * differed from a full one right after its deletions were released (docs/chaos.md).
 */
export const EXTRA_FAULT_KINDS = ['sync marker lost'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof EXTRA_FAULT_KINDS)[number];

/** The controllers' election TTL (s): a controller stopped longer than this has lost its lease. */
export const ELECTION_TTL_S = 3;

export interface FaultContext {
  stack: ChaosStack;
  driver: Driver;
  truth: NeutronTruth;
  /** Journal rows sent to a deposed controller to see that its write does not land. */
  deposedProbes: number;
  rng: Prng;
  /** Keys the run filled with malformed values (the oracle leaves them out). */
  garbage: Set<string>;
  log: (msg: string) => void;
  /** Repairs under way, by target (a host's name, 'etcd', 'controllers'). */
  busy: Map<string, Promise<void>>;
  /** Problems a repair met (a fault that could not be undone is a failed run, not a quiet one). */
  problems: string[];
  /** Faults that took effect, and faults that found nothing to act on, by kind. */
  injected: Record<string, number>;
  skipped: Record<string, number>;
}

function count(into: Record<string, number>, kind: FaultKind): void {
  into[kind] = (into[kind] ?? 0) + 1;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Messages the agent writes with, as the simulator counted them (dumps, pings and gets left out). */
function writeMessages(h: Host): string[] {
  const sim = h.vpp.sim;
  if (!sim) return [];
  return Object.keys(sim.counters())
    .filter((m) => !/_dump$|^control_ping|_get$|^want_|^memclnt|^get_|^show_|^sockclnt/.test(m))
    .sort();
}

/** Runs `repair` once `target`'s earlier repair is done; the run's quiet period waits for it. */
async function hold(
  ctx: FaultContext,
  kind: FaultKind,
  target: string,
  repair: () => Promise<boolean | void>,
): Promise<void> {
  const before = ctx.busy.get(target);
  if (before) await before;
  const p = repair()
    .then((took) => count(took === false ? ctx.skipped : ctx.injected, kind))
    .catch((e: unknown) => {
      ctx.problems.push(`${kind} on ${target} failed: ${(e as Error).message}`);
    })
    .finally(() => {
      if (ctx.busy.get(target) === p) ctx.busy.delete(target);
    });
  ctx.busy.set(target, p);
}

/** Every repair started so far, done. */
export async function repaired(ctx: FaultContext): Promise<void> {
  while (ctx.busy.size > 0) await Promise.all([...ctx.busy.values()]);
}

/**
 * Calls `act` right after the host's VPP carries out its k-th next write, or at once
 * when no write comes within 2 s (nothing to do on that host). Resolves when `act` has run.
 */
function atWrite(h: Host, k: number, act: () => void): Promise<void> {
  const sim = h.vpp.sim;
  if (!sim) return Promise.resolve();
  const target = sim.writes() + k;
  return new Promise<void>((resolve) => {
    let done = false;
    const fire = () => {
      if (done) return;
      done = true;
      h.hooks.delete(hook);
      clearTimeout(t);
      act();
      resolve();
    };
    const hook = ({ n }: { n: number }) => {
      if (n >= target) fire();
    };
    h.hooks.add(hook);
    const t = setTimeout(fire, 2000);
  });
}

async function killAgentAtWrite(ctx: FaultContext, h: Host, k: number): Promise<void> {
  const agent = h.agent;
  // The hook runs inside the simulator's write, before its reply is sent: the SIGKILL lands with the
  // write carried out and its reply never read, as when a host's agent dies mid-call.
  await atWrite(h, k, () => {
    h.timeline.push({ at: Date.now(), what: 'agent SIGKILL' });
    agent.kill();
  });
  await agent.exited;
  ctx.stack.startAgent(h);
}

async function crashVppAtWrite(ctx: FaultContext, h: Host, k: number, downMs: number): Promise<void> {
  const sim = h.vpp.sim;
  if (!sim) return;
  let crashed: Promise<void> = Promise.resolve();
  await atWrite(h, k, () => {
    h.timeline.push({ at: Date.now(), what: `VPP crashed (down ${downMs} ms)` });
    crashed = sim.crash({ downMs });
  });
  await crashed;
  await ctx.stack.makeUplink(h);
}

/** A cut or a blackhole of 0.5–4 s (drawn now, so the seed's story does not depend on timing). */
function cutFor(ctx: FaultContext, what: string, link: Host['link']): () => Promise<void> {
  const blackhole = ctx.rng.chance(0.5);
  const ms = ctx.rng.int(500, 4000);
  return async () => {
    ctx.log(`  ${what}: ${blackhole ? 'blackhole' : 'cut'} for ${ms} ms`);
    if (blackhole) link.blackhole();
    else link.cut();
    await sleep(ms);
    link.restore();
  };
}

let probes = 0;

/**
 * Resumes a controller stopped past its lease, with a journal row waiting for it: a port Neutron
 * never had, sent while it was stopped (the kernel holds the request until it runs again, as for a
 * driver's request that timed out at the driver). Once another controller leads, the resumed one is
 * deposed, however sure it still is that it leads: its write must not land (its guard fails), so the
 * port must not appear in etcd. If it does, that is a violation; the key is removed again.
 */
async function probeDeposed(ctx: FaultContext, c: ControllerProcess, host: string): Promise<void> {
  const { stack } = ctx;
  const others = stack.controllers.filter((o) => o !== c);
  let deposed = false;
  for (let i = 0; i < 20 && !deposed; i++) {
    for (const o of others) if (await o.leads()) deposed = true;
    if (!deposed) await sleep(500);
  }
  const model = [...ctx.truth.ports.values()].find((p) => ctx.truth.nets.has(p.net));
  if (!deposed || !model) {
    c.cont();
    return;
  }
  const n = ++probes;
  const id = `dead0000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  const data = { ...ctx.truth.portDict(model), id, security_groups: [], 'binding:host_id': host };
  const row = { id: 1_000_000_000 + n, resource: 'port', op: 'create', resource_id: id, revision: 1, data };
  const reply = fetch(`${c.url}/v1/journal`, {
    method: 'POST',
    body: JSON.stringify({ rows: [row] }),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(15_000),
  }).then(
    async (r) => `${r.status} ${await r.text()}`,
    (e: unknown) => `no reply (${(e as Error).message})`,
  );
  await sleep(300);
  c.cont();
  const answer = await reply;
  const key = keys.portBinding(host, id);
  const { kv } = await stack.store.get(key);
  ctx.deposedProbes++;
  if (!kv) return;
  await stack.store.delete(key);
  // Landed: a violation, unless the resumed controller had won the election again (the other one
  // lost its lease meanwhile, say to an etcd fault) before it took the row: its guard was then good.
  const leader = await stack.store.get(keys.controllerLeader);
  let holder: unknown;
  try {
    holder = leader.kv && (JSON.parse(payloadOf(leader.kv.value)) as { id?: unknown }).id;
  } catch {
    holder = undefined;
  }
  if (holder === c.id && leader.kv && leader.kv.createRevision < kv.modRevision) {
    ctx.deposedProbes--;
    ctx.log(
      `  probe on ${c.id} not counted: it leads again (since etcd revision ${leader.kv.createRevision})`,
    );
    return;
  }
  ctx.problems.push(`a write landed from deposed controller ${c.id}: ${key} (it answered ${answer})`);
}

/** The controller that leads, waited for up to 10 s (one may be taking over). */
async function leading(
  stack: ChaosStack,
  tries = 20,
): Promise<ChaosStack['controllers'][number] | undefined> {
  for (let i = 0; i < tries; i++) {
    const c = await stack.leadingController();
    if (c) return c;
    await sleep(500);
  }
  return undefined;
}

/** Starts one fault of `kind`; a lasting one is repaired in the background (see repaired()). */
export async function inject(kind: FaultKind, ctx: FaultContext): Promise<void> {
  const { stack, rng } = ctx;
  const h = rng.pick(stack.hosts);
  switch (kind) {
    case 'agent SIGKILL at write': {
      const k = rng.int(1, 15);
      return hold(ctx, kind, h.name, () => killAgentAtWrite(ctx, h, k));
    }
    case 'vpp crash at write': {
      const k = rng.int(1, 15);
      const downMs = rng.int(0, 300);
      return hold(ctx, kind, h.name, () => crashVppAtWrite(ctx, h, k, downMs));
    }
    case 'vpp reply delayed': {
      // The write is carried out late, past the agent's timeout; calls behind it on that connection
      // wait for it, as on VPP's one API thread.
      // Which message depends on what the agent has sent so far (timing), the draws do not.
      const at = rng.next();
      const ms = AGENT_VPP_TIMEOUT_S * 1000 + rng.int(200, 2000);
      const msgs = writeMessages(h);
      if (msgs.length > 0) {
        const m = msgs[Math.floor(at * msgs.length)];
        h.timeline.push({ at: Date.now(), what: `next ${m} delayed ${ms} ms` });
        h.vpp.sim?.delayNext(m, ms);
      }
      return count(msgs.length > 0 ? ctx.injected : ctx.skipped, kind);
    }
    case 'vpp call fails': {
      const at = rng.next();
      const nth = rng.int(1, 3);
      const msgs = writeMessages(h);
      if (msgs.length > 0) {
        const m = msgs[Math.floor(at * msgs.length)];
        h.timeline.push({ at: Date.now(), what: `${m} fails at its call ${nth}` });
        h.vpp.sim?.failNth(m, nth, -1);
      }
      return count(msgs.length > 0 ? ctx.injected : ctx.skipped, kind);
    }
    case 'etcd leader killed': {
      const down = rng.int(500, 3000);
      return hold(ctx, kind, 'etcd', async () => {
        const leader = await stack.etcd.leader();
        await stack.etcd.kill(leader);
        await sleep(down);
        await stack.etcd.restart(leader);
      });
    }
    case 'etcd member isolated': {
      const pickLeader = rng.chance(0.5);
      const other = rng.int(0, stack.etcd.size - 1);
      const ms = rng.int(2000, 6000);
      return hold(ctx, kind, 'etcd', async () => {
        const i = pickLeader ? await stack.etcd.leader() : other;
        ctx.log(`  member m${i} isolated for ${ms} ms`);
        stack.etcd.isolate(i);
        await sleep(ms);
        stack.etcd.rejoin(i);
      });
    }
    case 'agent cut from etcd':
      return hold(ctx, kind, `link:${h.name}`, cutFor(ctx, `${h.name}'s agent`, h.link));
    case 'controller cut from etcd': {
      const c = rng.pick(stack.controllers);
      return hold(ctx, kind, 'controllers', cutFor(ctx, c.id, c.link));
    }
    case 'controller leader killed': {
      const fallback = rng.pick(stack.controllers);
      const down = rng.int(0, 1000);
      return hold(ctx, kind, 'controllers', async () => {
        const c = (await leading(stack)) ?? fallback;
        ctx.log(`  SIGKILL ${c.id}`);
        await c.kill();
        await sleep(down);
        await c.restart();
      });
    }
    case 'controller leader stopped': {
      const probeHost = h.name;
      const ms = ELECTION_TTL_S * 1000 + rng.int(500, 3000);
      return hold(ctx, kind, 'controllers', async () => {
        // A leader needs a quorum: after an etcd fault being repaired, and a controller just
        // killed or cut, the election can take a while on a loaded machine (CI's had none for 10 s).
        const etcdRepair = ctx.busy.get('etcd');
        if (etcdRepair) await etcdRepair;
        const c = await leading(stack, 60);
        if (!c) return false;
        ctx.log(`  SIGSTOP ${c.id} for ${ms} ms`);
        c.pause();
        await sleep(ms);
        await probeDeposed(ctx, c, probeHost);
      });
    }
    case 'compaction': {
      const rev = await stack.store.revision();
      await stack.store.compact(rev);
      return count(ctx.injected, kind);
    }
    case 'malformed value': {
      // A value of a key an agent reads that no writer of ours would make: unparsable, or of the
      // wrong shape. The agent must report it on that object and carry on with everything else.
      const id = `badbadba-0000-4000-8000-${rng.int(0, 0xffffff).toString(16).padStart(12, '0')}`;
      const value = rng.chance(0.5) ? '{"port_id": 7, "mtu": "x"' : '{"port_id": 7}';
      const key = keys.portBinding(h.name, id);
      // Not before Neutron's first full sync: in an etcd holding nothing else, the sync that deletes
      // the stray key deletes all of the desired state, which the sync valve rightly holds for an
      // operator to confirm (docs/controller.md), and the run would wait for that operator.
      return hold(ctx, kind, 'malformed', async () => {
        for (let i = 0; ctx.driver.stats.syncs === 0; i++) {
          // Generous: on a loaded machine the first sync waits for a leader and a quorum.
          if (i > 900) throw new Error('no full sync in 180 s: the malformed value was not written');
          await sleep(200);
        }
        ctx.garbage.add(key);
        await stack.store.put(key, value);
      });
    }
    case 'duplicated request':
      ctx.driver.duplicateNext = true;
      return count(ctx.injected, kind);
    case 'sync marker lost': {
      // meta/synced deleted (as an operator forcing a sync after a restore, or etcd losing it): the
      // leader asks the driver for a full sync and every agent holds its deletions until it lands.
      // The driver's syncs fail for 2–6 s meanwhile while its journal goes on, so changes (deletions
      // among them) arrive while deletions are held: what the held-deletion check watches.
      const ms = rng.int(2000, 6000);
      return hold(ctx, kind, 'etcd', async () => {
        for (let i = 0; ctx.driver.stats.syncs === 0; i++) {
          if (i > 900) throw new Error('no full sync in 180 s: the marker was not deleted');
          await sleep(200);
        }
        ctx.log(`  meta/synced deleted, the driver's syncs failing for ${ms} ms`);
        ctx.driver.failSyncsFor(ms);
        await stack.store.delete(keys.syncMarker);
        // Repaired once the driver's sync has written a marker again.
        for (let i = 0; !(await stack.store.get(keys.syncMarker)).kv; i++) {
          if (i > 600) throw new Error('no sync marker 120 s after it was deleted');
          await sleep(200);
        }
      });
    }
  }
}
