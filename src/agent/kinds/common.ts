// Small things several kind modules share: netvpp's tag, VPP constants, handle lookups.
import { IfStatusFlags } from '../../vpp/binapi/index.ts';
import { ObjectError, type OpContext } from './types.ts';

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
