// bond:<name> — a bond interface of [agent] bonds (BondEthernet<id>), tagged with its key, admin up.
// Its members are the bondmember kind; a physnet that names the bond has it as its uplink (its
// VLAN sub-interfaces and flat networks' bridges hang off it).
//
// VPP makes it untagged (bond_create2, with the configured id) and the tag follows in a second
// call. A crash between the two leaves an untagged BondEthernet<id>: since the configuration names
// it, it is recognised on read-back by that identity and adopted (tagged), as is one made by hand
// with the configured mode and load balancing. One tagged by someone else is left alone (an error).
import {
  bond_create2,
  bond_delete,
  sw_bond_interface_dump,
  sw_interface_dump,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { BOND_LBS, BOND_MODES, LB_ACTIVE_BACKUP, type BondConfig } from '../bond-config.ts';
import { ADMIN_UP, baseKey, keyFromTag, need, NO_INDEX, settleAdmin, tagAdopted, tagOf } from './common.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface BondObj {
  kind: 'bond';
  key: string;
  /** BondEthernet<id>. */
  name: string;
  id: number;
  /** bond_create2's mode and lb numbers; lb as VPP reports it (active-backup: 5). */
  mode: number;
  lb: number;
  adminUp: boolean;
  /** Only on an object read back from VPP: found by its configured name, without netvpp's tag yet. */
  untagged?: true;
}

export const bondKey = (name: string): string => `bond:${name}`;

const INSTANCE_IN_USE = -147;

/** The bond object a configured bond compiles to. */
export function bondObject(b: BondConfig): BondObj {
  const mode = BOND_MODES[b.mode];
  return {
    kind: 'bond',
    key: bondKey(b.name),
    name: b.name,
    id: b.id,
    mode,
    lb: b.mode === 'active-backup' ? LB_ACTIVE_BACKUP : BOND_LBS[b.lb],
    adminUp: true,
  };
}

async function update(o: BondObj, ctx: OpContext): Promise<void> {
  const cur = await tagAdopted(o, ctx);
  await settleAdmin(o, cur, ctx);
}

/** BondEthernet<id> exists already (made since our read-back, or by hand): adopted when it can be. */
async function adopt(o: BondObj, ctx: OpContext): Promise<void> {
  const bonds = await ctx.vpp.dump(sw_bond_interface_dump, { sw_if_index: NO_INDEX });
  const b = bonds.find((x) => x.interface_name === o.name);
  const d = b ? (await ctx.vpp.dump(sw_interface_dump, { sw_if_index: b.sw_if_index }))[0] : undefined;
  let why: string | null = null;
  if (!b || !d) why = 'is not in the bond dump';
  else if (d.tag !== '') why = `is tagged ${JSON.stringify(d.tag)}`;
  else if (b.mode !== o.mode || b.lb !== o.lb)
    why = `has mode ${b.mode} and load balancing ${b.lb}, not ${o.mode} and ${o.lb}`;
  if (why !== null || !b || !d)
    throw new ObjectError(
      `${o.name} already exists in VPP and ${why ?? 'is not usable'}; netvpp will not take it over ` +
        `(delete it, or change [agent] bonds)`,
    );
  ctx.actual.set({ ...o, adminUp: (d.flags & ADMIN_UP) !== 0, untagged: true }, b.sw_if_index);
}

export const bond: KindDescriptor<BondObj> = {
  kind: 'bond',
  ownership: 'tag',
  handle: 'sw_if_index',
  needs: ['bond'],
  deps: () => [],
  compare(d, a) {
    if (a.id !== d.id || a.mode !== d.mode || a.lb !== d.lb) return 'replace';
    return !a.untagged && a.adminUp === d.adminUp ? 'same' : 'update';
  },
  async create(o, ctx) {
    try {
      const r = await ctx.vpp.request(bond_create2, {
        mode: o.mode,
        lb: o.lb === LB_ACTIVE_BACKUP ? 0 : o.lb,
        numa_only: false,
        enable_gso: false,
        use_custom_mac: false,
        id: o.id,
      });
      // Recorded before the tag: if the tag call fails, the next pass tags it (or deletes it).
      ctx.actual.set({ ...o, adminUp: false, untagged: true }, r.sw_if_index);
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === INSTANCE_IN_USE)) throw e;
      await adopt(o, ctx);
    }
    await update(o, ctx);
  },
  update: (d, _a, ctx) => update(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(bond_delete, { sw_if_index: need(ctx, o.key) });
  },
  async read(src) {
    const [bonds, ifs] = await Promise.all([
      src.dump(sw_bond_interface_dump, { sw_if_index: NO_INDEX }),
      src.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    ]);
    return (sink) => {
      const byIndex = new Map(ifs.map((d) => [d.sw_if_index, d]));
      for (const b of bonds) {
        const d = byIndex.get(b.sw_if_index);
        if (!d) continue;
        const key = keyFromTag(d.tag);
        const common = {
          kind: 'bond' as const,
          name: b.interface_name,
          id: b.id,
          mode: b.mode,
          lb: b.lb,
          adminUp: (d.flags & ADMIN_UP) !== 0,
        };
        if (key !== null && key.startsWith('bond:')) sink.add({ ...common, key }, b.sw_if_index);
        else if (d.tag === '' && src.bonds?.has(b.interface_name))
          sink.add({ ...common, key: bondKey(b.interface_name), untagged: true }, b.sw_if_index);
      }
    };
  },
  iface: {
    adminUp: (o) => o.adminUp,
    same: (o, d) => (o.untagged ? d.tag === '' : d.tag === tagOf(baseKey(o.key))),
    observe(o, adminUp, actual) {
      if (o.adminUp !== adminUp) actual.set({ ...o, adminUp }, actual.handle(o.key));
      return undefined;
    },
  },
};
