// A TCP proxy the chaos harness puts between a client and one etcd member (or between etcd members)
// to break the network without touching the processes: cut (every connection reset, new ones
// refused), blackhole (connections stay open and new ones are accepted, but no byte gets through
// either way: a partition as a client sees it, found only by its own timeouts), restore.
//
// Between etcd members, one proxy stands in front of each member's peer port, so it cannot tell who
// dials by address; it reads who by the first request instead: etcd's peer transport names its sender
// in every request (an `X-Server-From: <member id>` header). `block(id)` cuts the connections of
// that sender and refuses its new ones, which with the member's own proxy cut isolates that member.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'open' | 'cut' | 'blackhole';

interface Pair {
  client: Socket;
  upstream: Socket | null;
  /** The sender named by the first request (peer proxies), once read. */
  from: string | undefined;
}

export class TcpProxy {
  private mode: ProxyMode = 'open';
  private readonly pairs = new Set<Pair>();
  private readonly blocked = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
    /** Read the sender's member id from the first request (a proxy in front of a peer port). */
    private readonly peer: boolean,
  ) {}

  static async start(targetUrl: string, opts: { peer?: boolean } = {}): Promise<TcpProxy> {
    const t = new URL(targetUrl);
    const ref: { proxy?: TcpProxy } = {};
    const server = createServer((s) => ref.proxy?.accept(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy: no address');
    const proxy = new TcpProxy(
      server,
      addr.port,
      { host: t.hostname, port: Number(t.port) },
      opts.peer ?? false,
    );
    ref.proxy = proxy;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get state(): ProxyMode {
    return this.mode;
  }

  /** Resets every connection and refuses new ones until restore(). */
  cut(): void {
    this.mode = 'cut';
    for (const p of [...this.pairs]) this.drop(p, true);
  }

  /** Lets connections stand but passes no byte, either way, until restore() (which drops them). */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  restore(): void {
    // What was held in a blackhole is lost: those connections end, as after a real partition heals
    // with their peers long gone; the clients' own timeouts usually ended them already.
    if (this.mode === 'blackhole') for (const p of [...this.pairs]) this.drop(p, true);
    this.mode = 'open';
  }

  /** Cuts the connections whose first request came from member `id` (hex), and refuses its new ones. */
  block(id: string): void {
    this.blocked.add(id);
    for (const p of [...this.pairs]) if (p.from === id) this.drop(p, true);
  }

  unblock(id: string): void {
    this.blocked.delete(id);
  }

  close(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p, false);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private drop(p: Pair, reset: boolean): void {
    this.pairs.delete(p);
    if (reset) {
      p.client.resetAndDestroy();
      p.upstream?.resetAndDestroy();
    } else {
      p.client.destroy();
      p.upstream?.destroy();
    }
  }

  private accept(client: Socket): void {
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, upstream: null, from: undefined };
    this.pairs.add(pair);
    client.on('error', () => this.drop(pair, false));
    client.on('close', () => this.drop(pair, false));
    let head = Buffer.alloc(0);
    const pending: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (this.mode === 'blackhole') return;
      if (this.peer && pair.from === undefined) {
        // Until the first request's headers are in, hold the bytes back.
        head = Buffer.concat([head, chunk]);
        pending.push(chunk);
        const text = head.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0 && head.length < 16_384) return;
        pair.from = /\r\nx-server-from: *([0-9a-f]+)/i.exec(text.slice(0, end))?.[1] ?? '';
        if (this.blocked.has(pair.from)) return this.drop(pair, true);
        for (const c of pending.splice(0)) this.toUpstream(pair, c);
        return;
      }
      this.toUpstream(pair, chunk);
    });
  }

  private toUpstream(pair: Pair, chunk: Buffer): void {
    if (!pair.upstream) {
      const up = connect(this.target.port, this.target.host);
      pair.upstream = up;
      up.on('error', () => this.drop(pair, false));
      up.on('close', () => this.drop(pair, false));
      up.on('data', (c: Buffer) => {
        if (this.mode !== 'blackhole') pair.client.write(c);
      });
    }
    pair.upstream.write(chunk);
  }
}

/** A client's proxies, one per etcd member: the client is given their URLs instead of etcd's. */
export class ClientLink {
  private constructor(readonly proxies: TcpProxy[]) {}

  static async start(endpoints: readonly string[]): Promise<ClientLink> {
    return new ClientLink(await Promise.all(endpoints.map((e) => TcpProxy.start(e))));
  }

  get endpoints(): string[] {
    return this.proxies.map((p) => p.url);
  }

  cut(): void {
    for (const p of this.proxies) p.cut();
  }

  blackhole(): void {
    for (const p of this.proxies) p.blackhole();
  }

  restore(): void {
    for (const p of this.proxies) p.restore();
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.close()));
  }
}
