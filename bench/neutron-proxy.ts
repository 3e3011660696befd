/**
 * A pass-through HTTP proxy between neutron-server's netvpp driver and the controller, for
 * bench/neutron.ts: it times what only the wire between them shows, per port,
 *   journal    the journal batch carrying the port bound on `host` (vif type vhostuser) reached the
 *              controller
 *   delivered  the event reply saying the port is ready on `host` left for the driver's follower
 * and counts the batches by `trigger` (what woke the driver's forwarder). Everything else passes
 * through untouched; the proxy costs both the baseline and the measured path the same hop.
 */
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';

interface JournalRow {
  resource?: unknown;
  resource_id?: unknown;
  data?: { 'binding:host_id'?: unknown; 'binding:vif_type'?: unknown } | null;
}

interface EventsReply {
  events?: { kind?: string; port_id?: string; host?: string; ready?: boolean }[];
}

export class ControllerProxy {
  /** Port id → when its binding's journal row reached the controller (first time). */
  readonly journal = new Map<string, number>();
  /** Port id → when its ready event left for the follower (first time). */
  readonly delivered = new Map<string, number>();
  /** Journal batches by trigger. */
  readonly triggers = new Map<string, number>();
  private server: Server | null = null;
  private readonly agent = new Agent({ keepAlive: true });
  port = 0;

  constructor(
    private readonly target: URL,
    private readonly host: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const path = req.url ?? '/';
        if (req.method === 'POST' && path.startsWith('/v1/journal')) this.onJournal(body);
        const up = request(
          {
            host: this.target.hostname,
            port: this.target.port,
            method: req.method,
            path,
            headers: { ...req.headers, host: this.target.host },
            agent: this.agent,
          },
          (upRes: IncomingMessage) => {
            const out: Buffer[] = [];
            upRes.on('data', (c: Buffer) => out.push(c));
            upRes.on('end', () => {
              const reply = Buffer.concat(out);
              res.writeHead(upRes.statusCode ?? 502, upRes.headers);
              res.end(reply);
              if (path.includes('/events')) this.onEvents(reply);
            });
          },
        );
        up.on('error', (e) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `proxy: ${e.message}` }));
        });
        res.on('close', () => {
          if (!res.writableEnded) up.destroy(); // the driver gave up on a long poll
        });
        up.end(body);
      });
    });
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
  }

  private onJournal(body: Buffer): void {
    const now = performance.now();
    let parsed: { rows?: JournalRow[]; trigger?: unknown };
    try {
      parsed = JSON.parse(body.toString()) as typeof parsed;
    } catch {
      return;
    }
    const trigger = typeof parsed.trigger === 'string' ? parsed.trigger : 'none';
    this.triggers.set(trigger, (this.triggers.get(trigger) ?? 0) + 1);
    for (const r of parsed.rows ?? []) {
      if (r.resource !== 'port' || typeof r.resource_id !== 'string') continue;
      if (r.data?.['binding:host_id'] !== this.host || r.data['binding:vif_type'] !== 'vhostuser') continue;
      if (this.journal.has(r.resource_id)) continue;
      this.journal.set(r.resource_id, now);
    }
  }

  private onEvents(reply: Buffer): void {
    const now = performance.now();
    let parsed: EventsReply;
    try {
      parsed = JSON.parse(reply.toString()) as EventsReply;
    } catch {
      return;
    }
    for (const e of parsed.events ?? []) {
      if ((e.kind ?? 'port') !== 'port' || !e.port_id || !e.ready || e.host !== this.host) continue;
      if (!this.delivered.has(e.port_id)) this.delivered.set(e.port_id, now);
    }
  }

  /** Forgets the triggers counted so far (between runs). */
  resetTriggers(): void {
    this.triggers.clear();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.agent.destroy();
  }
}
