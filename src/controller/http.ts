// The REST API of docs/controller-api.md on node:http. Handlers only parse, delegate and format;
// errors map to statuses here: bad request 400, unknown 404, not leader / etcd trouble 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/log.ts';
import { BadRequestError, type Intake, UnavailableError } from './intake.ts';
import type { StateView } from './state.ts';

export interface ApiDeps {
  intake: Intake;
  state: StateView;
  log: Logger;
  isLeader(): boolean;
  /** A full sync from Neutron is needed (the sync marker is absent or stale). */
  syncNeeded(): boolean;
  /** The leader's URL as advertised in etcd (null if none or unknown). */
  leaderUrl(): Promise<string | null>;
  maxBodyBytes: number;
  /** Upper bound for ?timeout= of the events long poll, in seconds. */
  maxPollSec: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `body is not JSON: ${(e as Error).message}`);
  }
}

export function apiHandler(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://controller');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const allow = (m: string) => {
      if (method !== m) throw new HttpError(405, `${path} takes ${m}`);
    };

    if (path === '/v1/health') {
      allow('GET');
      const etcd = d.state.connected ? 'connected' : 'disconnected';
      return send(res, etcd === 'connected' ? 200 : 503, {
        status: etcd === 'connected' ? 'ok' : 'degraded',
        leader: d.isLeader(),
        etcd,
        sync_needed: d.syncNeeded(),
      });
    }
    if (path === '/v1/journal') {
      allow('POST');
      return send(res, 200, await d.intake.journal(await readJson(req, d.maxBodyBytes)));
    }
    if (path === '/v1/sync') {
      if (method === 'GET') return send(res, 200, await d.intake.syncStatus(d.syncNeeded()));
      if (method !== 'POST') throw new HttpError(405, `${path} takes GET or POST`);
      return send(res, 200, await d.intake.sync(await readJson(req, d.maxBodyBytes)));
    }
    if (path === '/v1/hosts' || path.startsWith('/v1/hosts/')) {
      allow('GET');
      if (!d.state.connected) throw new UnavailableError('not connected to etcd; host liveness unknown');
      if (path === '/v1/hosts') return send(res, 200, d.state.hosts());
      const name = decodeURIComponent(path.slice('/v1/hosts/'.length));
      const h = d.state.host(name);
      if (!h) throw new HttpError(404, `no live agent on host "${name}"`);
      return send(res, 200, h);
    }
    // One stream for ports, routers and floating IPs; /v1/events names it for what it carries.
    if (path === '/v1/ports/events' || path === '/v1/events') {
      allow('GET');
      const sinceText = url.searchParams.get('since');
      if (sinceText !== null && !/^\d{1,15}$/.test(sinceText))
        throw new HttpError(400, 'since must be a cursor returned by this API');
      const timeoutText = url.searchParams.get('timeout') ?? '30';
      const timeout = Number(timeoutText);
      if (!Number.isFinite(timeout) || timeout < 0) throw new HttpError(400, 'timeout must be seconds >= 0');
      if (!d.state.connected) throw new UnavailableError('not connected to etcd');
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const reply = await d.state.events(
        sinceText === null ? null : Number(sinceText),
        Math.min(timeout, d.maxPollSec) * 1000,
        abort.signal,
      );
      return send(res, 200, reply);
    }
    throw new HttpError(404, `no such resource: ${method} ${path}`);
  }

  return (req, res) => {
    route(req, res).catch(async (e: unknown) => {
      if (e instanceof HttpError) return send(res, e.status, { error: e.message, ...e.extra });
      if (e instanceof BadRequestError) return send(res, 400, { error: e.message });
      if (e instanceof UnavailableError) {
        const leader = await d.leaderUrl().catch(() => null);
        return send(res, 503, { error: e.message, leader: d.isLeader() ? null : leader });
      }
      d.log.error('request failed', { method: req.method, url: req.url, error: e });
      send(res, 500, { error: `internal error: ${e instanceof Error ? e.message : String(e)}` });
    });
  };
}
