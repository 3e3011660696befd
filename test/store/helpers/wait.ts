// Waiting helpers for store tests. The limits only bound a hang; no test asserts on timing.

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` until it returns true; fails with `what` after `limitMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, limitMs = 20000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
