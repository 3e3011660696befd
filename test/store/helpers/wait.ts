// Waiting helpers for store tests. The limits only bound a hang; no test asserts on timing.

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` until it returns true (a throw counts as false); fails with `what` after `limitMs`. */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  limitMs = 20000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: last });
    await sleep(25);
  }
}
