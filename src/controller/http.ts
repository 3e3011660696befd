// The REST API of docs/controller-api.md on node:http. Handlers only parse, delegate and format;
// errors map to statuses here: bad request 400, unknown 404, not leader / etcd trouble 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/log.ts';
import type { Authenticator } from './auth.ts';
import type { Intake } from './intake.ts';
import type { SyncPages } from './sync-pages.ts';
import { progressJson } from '../util/progress.ts';
import {
  AbandonedError,
  BadRequestError,
  BusyError,
  NotFoundError,
  TooLargeError,
  UnavailableError,
} from './errors.ts';
import type { StateView } from './state.ts';
import { HeldError } from './valve.ts';

export interface ApiDeps {
  intake: Intake;
  /** A full sync sent in pages (sync-pages.ts); absent: POST /v1/sync/session is 404. */
  syncPages?: SyncPages;
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
  /** Checks the driver's token; null: no authentication (`auth_strategy = noauth`). */
  auth: Authenticator | null;
  /** A journal batch arrived; `trigger` is what woke the driver's forwarder (metrics.ts). */
  onJournalBatch?(trigger: unknown): void;
}

/** Paths anyone may read: they reveal nothing an attacker could use (docs/security.md). */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/v1/health']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  // A declared size over the limit is refused before a byte of it is read.
  if (Number(req.headers['content-length'] ?? 0) > limit)
    throw new HttpError(413, `request body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    // The client hung up before its body was complete: nobody to answer, nothing to apply.
    if (e instanceof HttpError) throw e;
    throw new AbandonedError();
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `body is not JSON: ${(e as Error).message}`);
  }
}

/**
 * The request target's path (percent-escapes decoded per segment, one trailing slash dropped) and
 * query. A target that is not a plain absolute path is the client's error, never a 500.
 */
export function parseTarget(target: string): { path: string; segments: string[]; query: URLSearchParams } {
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  if (!raw.startsWith('/')) throw new HttpError(400, 'the request target must be an absolute path');
  if (raw.includes('//')) throw new HttpError(400, 'malformed path: empty segment ("//")');
  const trimmed = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  const segments = trimmed === '/' ? [] : trimmed.slice(1).split('/');
  let decoded: string[];
  try {
    decoded = segments.map((seg) => decodeURIComponent(seg));
  } catch {
    throw new HttpError(400, 'malformed path: bad %-escape');
  }
  return { path: trimmed, segments: decoded, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
}

/**
 * A request node's HTTP parser refuses (a bad content-length, a header too large, a malformed request
 * line) gets the API's kind of answer — a status and a JSON error — instead of node's bare one
 * (found by the fuzz, test/fuzz/).
 */
export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  // The client closed before its request was complete: nobody is left to answer.
  if (!socket.writable || err.code === 'HPE_INVALID_EOF_STATE') {
    socket.destroy();
    return;
  }
  // Bytes after a request's declared body, while its reply is under way (node's own handler checks
  // the same field): that reply still goes out, then the connection closes.
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (pending) {
    pending.once('finish', () => socket.destroy());
    pending.once('close', () => socket.destroy());
    return;
  }
  const [status, reason] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const text = JSON.stringify({ error: `malformed HTTP request: ${err.code ?? err.message}` });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

export function apiHandler(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, segments, query } = parseTarget(req.url ?? '/');
    const method = req.method ?? 'GET';
    if (d.auth && !PUBLIC_PATHS.has(path)) {
      // Before anything else, the body included: a stranger learns nothing and changes nothing.
      const verdict = d.auth.check(req.headers.authorization);
      if (verdict !== 'ok')
        d.log.warn('request refused', { verdict, method, path, from: req.socket.remoteAddress });
      if (verdict === 'missing')
        throw new HttpError(
          401,
          'authentication required: send "Authorization: Bearer <token>"',
          {},
          {
            'www-authenticate': 'Bearer realm="netvpp"',
          },
        );
      if (verdict === 'wrong') throw new HttpError(403, 'the token is not valid');
    }
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
        // The driver's journal as its batches report it, and a full sync being applied now.
        driver_journal: d.intake.backlog.figures(),
        full_sync: progressJson(d.intake.progress.snapshot()),
      });
    }
    // Writes are refused when the queue is full before their body is read, and skipped when the
    // driver hung up before their turn (it resends them).
    const abandoned = (): AbortSignal => {
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableEnded) abort.abort();
      });
      return abort.signal;
    };
    const admit = () => {
      if (d.intake.busy) throw new BusyError('too many requests are waiting for the controller; retry later');
    };
    if (path === '/v1/journal') {
      allow('POST');
      admit();
      const body = await readJson(req, d.maxBodyBytes);
      d.onJournalBatch?.((body as { trigger?: unknown } | null)?.trigger);
      return send(res, 200, await d.intake.journal(body, abandoned()));
    }
    if (path === '/v1/sync') {
      if (method === 'GET') return send(res, 200, await d.intake.syncStatus(d.syncNeeded()));
      if (method !== 'POST') throw new HttpError(405, `${path} takes GET or POST`);
      admit();
      const body = await readJson(req, d.maxBodyBytes);
      return send(res, 200, await d.intake.sync(body, abandoned()));
    }
    // A full sync in pages: begin, pages (each under the body cap), commit (docs/controller-api.md).
    if (d.syncPages && segments[0] === 'v1' && segments[1] === 'sync' && segments[2] === 'session') {
      allow('POST');
      const pages = d.syncPages;
      if (segments.length === 3) return send(res, 201, pages.begin(await readJson(req, 64 * 1024)));
      if (segments.length === 5 && segments[4] === 'page') {
        admit();
        const t = pages.take(segments[3], await readJson(req, d.maxBodyBytes));
        if (!t.apply) return send(res, 200, t.reply);
        await d.intake.syncPage(t.session.state, t.session.term, t.lists, abandoned());
        return send(res, 200, pages.applied(t));
      }
      if (segments.length === 5 && segments[4] === 'commit') {
        admit();
        const s = pages.commit(segments[3], await readJson(req, 4096));
        const reply = await d.intake.syncCommit(s.state, s.term, abandoned());
        pages.end(segments[3]);
        return send(res, 200, reply);
      }
    }
    if (path === '/v1/sync/held') {
      allow('GET');
      return send(res, 200, { held: d.intake.heldSync, journal: d.intake.heldJournal });
    }
    if (path === '/v1/sync/confirm') {
      allow('POST');
      admit();
      const body = (await readJson(req, 4096)) as { id?: unknown } | null;
      return send(res, 200, await d.intake.confirmSync(body?.id, abandoned()));
    }
    if (segments.length === 4 && path.startsWith('/v1/taas/erspan/')) {
      const id = segments[3];
      if (method === 'GET') return send(res, 200, { erspan: await d.intake.erspanOf(id) });
      if (method !== 'PUT' && method !== 'DELETE')
        throw new HttpError(405, `${path} takes GET, PUT or DELETE`);
      admit();
      const body = method === 'PUT' ? await readJson(req, 4096) : null;
      if (method === 'PUT' && body === null) throw new HttpError(400, 'PUT needs the ERSPAN setting as JSON');
      return send(res, 200, await d.intake.erspan(id, body, abandoned()));
    }
    if (path === '/v1/hosts' || (segments.length === 3 && path.startsWith('/v1/hosts/'))) {
      allow('GET');
      if (!d.state.connected) throw new UnavailableError('not connected to etcd; host liveness unknown');
      if (path === '/v1/hosts') return send(res, 200, d.state.hosts());
      const name = segments[2];
      const h = d.state.host(name);
      if (!h) throw new HttpError(404, `no live agent on host "${name}"`);
      return send(res, 200, h);
    }
    // One stream for ports, routers and floating IPs; /v1/events names it for what it carries.
    if (path === '/v1/ports/events' || path === '/v1/events') {
      allow('GET');
      const sinceText = query.get('since');
      if (sinceText !== null && !/^\d{1,15}$/.test(sinceText))
        throw new HttpError(400, 'since must be a cursor returned by this API');
      const timeoutText = query.get('timeout') ?? '30';
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
      if (e instanceof HttpError) {
        // A refused request's body may be unread; don't leave it to be parsed as the next request.
        const close: Record<string, string> = e.status >= 400 && !req.complete ? { connection: 'close' } : {};
        return send(res, e.status, { error: e.message, ...e.extra }, { ...e.headers, ...close });
      }
      if (e instanceof BadRequestError) return send(res, 400, { error: e.message });
      if (e instanceof TooLargeError) return send(res, 413, { error: e.message });
      if (e instanceof NotFoundError) return send(res, 404, { error: e.message });
      if (e instanceof HeldError) return send(res, 409, { error: e.message, held: e.held });
      if (e instanceof BusyError) {
        const close: Record<string, string> = req.complete ? {} : { connection: 'close' };
        return send(res, 429, { error: e.message }, { 'retry-after': '1', ...close });
      }
      if (e instanceof AbandonedError) {
        d.log.info('request skipped: the client went away before its turn', {
          method: req.method,
          url: req.url,
        });
        // Its connection may be half-open (a body cut short): close it rather than keep it.
        res.destroy();
        return;
      }
      if (e instanceof UnavailableError) {
        const leader = await d.leaderUrl().catch(() => null);
        return send(res, 503, { error: e.message, leader: d.isLeader() ? null : leader });
      }
      d.log.error('request failed', { method: req.method, url: req.url, error: e });
      send(res, 500, { error: `internal error: ${e instanceof Error ? e.message : String(e)}` });
    });
  };
}
