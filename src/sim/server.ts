/**
 * The simulator's socket server: VPP's socket API (16-byte framed messages on a unix socket),
 * one registration per connection (handles 0x80000001.. reused like VPP's pool), replies to the
 * registration named by client_index, interface events to registered clients, and the test
 * faults (crash, delays, injected errors) plus per-message call counters.
 */
import { EventRegistrations } from './event-regs.ts';
import { Faults } from './faults.ts';
import { ethernetInput, type Ingress, type VlanTag } from './ethernet.ts';
import { createServer, type Server, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { ALL_MESSAGES } from '../vpp/binapi/index.ts';
import { GROUPS, type GroupName } from '../vpp/groups.ts';
import { messageCodec, msgKey, type MessageCodec, type MessageDef } from '../vpp/codec/index.ts';
import { FrameReader, HEADER_SIZE, sealFrame } from '../vpp/transport/framing.ts';
import { logger, type Logger } from '../util/log.ts';
import { HANDLERS, type Fields, type Handler, type Result } from './handlers.ts';
import { NO_INDEX } from './interfaces.ts';
import { isWriteRequest } from '../vpp/read-only.ts';
import { VPP_MSG_IDS } from './msg-ids.ts';
import { IndexPool } from './pool.ts';
import { VppState, type StateOptions } from './state.ts';
import type { LacpPartner } from './bond.ts';

export interface SimOptions {
  /** Path of the API socket (VPP's is /run/vpp/api.sock). */
  socket: string;
  /** tap_create_v3 succeeds (default) or fails with -11, as on a host without /dev/vhost-net. */
  vhostNet?: boolean;
  /**
   * Check the host as VPP would (default off: any name is accepted): af_packet_create_v3 needs
   * /sys/class/net/<host_if_name>, a vhost-user server socket needs its directory.
   */
  checkHost?: boolean;
  /**
   * Physical NICs present at start and after every restart, right after local0 (as DPDK's
   * interfaces are): the uplinks an operator names in the agent's physnet map.
   */
  nics?: readonly string[];
  /**
   * Message groups (src/vpp/groups.ts) this VPP lacks, as a VPP without the plugin: their messages
   * are not in the message table and the plugin's CLI commands are unknown. `core` cannot be left out.
   */
  withoutGroups?: readonly GroupName[];
  /** Messages the table lists with another CRC, as a VPP built from other API definitions. */
  changedCrcs?: readonly string[];
  log?: Logger;
}

/** A write request the simulator has just carried out (its reply not sent yet), for `onWrite`. */
export interface WriteSeen {
  /** Writes counted since start or the last resetCounters(), this one included (1 = the first). */
  n: number;
  message: string;
  /** The call's retval (0 = it succeeded); null when its reply has none. */
  retval: number | null;
}

/**
 * Called after each write is carried out, before its reply goes out. `'cut'` drops the connection
 * that sent it: that reply and everything the client sent after it are lost, as when the client
 * dies right after VPP acted on its call.
 */
export type WriteHook = (w: WriteSeen) => 'cut' | undefined | void;

export interface CrashOptions {
  /** How long the socket stays away before the restarted VPP listens again (default 0). */
  downMs?: number;
}

const SOCK_API_REG_HANDLE_BIT = 0x80000000;

type Kind = 'ping' | 'keepalive' | 'sockclnt_create' | 'sockclnt_delete' | 'want_interface_events' | 'state';

interface Spec {
  name: string;
  kind: Kind;
  codec: MessageCodec;
  handler: Handler | null;
  stream: boolean;
  replyId: number;
  replyCodec: MessageCodec | null;
  /** The reply carries context and retval only: encoded without the generic codec. */
  retvalOnly: boolean;
  /** A `_get` with a cursor: after its details, this reply ends the stream (REPLY_AND_DETAILS_MACRO). */
  end: { id: number; codec: MessageCodec } | null;
}

interface Conn {
  socket: Socket;
  reg: number;
  out: Buffer[];
  /** Frames waiting behind a delayed one (VPP answers a client's messages in order). */
  queue: Buffer[] | null;
  closed: boolean;
}

export class SimServer {
  readonly socketPath: string;
  private readonly log: Logger;
  private readonly opts: StateOptions;
  private server: Server | null = null;
  private vpp: VppState;
  private readonly specs: (Spec | undefined)[] = [];
  private readonly ids = new Map<string, number>();
  private readonly codecs = new Map<string, MessageCodec>();
  private readonly table: { index: number; name: string }[] = [];
  private regPool = new IndexPool(1);
  private readonly conns = new Map<number, Conn>();
  private eventRegs = new EventRegistrations();
  private readonly dirty = new Set<Conn>();
  private flushQueued = false;
  private eventsQueued = false;
  private readonly faults = new Faults();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly counts = new Map<string, number>();
  /** Requests that could change state (src/vpp/read-only.ts), since the last resetCounters(). */
  private writeCount = 0;
  private generation = 0;

  constructor(opts: SimOptions) {
    this.socketPath = opts.socket;
    this.log = opts.log ?? logger('vpp-sim');
    this.opts = {
      vhostNet: opts.vhostNet ?? true,
      checkHost: opts.checkHost ?? false,
      nics: opts.nics ?? [],
      withoutGroups: new Set(opts.withoutGroups ?? []),
    };
    if (this.opts.withoutGroups.has('core')) throw new Error('the simulator cannot leave out the core group');
    for (const g of this.opts.withoutGroups)
      if (!GROUPS.some((x) => x.name === g)) throw new Error(`no message group ${g} (src/vpp/groups.ts)`);
    for (const m of opts.changedCrcs ?? [])
      if (!ALL_MESSAGES.some((d) => d.name === m)) throw new Error(`no message ${m} in netvpp's bindings`);
    this.buildTable(new Set(opts.changedCrcs ?? []));
    this.vpp = this.freshState(0);
  }

  private freshState(previousPid: number): VppState {
    let pid = randomInt(1000, 4_000_000);
    while (pid === previousPid) pid = randomInt(1000, 4_000_000);
    return new VppState(this.opts, () => this.queueEvents(), pid);
  }

  get vpePid(): number {
    return this.vpp.vpePid;
  }

  /** The live state, for white-box tests of the simulator itself. */
  get state(): VppState {
    return this.vpp;
  }

  private buildTable(changedCrcs: ReadonlySet<string>): void {
    const left = new Set(
      GROUPS.filter((g) => this.opts.withoutGroups.has(g.name)).flatMap((g) => g.messages.map((m) => m.name)),
    );
    const present = ALL_MESSAGES.filter((d) => !left.has(d.name));
    let spare = 0xff00;
    for (const def of present) {
      let id = VPP_MSG_IDS.get(msgKey(def));
      if (id === undefined) {
        id = spare++;
        this.log.warn('message missing from the simulator id table; add it to src/sim/msg-ids.ts', {
          message: msgKey(def),
          id,
        });
      }
      this.ids.set(def.name, id);
      this.codecs.set(def.name, messageCodec(def));
      const crc = changedCrcs.has(def.name)
        ? `0x${((parseInt(def.crc, 16) ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0')}`
        : def.crc;
      this.table.push({ index: id, name: msgKey({ name: def.name, crc }) });
    }
    this.table.sort((a, b) => a.index - b.index);
    const byName = new Map(present.map((d) => [d.name, d] as const));
    for (const def of present) {
      if (def.role !== 'request') continue;
      const replyDef = def.reply ? byName.get(def.reply) : undefined;
      const endDef = def.streamMsg ? byName.get(def.streamMsg) : undefined;
      const kind: Kind =
        def.name === 'control_ping'
          ? 'ping'
          : def.name === 'memclnt_keepalive'
            ? 'keepalive'
            : def.name === 'sockclnt_create' ||
                def.name === 'sockclnt_delete' ||
                def.name === 'want_interface_events'
              ? def.name
              : 'state';
      const handler = HANDLERS[def.name] ?? null;
      if (kind === 'state' && !handler)
        this.log.warn('no simulator handler for a whitelisted message', { message: def.name });
      this.specs[this.ids.get(def.name) as number] = {
        name: def.name,
        kind,
        codec: this.codecs.get(def.name) as MessageCodec,
        handler,
        stream: def.stream === true,
        replyId: replyDef ? this.sentId(replyDef) : -1,
        replyCodec: replyDef ? (this.codecs.get(replyDef.name) as MessageCodec) : null,
        retvalOnly: isRetvalOnly(replyDef),
        end: endDef ? { id: this.sentId(endDef), codec: this.codecs.get(endDef.name) as MessageCodec } : null,
      };
    }
  }

  /** The id VPP sends a message with: a details message of a group that leaves out its base, without it. */
  private sentId(def: MessageDef): number {
    const id = this.ids.get(def.name) as number;
    const g = GROUPS.find((x) => x.messages.includes(def));
    const base = g?.unbasedDetails === undefined ? undefined : this.ids.get(g.unbasedDetails);
    return def.role === 'details' && base !== undefined ? id - base : id;
  }

  async listen(): Promise<void> {
    try {
      unlinkSync(this.socketPath);
    } catch {
      // Nothing stale to remove.
    }
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error('API socket error', { error: e.message }));
    this.server = server;
    this.log.info('VPP simulator listening', { socket: this.socketPath, vpe_pid: this.vpp.vpePid });
  }

  private accept(socket: Socket): void {
    // VPP creates the registration when it accepts the connection, before sockclnt_create.
    const reg = this.regPool.alloc();
    const conn: Conn = { socket, reg, out: [], queue: null, closed: false };
    this.conns.set(reg, conn);
    socket.setNoDelay?.(true);
    const reader = new FrameReader(
      (p) => this.onFrame(conn, p),
      (e) => {
        this.log.warn('bad frame from an API client; closing it', { error: e.message });
        socket.destroy();
      },
    );
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('error', (e) => this.log.debug('API client socket error', { error: e.message }));
    socket.on('close', () => this.dropConn(conn));
  }

  private dropConn(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.queue = null;
    this.dirty.delete(conn);
    if (this.conns.get(conn.reg) === conn) {
      this.conns.delete(conn.reg);
      this.regPool.release(conn.reg);
      this.eventRegs.dropClient((conn.reg | SOCK_API_REG_HANDLE_BIT) >>> 0);
    }
  }

  private onFrame(conn: Conn, p: Buffer): void {
    if (conn.queue) conn.queue.push(p);
    else this.process(conn, p);
  }

  private process(conn: Conn, p: Buffer): void {
    if (conn.closed) return;
    // No event delivery here: VPP's API process handles every message of one socket read before
    // its link-state process runs, so the events of pipelined calls follow all their replies (and a
    // want_interface_events(disable) sent right behind a delete_loopback means no deleted event).
    const id = p.readUInt16BE(0);
    const spec = this.specs[id];
    if (!spec) {
      this.log.warn('no handler for msg id', { id, length: p.length });
      return;
    }
    const delay = this.faults.delayOf(spec.name);
    if (delay > 0) {
      conn.queue = [];
      const gen = this.generation;
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (gen !== this.generation || conn.closed) return;
        this.handle(conn, spec, p);
        const waiting = conn.queue ?? [];
        conn.queue = null;
        for (let i = 0; i < waiting.length; i++) {
          if (conn.queue) {
            // Another delayed message: the rest waits behind it.
            (conn.queue as Buffer[]).push(...waiting.slice(i));
            break;
          }
          this.process(conn, waiting[i]);
        }
        this.flushAll();
      }, delay);
      this.timers.add(t);
      return;
    }
    this.handle(conn, spec, p);
  }

  private handle(conn: Conn, spec: Spec, p: Buffer): void {
    this.counts.set(spec.name, (this.counts.get(spec.name) ?? 0) + 1);
    switch (spec.kind) {
      case 'ping':
        return this.ping(p);
      case 'keepalive':
        // VPP answers a keepalive into its own shared-memory queue: a socket client gets nothing.
        return;
      case 'sockclnt_create':
        return this.sockclntCreate(conn, spec, p);
      default:
        // Everything else is decoded first (below).
        break;
    }
    let msg: Fields;
    try {
      msg = spec.codec.decode(p);
    } catch (e) {
      // VPP drops a message shorter than its declared size without answering.
      this.log.warn('dropping a truncated message', { message: spec.name, error: (e as Error).message });
      return;
    }
    const isWrite = !spec.stream && isWriteRequest(spec.name, msg);
    if (isWrite) this.writeCount++;
    const target = this.conns.get(((msg.client_index as number) & ~SOCK_API_REG_HANDLE_BIT) >>> 0);
    if (!target || ((msg.client_index as number) & SOCK_API_REG_HANDLE_BIT) === 0) {
      this.log.debug('message from an unknown client index; no reply', {
        message: spec.name,
        client_index: msg.client_index,
      });
      return;
    }
    const context = msg.context as number;
    if (spec.kind === 'sockclnt_delete') return this.sockclntDelete(target, spec, msg);
    if (spec.kind === 'want_interface_events') {
      return this.reply(target, spec, context, this.eventRegs.want(msg));
    }
    const fault = this.faults.take(spec.name);
    let result: Result;
    if (fault !== undefined) result = this.faultResult(spec, fault);
    else if (spec.handler) result = spec.handler(this.vpp, msg);
    else {
      this.log.warn('no simulator handler', { message: spec.name });
      return;
    }
    if (isWrite && this.faults.writeHook && this.afterWrite(spec, result) === 'cut') {
      this.cut(conn);
      this.cut(target);
      return;
    }
    this.reply(target, spec, context, result);
  }

  private afterWrite(spec: Spec, result: Result): 'cut' | undefined {
    const retval =
      typeof result === 'number'
        ? result
        : result && !Array.isArray(result) && typeof result.retval === 'number'
          ? result.retval
          : null;
    try {
      return this.faults.writeHook?.({ n: this.writeCount, message: spec.name, retval }) === 'cut'
        ? 'cut'
        : undefined;
    } catch (e) {
      this.log.error('onWrite hook failed', { message: spec.name, error: (e as Error).message });
      return undefined;
    }
  }

  /** The client is gone: nothing more from it is handled, nothing more is sent to it. */
  private cut(conn: Conn): void {
    this.dropConn(conn);
    conn.socket.destroy();
  }

  private reply(conn: Conn, spec: Spec, context: number, result: Result): void {
    if (result === null || !spec.replyCodec) return;
    try {
      if (typeof result === 'number') {
        if (spec.retvalOnly) {
          const b = Buffer.allocUnsafe(HEADER_SIZE + 10);
          b.fill(0, 0, HEADER_SIZE);
          b.writeUInt32BE(10, 8);
          b.writeUInt16BE(spec.replyId, HEADER_SIZE);
          b.writeUInt32BE(context, HEADER_SIZE + 2);
          b.writeInt32BE(result, HEADER_SIZE + 6);
          this.write(conn, b);
        } else this.write(conn, this.encode(spec.replyCodec, spec.replyId, { context, retval: result }));
      } else if (Array.isArray(result)) {
        for (const d of result)
          this.write(conn, this.encode(spec.replyCodec, spec.replyId, { ...d, context }));
        // The cursor: ~0 when every entry was sent; an empty pool gets a plain REPLY_MACRO (0).
        if (spec.end)
          this.write(
            conn,
            this.encode(spec.end.codec, spec.end.id, {
              context,
              retval: 0,
              cursor: result.length ? NO_INDEX : 0,
            }),
          );
      } else this.write(conn, this.encode(spec.replyCodec, spec.replyId, { ...result, context }));
    } catch (e) {
      this.log.error('simulator could not encode a reply', {
        message: spec.name,
        error: (e as Error).message,
      });
    }
  }

  private encode(codec: MessageCodec, id: number, value: object): Buffer {
    return sealFrame(codec.encode(id, value, HEADER_SIZE));
  }

  /** control_ping, the hot path of every dump and health check: no decoding, no codec. */
  private ping(p: Buffer): void {
    if (p.length < 10) return;
    const target = this.conns.get((p.readUInt32BE(2) & ~SOCK_API_REG_HANDLE_BIT) >>> 0);
    if (!target || (p.readUInt32BE(2) & SOCK_API_REG_HANDLE_BIT) === 0) return;
    const fault = this.faults.anyFailure ? this.faults.take('control_ping') : undefined;
    const b = Buffer.alloc(HEADER_SIZE + 18);
    b.writeUInt32BE(18, 8);
    b.writeUInt16BE(this.ids.get('control_ping_reply') as number, HEADER_SIZE);
    b.writeUInt32BE(p.readUInt32BE(6), HEADER_SIZE + 2);
    if (fault !== undefined) b.writeInt32BE(fault, HEADER_SIZE + 6);
    // client_index stays 0 (VPP leaves it zero), then the pid.
    b.writeUInt32BE(this.vpp.vpePid, HEADER_SIZE + 14);
    this.write(target, b);
  }

  private sockclntCreate(conn: Conn, spec: Spec, p: Buffer): void {
    let msg: Fields;
    try {
      msg = spec.codec.decode(p);
    } catch {
      return;
    }
    this.reply(conn, spec, msg.context as number, {
      client_index: 0,
      response: 0,
      index: (conn.reg | SOCK_API_REG_HANDLE_BIT) >>> 0,
      count: this.table.length,
      message_table: this.table,
    });
  }

  private sockclntDelete(sender: Conn, spec: Spec, msg: Fields): void {
    const target = this.conns.get(((msg.index as number) & ~SOCK_API_REG_HANDLE_BIT) >>> 0);
    this.reply(sender, spec, msg.context as number, { response: target ? 1 : -1 });
    if (!target) return;
    this.flush(sender);
    // VPP closes the sender's socket and frees the named registration.
    sender.socket.end();
    this.dropConn(sender);
  }

  private queueEvents(): void {
    if (this.eventsQueued) return;
    this.eventsQueued = true;
    const gen = this.generation;
    setImmediate(() => {
      this.eventsQueued = false;
      if (gen === this.generation) this.deliverEvents();
    });
  }

  /** VPP's link-state process: one sw_interface_event per changed interface, per registration. */
  private deliverEvents(): void {
    const batch = this.vpp.events.take();
    if (batch.length === 0) return;
    const codec = this.codecs.get('sw_interface_event') as MessageCodec;
    const id = this.ids.get('sw_interface_event') as number;
    for (const r of this.eventRegs) {
      const conn = this.conns.get((r.clientIndex & ~SOCK_API_REG_HANDLE_BIT) >>> 0);
      if (!conn) continue;
      for (const [sw, flags, deleted] of batch) {
        this.write(
          conn,
          this.encode(codec, id, {
            client_index: r.clientIndex,
            pid: r.pid,
            sw_if_index: sw,
            flags,
            deleted,
          }),
        );
      }
    }
    this.flushAll();
  }

  private write(conn: Conn, b: Buffer): void {
    if (conn.closed) return;
    conn.out.push(b);
    this.dirty.add(conn);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushAll());
    }
  }

  private flushAll(): void {
    this.flushQueued = false;
    for (const c of this.dirty) this.flush(c);
    this.dirty.clear();
  }

  private flush(conn: Conn): void {
    const out = conn.out;
    if (out.length === 0 || conn.closed) return;
    conn.out = [];
    conn.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  // --- faults and counters ---

  setDelay(message: string, ms: number): void {
    this.faults.setDelay(message, ms);
  }

  delayNext(message: string, ms: number, n = 1): void {
    this.faults.delayNext(message, ms, n);
  }

  onWrite(hook: WriteHook | null): void {
    this.faults.writeHook = hook;
  }

  failNth(message: string, n: number, retval: number): void {
    this.faults.failNth(message, n, retval);
  }

  failEvery(message: string, retval: number): void {
    this.faults.failEvery(message, retval);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** An injected failure changes nothing: the reply carries the retval, a dump returns nothing. */
  private faultResult(spec: Spec, retval: number): Result {
    if (spec.stream) return [];
    const fields = spec.replyCodec?.def.fields ?? [];
    if (!fields.some((f) => f.name === 'retval')) return spec.handler ? spec.handler(this.vpp, {}) : null;
    const r: Fields = { retval };
    if (fields.some((f) => f.name === 'sw_if_index')) r.sw_if_index = NO_INDEX;
    return r;
  }

  calls(message: string): number {
    return this.counts.get(message) ?? 0;
  }

  counters(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  writes(): number {
    return this.writeCount;
  }

  resetCounters(): void {
    this.counts.clear();
    this.writeCount = 0;
  }

  clients(): number {
    return this.conns.size;
  }

  // --- lifecycle ---

  private async close(): Promise<void> {
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const c of [...this.conns.values()]) {
      c.socket.destroy();
      this.dropConn(c);
    }
    await closed;
    this.regPool = new IndexPool(1);
    this.eventRegs = new EventRegistrations();
    this.dirty.clear();
    this.eventsQueued = false;
  }

  /** VPP dies and comes back: every connection drops, every object is gone, a new vpe_pid. */
  async crash(opts: CrashOptions = {}): Promise<void> {
    await this.close();
    this.vpp = this.freshState(this.vpp.vpePid);
    this.log.info('VPP simulator crashed; restarting', { down_ms: opts.downMs ?? 0 });
    if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
    await this.listen();
  }

  async stop(): Promise<void> {
    await this.close();
    try {
      unlinkSync(this.socketPath);
    } catch {
      // Already gone.
    }
  }

  /**
   * Where a frame with these VLAN tags, received on `swIfIndex`, goes in ethernet-input: which
   * interface takes it, whether it is dropped, whether it reaches L2 (see ethernet.ts).
   */
  ingress(swIfIndex: number, tags: readonly VlanTag[]): Ingress {
    return ethernetInput(this.vpp.ifs, (i) => this.vpp.l2.bridged(i), swIfIndex, tags);
  }

  /** A guest attaches to a vhost-user socket: the interface's link comes up if it is admin up. */
  connectGuest(sockFilename: string): boolean {
    return this.vpp.ifs.setGuest(sockFilename, true);
  }

  disconnectGuest(sockFilename: string): boolean {
    return this.vpp.ifs.setGuest(sockFilename, false);
  }

  /** A NIC's cable is pulled (or plugged back): its link goes down (up). False: no such NIC. */
  setNicLink(name: string, up: boolean): boolean {
    const s = [...this.vpp.ifs.all()].find((x) => !x.isSub && x.hw.kind === 'nic' && x.hw.name === name);
    if (!s) return false;
    this.vpp.ifs.setLink(s.hw, up);
    return true;
  }

  /**
   * What answers LACP at the other end of a bond member's cable (by its hardware name): a switch
   * or a host in sync with it, or (null) nothing. See src/sim/bond.ts.
   */
  setLacpPartner(memberName: string, partner: LacpPartner | null): void {
    this.vpp.bonds.setPartner(memberName, partner);
  }
}

function isRetvalOnly(def: MessageDef | undefined): boolean {
  return (
    def !== undefined &&
    def.fields.length === 2 &&
    def.fields[0].name === 'context' &&
    def.fields[1].name === 'retval' &&
    def.fields[1].type.kind === 'scalar' &&
    def.fields[1].type.t === 'i32'
  );
}
