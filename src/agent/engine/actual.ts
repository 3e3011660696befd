// actual: what VPP holds, in the same object shapes compile produces. Read with dumps at start and after
// a VPP restart (or a write whose outcome is unknown), then kept up to date from the agent's own
// successful calls (and interface events). Only objects netvpp owns (by tag, by configured name, or as a
// setting of one of those) are recorded: everything else in VPP is invisible to diff, so it is never
// changed or deleted. Kind-blind: what a kind is, its descriptor says.
import type { Args } from '../../vpp/client.ts';
import type { MessageDef } from '../../vpp/codec/index.ts';
import { sw_interface_dump } from '../../vpp/binapi/index.ts';
import {
  ALL_KINDS,
  LINK_UP,
  NO_INDEX,
  descriptorOf,
  descriptorOfKind,
  refsOf,
  type ObjKind,
  type VppObject,
} from '../kinds/index.ts';
import type { HandleSpace, ObjectBase, Ownership, ReadSink, ReadSource } from '../kinds/types.ts';
import { groupOfMessage, type GroupName } from '../../vpp/groups.ts';
import type { VppApi } from '../vpp-api.ts';
import type { BondConfig } from '../bond-config.ts';

export { NO_INDEX };

export class ActualState {
  readonly objects = new Map<string, VppObject>();
  /** sw_if_index (interfaces), bd_id (bridge domains), ACL index (ACLs and MAC-IP ACLs). */
  readonly handles = new Map<string, number>();
  /** Per handle space: handle → key. */
  private readonly byHandle = new Map<HandleSpace, Map<number, string>>();
  /** Per handle space: every handle VPP uses, ours or not (new objects that pick their id avoid them). */
  private readonly takenHandles = new Map<HandleSpace, Set<number>>();
  /** Link state by sw_if_index, from dumps and interface events (changed with setLink). */
  private readonly links = new Map<number, boolean>();
  /** key → keys of the objects that reference it. */
  private readonly referrers = new Map<string, Set<string>>();
  /** key → keys of the objects that are settings of it. */
  private readonly settings = new Map<string, Set<string>>();
  /** Keys recorded or forgotten since the last takeTouched(), with the keys they referenced or reference. */
  private touched = new Set<string>();
  /** sw_if_indexes whose link state changed since the last takeLinkChanges(). */
  private linkChanged = new Set<number>();
  /** Settings waiting for their link, released by its coming up (see setLink). */
  private readonly released = new Set<string>();

  get(key: string): VppObject | undefined {
    return this.objects.get(key);
  }

  handle(key: string): number | undefined {
    return this.handles.get(key);
  }

  /** The key of the object of ours with this handle. */
  keyOfHandle(space: HandleSpace, handle: number): string | undefined {
    return this.byHandle.get(space)?.get(handle);
  }

  /** sw_if_index → interface key (for events). */
  get keyByIf(): ReadonlyMap<number, string> {
    return this.space('sw_if_index');
  }

  /** Every handle of this space VPP is known to use (a kind that picks its own ids adds to it). */
  taken(space: HandleSpace): Set<number> {
    let s = this.takenHandles.get(space);
    if (!s) this.takenHandles.set(space, (s = new Set()));
    return s;
  }

  /** How the object under `key` is owned, if it is known. */
  ownershipOf(key: string): Ownership | undefined {
    const o = this.objects.get(key);
    return o ? descriptorOf(o).ownership : undefined;
  }

  private space(space: HandleSpace): Map<number, string> {
    let m = this.byHandle.get(space);
    if (!m) this.byHandle.set(space, (m = new Map()));
    return m;
  }

  /**
   * What changed since the last call: keys set or removed, and the keys their old and new versions
   * reference (whose being "used by a frozen object" may have changed with them).
   */
  takeTouched(): Set<string> {
    const t = this.touched;
    this.touched = new Set();
    return t;
  }

  /**
   * Records an interface's link state (from a dump or an event). A link that comes up releases the
   * interface's settings that were waiting for it (their kind's waitsForLink): the next pass forgets
   * them first (releaseWaiting), and so applies them. Returns whether any was released.
   */
  setLink(swIfIndex: number, up: boolean): boolean {
    const was = this.links.get(swIfIndex);
    if (was !== up) this.linkChanged.add(swIfIndex);
    this.links.set(swIfIndex, up);
    if (!up || was === true) return false;
    const key = this.keyOfHandle('sw_if_index', swIfIndex);
    let released = false;
    for (const s of key === undefined ? [] : (this.settings.get(key) ?? [])) {
      const o = this.objects.get(s);
      if (o && descriptorOf(o).waitsForLink?.(o as never)) {
        this.released.add(s);
        released = true;
      }
    }
    return released;
  }

  /**
   * Forgets the waiting settings whose link has come up since (see setLink), as a pass starts: they
   * are out of sync from here on, so the pass applies them.
   */
  releaseWaiting(): void {
    for (const k of this.released) {
      const o = this.objects.get(k);
      if (o && descriptorOf(o).waitsForLink?.(o as never)) this.remove(k);
    }
    this.released.clear();
  }

  get linkUp(): ReadonlyMap<number, boolean> {
    return this.links;
  }

  /** Interfaces whose link state changed since the last call. */
  takeLinkChanges(): Set<number> {
    const c = this.linkChanged;
    this.linkChanged = new Set();
    return c;
  }

  /** `keys` and every key the VPP objects among them reference, transitively. */
  closure(...keys: Iterable<string>[]): Set<string> {
    const out = new Set<string>();
    for (const ks of keys) for (const k of ks) out.add(k);
    // A Set's iteration also visits what is added during it.
    for (const k of out) {
      const o = this.objects.get(k);
      if (o) for (const r of refsOf(o)) out.add(r);
    }
    return out;
  }

  /** Records an object (and its handle, for objects that have one; undefined keeps the one it has). */
  set(obj: VppObject, handle?: number): void {
    const old = this.objects.get(obj.key);
    this.touched.add(obj.key);
    if (old) this.unlink(old);
    this.objects.set(obj.key, obj);
    const d = descriptorOf(obj);
    for (const r of refsOf(obj)) {
      this.touched.add(r);
      let s = this.referrers.get(r);
      if (!s) this.referrers.set(r, (s = new Set()));
      s.add(obj.key);
    }
    if (d.parentOf) {
      const p = d.parentOf(obj);
      let s = this.settings.get(p);
      if (!s) this.settings.set(p, (s = new Set()));
      s.add(obj.key);
    }
    if (handle !== undefined && d.handle) {
      const prev = this.handles.get(obj.key);
      if (prev !== undefined && prev !== handle) this.forgetHandle(d.handle, obj.key, prev);
      this.handles.set(obj.key, handle);
      this.space(d.handle).set(handle, obj.key);
      this.taken(d.handle).add(handle);
    }
  }

  /** Forgets an object (it was deleted from VPP). */
  remove(key: string): void {
    const obj = this.objects.get(key);
    if (!obj) return;
    this.touched.add(key);
    this.unlink(obj);
    this.objects.delete(key);
    const d = descriptorOf(obj);
    const h = this.handles.get(key);
    if (h !== undefined && d.handle) this.forgetHandle(d.handle, key, h);
    this.handles.delete(key);
  }

  /**
   * Forgets an object and the settings VPP drops with it: all of them when it vanished behind the
   * agent's back (`all`), else those whose descriptor says they go with their parent.
   */
  removeWithSettings(key: string, all: boolean): void {
    for (const s of [...(this.settings.get(key) ?? [])]) {
      const o = this.objects.get(s);
      if (o && (all || descriptorOf(o).goesWithParent)) this.removeWithSettings(s, all);
    }
    this.remove(key);
  }

  private forgetHandle(space: HandleSpace, key: string, h: number): void {
    const m = this.space(space);
    if (m.get(h) === key) m.delete(h);
    this.taken(space).delete(h);
    if (space === 'sw_if_index' && this.links.delete(h)) this.linkChanged.add(h);
  }

  private unlink(obj: VppObject): void {
    for (const r of refsOf(obj)) {
      this.referrers.get(r)?.delete(obj.key);
      this.touched.add(r);
    }
    const d = descriptorOf(obj);
    if (d.parentOf) this.settings.get(d.parentOf(obj))?.delete(obj.key);
  }

  /** Keys of the objects that reference `key` in VPP (they must go or change before it can be deleted). */
  referrersOf(key: string): string[] {
    return [...(this.referrers.get(key) ?? [])];
  }

  /** An interface vanished from VPP (deleted behind our back): drop it and what hung off it. */
  interfaceGone(swIfIndex: number): string | undefined {
    const key = this.keyByIf.get(swIfIndex);
    if (this.links.delete(swIfIndex)) this.linkChanged.add(swIfIndex);
    if (!key) return undefined;
    this.removeWithSettings(key, true);
    return key;
  }
}

export interface ReadActualOptions {
  /** physnet → uplink interface name. */
  physnets: ReadonlyMap<string, string>;
  /** This host's VTEP and the underlay interface the agent manages (see ReadSource). */
  vtep?: string | null;
  underlay?: string | null;
  /** [agent] bonds (see ReadSource). */
  bonds?: ReadonlyMap<string, BondConfig>;
  /** Only these kinds (default: all). */
  kinds?: readonly ObjKind[];
}

/**
 * Reads every object netvpp owns from VPP: every kind's dumps are sent at once (kinds that need the
 * same dump share one), then decoded in the order the descriptors' readAfter gives.
 */
export async function readActual(vpp: VppApi, opts: ReadActualOptions): Promise<ActualState> {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(what: string, args: unknown, call: () => Promise<T>): Promise<T> => {
    const k = `${what} ${JSON.stringify(args)}`;
    let p = memo.get(k) as Promise<T> | undefined;
    if (!p) memo.set(k, (p = call()));
    return p;
  };
  // A VPP without a plugin has none of its objects: its dumps are empty, the kinds needing it skipped.
  const offered = (group: GroupName | undefined) => group === undefined || vpp.offers?.(group) !== false;
  const src: ReadSource = {
    dump: <Q, R>(def: MessageDef<Q, R>, args: Args<Q>) =>
      offered(groupOfMessage(def.name))
        ? once(def.name, args, () => vpp.dump(def, args))
        : Promise.resolve([]),
    request: <Q, R>(def: MessageDef<Q, R>, args: Args<Q>) =>
      once(def.name, args, () => vpp.request(def, args)),
    physnets: opts.physnets,
    vtep: opts.vtep ?? null,
    underlay: opts.underlay ?? null,
    bonds: opts.bonds,
  };
  const kinds = (opts.kinds ?? ALL_KINDS).filter((k) => (descriptorOfKind(k).needs ?? []).every(offered));
  const decoders = await Promise.all(kinds.map((k) => descriptorOfKind(k).read(src)));
  const a = new ActualState();
  const sink: ReadSink = {
    actual: a,
    add<O extends ObjectBase>(obj: O, handle?: number): string {
      const o = obj as unknown as VppObject;
      const key = a.objects.has(o.key) ? `${o.key}#${handle ?? a.objects.size}` : o.key;
      a.set(key === o.key ? o : ({ ...o, key } as VppObject), handle);
      return key;
    },
  };
  for (const k of decodeOrder(kinds)) decoders[kinds.indexOf(k)](sink);
  // Link state of every interface, ours or not (a port's readiness may wait on it).
  for (const d of await src.dump(sw_interface_dump, { sw_if_index: NO_INDEX })) {
    a.setLink(d.sw_if_index, (d.flags & LINK_UP) !== 0);
  }
  return a;
}

/** Kinds in an order where each comes after the kinds it reads after (a cycle is a netvpp bug). */
export function decodeOrder(kinds: readonly ObjKind[]): ObjKind[] {
  const out: ObjKind[] = [];
  const state = new Map<ObjKind, 'visiting' | 'done'>();
  const visit = (k: ObjKind): void => {
    const s = state.get(k);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`kinds read after each other in a cycle, through ${k}`);
    state.set(k, 'visiting');
    for (const dep of descriptorOfKind(k).readAfter ?? [])
      if (kinds.includes(dep as ObjKind)) visit(dep as ObjKind);
    state.set(k, 'done');
    out.push(k);
  };
  for (const k of kinds) visit(k);
  return out;
}
