/**
 * The two ways VPP hands out indexes, which decide every number a client sees:
 * - a pool (vppinfra/pool.h) reuses freed slots most recently freed first (sw_if_index, ACL
 *   indexes, vhost-user instances, API client registrations);
 * - a bitmap takes the lowest clear bit (loopback and tap instances, bridge-domain indexes).
 */
export class IndexPool {
  private readonly free: number[] = [];
  private readonly used = new Set<number>();
  private next: number;

  constructor(first = 0) {
    this.next = first;
  }

  alloc(): number {
    const i = this.free.length > 0 ? (this.free.pop() as number) : this.next++;
    this.used.add(i);
    return i;
  }

  release(i: number): void {
    if (this.used.delete(i)) this.free.push(i);
  }

  has(i: number): boolean {
    return this.used.has(i);
  }

  /** Indexes in use, ascending (VPP's pool_foreach order). */
  inUse(): number[] {
    return [...this.used].sort((a, b) => a - b);
  }
}

export class LowestFree {
  private readonly used = new Set<number>();
  /** Every number below this is taken (keeps allocation cheap when thousands are in use). */
  private low = 0;

  constructor(private readonly limit: number) {}

  /** Lowest free number at or above `from`, or -1 when every number below the limit is taken. */
  alloc(from = 0): number {
    for (let i = Math.max(from, this.low); i < this.limit; i++) {
      if (!this.used.has(i)) {
        this.used.add(i);
        if (from <= this.low) this.low = i + 1;
        return i;
      }
    }
    return -1;
  }

  /** Takes a specific number; false when it is taken or out of range. */
  take(i: number): boolean {
    if (i < 0 || i >= this.limit || this.used.has(i)) return false;
    this.used.add(i);
    return true;
  }

  has(i: number): boolean {
    return this.used.has(i);
  }

  release(i: number): boolean {
    if (!this.used.delete(i)) return false;
    if (i < this.low) this.low = i;
    return true;
  }
}
