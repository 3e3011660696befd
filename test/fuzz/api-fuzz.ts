// The controller API fuzz: a real controller with token authentication on a real etcd, valid state
// written first, then generated raw HTTP requests (api-inputs.ts) over a plain TCP socket so paths,
// headers and content-length can lie. Each reply must be a clear answer — a 4xx with a JSON error, or
// a 2xx only for an authenticated request — never a 5xx, a hang or a dropped connection without a
// reply; afterwards no key of the state written before has changed and the controller still leads.
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Controller, DEFAULTS } from '../../src/controller/controller.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { logger } from '../../src/util/log.ts';
import { networkDict, portDict, requestArb, sgDict, type FuzzIds, type FuzzRequest } from './api-inputs.ts';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends one request as raw bytes and reads the reply until the server closes (Connection: close). */
export function rawRequest(port: number, r: FuzzRequest, timeoutMs = 10_000): Promise<RawReply | 'closed'> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    // A reset after the reply was written (the server dropping an unread body) still leaves the reply.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m || head < 0) return resolve('closed');
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, head).split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(m[1]), headers, body: text.slice(head + 4) });
    });
    const lines = [`${r.method} ${r.target} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
    for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
    sock.write(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), r.body]));
    // A body shorter than its content-length: the server waits for the rest, as it should; the
    // client then gives up (node takes a half-close as the client leaving, so not before).
    if (shortBody(r)) setTimeout(() => sock.end(), 200);
  });
}

/** Whether the request declares more body than it sends (a lying content-length). */
function shortBody(r: FuzzRequest): boolean {
  const cl = r.headers.find(([k]) => k === 'content-length')?.[1];
  return cl !== undefined && /^\d+$/.test(cl) && Number(cl) > r.body.length;
}

/** A request in a line (long paths, headers and bodies cut). */
export function describeRequest(r: FuzzRequest): string {
  const cut = (t: string) => (t.length > 160 ? `${t.slice(0, 160)}… (${t.length} chars)` : t);
  const headers = r.headers.map(([k, v]) => `${k}: ${cut(v)}`).join(' | ');
  return `${r.method} ${cut(r.target)} [${headers}] body ${cut(r.body.toString('utf8'))}`;
}

/** What is wrong with one reply, or null. */
export function judge(r: FuzzRequest, reply: RawReply | 'closed'): string | null {
  if (reply === 'closed') {
    // Only a request whose declared body never fully arrived may go unanswered: the client left.
    return shortBody(r) ? null : 'connection closed without a reply';
  }
  if (reply.status >= 500) return `server error ${reply.status}: ${reply.body.slice(0, 300)}`;
  if (reply.status < 200 || (reply.status >= 300 && reply.status < 400))
    return `unexpected status ${reply.status}`;
  // The open paths, as the controller reads them (one trailing slash dropped).
  const path = r.target.split('?')[0].replace(/(.)\/$/, '$1');
  const open = path === '/v1/health' || path.startsWith('/metrics') || path.startsWith('/health/');
  if (reply.status < 300 && !r.authorized && !open)
    return `${reply.status} for a request without a valid token`;
  if (reply.status >= 400 && r.method !== 'HEAD') {
    let error: unknown;
    try {
      error = (JSON.parse(reply.body) as { error?: unknown }).error;
    } catch {
      return `${reply.status} without a JSON body: ${JSON.stringify(reply.body.slice(0, 200))}`;
    }
    if (typeof error !== 'string' || error === '') return `${reply.status} without an error message`;
  }
  return null;
}

export interface FuzzWorld {
  etcd: EtcdProcess;
  store: Store;
  ctl: Controller;
  ids: FuzzIds;
  port: number;
  /** Every key and value under nodes/, global/ and neutron/ before the fuzz. */
  before: Map<string, string>;
  stop(): Promise<void>;
}

const TOKEN = 'fuzz-driver-token-0123456789abcdef';
const PROTECTED_REVISION = 1_000_000;

async function snapshot(store: Store): Promise<Map<string, string>> {
  const { kvs } = await store.getPrefixes([keys.nodes, 'global/', keys.neutron]);
  return new Map(kvs.map((kv) => [kv.key, kv.value]));
}

async function post(port: number, path: string, body: unknown): Promise<RawReply> {
  const text = Buffer.from(JSON.stringify(body));
  const r = await rawRequest(port, {
    method: 'POST',
    target: path,
    headers: [
      ['authorization', `Bearer ${TOKEN}`],
      ['content-type', 'application/json'],
      ['content-length', String(text.length)],
    ],
    body: text,
    authorized: true,
  });
  if (r === 'closed' || r.status !== 200) throw new Error(`${path} failed: ${JSON.stringify(r)}`);
  return r;
}

export async function startFuzzWorld(): Promise<FuzzWorld> {
  const etcd = await startEtcd();
  const store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-fuzz-'));
  writeFileSync(join(dir, 'tokens'), `${TOKEN}\n`, { mode: 0o600 });
  const ctl = await Controller.start(
    {
      ...DEFAULTS,
      bindPort: 0,
      id: 'fuzz',
      electionTtlSec: 2,
      etcd: { endpoints: etcd.endpoints, requestTimeoutMs: 5000 },
      maxBodyBytes: 1024 * 1024,
      // Long polls answer at once: the fuzz is about replies, not waiting.
      maxPollSec: 0,
      authTokenFile: join(dir, 'tokens'),
    },
    logger('controller[fuzz]'),
  );
  const port = Number(new URL(ctl.url).port);
  const ids: FuzzIds = {
    network: '0b8e7f3a-5c4d-4e2f-8a1b-9c0d1e2f3a4b',
    securityGroup: 'c0ffee00-1111-4222-8333-444455556666',
    ports: [1, 2, 3].map((n) => `6f1c0a52-1b5e-4bd4-9a8e-00000000000${n}`),
    revision: PROTECTED_REVISION,
    token: TOKEN,
  };
  const deadline = Date.now() + 30_000;
  while (!ctl.isLeader) {
    if (Date.now() > deadline) throw new Error('the fuzz controller did not become leader');
    await new Promise((r) => setTimeout(r, 25));
  }
  // The valid state: one network, one group, three bound ports, and a full sync (the marker).
  const sync = {
    networks: [networkDict(ids.network, ids.revision)],
    security_groups: [sgDict(ids.securityGroup, ids.revision)],
    ports: ids.ports.map((p) => portDict(p, ids.network, ids.securityGroup, ids.revision)),
  };
  await post(port, '/v1/sync', sync);
  const before = await snapshot(store);
  if ([...before.keys()].filter((k) => k.startsWith(keys.nodes)).length !== ids.ports.length)
    throw new Error(`the valid state was not written: ${[...before.keys()].join(', ')}`);
  return {
    etcd,
    store,
    ctl,
    ids,
    port,
    before,
    async stop() {
      await ctl.stop();
      store.close();
      await etcd.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface FuzzReport {
  runs: number;
  /** Replies by status (and `closed` for a client that left mid-body). */
  statuses: Record<string, number>;
  failures: string[];
  /** Keys of the state before the fuzz that changed or went away. */
  changed: string[];
  unhandled: string[];
  ms: number;
}

/** Runs `runs` generated requests against `w`; resolves with what it saw (failures included). */
export async function fuzzApi(w: FuzzWorld, runs: number, seed?: number): Promise<FuzzReport> {
  const statuses: Record<string, number> = {};
  const unhandled: string[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(String(e));
  process.on('unhandledRejection', onUnhandled);
  const started = Date.now();
  const failures: string[] = [];
  try {
    const details = await fc.check(
      fc.asyncProperty(requestArb(w.ids), async (r) => {
        const reply = await rawRequest(w.port, r);
        const key = reply === 'closed' ? 'closed' : String(reply.status);
        statuses[key] = (statuses[key] ?? 0) + 1;
        const wrong = judge(r, reply);
        if (wrong) throw new Error(wrong);
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }), endOnFailure: true },
    );
    if (details.failed) {
      const c = details.counterexample?.[0];
      const err =
        details.errorInstance instanceof Error
          ? details.errorInstance.message
          : String(details.errorInstance);
      failures.push(
        `${err} (seed ${details.seed}, path ${details.counterexamplePath}) for ${c ? describeRequest(c) : '?'}`,
      );
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  const after = await snapshot(w.store);
  const changed = [...w.before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
  if (!w.ctl.isLeader) failures.push('the controller no longer leads after the fuzz');
  return { runs, statuses, failures, changed, unhandled, ms: Date.now() - started };
}
