// What tests inject into the simulator: delays (every call of a message, or its next few), failures
// of the n-th call of a message (or of every call until cleared) with a given retval, and a hook called after each write (which may
// cut the connection, as when the client dies right after VPP carried the write out).
import type { WriteHook } from './server.ts';

export class Faults {
  private readonly delays = new Map<string, number>();
  /** Delays for the next few calls of a message only (delayNext). */
  private readonly nextDelays = new Map<string, { ms: number; remaining: number }>();
  private readonly failures = new Map<string, { remaining: number; retval: number }>();
  /** Messages every call of which fails until cleared (failEvery). */
  private readonly always = new Map<string, number>();
  writeHook: WriteHook | null = null;

  setDelay(message: string, ms: number): void {
    if (ms > 0) this.delays.set(message, ms);
    else this.delays.delete(message);
  }

  delayNext(message: string, ms: number, n = 1): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`delayNext: n must be 1 or more, got ${n}`);
    if (ms > 0) this.nextDelays.set(message, { ms, remaining: n });
    else this.nextDelays.delete(message);
  }

  failNth(message: string, n: number, retval: number): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`failNth: n must be 1 or more, got ${n}`);
    this.failures.set(message, { remaining: n, retval });
  }

  /** Every call of `message` fails with `retval` until clear() (a VPP that keeps refusing it). */
  failEvery(message: string, retval: number): void {
    this.always.set(message, retval);
  }

  clear(): void {
    this.always.clear();
    this.delays.clear();
    this.nextDelays.clear();
    this.failures.clear();
    this.writeHook = null;
  }

  /** The delay for this call of `message` (counts down delayNext). */
  delayOf(message: string): number {
    let delay = this.delays.get(message) ?? this.delays.get('*') ?? 0;
    const next = this.nextDelays.get(message);
    if (next) {
      delay = Math.max(delay, next.ms);
      if (--next.remaining <= 0) this.nextDelays.delete(message);
    }
    return delay;
  }

  get anyFailure(): boolean {
    return this.failures.size > 0 || this.always.size > 0;
  }

  /** The retval this call of `message` must fail with, if a failure is due now. */
  take(message: string): number | undefined {
    const always = this.always.get(message);
    if (always !== undefined) return always;
    const f = this.failures.get(message);
    if (!f) return undefined;
    if (--f.remaining > 0) return undefined;
    this.failures.delete(message);
    return f.retval;
  }
}
