// The fault kinds of a chaos run. Each is injected by one function here, with its parameters drawn
// from the run's PRNG; what it breaks is repaired (a killed member restarted, a crashed VPP's uplink
// made again by the operator) before it returns, while the driver and the agents keep working.
import { keys } from '../../src/model/keyspace.ts';
import type { Driver } from './driver.ts';
import type { Prng } from './prng.ts';
import type { ChaosStack, Host } from './stack.ts';

export const FAULT_KINDS = [
  'agent restart',
  'vpp crash at write',
  'vpp call fails',
  'etcd leader killed',
  'controller leader restart',
  'compaction',
  'malformed value',
  'duplicated request',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultContext {
  stack: ChaosStack;
  driver: Driver;
  rng: Prng;
  /** Keys the run filled with malformed values (the oracle leaves them out). */
  garbage: Set<string>;
  log: (msg: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Messages the agent writes with, as the simulator counted them (dumps, pings and gets left out). */
function writeMessages(h: Host): string[] {
  const sim = h.vpp.sim;
  if (!sim) return [];
  return Object.keys(sim.counters())
    .filter((m) => !/_dump$|^control_ping|_get$|^want_|^memclnt|^get_|^show_/.test(m))
    .sort();
}

async function crashAtWrite(ctx: FaultContext, h: Host): Promise<void> {
  const sim = h.vpp.sim;
  if (!sim) return;
  const target = sim.writes() + ctx.rng.int(1, 15);
  let crashed: Promise<void> | null = null;
  sim.onWrite(({ n }) => {
    if (n < target || crashed) return;
    sim.onWrite(null);
    crashed = sim.crash({ downMs: ctx.rng.int(0, 300) });
  });
  // The writes may not come (nothing to do on that host): then VPP crashes anyway, between writes.
  for (let i = 0; i < 40 && !crashed; i++) await sleep(50);
  if (!crashed) {
    sim.onWrite(null);
    crashed = sim.crash({ downMs: 100 });
  }
  await crashed;
  await ctx.stack.makeUplink(h);
}

export async function inject(kind: FaultKind, ctx: FaultContext): Promise<void> {
  const { stack, rng } = ctx;
  const h = rng.pick(stack.hosts);
  switch (kind) {
    case 'agent restart':
      await stack.restartAgent(h);
      return;
    case 'vpp crash at write':
      await crashAtWrite(ctx, h);
      return;
    case 'vpp call fails': {
      const msgs = writeMessages(h);
      if (msgs.length === 0) return;
      const msg = rng.pick(msgs);
      h.vpp.sim?.failNth(msg, rng.int(1, 3), -1);
      return;
    }
    case 'etcd leader killed': {
      const leader = await stack.etcd.leader();
      await stack.etcd.kill(leader);
      await sleep(rng.int(500, 3000));
      await stack.etcd.restart(leader);
      return;
    }
    case 'controller leader restart': {
      const leader = stack.controllers.find((c) => c.isLeader) ?? rng.pick(stack.controllers);
      stack.controllers.splice(stack.controllers.indexOf(leader), 1);
      ctx.driver.setControllers(stack.controllerUrls);
      await leader.stop();
      await stack.addController();
      ctx.driver.setControllers(stack.controllerUrls);
      return;
    }
    case 'compaction': {
      const rev = await stack.store.revision();
      await stack.store.compact(rev);
      return;
    }
    case 'malformed value': {
      // A value of a key an agent reads that no writer of ours would make: unparsable, or of the
      // wrong shape. The agent must report it on that object and carry on with everything else.
      const id = `badbadba-0000-4000-8000-${rng.int(0, 0xffffff).toString(16).padStart(12, '0')}`;
      const key = keys.portBinding(h.name, id);
      ctx.garbage.add(key);
      await stack.store.put(key, rng.chance(0.5) ? '{"port_id": 7, "mtu": "x"' : '{"port_id": 7}');
      return;
    }
    case 'duplicated request':
      ctx.driver.duplicateNext = true;
      return;
  }
}
