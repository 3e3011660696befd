// diff: desired graph × actual state → an ordered plan. Parents are created before children and
// children deleted before parents; settings VPP can change in place are updated in place (an ACL's
// rules with acl_add_replace, an interface's ACL list in one set_acl_list — make-before-break, since the
// new ACLs are created before the list names them and the old ones deleted only after).
import { compare, depsOf, descriptorOf, portOfKey, refsOf, type VppObject } from '../kinds/index.ts';
import type { ActualState } from './actual.ts';

export type OpType = 'create' | 'update' | 'delete';

export interface PlanOp {
  type: OpType;
  key: string;
  /** create/update: what to make. */
  desired?: VppObject;
  /** update/delete: what is there now. */
  actual?: VppObject;
  /** Ops that must succeed first. */
  waitsFor: PlanOp[];
  /** Set when the op can't run in this pass; its dependents are blocked too. */
  blocked?: Blocked;
  /** delete: VPP removes the object with its parent, whose delete this op waits for (no call). */
  withParent?: string;
}

export interface Blocked {
  reason: string;
  /** true when caused by a failure (reported as an error), false when merely waiting. */
  error: boolean;
}

export interface Plan {
  ops: PlanOp[];
}

export interface DiffInput {
  objects: ReadonlyMap<string, VppObject>;
  frozenKeys: ReadonlySet<string>;
  frozenPorts: ReadonlySet<string>;
  /** Key prefixes diff must leave alone (the objects of a router whose document is unreadable). */
  frozenPrefixes?: ReadonlySet<string>;
  /**
   * etcd's desired state may be partial (no sync marker): keep every object nothing desires rather
   * than delete it. Creations, changes and re-creations go ahead.
   */
  holdDeletes?: boolean;
}

/** Whether diff must leave `key` alone: a frozen key, or any key of a port whose binding is invalid. */
export function isFrozen(desired: DiffInput, key: string): boolean {
  if (desired.frozenKeys.has(key)) return true;
  if (desired.frozenPrefixes?.size)
    for (const p of desired.frozenPrefixes) if (key.startsWith(p)) return true;
  if (desired.frozenPorts.size === 0) return false;
  const p = portOfKey(key);
  return p !== null && desired.frozenPorts.has(p);
}

/**
 * Whether an object in VPP is used, directly or through others, by a frozen object (it must stay even
 * if nothing desired needs it). Walks up the referrers, which VPP references make a short path.
 */
function keptBy(desired: DiffInput, actual: ActualState, key: string): boolean {
  const seen = new Set<string>([key]);
  const stack = [key];
  while (stack.length > 0) {
    for (const y of actual.referrersOf(stack.pop() as string)) {
      if (seen.has(y)) continue;
      if (isFrozen(desired, y)) return true;
      seen.add(y);
      stack.push(y);
    }
  }
  return false;
}

/**
 * Whether diff would act on `key`: to create, change or delete it. Every key a plan touches first is
 * out of sync; a key that is not stays so until its desired object, its VPP object, or the frozen
 * objects above it change (which is what lets a pass look at only the keys that changed).
 */
export function outOfSync(key: string, desired: DiffInput, actual: ActualState): boolean {
  if (isFrozen(desired, key)) return false;
  const d = desired.objects.get(key);
  const a = actual.get(key);
  if (d) return !a || compare(d, a) !== 'same';
  if (desired.holdDeletes) return false;
  return a !== undefined && deletable(a) && !keptBy(desired, actual, key);
}

/** Objects the operator owns (found by name) are never deleted. */
function deletable(o: VppObject): boolean {
  return descriptorOf(o).ownership !== 'operator';
}

/** What a diff would delete if deletions were not held: objects nobody desires that are out of sync. */
export function heldDeletions(desired: DiffInput, actual: ActualState): string[] {
  const out: string[] = [];
  const all = { ...desired, holdDeletes: false };
  for (const key of actual.objects.keys())
    if (!desired.objects.has(key) && outOfSync(key, all, actual)) out.push(key);
  return out;
}

/**
 * Builds the plan. `hold(key)` says why an object must not be touched in this pass (a failure in
 * back-off); such objects get no op and whatever needs them is blocked.
 *
 * `candidates`, when given, are the only keys that may be out of sync (see `outOfSync`): the plan is
 * then the same as without them, for the cost of those keys instead of the whole host.
 */
export function diff(
  desired: DiffInput,
  actual: ActualState,
  hold: (key: string) => Blocked | undefined,
  candidates?: ReadonlySet<string>,
): Plan {
  const frozen = (key: string): boolean => isFrozen(desired, key);

  const toCreate = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();
  const consider = (key: string, d: VppObject): void => {
    const a = actual.get(key);
    if (!a) toCreate.add(key);
    else {
      const c = compare(d, a);
      if (c === 'update') toUpdate.add(key);
      else if (c === 'replace') {
        toDelete.add(key);
        toCreate.add(key);
      }
    }
  };
  if (candidates) {
    for (const key of candidates) {
      if (frozen(key)) continue;
      const d = desired.objects.get(key);
      if (d) consider(key, d);
      else if (outOfSync(key, desired, actual)) toDelete.add(key);
    }
  } else {
    // Objects a frozen object uses must stay too, even if nothing desired needs them any more.
    const kept = new Set<string>();
    const stack: string[] = [];
    for (const [key, obj] of actual.objects) if (frozen(key)) stack.push(...refsOf(obj));
    while (stack.length > 0) {
      const k = stack.pop() as string;
      if (kept.has(k)) continue;
      kept.add(k);
      const o = actual.get(k);
      if (o) stack.push(...refsOf(o));
    }
    for (const [key, d] of desired.objects) if (!frozen(key)) consider(key, d);
    for (const [key, a] of actual.objects) {
      if (desired.objects.has(key) || frozen(key) || kept.has(key) || !deletable(a)) continue;
      if (!desired.holdDeletes) toDelete.add(key);
    }
  }

  // A deleted object takes down what references it: those are deleted first, and re-created after
  // it when still desired (e.g. a port interface re-created with a new socket re-joins its bridge).
  const stillUsed = new Map<string, string>();
  const queue = [...toDelete];
  while (queue.length > 0) {
    const x = queue.pop() as string;
    for (const y of actual.referrersOf(x)) {
      if (toDelete.has(y)) continue;
      const dy = desired.objects.get(y);
      if (toUpdate.has(y) && dy && !depsOf(dy).includes(x)) continue;
      if (dy && !frozen(y)) {
        toUpdate.delete(y);
        toDelete.add(y);
        toCreate.add(y);
        queue.push(y);
      } else {
        stillUsed.set(x, y);
      }
    }
  }

  const createOps = new Map<string, PlanOp>();
  const deleteOps = new Map<string, PlanOp>();
  const ops: PlanOp[] = [];
  const held = (key: string, op: PlanOp): void => {
    const h = hold(key);
    if (h) op.blocked = h;
  };

  for (const key of toDelete) {
    const a = actual.get(key) as VppObject;
    const op: PlanOp = { type: 'delete', key, actual: a, waitsFor: [] };
    const d = descriptorOf(a);
    const parent = d.goesWithParent && d.parentOf ? d.parentOf(a) : undefined;
    if (parent !== undefined && toDelete.has(parent)) op.withParent = parent;
    const user = stillUsed.get(key);
    if (user) op.blocked = { reason: `${key} is still used by ${user}`, error: false };
    else if (!toCreate.has(key)) held(key, op);
    deleteOps.set(key, op);
    ops.push(op);
  }
  for (const key of [...toCreate, ...toUpdate]) {
    const isCreate = toCreate.has(key);
    const op: PlanOp = {
      type: isCreate ? 'create' : 'update',
      key,
      desired: desired.objects.get(key),
      ...(isCreate ? {} : { actual: actual.get(key) }),
      waitsFor: [],
    };
    held(key, op);
    createOps.set(key, op);
    ops.push(op);
  }

  // Edges.
  for (const op of createOps.values()) {
    const d = op.desired as VppObject;
    const del = deleteOps.get(op.key);
    if (del) op.waitsFor.push(del);
    for (const dep of depsOf(d)) {
      const parent = createOps.get(dep);
      if (parent) {
        op.waitsFor.push(parent);
        continue;
      }
      if (actual.get(dep) && !deleteOps.has(dep)) continue;
      if (op.blocked) continue;
      const h = hold(dep);
      op.blocked = h
        ? { reason: `needs ${dep}: ${h.reason}`, error: h.error }
        : { reason: `waiting for ${dep}`, error: false };
    }
  }
  for (const op of deleteOps.values()) {
    if (op.withParent !== undefined) {
      // Gone with its parent: forgotten once the parent's delete has succeeded.
      op.waitsFor.push(deleteOps.get(op.withParent) as PlanOp);
      continue;
    }
    for (const y of actual.referrersOf(op.key)) {
      // Its delete, or the update that stops it referencing this object.
      const del = deleteOps.get(y);
      if (del?.withParent === op.key) continue;
      const child = del ?? createOps.get(y);
      if (child && child !== op) op.waitsFor.push(child);
    }
  }
  return { ops };
}
