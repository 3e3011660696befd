// Long synchronous work cut into slices, so the event loop keeps turning under it. A controller that
// plans a full sync of tens of thousands of ports in one go stalls its loop for seconds on a loaded
// machine: gRPC's keepalive ping then times out (the connection to etcd is dropped), the election's
// lease keepalives go unsent, and leadership is lost in the middle of the sync. Call `tick()` in
// every iteration of such a loop; it yields (setImmediate: timers and I/O run) once `budgetMs` of
// work has passed since the last yield, and costs a counter increment otherwise.
export class Slicer {
  private n = 0;
  private since = performance.now();
  /** How many times it yielded. */
  yields = 0;

  constructor(private readonly budgetMs = 20) {}

  /** Resolves at once while within the budget, after one turn of the event loop otherwise. */
  tick(): Promise<void> | undefined {
    if ((++this.n & 31) !== 0 || performance.now() - this.since < this.budgetMs) return undefined;
    return this.yieldNow();
  }

  async yieldNow(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.yields++;
    this.since = performance.now();
  }
}
