// A full sync sent in pages (docs/controller-api.md, "POST /v1/sync/session"): Neutron's complete
// state as one JSON body stops working past the body cap ([controller] max_body_mb, 64 MiB: ~70k
// ports) and cannot work near 500k ports (V8's longest string, ~512 MiB). The driver begins a session
// with its token and the lists it will send, sends each list in pages of any size under the cap, in
// the order of SYNC_LISTS, and commits. Each page is applied when it arrives and the commit removes
// what Neutron no longer has (sync-paged.ts): the end state is what one POST /v1/sync with those
// lists would give, valve and token included, and no step holds every page.
//
// A session belongs to one leader term: a new leader (or a restarted controller) knows none, and the
// driver begins again (the pages already applied are in etcd; applied again, they write nothing). It
// ends when its commit is applied; a commit that failed may be sent again. One session at a time: a
// new one replaces the old, whose next page is refused.
import { randomUUID } from 'node:crypto';
import type { Guard } from '../store/index.ts';
import { BadRequestError, NotFoundError, TooLargeError, UnavailableError } from './errors.ts';
import { LIST_KIND, PagedSyncState, type SyncList } from './sync-paged.ts';

/** The lists a sync body carries (POST /v1/sync), in the order the driver sends them. */
export const SYNC_LISTS = Object.keys(LIST_KIND) as SyncList[];
export type { SyncList };
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

export interface Session {
  id: string;
  term: Guard;
  state: PagedSyncState;
  /** Pages applied (the next one's seq). */
  pages: number;
  items: number;
  /** Index in SYNC_LISTS of the last list a page carried: lists come in that order. */
  at: number;
  lastAt: number;
}

export interface PageReply {
  session: string;
  /** Pages received so far, this one included. */
  pages: number;
  items: number;
}

/** A page checked and ready to apply, or the answer to the last page sent again. */
export type PageTake =
  | { apply: true; session: Session; seq: number; lists: [SyncList, unknown[]][]; items: number }
  | { apply: false; reply: PageReply };

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

  /** Resources taken by the session in progress (0: none). */
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
    let token: number | null = null;
    if (b.token !== undefined && b.token !== null) {
      const t = typeof b.token === 'string' ? b.token : typeof b.token === 'number' ? String(b.token) : '';
      if (!/^\d{1,15}$/.test(t)) throw new BadRequestError('token must be a token returned by GET /v1/sync');
      token = Number(t);
    }
    const kinds = new Set([...names].map((n) => LIST_KIND[n]));
    this.current = {
      id: randomUUID(),
      term,
      state: new PagedSyncState(token, kinds),
      pages: 0,
      items: 0,
      at: 0,
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
   * again once applied (a retry whose reply was lost) is answered without applying anything; any
   * other is refused, as is a list before one an earlier page carried.
   */
  take(id: string, body: unknown): PageTake {
    const s = this.session(id);
    const b = (body ?? {}) as Record<string, unknown>;
    const seq = b.seq;
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0)
      throw new BadRequestError('"seq" must be the page number, from 0');
    if (seq === s.pages - 1) return { apply: false, reply: reply(s) };
    if (seq !== s.pages)
      throw new BadRequestError(`page ${seq} out of order: page ${s.pages} is next; begin again`);
    const lists: [SyncList, unknown[]][] = [];
    let n = 0;
    for (const [k, v] of Object.entries(b)) {
      if (k === 'seq') continue;
      if (!LIST_NAMES.has(k) || !s.state.kinds.has(LIST_KIND[k as SyncList]))
        throw new BadRequestError(`"${k}" is not a list this session sends`);
      if (!Array.isArray(v)) throw new BadRequestError(`"${k}" must be a list`);
      lists.push([k as SyncList, v]);
      n += v.length;
    }
    lists.sort(([a], [b]) => SYNC_LISTS.indexOf(a) - SYNC_LISTS.indexOf(b));
    const first = lists.find(([, v]) => v.length > 0)?.[0];
    if (first && SYNC_LISTS.indexOf(first) < s.at)
      throw new BadRequestError(
        `"${first}" after "${SYNC_LISTS[s.at]}": the lists come in the order ${SYNC_LISTS.join(', ')}; begin again`,
      );
    if (s.items + n > this.maxItems) {
      this.current = undefined;
      throw new TooLargeError(`a full sync of more than ${this.maxItems} resources is not taken`);
    }
    return { apply: true, session: s, seq, lists, items: n };
  }

  /** The page `take` gave was applied. */
  applied(t: Extract<PageTake, { apply: true }>): PageReply {
    const s = t.session;
    if (s.pages === t.seq) {
      s.pages++;
      s.items += t.items;
      for (const [list, v] of t.lists) if (v.length > 0) s.at = Math.max(s.at, SYNC_LISTS.indexOf(list));
    }
    s.lastAt = this.now();
    return reply(s);
  }

  /**
   * POST /v1/sync/session/<id>/commit: `{pages}` (how many the driver sent) → the session to commit.
   * It stays until end(): a commit that failed (503: etcd slow) is retried as it is.
   */
  commit(id: string, body: unknown): Session {
    const s = this.session(id);
    const pages = ((body ?? {}) as Record<string, unknown>).pages;
    if (pages !== s.pages)
      throw new BadRequestError(`the driver sent ${String(pages)} pages, ${s.pages} arrived; begin again`);
    s.lastAt = this.now();
    return s;
  }

  /** The session's sync was applied: it ends (a later commit of it is 404). */
  end(id: string): void {
    if (this.current?.id === id) this.current = undefined;
  }
}

const reply = (s: Session): PageReply => ({ session: s.id, pages: s.pages, items: s.items });
