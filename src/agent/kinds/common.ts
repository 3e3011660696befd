// Small things several kind modules share: netvpp's tag, VPP constants, handle lookups.
import {
  create_loopback,
  IfStatusFlags,
  sw_interface_dump,
  type SwInterfaceDetails,
  sw_interface_set_flags,
  sw_interface_tag_add_del,
} from '../../vpp/binapi/index.ts';
import { ObjectError, type OpContext } from './types.ts';
import type { VppObject } from './index.ts';

export const TAG_PREFIX = 'netvpp:';
export const NO_INDEX = 0xffffffff;
export const ADMIN_UP = IfStatusFlags.IF_STATUS_API_FLAG_ADMIN_UP;
export const LINK_UP = IfStatusFlags.IF_STATUS_API_FLAG_LINK_UP;

export function tagOf(key: string): string {
  return TAG_PREFIX + key;
}

/** The key a VPP tag names, or null when the tag is not netvpp's. */
export function keyFromTag(tag: string): string | null {
  return tag.startsWith(TAG_PREFIX) ? tag.slice(TAG_PREFIX.length) : null;
}

/** A key as VPP's tag names it: without the `#<handle>` a duplicate found in VPP is given. */
export function baseKey(key: string): string {
  return key.replace(/#\d+$/, '');
}

/** The VPP handle of an object the op needs, which must be in VPP by now. */
export function need(ctx: OpContext, key: string): number {
  const h = ctx.actual.handle(key);
  if (h === undefined) throw new ObjectError(`${key} is not in VPP`);
  return h;
}

export function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** The port whose interface key this is (`port:<id>`, a trunk sub-port's `subport:<id>`), else undefined. */
export function portOfIface(ifaceKey: string): string | undefined {
  if (ifaceKey.startsWith('port:')) return ifaceKey.slice(5);
  return ifaceKey.startsWith('subport:') ? ifaceKey.slice(8) : undefined;
}

/**
 * An interface adopted from VPP without netvpp's tag (found by its name) gets the tag; returns the
 * record now in the actual state (the one to compare the rest of the object with).
 */
export async function tagAdopted<T extends VppObject & { untagged?: true }>(
  o: T,
  ctx: OpContext,
): Promise<T> {
  const idx = need(ctx, o.key);
  const cur = ctx.actual.get(o.key) as T;
  if (!cur.untagged) return cur;
  await ctx.vpp.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: idx, tag: tagOf(o.key) });
  const { untagged: _, ...tagged } = cur;
  ctx.actual.set(tagged as T, idx);
  return tagged as T;
}

/** Sets the interface admin up or down as `o` wants, where `cur` (the actual record) differs. */
export async function settleAdmin<T extends VppObject & { adminUp: boolean }>(
  o: T,
  cur: T,
  ctx: OpContext,
): Promise<void> {
  if (cur.adminUp === o.adminUp) return;
  const idx = need(ctx, o.key);
  await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: idx, flags: o.adminUp ? ADMIN_UP : 0 });
  ctx.actual.set({ ...cur, adminUp: o.adminUp } as T, idx);
}

/**
 * A loopback with MAC `mac`: the untagged one a crash between create and tag left behind (adopted,
 * its details returned as `left`), else a new one.
 */
export async function adoptOrCreateLoopback(
  mac: string,
  ctx: OpContext,
): Promise<{ sw_if_index: number; left: SwInterfaceDetails | undefined }> {
  const ifs = await ctx.vpp.dump(sw_interface_dump, { sw_if_index: NO_INDEX });
  const left = ifs.find(
    (d) =>
      d.tag === '' &&
      d.interface_dev_type === 'Loopback' &&
      d.sw_if_index === d.sup_sw_if_index &&
      d.l2_address.toLowerCase() === mac.toLowerCase(),
  );
  const sw_if_index =
    left?.sw_if_index ?? (await ctx.vpp.request(create_loopback, { mac_address: mac })).sw_if_index;
  return { sw_if_index, left };
}
