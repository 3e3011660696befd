// The safety valve of full syncs and journal batches: one that would delete more than a share of the
// desired state netvpp holds is not applied but held, logged with what it would delete, until an
// operator confirms it (POST /v1/sync/confirm, `netvpp sync --confirm`). A request deleting no more
// than a minimum count passes whatever the share (a percentage of a handful of keys means nothing:
// deleting 2 of 3 is one port), so a small cloud can still delete a few ports at once; for a full sync
// that floor never covers deleting every key. One request — a driver bug, a half-read database, a
// stolen token — must not be able to make every agent delete every port. The agent's held deletions
// (sync-gate.ts) are the model: deleting is what waits, never adding.
import { createHash } from 'node:crypto';
import { parseKey } from '../model/keyspace.ts';
import type { Logger } from '../util/log.ts';

/** What is held: a full sync (POST /v1/sync) or a journal batch (POST /v1/journal). */
export type HeldKind = 'sync' | 'journal';

/** What a held sync or batch would do, as the API and the CLI show it. */
export interface HeldSync {
  kind: HeldKind;
  /** Names this exact set of deletions; confirming it applies them and nothing larger. */
  id: string;
  at: string;
  /** Desired-state keys it would delete, and how many netvpp holds. */
  deletes: number;
  of: number;
  /** Up to 50 of those keys, and the ports / security groups they belong to. */
  sample: string[];
  ports: string[];
  security_groups: string[];
}

/** The sync was held (HTTP 409): nothing of it was written. */
export class HeldError extends Error {
  constructor(readonly held: HeldSync) {
    super(
      `${held.kind === 'sync' ? 'full sync' : 'journal batch'} held: it would delete ${held.deletes} of ` +
        `the ${held.of} desired-state keys netvpp ` +
        `holds; confirm with \`netvpp sync --confirm ${held.id}\` (POST /v1/sync/confirm) if Neutron ` +
        'really lost them',
    );
    this.name = 'HeldError';
  }
}

const SAMPLE = 50;

/** When a request's deletions wait for an operator. */
export interface ValveLimits {
  /** The share (0..1) of the held keys one request may delete unconfirmed; 1 never holds. */
  share: number;
  /** Deleting this many keys or fewer never holds (but see `floorSparesNone`). */
  minKeys: number;
  /** The floor does not cover a request deleting every key netvpp holds (a full sync's empty snapshot). */
  floorSparesNone?: boolean;
}

export class DeleteValve<Body> {
  private current: { held: HeldSync; body: Body } | null = null;

  constructor(
    private readonly kind: HeldKind,
    private readonly limits: ValveLimits,
    private readonly log: Logger,
  ) {}

  /** Whether deleting `n` of `total` keys passes unconfirmed. */
  passes(n: number, total: number): boolean {
    if (total === 0 || n <= this.limits.share * total) return true;
    if (n > this.limits.minKeys) return false;
    return !(this.limits.floorSparesNone === true && n >= total);
  }

  private get what(): string {
    return this.kind === 'sync' ? 'full sync' : 'journal batch';
  }

  get held(): HeldSync | null {
    return this.current?.held ?? null;
  }

  /** The body of the held sync with this id, to apply once confirmed; undefined when none. */
  body(id: string): Body | undefined {
    return this.current?.held.id === id ? this.current.body : undefined;
  }

  /**
   * Throws HeldError when deleting `deletes` of `total` keys goes over the limit, unless `confirmed`
   * names exactly this set. A sync that passes ends any hold.
   */
  check(deletes: string[], total: number, body: Body, confirmed: string | null, now: string): void {
    if (this.passes(deletes.length, total)) {
      this.current = null;
      return;
    }
    const sorted = [...deletes].sort();
    const id = createHash('sha256').update(sorted.join('\n')).digest('hex').slice(0, 16);
    if (confirmed === id) {
      this.log.warn(`applying a confirmed ${this.what}`, { id, deletes: deletes.length, of: total });
      this.current = null;
      return;
    }
    const ports = new Set<string>();
    const sgs = new Set<string>();
    for (const key of sorted) {
      const k = parseKey(key);
      if (k?.kind === 'portBinding') ports.add(k.portId);
      else if (k?.kind === 'secGroup') sgs.add(k.sgId);
    }
    const held: HeldSync = {
      kind: this.kind,
      id,
      at: this.current?.held.id === id ? this.current.held.at : now,
      deletes: deletes.length,
      of: total,
      sample: sorted.slice(0, SAMPLE),
      ports: [...ports].slice(0, SAMPLE),
      security_groups: [...sgs].slice(0, SAMPLE),
    };
    this.current = { held, body };
    this.log.warn(`${this.what} held: it would delete more than the configured share of the desired state`, {
      id,
      deletes: held.deletes,
      of: total,
      limit: `${Math.round(this.limits.share * 100)} %`,
      ports: held.ports.join(','),
      security_groups: held.security_groups.join(','),
      keys: held.sample.join(','),
    });
    throw new HeldError(held);
  }
}
