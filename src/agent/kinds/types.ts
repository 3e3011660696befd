// What a kind descriptor is: everything the engine needs to know about one kind of VPP object, so
// that the engine (actual state, read-back, diff, apply) never asks what kind an object is.
import type { MessageDef } from '../../vpp/codec/index.ts';
import type { Args } from '../../vpp/client.ts';
import type { GroupName } from '../../vpp/groups.ts';
import type { HostNet } from '../host-net.ts';
import type { VppApi } from '../vpp-api.ts';
import type { ActualState } from '../engine/actual.ts';
import type { BondConfig } from '../bond-config.ts';
import type { ObjKind } from './index.ts';

/** Every object of the graph: a kind, a stable key, and the kind's own attributes. */
export interface ObjectBase {
  kind: string;
  key: string;
}

export type Change = 'same' | 'update' | 'replace';

/** The numbering a handle belongs to (two kinds with the same space share one index map). */
export type HandleSpace =
  'sw_if_index' | 'bd_id' | 'acl_index' | 'macip_acl_index' | 'table_id' | 'policer_index';

/**
 * How netvpp knows an object is its own:
 * - `tag`: VPP stores netvpp's tag on it (an object without the tag is never touched);
 * - `operator`: the operator's, found by name from the configuration; never created or deleted;
 * - `setting`: a setting of another object (`parentOf`), read back from that object;
 * - `identity`: VPP can't tag it, so it is netvpp's by a name or an identity only netvpp gives
 *   (LISP: the locator set `netvpp`, EID-table maps of netvpp's bridges and the EIDs in their VNIs).
 */
export type Ownership = 'tag' | 'operator' | 'setting' | 'identity';

export interface OpContext {
  vpp: VppApi;
  actual: ActualState;
  hostNet: HostNet;
}

/** What read-back gives a kind: memoised dumps (kinds share them) and the configuration. */
export interface ReadSource {
  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R[]>;
  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R>;
  /** physnet → uplink interface name. */
  physnets: ReadonlyMap<string, string>;
  /** This host's VTEP address ([vxlan] local_ip), null without one. */
  vtep: string | null;
  /** The VPP interface that carries the underlay ([vxlan] underlay_interface), if the agent manages it. */
  underlay: string | null;
  /** [agent] bonds, by name (an untagged bond of a configured name is netvpp's). */
  bonds?: ReadonlyMap<string, BondConfig>;
}

/** Where a kind's decode records what it found. */
export interface ReadSink {
  readonly actual: ActualState;
  /**
   * Records an object found in VPP. A second object with the same key (two bridges with one tag)
   * gets a key of its own, `<key>#<handle>`, which nothing desires: diff deletes it. Returns the key used.
   */
  add<O extends ObjectBase>(obj: O, handle?: number): string;
}

/** Decodes what a kind's dumps returned; run after the kinds the descriptor reads after. */
export type Decode = (sink: ReadSink) => void;

/** Interface kinds (handle space sw_if_index): how VPP's interface events and re-reads affect them. */
export interface InterfaceBehaviour<O extends ObjectBase> {
  /** The admin state the agent believes the interface has. */
  adminUp(o: O, actual: ActualState): boolean;
  /** Whether a fresh sw_interface_details (same index) is still this object (not a reused index). */
  same(o: O, details: { tag: string; interface_name: string }): boolean;
  /** Takes in the admin state VPP reports; returns a warning to log when it was changed behind us. */
  observe(o: O, adminUp: boolean, actual: ActualState): string | undefined;
}

export interface KindDescriptor<O extends ObjectBase> {
  readonly kind: O['kind'];
  readonly ownership: Ownership;
  /** The numbering of the object's VPP handle, for kinds that have one. */
  readonly handle?: HandleSpace;
  /** Key prefixes that belong to one port (`<prefix><port id>`), for per-port freezing and reports. */
  readonly portKeyPrefixes?: readonly string[];
  /** Keys that must exist first (references and ordering-only prerequisites). */
  deps(o: O): string[];
  /** Keys VPP itself references (what must outlive the object); default: deps. */
  refs?(o: O): string[];
  /** `setting` kinds: the key of the object this is a setting of. */
  parentOf?(o: O): string;
  /**
   * VPP removes the object together with its parent: deleting the parent needs no call for it first
   * (it is forgotten once the parent is gone).
   */
  readonly goesWithParent?: boolean;
  /**
   * `setting` kinds VPP takes only once their interface's link is up (a vhost-user guest connected):
   * true for an object the kind recorded as waiting, without a call. The actual state forgets it when
   * that link comes up, so the next pass applies it.
   */
  waitsForLink?(o: O): boolean;
  /** How `actual` must change to become `desired`; only what VPP reports back is compared. */
  compare(desired: O, actual: O): Change;
  create(o: O, ctx: OpContext): Promise<void>;
  /** Changes the object in place; absent: every difference is a replace (delete + create). */
  update?(desired: O, actual: O, ctx: OpContext): Promise<void>;
  /** Deletes it from VPP (its referrers are gone or changed already). */
  delete(o: O, ctx: OpContext): Promise<void>;
  /** VPP API message groups the kind needs (src/vpp/groups.ts): on a VPP without one, it has none. */
  readonly needs?: readonly GroupName[];
  /** Read-back: sends the kind's dumps, returns how to decode them. */
  read(src: ReadSource): Promise<Decode>;
  /** Kinds whose read-back must be decoded before this one's (e.g. the interfaces a setting is of). */
  readonly readAfter?: readonly ObjKind[];
  readonly iface?: InterfaceBehaviour<O>;
}

/** An error on an object that retrying the same call will not fix by itself. */
export class ObjectError extends Error {
  override name = 'ObjectError';
}
