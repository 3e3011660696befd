// A full sync sent in pages (docs/controller-api.md, "POST /v1/sync/session"): Neutron's complete
// state as one JSON body stops working past the body cap ([controller] max_body_mb, 64 MiB: ~70k
// ports) and cannot work near 500k ports (V8's longest string, ~512 MiB). The driver begins a session
// with its token and the lists it will send, sends each list in pages of any size under the cap, in
// order, and commits: the controller then applies exactly what one POST /v1/sync with those lists
// would (intake.sync), valve and token included. The pages are kept parsed, never as one string.
//
// A session belongs to one leader term: a new leader (or a restarted controller) knows none, and the
// driver begins again. It ends when its commit is applied; a commit that failed may be sent again. One session at a time: a new one replaces the old, whose next page is refused.
import { randomUUID } from 'node:crypto';
import type { Guard } from '../store/index.ts';
import { BadRequestError, NotFoundError, TooLargeError, UnavailableError } from './errors.ts';

/** The lists a sync body carries (POST /v1/sync), in the order the driver sends them. */
export const SYNC_LISTS = [
  'networks',
  'security_groups',
  'qos_policies',
  'routers',
  'ports',
  'floatingips',
  'tap_services',
  'tap_flows',
] as const;
export type SyncList = (typeof SYNC_LISTS)[number];
const LIST_NAMES: ReadonlySet<string> = new Set(SYNC_LISTS);

export interface SyncPagesOptions {
  /** The leader's guard, undefined when this instance doesn't lead. */
  guard: () => Guard | undefined;
  /** Most resources in one session, all pages together (default 5,000,000). */
  maxItems?: number;
  /** A session with no page for this long is dropped (ms, default 10 minutes). */
  idleMs?: number;
  now?: () => number;
}

interface Session {
  id: string;
  term: Guard;
  token: unknown;
  lists: Map<SyncList, unknown[]>;
  /** Pages received (the next one's seq). */
  pages: number;
  items: number;
  lastAt: number;
}

export interface PageReply {
  session: string;
  /** Pages received so far, this one included. */
  pages: number;
  items: number;
}

export class SyncPages {
  private current: Session | undefined;
  private readonly maxItems: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(private readonly o: SyncPagesOptions) {
    this.maxItems = o.maxItems ?? 5_000_000;
    this.idleMs = o.idleMs ?? 10 * 60_000;
    this.now = o.now ?? Date.now;
  }

  /** Resources held by the session in progress (0: none). */
  get heldItems(): number {
    return this.current?.items ?? 0;
  }

  private term(): Guard {
    const g = this.o.guard();
    if (!g) throw new UnavailableError('this controller is not the leader');
    return g;
  }

  /** POST /v1/sync/session: `{token, lists: [names]}` → `{session}`; replaces any session in progress. */
  begin(body: unknown): { session: string } {
    const term = this.term();
    const b = (body ?? {}) as Record<string, unknown>;
    if (!Array.isArray(b.lists) || b.lists.some((l) => typeof l !== 'string' || !LIST_NAMES.has(l)))
      throw new BadRequestError(`"lists" must name the lists the sync sends, of ${SYNC_LISTS.join(', ')}`);
    const names = new Set(b.lists as SyncList[]);
    for (const f of ['networks', 'ports', 'security_groups'] as const)
      if (!names.has(f))
        throw new BadRequestError(`"lists" must include "${f}" (a full sync always sends it)`);
    const lists = new Map<SyncList, unknown[]>();
    for (const n of SYNC_LISTS) if (names.has(n)) lists.set(n, []);
    this.current = {
      id: randomUUID(),
      term,
      token: b.token,
      lists,
      pages: 0,
      items: 0,
      lastAt: this.now(),
    };
    return { session: this.current.id };
  }

  private session(id: string): Session {
    const s = this.current;
    const stale = s !== undefined && this.now() - s.lastAt > this.idleMs;
    if (stale) this.current = undefined;
    if (!s || stale || s.id !== id || s.term !== this.o.guard())
      throw new NotFoundError(
        `no sync session ${id} (it expired, another one began, or the leader changed): begin again`,
      );
    return s;
  }

  /**
   * POST /v1/sync/session/<id>/page: `{seq, <list>: [...], ...}`, seq counting from 0. The same seq
   * again (a retry whose reply was lost) is answered without adding anything; any other is refused.
   */
  page(id: string, body: unknown): PageReply {
    const s = this.session(id);
    const b = (body ?? {}) as Record<string, unknown>;
    const seq = b.seq;
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0)
      throw new BadRequestError('"seq" must be the page number, from 0');
    const reply = (): PageReply => ({ session: s.id, pages: s.pages, items: s.items });
    if (seq === s.pages - 1) return reply();
    if (seq !== s.pages)
      throw new BadRequestError(`page ${seq} out of order: page ${s.pages} is next; begin again`);
    const add: [SyncList, unknown[]][] = [];
    let n = 0;
    for (const [k, v] of Object.entries(b)) {
      if (k === 'seq') continue;
      const list = s.lists.get(k as SyncList);
      if (!list) throw new BadRequestError(`"${k}" is not a list this session sends`);
      if (!Array.isArray(v)) throw new BadRequestError(`"${k}" must be a list`);
      add.push([k as SyncList, v]);
      n += v.length;
    }
    if (s.items + n > this.maxItems) {
      this.current = undefined;
      throw new TooLargeError(`a full sync of more than ${this.maxItems} resources is not taken`);
    }
    for (const [k, v] of add) {
      const list = s.lists.get(k) as unknown[];
      for (const item of v) list.push(item);
    }
    s.items += n;
    s.pages++;
    s.lastAt = this.now();
    return reply();
  }

  /**
   * POST /v1/sync/session/<id>/commit: `{pages}` (how many the driver sent) → the body POST /v1/sync
   * takes, for intake.sync. The session stays until end(): a commit that failed (503: etcd slow) is
   * retried as it is, without sending every page again.
   */
  commit(id: string, body: unknown): Record<string, unknown> {
    const s = this.session(id);
    const pages = ((body ?? {}) as Record<string, unknown>).pages;
    if (pages !== s.pages)
      throw new BadRequestError(`the driver sent ${String(pages)} pages, ${s.pages} arrived; begin again`);
    s.lastAt = this.now();
    const out: Record<string, unknown> = { token: s.token };
    for (const [k, v] of s.lists) out[k] = v;
    return out;
  }

  /** The session's sync was applied: it ends (a later commit of it is 404). */
  end(id: string): void {
    if (this.current?.id === id) this.current = undefined;
  }
}
