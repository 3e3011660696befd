// What the kinds of operator interfaces (a physnet's uplink, the VXLAN underlay) share: found by
// name, never created or deleted, only set admin-up; their admin state is their own field.
import { sw_interface_dump, sw_interface_set_flags } from '../../vpp/binapi/index.ts';
import type { VppObject } from './index.ts';
import { ADMIN_UP, need, NO_INDEX } from './common.ts';
import { ObjectError, type InterfaceBehaviour, type OpContext } from './types.ts';

type OperatorIface = Extract<VppObject, { kind: 'uplink' | 'underlay' }>;

export async function setOperatorUp(o: OperatorIface, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.key), flags: ADMIN_UP });
  ctx.actual.set({ ...o, adminUp: true }, need(ctx, o.key));
}

/**
 * It may appear after the agent started: looked up by name, recorded with the admin state VPP has,
 * then set up. `missing` is the error when it does not exist.
 */
export async function findOperatorIface(o: OperatorIface, ctx: OpContext, missing: string): Promise<void> {
  const found = await ctx.vpp.dump(sw_interface_dump, {
    sw_if_index: NO_INDEX,
    name_filter_valid: true,
    name_filter: o.name,
  });
  const d = found.find((x) => x.interface_name === o.name);
  if (!d) throw new ObjectError(missing);
  const adminUp = (d.flags & ADMIN_UP) !== 0;
  ctx.actual.set({ ...o, adminUp }, d.sw_if_index);
  if (!adminUp && o.adminUp) await setOperatorUp(o, ctx);
}

export function operatorIfaceBehaviour<O extends OperatorIface>(): InterfaceBehaviour<O> {
  return {
    adminUp: (o) => o.adminUp,
    same: (o, d) => o.name === d.interface_name,
    observe(o, adminUp, actual) {
      if (o.adminUp !== adminUp) actual.set({ ...o, adminUp }, actual.handle(o.key));
      return undefined;
    },
  };
}
