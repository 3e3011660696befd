// Test plumbing for the controller: HTTP calls and polling. Limits only bound a hang.
import { Controller, type ControllerConfig, DEFAULTS } from '../../src/controller/controller.ts';
import { logger } from '../../src/util/log.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  limitMs = 30000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: string };
}

export async function call(base: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(base + path, {
    method,
    ...(body === undefined
      ? {}
      : {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}

export function startController(
  endpoints: string[],
  over: Partial<ControllerConfig> = {},
): Promise<Controller> {
  return Controller.start(
    { ...DEFAULTS, bindPort: 0, electionTtlSec: 2, etcd: { endpoints, requestTimeoutMs: 2000 }, ...over },
    logger(`controller${over.id ? `[${over.id}]` : ''}`),
  );
}

/** Waits until `c` leads and has its agent-state watch up. */
export async function ready(c: Controller): Promise<void> {
  await waitFor('controller to lead', async () => {
    const h = await call(c.url, 'GET', '/v1/health');
    return h.status === 200 && h.body.leader === true;
  });
}
