// bondmember:<interface> — an operator's interface as a member of one of netvpp's bonds, admin up.
// The interface is found by name and never created or deleted: the object is its membership
// (bond_add_member, bond_detach_member) and its admin state. A setting of its bond: VPP detaches
// every member when the bond is deleted.
//
// Its LACP state (partner, collecting/distributing) is not desired state: the agent reads it with
// sw_interface_lacp_dump for its status (src/agent/lacp-status.ts).
import {
  bond_add_member,
  bond_detach_member,
  sw_bond_interface_dump,
  sw_interface_dump,
  sw_interface_set_flags,
  sw_member_interface_dump,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import type { BondConfig } from '../bond-config.ts';
import { bondKey } from './bond.ts';
import { ADMIN_UP, need, NO_INDEX } from './common.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface BondMemberObj {
  kind: 'bondmember';
  key: string;
  /** The member's VPP interface name. */
  name: string;
  /** Its bond's key. */
  bond: string;
  passive: boolean;
  longTimeout: boolean;
  adminUp: boolean;
}

export const bondMemberKey = (name: string): string => `bondmember:${name}`;

const VALUE_EXIST = -81;

/** The membership objects of a configured bond. */
export function bondMemberObjects(b: BondConfig): BondMemberObj[] {
  return b.members.map((name) => ({
    kind: 'bondmember',
    key: bondMemberKey(name),
    name,
    bond: bondKey(b.name),
    passive: b.passive,
    longTimeout: b.longTimeout,
    adminUp: true,
  }));
}

async function setUp(o: BondMemberObj, idx: number, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: idx, flags: o.adminUp ? ADMIN_UP : 0 });
  ctx.actual.set({ ...o }, idx);
}

export const bondmember: KindDescriptor<BondMemberObj> = {
  kind: 'bondmember',
  ownership: 'setting',
  handle: 'sw_if_index',
  needs: ['bond'],
  deps: (o) => [o.bond],
  parentOf: (o) => o.bond,
  goesWithParent: true,
  compare(d, a) {
    if (a.bond !== d.bond || a.passive !== d.passive || a.longTimeout !== d.longTimeout) return 'replace';
    return a.adminUp === d.adminUp ? 'same' : 'update';
  },
  async create(o, ctx) {
    const bondIdx = need(ctx, o.bond);
    const found = await ctx.vpp.dump(sw_interface_dump, {
      sw_if_index: NO_INDEX,
      name_filter_valid: true,
      name_filter: o.name,
    });
    const d = found.find((x) => x.interface_name === o.name);
    if (!d) throw new ObjectError(`bond member ${o.name} of ${o.bond.slice(5)} does not exist in VPP`);
    try {
      await ctx.vpp.request(bond_add_member, {
        sw_if_index: d.sw_if_index,
        bond_sw_if_index: bondIdx,
        is_passive: o.passive,
        is_long_timeout: o.longTimeout,
      });
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === VALUE_EXIST)) throw e;
      // Already a member: of this bond since our read-back (a timed-out add), or of another.
      const mine = await ctx.vpp.dump(sw_member_interface_dump, { sw_if_index: bondIdx });
      if (!mine.some((m) => m.sw_if_index === d.sw_if_index))
        throw new ObjectError(`${o.name} is a member of another bond; netvpp will not move it`);
    }
    ctx.actual.set({ ...o, adminUp: (d.flags & ADMIN_UP) !== 0 }, d.sw_if_index);
    if (((d.flags & ADMIN_UP) !== 0) !== o.adminUp) await setUp(o, d.sw_if_index, ctx);
  },
  update: (d, _a, ctx) => setUp(d, need(ctx, d.key), ctx),
  async delete(o, ctx) {
    // The interface stays (the operator's), admin state as it is; only its membership goes.
    await ctx.vpp.request(bond_detach_member, { sw_if_index: need(ctx, o.key) });
  },
  readAfter: ['bond'],
  async read(src) {
    const [bonds, ifs] = await Promise.all([
      src.dump(sw_bond_interface_dump, { sw_if_index: NO_INDEX }),
      src.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    ]);
    const members = await Promise.all(
      bonds.map(async (b) => ({
        bond: b.sw_if_index,
        members: await src.dump(sw_member_interface_dump, { sw_if_index: b.sw_if_index }),
      })),
    );
    return (sink) => {
      const flags = new Map(ifs.map((d) => [d.sw_if_index, d.flags]));
      for (const { bond, members: ms } of members) {
        const bondKeyFound = sink.actual.keyOfHandle('sw_if_index', bond);
        if (bondKeyFound === undefined) continue; // not netvpp's bond
        for (const m of ms) {
          sink.add(
            {
              kind: 'bondmember',
              key: bondMemberKey(m.interface_name),
              name: m.interface_name,
              bond: bondKeyFound,
              passive: m.is_passive,
              longTimeout: m.is_long_timeout,
              adminUp: ((flags.get(m.sw_if_index) ?? 0) & ADMIN_UP) !== 0,
            } satisfies BondMemberObj,
            m.sw_if_index,
          );
        }
      }
    };
  },
  iface: {
    adminUp: (o) => o.adminUp,
    same: (o, d) => o.name === d.interface_name,
    observe(o, adminUp, actual) {
      if (o.adminUp !== adminUp) actual.set({ ...o, adminUp }, actual.handle(o.key));
      return undefined;
    },
  },
};
