// The agent's writes spread over several connections to VPP ([vpp] connections).
//
// VPP's socket server reads each client socket once per turn of its main loop, into a 4 KiB buffer,
// and work VPP does once per turn (vhost-user's connect pass over every client-mode interface,
// polling every vhost-user queue) grows with the number of interfaces: a cold resync of a big host
// pays it once per 4 KiB of requests. N connections are read N times per turn, so the same plan
// takes about N times fewer turns. The engine only sends an op once the ops it waits for have
// succeeded, so requests in flight together never depend on each other's order and can go to any
// connection. Events, reconnects and restart detection stay on the main client; an extra connection
// that fails is dropped (its requests fail and are retried or read back like any other failure)
// and the rest carry on.
import type { Logger } from '../util/log.ts';
import { VppClient, type Args } from '../vpp/client.ts';
import { leastLoaded } from '../vpp/pool.ts';
import type { MessageDef } from '../vpp/codec/index.ts';
import type { GroupName } from '../vpp/groups.ts';
import type { VppApi } from './vpp-api.ts';

/**
 * [vpp] connections when not configured: one, as before. 8 is what a big host wants: a cold resync of
 * 10,000 ports into a real VPP 26.06 took 97 s over 8 connections, 245 s over 1 and 98 s over 32
 * (docs/benchmarks.md). Not the default yet: the fault-injection suites (a write answered late, a
 * connection cut) are written for one connection and have not been reworked for several.
 */
export const DEFAULT_VPP_CONNECTIONS = 1;

export class VppLanes implements VppApi {
  private next = 0;
  private closed = false;

  private constructor(
    private readonly main: VppClient,
    private readonly extra: VppClient[],
  ) {}

  /**
   * The main client plus `connections - 1` more to the same socket. An extra connection that cannot
   * be opened is logged and left out (the main client alone still works).
   */
  static async open(
    main: VppClient,
    connections: number,
    timeoutMs: number | undefined,
    log: Logger,
  ): Promise<VppLanes> {
    const extra: VppClient[] = [];
    for (let i = 1; i < connections; i++) {
      try {
        const c = await VppClient.connect({
          socket: main.socketPath,
          name: `netvpp-agent-${i}`,
          timeoutMs,
          log: log.child('vpp'),
        });
        if (c.vpePid !== main.vpePid) {
          await c.close();
          throw new Error('VPP restarted while connecting');
        }
        c.on('disconnected', (e: Error) =>
          log.warn('an extra VPP connection was lost; going on without it', { error: e.message }),
        );
        extra.push(c);
      } catch (e) {
        log.warn('cannot open an extra VPP connection; going on with fewer', {
          connection: i,
          error: (e as Error).message,
        });
      }
    }
    return new VppLanes(main, extra);
  }

  /** How many connections carry requests now. */
  get size(): number {
    return 1 + this.extra.filter((c) => c.connected).length;
  }

  /** The connected lane with the least outstanding (round robin between equals). */
  private pick(): VppClient {
    const lanes = [this.main, ...this.extra.filter((c) => c.connected)];
    const c = leastLoaded(lanes, this.next);
    this.next = (this.next + 1) % lanes.length;
    return c;
  }

  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R> {
    return this.pick().request(def, args);
  }

  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R[]> {
    return this.pick().dump(def, args);
  }

  offers(group: GroupName): boolean {
    return this.main.offers(group);
  }

  /** Closes the extra connections (the main client is its owner's). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.extra.map((c) => c.close()));
  }
}
