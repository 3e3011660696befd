// The web dashboard (docs/dashboard.md), read-only, served next to the REST API:
//   GET  /dashboard             the page (or the login form)   GET /dashboard/{app.js,style.css,icon.svg}
//   POST /dashboard/login       a token in a form → a session cookie  POST /dashboard/logout
//   GET  /dashboard/events      Server-Sent Events: the overview (overview.ts) on every change
//   GET  /v1/overview           the same overview as JSON
//   GET  /v1/ports/<id>         a port's chain, as `netvpp port show` (without VPP: that is on the host)
// Authentication, when the controller has tokens: a driver token or a read-only dashboard token,
// sent as `Authorization: Bearer` (scripts) or once through the login form, which opens a session.
// The session cookie is HttpOnly, SameSite=Strict and opens only these read-only paths: a browser
// never holds a token that can write, and a cross-site page can make it write nothing.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/log.ts';
import type { Authenticator } from './auth.ts';
import { DASHBOARD_CSS, DASHBOARD_ICON, DASHBOARD_JS, dashboardPage, loginPage } from './dashboard-page.ts';
import { overview, type OverviewSource } from './overview.ts';

export interface DashboardDeps extends OverviewSource {
  /** Driver tokens; null: no authentication at all (`auth_strategy = noauth`). */
  auth: Authenticator | null;
  /** Read-only tokens (`[controller] dashboard_token_file`), accepted besides the driver's. */
  readOnly: Authenticator | null;
  /** The cookie is marked Secure when the controller serves HTTPS. */
  tls: boolean;
  /** `netvpp port show` without VPP: the report (JSON) and its lines. */
  portChain(portId: string): Promise<{ report: unknown; lines: string[] }>;
  log: Logger;
}

const COOKIE = 'netvpp_dashboard';
const SESSION_MS = 12 * 3600 * 1000;
/** Sessions kept at most; the oldest goes first (a flood of logins cannot grow memory). */
const MAX_SESSIONS = 1000;
const MAX_FORM_BYTES = 4096;

const SECURITY_HEADERS = {
  // Scripts and styles only from this origin: an error text from an agent can never run as code.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    ...SECURITY_HEADERS,
    ...extra,
  });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void =>
  send(res, status, 'application/json', JSON.stringify(body));

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export class Dashboard {
  /** Session id → expiry (ms). In memory: another controller of the cluster asks for a login. */
  private readonly sessions = new Map<string, number>();
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly d: DashboardDeps) {}

  private get open(): boolean {
    return this.d.auth === null;
  }

  private tokenOk(token: string): boolean {
    const header = `Bearer ${token}`;
    return this.d.auth?.check(header) === 'ok' || this.d.readOnly?.check(header) === 'ok';
  }

  private sessionOk(req: IncomingMessage): boolean {
    const id = cookieOf(req);
    if (!id) return false;
    const until = this.sessions.get(id);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  private allowed(req: IncomingMessage): boolean {
    if (this.open || this.sessionOk(req)) return true;
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    return m !== null && this.tokenOk(m[1]);
  }

  private newSession(): string {
    const id = randomBytes(32).toString('base64url');
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
    this.sessions.set(id, Date.now() + SESSION_MS);
    return id;
  }

  private cookie(value: string, maxAgeSec: number): string {
    return `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${this.d.tls ? '; Secure' : ''}`;
  }

  /** Serves the dashboard's paths; false for every other request (the REST API's). */
  route(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const chain = /^\/v1\/ports\/([0-9A-Za-z-]{1,64})$/.exec(path);
    const mine =
      path === '/dashboard' ||
      path.startsWith('/dashboard/') ||
      path === '/v1/overview' ||
      (chain !== null && chain[1] !== 'events');
    if (!mine) return false;
    this.handle(req, res, path, method, chain?.[1]).catch((e: unknown) => {
      this.d.log.error('dashboard request failed', { path, error: e });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
    return true;
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
    portId: string | undefined,
  ): Promise<void> {
    if (path === '/dashboard/login' && method === 'POST') return this.login(req, res);
    if (path === '/dashboard/logout' && method === 'POST') {
      const id = cookieOf(req);
      if (id) this.sessions.delete(id);
      return send(res, 303, 'text/plain', 'logged out', {
        location: '/dashboard',
        'set-cookie': this.cookie('', 0),
      });
    }
    if (method !== 'GET') return sendJson(res, 405, { error: `${path} takes GET` });
    // Static parts carry no data: served to anyone, so the login page has its style.
    if (path === '/dashboard/app.js') return send(res, 200, 'text/javascript; charset=utf-8', DASHBOARD_JS);
    if (path === '/dashboard/style.css') return send(res, 200, 'text/css; charset=utf-8', DASHBOARD_CSS);
    if (path === '/dashboard/icon.svg') return send(res, 200, 'image/svg+xml', DASHBOARD_ICON);
    const ok = this.allowed(req);
    if (path === '/dashboard' || path === '/dashboard/')
      return ok
        ? send(res, 200, 'text/html; charset=utf-8', dashboardPage(!this.open))
        : send(res, 200, 'text/html; charset=utf-8', loginPage(null));
    if (!ok)
      return sendJson(res, 401, { error: 'log in at /dashboard, or send "Authorization: Bearer <token>"' });
    if (path === '/v1/overview') return sendJson(res, 200, overview(this.d));
    if (path === '/dashboard/events') return this.stream(req, res);
    if (portId !== undefined) {
      const r = await this.d.portChain(portId.toLowerCase());
      return sendJson(res, 200, r);
    }
    return sendJson(res, 404, { error: `no such resource: GET ${path}` });
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const token = form?.get('token')?.trim() ?? '';
    if (this.open) return send(res, 303, 'text/plain', 'open', { location: '/dashboard' });
    if (!token || !this.tokenOk(token)) {
      this.d.log.warn('dashboard login refused', { from: req.socket.remoteAddress });
      return send(res, 403, 'text/html; charset=utf-8', loginPage('That token is not accepted.'));
    }
    this.d.log.info('dashboard login', { from: req.socket.remoteAddress });
    send(res, 303, 'text/plain', 'logged in', {
      location: '/dashboard',
      'set-cookie': this.cookie(this.newSession(), SESSION_MS / 1000),
    });
  }

  /** The overview now, then again after every change of agent state (at most every 250 ms) and every 2 s. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      connection: 'keep-alive',
      ...SECURITY_HEADERS,
    });
    this.streams.add(res);
    let last = '';
    let pending: ReturnType<typeof setTimeout> | undefined;
    const push = () => {
      pending = undefined;
      const o = overview(this.d);
      const text = JSON.stringify({ ...o, at: '' });
      // Only what changed: the leader, sync state and counts are looked at every tick.
      if (text === last) return;
      last = text;
      res.write(`event: overview\ndata: ${JSON.stringify(o)}\n\n`);
    };
    const soon = () => (pending ??= setTimeout(push, 250));
    const off = this.d.state.onChange(soon);
    const tick = setInterval(push, 2000);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    push();
    req.on('close', () => {
      off();
      clearInterval(tick);
      clearInterval(ping);
      clearTimeout(pending);
      this.streams.delete(res);
    });
  }

  /** Ends the live streams (the controller is stopping). */
  close(): void {
    for (const r of this.streams) r.end();
    this.streams.clear();
  }
}
