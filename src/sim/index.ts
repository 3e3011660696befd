/**
 * The VPP simulator: a server on a unix socket speaking VPP 26.06's socket API, with VPP's state
 * semantics for every message netvpp uses. See docs/simulator.md for what it models and what it
 * deliberately does not.
 */
import { SimServer, type CrashOptions, type SimOptions, type WriteHook } from './server.ts';

import type { Ingress, VlanTag } from './ethernet.ts';
import type { PolicerDirection } from './policer.ts';
import type { LacpPartner } from './bond.ts';

export type { SimOptions, CrashOptions, WriteHook, WriteSeen } from './server.ts';
export type { Ingress, VlanTag } from './ethernet.ts';
export type { LacpPartner } from './bond.ts';
export { VERSION } from './handlers.ts';

export interface Sim {
  /** The API socket path. */
  readonly socket: string;
  /** The simulated VPP's process id (control_ping's vpe_pid); changes on every crash. */
  readonly vpePid: number;
  /** Stops listening, drops every client and removes the socket. */
  stop(): Promise<void>;
  /** VPP dies and restarts: connections dropped, all state lost, a new vpe_pid. */
  crash(opts?: CrashOptions): Promise<void>;
  /** Holds every reply to `message` (or every message, with '*') back by `ms`; 0 removes it. */
  setDelay(message: string, ms: number): void;
  /**
   * Like setDelay, for the next `n` calls of `message` only (default 1): the call is held `ms`, and
   * so is everything the same client sent after it; later calls are not delayed.
   */
  delayNext(message: string, ms: number, n?: number): void;
  /**
   * `hook` is called after every write VPP carries out (n = writes since start or resetCounters),
   * before its reply is sent; returning `'cut'` drops the sending connection: the reply and
   * everything the client sent after that write are lost. A test SIGKILLs an agent from it at an
   * exact write, or crashes VPP (`void sim.crash()`) mid-pass. null removes it; so does clearFaults().
   */
  onWrite(hook: WriteHook | null): void;
  /** The n-th next call of `message` fails with `retval` and changes nothing. */
  failNth(message: string, n: number, retval: number): void;
  /** Every call of `message` fails with `retval` and changes nothing, until clearFaults(). */
  failEvery(message: string, retval: number): void;
  /** Removes every delay, pending injected failure and the onWrite hook. */
  clearFaults(): void;
  /** Calls of one message since start (or the last resetCounters). */
  calls(message: string): number;
  /** Calls per message name. */
  counters(): Record<string, number>;
  /** Calls that change VPP state (everything except dumps, pings, gets and registrations). */
  writes(): number;
  resetCounters(): void;
  /** Connected API clients. */
  clients(): number;
  /** A guest attaches to the vhost-user interface on this socket path; false if there is none. */
  connectGuest(sockFilename: string): boolean;
  disconnectGuest(sockFilename: string): boolean;
  /** Where ethernet-input puts a frame with these VLAN tags received on `swIfIndex` (ethernet.ts). */
  ingress(swIfIndex: number, tags: readonly VlanTag[]): Ingress;
  /**
   * The policer an interface names in a direction (rx: policer_input, tx: policer_output): its name,
   * `freed` when it names a deleted policer (deleted without being unbound first), null for none.
   */
  policerOn(swIfIndex: number, dir: PolicerDirection): string | 'freed' | null;
  /** A NIC's cable pulled (false) or plugged back (true); false when there is no such NIC. */
  setNicLink(name: string, up: boolean): boolean;
  /** What answers LACP at the other end of a bond member's link, or null for nothing (bond.ts). */
  setLacpPartner(memberName: string, partner: LacpPartner | null): void;
}

export async function startSimulator(opts: SimOptions): Promise<Sim> {
  const server = new SimServer(opts);
  await server.listen();
  return {
    get socket() {
      return server.socketPath;
    },
    get vpePid() {
      return server.vpePid;
    },
    stop: () => server.stop(),
    crash: (o) => server.crash(o),
    setDelay: (m, ms) => server.setDelay(m, ms),
    delayNext: (m, ms, n) => server.delayNext(m, ms, n),
    onWrite: (h) => server.onWrite(h),
    failNth: (m, n, rv) => server.failNth(m, n, rv),
    failEvery: (m, rv) => server.failEvery(m, rv),
    clearFaults: () => server.clearFaults(),
    calls: (m) => server.calls(m),
    counters: () => server.counters(),
    writes: () => server.writes(),
    resetCounters: () => server.resetCounters(),
    clients: () => server.clients(),
    connectGuest: (p) => server.connectGuest(p),
    disconnectGuest: (p) => server.disconnectGuest(p),
    ingress: (i, t) => server.ingress(i, t),
    policerOn: (i, dir) => {
      const p = server.state.policers;
      const index = p.boundTo(i, dir);
      if (index === undefined) return null;
      return p.get(index)?.name ?? 'freed';
    },
    setNicLink: (n, up) => server.setNicLink(n, up),
    setLacpPartner: (n, p) => server.setLacpPartner(n, p),
  };
}
