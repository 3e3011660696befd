// Connecting the agent to VPP: retried with jittered exponential backoff until it works or the agent
// stops. A first connect makes a new client; later ones reconnect the same client (which tells
// whether VPP restarted meanwhile).
import type { Logger } from '../util/log.ts';
import { VppClient } from '../vpp/client.ts';

export interface VppConnectOptions {
  socket: string;
  timeoutMs: number | undefined;
  log: Logger;
  minMs: number;
  maxMs: number;
  /** The client of an earlier connection, to reconnect; undefined for a first connect. */
  client: VppClient | undefined;
  stopped: () => boolean;
  sleep: (ms: number) => Promise<void>;
  /** A new client, before anything else is asked of it (event subscriptions). */
  onNewClient: (c: VppClient) => Promise<void>;
  /** Once connected: what must work for the connection to count (a failure retries). */
  onConnected: (c: VppClient) => Promise<void>;
}

/** The connected client and whether VPP restarted (always true for a first connect); null if stopped. */
export async function connectVpp(
  o: VppConnectOptions,
): Promise<{ client: VppClient; restarted: boolean } | null> {
  let delay = o.minMs;
  let attempt = 0;
  let client = o.client;
  while (!o.stopped()) {
    try {
      let restarted = true;
      if (!client) {
        const c = await VppClient.connect({
          socket: o.socket,
          name: 'netvpp-agent',
          timeoutMs: o.timeoutMs,
          log: o.log.child('vpp'),
        });
        client = c;
        await o.onNewClient(c);
      } else {
        restarted = (await client.reconnect()).restarted;
      }
      await o.onConnected(client);
      return { client, restarted };
    } catch (e) {
      if (o.stopped()) return null;
      attempt++;
      if (attempt === 1 || attempt % 10 === 0) {
        o.log.warn('cannot connect to VPP; retrying', {
          socket: o.socket,
          attempt,
          error: (e as Error).message,
        });
      }
      await o.sleep(delay * (0.8 + Math.random() * 0.4));
      delay = Math.min(o.maxMs, delay * 2);
    }
  }
  return null;
}
