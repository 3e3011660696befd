/**
 * VPP binary-API client over the socket transport.
 *
 * - Many requests in flight, matched by context, with a bounded window (excess waits locally)
 *   and a per-request timeout; frames written in one batch per event-loop turn.
 * - At connect, the messages of each group (src/vpp/groups.ts) are checked against VPP's message
 *   table (name + CRC): a required group that does not match refuses the connection, an optional one
 *   is turned off (`groups` says which and why). Sending a message outside the available groups, or a
 *   CLI command outside the allow-list, is refused.
 * - A dead peer rejects every pending request and emits `disconnected`; `reconnect()` is explicit
 *   and reports whether VPP restarted (its state is then gone).
 */
import { checkGroups, groupDescription } from './group-check.ts';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { handshake, openSocket } from './transport/handshake.ts';
import { control_ping, control_ping_reply, sockclnt_delete, sockclnt_delete_reply } from './binapi/index.ts';
import { messageCodec, msgKey, type MessageCodec, type MessageDef } from './codec/index.ts';
import { FrameReader, HEADER_SIZE, sealFrame } from './transport/framing.ts';
import {
  VppApiError,
  VppDisconnectedError,
  VppGroupUnavailableError,
  VppTimeoutError,
  VppWhitelistError,
} from './errors.ts';
import { GROUPS, type GroupAvailability, type GroupStatus, type MessageGroup } from './groups.ts';
import { logger, type Logger } from '../util/log.ts';

export const DEFAULT_SOCKET = '/run/vpp/api.sock';
/** VPP's socket server answers the handshake on these fixed ids, before any table exists. */

/** Request arguments: every field optional (zero/default), header fields filled by the client. */
export type Args<T> = Partial<Omit<T, 'client_index' | 'context'>>;

export interface VppClientOptions {
  socket?: string;
  /** Client name shown by VPP's `show api clients`. */
  name?: string;
  /** Per-request timeout (ms), from the moment the request is written (a dump's: since its last detail). */
  timeoutMs?: number;
  /** Most requests in flight at once; more wait in a local queue. */
  window?: number;
  connectTimeoutMs?: number;
  /**
   * The message groups to check at connect and whitelist (default: src/vpp/groups.ts). A required
   * group that does not match VPP refuses the connection; an optional one is turned off.
   */
  groups?: readonly MessageGroup[];
  /**
   * A flat whitelist instead of groups: one required group of these messages (tests, benchmarks).
   * CLI commands are then those of every known group.
   */
  messages?: readonly MessageDef[];
  /**
   * CLI commands cli_inband may send besides those of the groups, exactly as written (tests that
   * probe VPP's own CLI; netvpp's daemons never pass this).
   */
  cliCommands?: readonly string[];
  log?: Logger;
}

/** Without these a client cannot close dumps or say goodbye; added when no group has them. */
const CONNECTION_MESSAGES: readonly MessageDef[] = [
  control_ping,
  control_ping_reply,
  sockclnt_delete,
  sockclnt_delete_reply,
];

interface Pending {
  name: string;
  /** Expected final message id (reply, control_ping_reply, or stream end reply). */
  endId: number;
  /** For dumps: the details message id and what has been collected. */
  detailsId?: number;
  /** The id VPP really sends those details with, when its plugin leaves out its base (groups.ts). */
  unbasedDetailsId?: number;
  details?: unknown[];
  deadline: number;
  /** Its timeout (ms): a dump's deadline moves on by this much with every detail VPP sends. */
  span: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Waiting {
  frame: Buffer;
  context: number;
  pending: Pending;
}

interface Conn {
  socket: Socket;
  clientIndex: number;
  ids: Map<string, number>;
  vpePid: number;
}

export interface VppClientStats {
  sent: number;
  received: number;
  inFlight: number;
  queued: number;
  timeouts: number;
  dropped: number;
}

export class VppClient extends EventEmitter {
  private readonly opts: Required<Omit<VppClientOptions, 'log' | 'groups' | 'messages' | 'cliCommands'>>;
  private readonly log: Logger;
  private conn: Conn | null = null;
  private readonly groupList: readonly MessageGroup[];
  /** Every message of every group, by name. */
  private readonly whitelist = new Map<string, MessageDef>();
  private readonly groupOf = new Map<string, MessageGroup>();
  /** The CLI allow-list: command → the group it needs (null: none). */
  private readonly cliCommands = new Map<string, MessageGroup | null>();
  /** Each group's availability as of the last connect. */
  private groupStatus: Record<string, GroupStatus> = {};
  private readonly codecs = new Map<number, MessageCodec>();
  private readonly idOf = new Map<string, number>();
  /** Details message name → the unbased id VPP sends it with (groups with `unbasedDetails`). */
  private readonly unbasedId = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  /** Requests beyond the window, oldest first; `waitHead` avoids O(n) shifts on long queues. */
  private waiting: Waiting[] = [];
  private waitHead = 0;
  private outbox: Buffer[] = [];
  private flushScheduled = false;
  private nextContext = 1;
  private sweep: NodeJS.Timeout | null = null;
  private readonly subscriptions = new Map<string, Set<(msg: unknown) => void>>();
  /** want_* registrations to replay after a reconnect. */
  private readonly registrations = new Map<string, { def: MessageDef; args: object }>();
  private closing = false;
  /** vpe_pid seen at the last successful connect (survives a disconnect, unlike `conn`). */
  private lastPid = 0;
  readonly stats: VppClientStats = { sent: 0, received: 0, inFlight: 0, queued: 0, timeouts: 0, dropped: 0 };

  private constructor(opts: VppClientOptions) {
    super();
    this.opts = {
      socket: opts.socket ?? DEFAULT_SOCKET,
      name: opts.name ?? 'netvpp',
      timeoutMs: opts.timeoutMs ?? 10_000,
      window: opts.window ?? 512,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
    };
    this.log = opts.log ?? logger('vpp-client');
    if (opts.messages && opts.groups) throw new Error('VppClient: pass messages or groups, not both');
    const groups: MessageGroup[] = opts.messages
      ? [
          {
            name: 'messages',
            description: 'the messages the caller named',
            required: true,
            provider: 'VPP',
            messages: opts.messages,
            cli: GROUPS.flatMap((g) => g.cli ?? []),
          },
        ]
      : [...(opts.groups ?? GROUPS)];
    const has = new Set(groups.flatMap((g) => g.messages.map((m) => m.name)));
    const absent = CONNECTION_MESSAGES.filter((m) => !has.has(m.name));
    if (absent.length) {
      const i = groups.findIndex((g) => g.required);
      if (i >= 0) groups[i] = { ...groups[i], messages: [...groups[i].messages, ...absent] };
      else
        groups.unshift({
          name: 'connection',
          description: 'pings and goodbye',
          required: true,
          provider: 'VPP core',
          messages: absent,
        });
    }
    this.groupList = groups;
    for (const g of groups) {
      for (const m of g.messages) {
        const other = this.groupOf.get(m.name);
        if (other && other !== g)
          throw new Error(`${m.name} is in two message groups: ${other.name}, ${g.name}`);
        this.whitelist.set(m.name, m);
        this.groupOf.set(m.name, g);
      }
      for (const cmd of g.cli ?? []) this.cliCommands.set(cmd, g);
    }
    for (const cmd of opts.cliCommands ?? []) if (!this.cliCommands.has(cmd)) this.cliCommands.set(cmd, null);
    // A disconnected event with no listener must not crash the process.
    this.on('error', () => {});
  }

  static async connect(opts: VppClientOptions = {}): Promise<VppClient> {
    const c = new VppClient(opts);
    await c.open();
    return c;
  }

  get connected(): boolean {
    return this.conn !== null;
  }

  /** VPP's process id as of the last connect: a different value after reconnect means a restart. */
  get vpePid(): number {
    return this.conn?.vpePid ?? 0;
  }

  get socketPath(): string {
    return this.opts.socket;
  }

  /**
   * Each message group's availability on the VPP of the last successful connect (kept while
   * disconnected). A group that is not available has its messages refused.
   */
  get groups(): GroupAvailability {
    return this.groupStatus;
  }

  /** Whether this VPP offers the group (as of the last connect). */
  offers(group: string): boolean {
    return this.groupStatus[group]?.available === true;
  }

  /** Reconnects after a disconnect; resolves `restarted: true` when VPP lost its state meanwhile. */
  async reconnect(): Promise<{ restarted: boolean }> {
    const before = this.lastPid;
    if (this.conn) this.teardown(new VppDisconnectedError('reconnecting'));
    await this.open();
    for (const { def, args } of this.registrations.values()) {
      const group = this.groupOf.get(def.name) as MessageGroup;
      if (!this.offers(group.name)) {
        this.log.warn('not renewing an event registration: its message group is unavailable', {
          message: def.name,
          group: group.name,
        });
        continue;
      }
      await this.request(def, args);
    }
    return { restarted: before !== 0 && before !== this.vpePid };
  }

  private async open(): Promise<void> {
    this.closing = false;
    const socket = await openSocket(this.opts.socket, this.opts.connectTimeoutMs);
    socket.setNoDelay?.(true);
    const reply = await handshake(socket, this.opts.socket, this.opts.name, this.opts.connectTimeoutMs);
    const ids = new Map<string, number>();
    for (const e of reply.message_table) ids.set(e.name, e.index);
    const checked = checkGroups(this.groupList, ids);
    for (const [name, st] of Object.entries(checked.status)) {
      if (!st.available)
        this.log.warn(
          `VPP message group ${name} unavailable: ${groupDescription(this.groupList, name)} turned off`,
          {
            group: name,
            reason: st.reason,
          },
        );
    }
    if (checked.fatal) {
      socket.destroy();
      throw checked.fatal;
    }
    this.groupStatus = checked.status;
    this.codecs.clear();
    this.idOf.clear();
    for (const def of this.whitelist.values()) {
      if (!this.offers((this.groupOf.get(def.name) as MessageGroup).name)) continue;
      const id = ids.get(msgKey(def)) as number;
      this.codecs.set(id, messageCodec(def));
      this.idOf.set(def.name, id);
    }
    this.unbasedId.clear();
    for (const g of this.groupList) {
      const first = g.unbasedDetails && g.messages.find((m) => m.name === g.unbasedDetails);
      const base = first ? ids.get(msgKey(first)) : undefined;
      if (base === undefined || !this.offers(g.name)) continue;
      for (const m of g.messages) {
        const id = this.idOf.get(m.name);
        if (m.role === 'details' && id !== undefined) this.unbasedId.set(m.name, id - base);
      }
    }
    this.conn = { socket, clientIndex: reply.index, ids, vpePid: 0 };
    const reader = new FrameReader(
      (p) => this.onFrame(p),
      (e) => {
        this.log.error('VPP socket stream corrupt; closing', { error: e.message });
        socket.destroy(e);
      },
    );
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('error', (e) => this.log.warn('VPP socket error', { error: e.message }));
    socket.on('close', () => {
      if (this.conn?.socket !== socket) return;
      const err = new VppDisconnectedError(
        this.closing ? 'VPP client closed' : `connection to VPP at ${this.opts.socket} lost`,
      );
      this.teardown(err);
      if (!this.closing) this.emit('disconnected', err);
    });
    this.sweep = setInterval(() => this.expire(), Math.max(20, Math.min(250, this.opts.timeoutMs / 4)));
    this.sweep.unref();
    const ping = await this.request(control_ping, {});
    this.conn.vpePid = ping.vpe_pid;
    this.lastPid = ping.vpe_pid;
    this.log.debug('connected to VPP', {
      socket: this.opts.socket,
      vpe_pid: ping.vpe_pid,
      messages: ids.size,
    });
  }

  /** Sends a request and resolves its reply; a non-zero retval rejects with VppApiError. */
  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>, opts: { timeoutMs?: number } = {}): Promise<R> {
    if (def.stream) return Promise.reject(new Error(`${def.name} is a dump; use dump()`));
    return this.send(def, args, opts.timeoutMs, false) as Promise<R>;
  }

  /** Sends a dump request and resolves every details message (VPP's order). */
  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>, opts: { timeoutMs?: number } = {}): Promise<R[]> {
    if (!def.stream) return Promise.reject(new Error(`${def.name} is not a dump; use request()`));
    return this.send(def, args, opts.timeoutMs, true) as Promise<R[]>;
  }

  /**
   * Registers for events (a want_* request) and calls `handler` for each event message.
   * The registration is replayed after a reconnect. Returns a function that unsubscribes.
   */
  async subscribe<Q, R, E>(
    want: MessageDef<Q, R>,
    args: Args<Q>,
    event: MessageDef<E>,
    handler: (ev: E) => void,
  ): Promise<() => Promise<void>> {
    if (!want.events?.includes(event.name))
      throw new Error(`${want.name} does not register for ${event.name}`);
    let set = this.subscriptions.get(event.name);
    if (!set) this.subscriptions.set(event.name, (set = new Set()));
    const h = handler as (m: unknown) => void;
    set.add(h);
    this.registrations.set(want.name, { def: want, args: { ...args, enable_disable: true } });
    await this.request(want, { ...args, enable_disable: true } as Args<Q>);
    return async () => {
      set.delete(h);
      if (set.size === 0) {
        this.registrations.delete(want.name);
        if (this.conn) await this.request(want, { ...args, enable_disable: false } as Args<Q>);
      }
    };
  }

  private send(
    def: MessageDef,
    args: object,
    timeoutMs: number | undefined,
    isDump: boolean,
  ): Promise<unknown> {
    const allowed = this.whitelist.get(def.name);
    if (allowed !== def && (!allowed || allowed.crc !== def.crc))
      return Promise.reject(new VppWhitelistError(`${def.name} is not in netvpp's VPP message whitelist`));
    const group = this.groupOf.get(def.name) as MessageGroup;
    if (!this.offers(group.name)) return Promise.reject(this.unavailable(def.name, group));
    if (def.name === 'cli_inband') {
      const cmd = (args as { cmd?: unknown }).cmd;
      const needs = typeof cmd === 'string' ? this.cliCommands.get(cmd) : undefined;
      if (needs === undefined)
        return Promise.reject(
          new VppWhitelistError(
            `cli_inband: ${JSON.stringify(cmd)} is not a CLI command netvpp sends (allowed: ${[
              ...this.cliCommands.keys(),
            ]
              .map((c) => JSON.stringify(c))
              .join(', ')}; src/vpp/groups.ts)`,
          ),
        );
      if (needs && !this.offers(needs.name))
        return Promise.reject(this.unavailable(`cli_inband ${JSON.stringify(cmd)}`, needs));
    }
    const conn = this.conn;
    if (!conn) return Promise.reject(new VppDisconnectedError(`not connected to VPP (${def.name})`));
    const id = this.idOf.get(def.name) as number;
    const replyName = def.streamMsg ?? def.reply;
    if (!replyName) return Promise.reject(new Error(`${def.name} has no reply`));
    const context = this.nextContext;
    this.nextContext = this.nextContext >= 0xfffffffe ? 1 : this.nextContext + 1;
    let frame: Buffer;
    try {
      frame = sealFrame(
        (this.codecs.get(id) as MessageCodec).encode(
          id,
          { ...args, client_index: conn.clientIndex, context },
          HEADER_SIZE,
        ),
      );
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (isDump && !def.streamMsg) {
      // Close the details stream with a control_ping on the same context.
      const pingId = this.idOf.get('control_ping') as number;
      const ping = Buffer.alloc(HEADER_SIZE + 10);
      ping.writeUInt16BE(pingId, HEADER_SIZE);
      ping.writeUInt32BE(conn.clientIndex, HEADER_SIZE + 2);
      ping.writeUInt32BE(context, HEADER_SIZE + 6);
      frame = Buffer.concat([frame, sealFrame(ping)]);
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        name: def.name,
        endId: isDump
          ? def.streamMsg
            ? (this.idOf.get(def.streamMsg) as number)
            : (this.idOf.get('control_ping_reply') as number)
          : (this.idOf.get(replyName) as number),
        detailsId: isDump ? (this.idOf.get(def.reply as string) as number) : undefined,
        unbasedDetailsId: isDump ? this.unbasedId.get(def.reply as string) : undefined,
        details: isDump ? [] : undefined,
        deadline: timeoutMs ?? this.opts.timeoutMs,
        span: timeoutMs ?? this.opts.timeoutMs,
        resolve,
        reject,
      };
      if (this.pending.size < this.opts.window) this.transmit(context, frame, pending);
      else {
        this.waiting.push({ frame, context, pending });
        this.stats.queued = this.waiting.length - this.waitHead;
      }
    });
  }

  private unavailable(what: string, group: MessageGroup): VppGroupUnavailableError {
    const reason =
      this.groupStatus[group.name]?.reason ?? (this.conn ? 'not checked' : 'not connected to VPP yet');
    return new VppGroupUnavailableError(what, group.name, reason);
  }

  private transmit(context: number, frame: Buffer, p: Pending): void {
    p.deadline = Date.now() + p.deadline;
    this.pending.set(context, p);
    this.stats.inFlight = this.pending.size;
    this.outbox.push(frame);
    this.stats.sent++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const conn = this.conn;
    const out = this.outbox;
    this.outbox = [];
    if (!conn || out.length === 0) return;
    conn.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  private onFrame(p: Buffer): void {
    this.stats.received++;
    let id = p.readUInt16BE(0);
    // Details of a plugin that leaves out its base: known by the context of the dump they answer.
    const dump = p.length >= 6 ? this.pending.get(p.readUInt32BE(2)) : undefined;
    if (dump?.unbasedDetailsId === id && dump.detailsId !== undefined) id = dump.detailsId;
    const codec = this.codecs.get(id);
    if (!codec) {
      this.stats.dropped++;
      this.log.warn('dropping a message with an id netvpp does not use', { id, length: p.length });
      return;
    }
    const def = codec.def;
    if (def.role === 'event') return this.dispatchEvent(codec, p);
    if (def.name === 'memclnt_keepalive') return this.answerKeepalive(p);
    if (p.length < 6) {
      this.stats.dropped++;
      this.log.warn('dropping a truncated reply', { message: def.name, length: p.length });
      return;
    }
    // A few details messages carry a client_index before their context
    // (sw_interface_rx_placement_details): VPP fills the context where the struct has it.
    const context = p.readUInt32BE(def.fields[0]?.name === 'client_index' && p.length >= 10 ? 6 : 2);
    const pend = this.pending.get(context);
    if (!pend) {
      this.stats.dropped++;
      this.log.debug('dropping a reply for an unknown context', { message: def.name, context });
      return;
    }
    let msg: Record<string, unknown>;
    try {
      msg = codec.decode(p);
    } catch (e) {
      this.settle(context);
      pend.reject(new Error(`malformed ${def.name} from VPP: ${(e as Error).message}`));
      return;
    }
    if (pend.details && id === pend.detailsId && id !== pend.endId) {
      pend.details.push(msg);
      // A long dump from a busy VPP is still answering: it times out only when VPP goes quiet.
      pend.deadline = Date.now() + pend.span;
      return;
    }
    if (id !== pend.endId) {
      this.stats.dropped++;
      this.log.warn('dropping an unexpected message for a pending request', {
        message: def.name,
        request: pend.name,
      });
      return;
    }
    this.settle(context);
    const retval = msg.retval;
    if (typeof retval === 'number' && retval !== 0) pend.reject(new VppApiError(pend.name, retval));
    else pend.resolve(pend.details ?? msg);
  }

  private settle(context: number): void {
    this.pending.delete(context);
    // Free the slot for a waiting request.
    if (this.waitHead < this.waiting.length) {
      const next = this.waiting[this.waitHead];
      this.waiting[this.waitHead++] = undefined as unknown as Waiting;
      if (this.waitHead === this.waiting.length) {
        this.waiting = [];
        this.waitHead = 0;
      } else if (this.waitHead > 4096 && this.waitHead * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.waitHead);
        this.waitHead = 0;
      }
      this.transmit(next.context, next.frame, next.pending);
    }
    this.stats.inFlight = this.pending.size;
    this.stats.queued = this.waiting.length - this.waitHead;
  }

  private dispatchEvent(codec: MessageCodec, p: Buffer): void {
    const subs = this.subscriptions.get(codec.def.name);
    if (!subs?.size) return;
    let ev: unknown;
    try {
      ev = codec.decode(p);
    } catch (e) {
      this.log.warn('dropping a malformed event', { message: codec.def.name, error: (e as Error).message });
      return;
    }
    for (const h of subs) {
      try {
        h(ev);
      } catch (e) {
        this.log.error('event handler failed', { message: codec.def.name, error: (e as Error).message });
      }
    }
  }

  private answerKeepalive(p: Buffer): void {
    const id = this.conn?.ids.get(msgKey({ name: 'memclnt_keepalive_reply', crc: '0xe8d4e804' }));
    if (id === undefined || p.length < 10 || !this.conn) return;
    const b = Buffer.alloc(HEADER_SIZE + 10);
    b.writeUInt16BE(id, HEADER_SIZE);
    b.writeUInt32BE(p.readUInt32BE(6), HEADER_SIZE + 2);
    this.conn.socket.write(sealFrame(b));
  }

  private expire(): void {
    const now = Date.now();
    for (const [ctx, p] of this.pending) {
      if (p.deadline > now) continue;
      this.stats.timeouts++;
      this.settle(ctx);
      p.reject(new VppTimeoutError(`${p.name}: no reply from VPP within the timeout`));
    }
  }

  private teardown(err: Error): void {
    const conn = this.conn;
    this.conn = null;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    this.outbox = [];
    const pend = [...this.pending.values()];
    const wait = this.waiting.slice(this.waitHead);
    this.waiting = [];
    this.waitHead = 0;
    this.pending.clear();
    this.stats.inFlight = 0;
    this.stats.queued = 0;
    for (const p of pend) p.reject(new VppDisconnectedError(`${p.name}: ${err.message}`));
    for (const w of wait) w.pending.reject(new VppDisconnectedError(`${w.pending.name}: ${err.message}`));
    conn?.socket.destroy();
  }

  /** Says goodbye to VPP (sockclnt_delete) and closes; pending requests are rejected. */
  async close(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.closing = true;
    try {
      await this.request(sockclnt_delete, { index: conn.clientIndex }, { timeoutMs: 1000 });
    } catch {
      // VPP may already be gone; closing anyway.
    }
    if (this.conn === conn) this.teardown(new VppDisconnectedError('VPP client closed'));
  }
}
