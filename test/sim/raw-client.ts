/**
 * A bare socket-API client for testing the simulator at the frame level: sends raw payloads and
 * hands back every frame in arrival order, without the VppClient's matching or checks.
 */
import { createConnection, type Socket } from 'node:net';
import { ALL_MESSAGES } from '../../src/vpp/binapi/index.ts';
import { messageCodec, msgKey, type MessageDef } from '../../src/vpp/codec/index.ts';
import { FrameReader, frame } from '../../src/vpp/transport/framing.ts';

const DEFS = new Map(ALL_MESSAGES.map((d) => [d.name, d] as const));

export function defOf(name: string): MessageDef {
  const d = DEFS.get(name);
  if (!d) throw new Error(`no binding for ${name}`);
  return d;
}

export interface Decoded {
  name: string;
  msg: Record<string, unknown>;
}

export class RawClient {
  /** name -> id and id -> name, from the handshake. */
  readonly ids = new Map<string, number>();
  readonly names = new Map<number, string>();
  clientIndex = 0;
  /** Ids to decode as another message than the table says (details VPP sends without their base). */
  readonly decodeAs = new Map<number, string>();
  private readonly inbox: Buffer[] = [];
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    const reader = new FrameReader(
      (p) => {
        this.inbox.push(Buffer.from(p));
        this.wake?.();
      },
      () => socket.destroy(),
    );
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  /** `partialTable`: accept a message table without every generated message (a VPP without a plugin). */
  static async connect(
    path: string,
    name = 'netvpp-raw',
    opts: { partialTable?: boolean } = {},
  ): Promise<RawClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path, () => resolve(s));
      s.once('error', reject);
    });
    const c = new RawClient(socket);
    await c.handshake(name, opts.partialTable === true);
    return c;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async handshake(name: string, partialTable: boolean): Promise<void> {
    const create = messageCodec(defOf('sockclnt_create'));
    this.send(create.encode(15, { context: 124, name }));
    const p = await this.next(2000);
    if (!p || p.readUInt16BE(0) !== 16) throw new Error('no sockclnt_create_reply');
    const r = messageCodec(defOf('sockclnt_create_reply')).decode(p) as {
      index: number;
      message_table: { index: number; name: string }[];
    };
    this.clientIndex = r.index;
    for (const e of r.message_table) {
      const n = e.name.slice(0, e.name.lastIndexOf('_'));
      this.ids.set(n, e.index);
      this.names.set(e.index, n);
    }
    if (partialTable) return;
    for (const d of ALL_MESSAGES)
      if (!r.message_table.some((e) => e.name === msgKey(d))) throw new Error(`table lacks ${msgKey(d)}`);
  }

  send(payload: Buffer): void {
    this.socket.write(frame(payload));
  }

  /** Several messages in one write, as a pipelining client sends them. */
  sendAll(payloads: Buffer[]): void {
    this.socket.write(Buffer.concat(payloads.map((p) => frame(p))));
  }

  /** Encodes and sends a request; client_index is filled in. */
  request(name: string, args: Record<string, unknown>): void {
    const id = this.ids.get(name) as number;
    this.send(messageCodec(defOf(name)).encode(id, { client_index: this.clientIndex, ...args }));
  }

  /** The next frame, or null on timeout or close. */
  async next(timeoutMs = 2000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
    return this.inbox.shift() as Buffer;
  }

  decode(p: Buffer): Decoded {
    const name = this.decodeAs.get(p.readUInt16BE(0)) ?? this.names.get(p.readUInt16BE(0));
    if (!name) throw new Error(`frame with unknown id ${p.readUInt16BE(0)}`);
    return { name, msg: messageCodec(defOf(name)).decode(p) };
  }

  /** Frames until (and including) the first one `done` accepts; throws on timeout. */
  async until(done: (d: Decoded) => boolean, timeoutMs = 2000): Promise<Decoded[]> {
    const out: Decoded[] = [];
    for (;;) {
      const p = await this.next(timeoutMs);
      if (!p) throw new Error(`timed out; got ${out.map((d) => d.name).join(', ') || 'nothing'}`);
      const d = this.decode(p);
      out.push(d);
      if (done(d)) return out;
    }
  }

  /** Sends a request and collects frames up to its reply (matched by name and context). */
  async call(name: string, args: Record<string, unknown>, context = 1): Promise<Decoded[]> {
    this.request(name, { ...args, context });
    const reply = defOf(name).reply as string;
    return this.until((d) => d.name === reply && d.msg.context === context);
  }

  /** A dump closed by control_ping, as VPP clients do it; returns the details. */
  async dump(name: string, args: Record<string, unknown>, context = 1): Promise<Record<string, unknown>[]> {
    this.request(name, { ...args, context });
    this.request('control_ping', { context });
    const frames = await this.until((d) => d.name === 'control_ping_reply' && d.msg.context === context);
    const details = defOf(name).reply as string;
    return frames.filter((d) => d.name === details).map((d) => d.msg);
  }

  close(): void {
    this.socket.destroy();
  }
}
