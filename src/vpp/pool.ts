/**
 * Several binary-API connections to one VPP, used as one: each request goes to the connection with
 * the fewest requests in flight (and queued), so a pipelined stream is spread over all of them.
 *
 * Why: VPP's socket server reads each client socket once per turn of its main loop, into a 4 KiB
 * buffer (src/vlibmemory/socket_api.c), so one connection gets at most ~4 KiB of requests handled
 * per turn whatever the client batches; N connections are read N times per turn. Requests on
 * different connections have no order between them: use a pool only for requests that do not depend
 * on each other (a caller that needs an order awaits the first reply before sending the next, as the
 * agent's engine does). Events and other connection-bound calls go through `primary`.
 */
import { VppClient, type Args, type VppClientOptions, type VppClientStats } from './client.ts';
import type { MessageDef } from './codec/index.ts';

export interface VppClientPoolOptions extends VppClientOptions {
  /** How many connections to open (default 1); each has its own window. */
  connections?: number;
}

/**
 * Of `clients` (not empty), the one with the least work outstanding (in flight and queued); between
 * equals the first from `start` on, so a caller advancing `start` goes round robin.
 */
export function leastLoaded(clients: readonly VppClient[], start: number): VppClient {
  const n = clients.length;
  let best = clients[start % n];
  let load = best.stats.inFlight + best.stats.queued;
  for (let i = 1; i < n && load > 0; i++) {
    const c = clients[(start + i) % n];
    const l = c.stats.inFlight + c.stats.queued;
    if (l < load) [best, load] = [c, l];
  }
  return best;
}

export class VppClientPool {
  private next = 0;

  private constructor(readonly clients: readonly VppClient[]) {}

  static async connect(opts: VppClientPoolOptions = {}): Promise<VppClientPool> {
    const n = opts.connections ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`VppClientPool: connections must be ≥ 1, got ${n}`);
    const name = opts.name ?? 'netvpp';
    const clients: VppClient[] = [];
    try {
      for (let i = 0; i < n; i++)
        clients.push(await VppClient.connect({ ...opts, name: n === 1 ? name : `${name}-${i}` }));
    } catch (e) {
      await Promise.all(clients.map((c) => c.close()));
      throw e;
    }
    return new VppClientPool(clients);
  }

  /** The first connection: events, and anything that must stay on one connection. */
  get primary(): VppClient {
    return this.clients[0];
  }

  private pick(): VppClient {
    const c = leastLoaded(this.clients, this.next);
    this.next = (this.next + 1) % this.clients.length;
    return c;
  }

  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>, opts: { timeoutMs?: number } = {}): Promise<R> {
    return this.pick().request(def, args, opts);
  }

  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>, opts: { timeoutMs?: number } = {}): Promise<R[]> {
    return this.pick().dump(def, args, opts);
  }

  /** The connections' counters summed. */
  get stats(): VppClientStats {
    const s: VppClientStats = { sent: 0, received: 0, inFlight: 0, queued: 0, timeouts: 0, dropped: 0 };
    for (const c of this.clients)
      for (const k of Object.keys(s) as (keyof VppClientStats)[]) s[k] += c.stats[k];
    return s;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
