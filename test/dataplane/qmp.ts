// A small client of QEMU's machine protocol (QMP) on a unix socket, for what the dataplane tests ask
// QEMU to do itself: live migration (`migrate`, `query-migrate`) and its state (`query-status`). One
// command at a time; asynchronous events are kept apart from the replies.
import { connect, type Socket } from 'node:net';
import { sleep } from '../../src/util/wait.ts';

export interface QmpEvent {
  event: string;
  data?: unknown;
}

export class Qmp {
  private buffer = '';
  private readonly replies: Record<string, unknown>[] = [];
  readonly events: QmpEvent[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly sock: Socket) {
    sock.on('data', (b: Buffer) => {
      this.buffer += b.toString();
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (typeof msg.event === 'string') this.events.push({ event: msg.event, data: msg.data });
        else this.replies.push(msg);
      }
    });
    sock.on('error', () => sock.destroy());
  }

  /** Connects to QEMU's `-qmp unix:PATH,server=on,wait=off` socket (retried until QEMU listens). */
  static async connect(path: string, limitMs = 30_000): Promise<Qmp> {
    const until = Date.now() + limitMs;
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect(path);
          c.once('connect', () => resolve(c));
          c.once('error', reject);
        });
        const q = new Qmp(s);
        await q.reply(limitMs); // the greeting
        await q.execute('qmp_capabilities');
        return q;
      } catch (e) {
        if (Date.now() > until) throw new Error(`no QMP on ${path}: ${(e as Error).message}`);
        await sleep(200);
      }
    }
  }

  private async reply(limitMs: number): Promise<Record<string, unknown>> {
    const until = Date.now() + limitMs;
    while (this.replies.length === 0) {
      if (this.sock.destroyed) throw new Error('QMP connection closed');
      if (Date.now() > until) throw new Error(`no QMP reply within ${limitMs} ms`);
      await sleep(20);
    }
    return this.replies.shift() as Record<string, unknown>;
  }

  /** Runs a QMP command; its `return`, or throws with QEMU's error. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, limitMs = 30_000): Promise<T> {
    const next = this.queue.then(async () => {
      this.sock.write(
        JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n',
      );
      const r = await this.reply(limitMs);
      if (r.error) {
        const e = r.error as { class?: string; desc?: string };
        throw new Error(`QMP ${command}: ${e.class ?? 'error'}: ${e.desc ?? JSON.stringify(r.error)}`);
      }
      return r.return as T;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** What `query-migrate` answers (the parts the tests read). */
export interface MigrationInfo {
  status?: string;
  'error-desc'?: string;
  'total-time'?: number;
  downtime?: number;
  ram?: { transferred: number; 'dirty-sync-count': number; total: number };
}
