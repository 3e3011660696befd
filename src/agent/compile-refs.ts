// The bookkeeping the compiler's steps share: indexes of sets, reference counts, and objects several
// owners hold (kept while any of them does).
import type { VppObject } from './kinds/index.ts';

export function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

export function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/** Adds `d` to a reference count; returns true when the count went from or to zero. */
export function count<K>(m: Map<K, number>, k: K, d: number): boolean {
  const before = m.get(k) ?? 0;
  const after = before + d;
  if (after === 0) m.delete(k);
  else m.set(k, after);
  return (before === 0) !== (after === 0);
}

/** Objects several owners hold (the VXLAN underlay, held by every vxlan network), by key. */
export class SharedObjects {
  /** owner → the shared keys it holds. */
  private readonly held = new Map<string, string[]>();
  /** key → how many owners hold it. */
  private readonly refs = new Map<string, number>();

  /** `owner` holds `objs` (they are put in `objects`); touched keys go to `touched`. */
  hold(
    owner: string,
    objs: readonly VppObject[],
    objects: Map<string, VppObject>,
    touched: Set<string>,
  ): void {
    this.release(owner, objects, touched);
    if (objs.length === 0) return;
    this.held.set(
      owner,
      objs.map((o) => o.key),
    );
    for (const o of objs) {
      count(this.refs, o.key, 1);
      objects.set(o.key, o);
      touched.add(o.key);
    }
  }

  /** `owner` no longer holds anything; a key nobody holds leaves `objects`. */
  release(owner: string, objects: Map<string, VppObject>, touched: Set<string>): void {
    for (const k of this.held.get(owner) ?? []) {
      touched.add(k);
      if (count(this.refs, k, -1)) objects.delete(k);
    }
    this.held.delete(owner);
  }
}
