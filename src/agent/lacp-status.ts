// What the bonds of [agent] bonds look like in VPP right now: each bond's link, each member's part
// (active, standby, down, missing) and, for LACP bonds, its actor state and the partner heard on its
// link (sw_interface_lacp_dump, lacp plugin). Read-only: the agent polls it for HostStatus.bonds
// (`netvpp status`), `netvpp vpp` prints it.
import {
  sw_bond_interface_dump,
  sw_interface_dump,
  sw_interface_lacp_dump,
  sw_member_interface_dump,
} from '../vpp/binapi/index.ts';
import type { BondMemberState, BondState, LacpPartnerState } from '../model/keyspace.ts';
import type { BondConfig } from './bond-config.ts';
import { ADMIN_UP, LINK_UP, NO_INDEX } from './kinds/common.ts';
import type { VppApi } from './vpp-api.ts';

/** 802.1AX state bits. */
export const LACP_BITS = {
  activity: 1,
  timeout: 2,
  aggregation: 4,
  sync: 8,
  collecting: 16,
  distributing: 32,
  defaulted: 64,
  expired: 128,
} as const;

/** The names of the bits set in an LACP state byte, e.g. `activity,aggregation,sync`. */
export function lacpBits(state: number): string {
  return (
    Object.entries(LACP_BITS)
      .filter(([, b]) => (state & b) !== 0)
      .map(([n]) => n)
      .join(',') || '-'
  );
}

const MODE_NAMES: Record<number, string> = {
  1: 'round-robin',
  2: 'active-backup',
  3: 'xor',
  4: 'broadcast',
  5: 'lacp',
};

/**
 * The state of every bond in `bonds` (configured order); a bond VPP lacks is reported down with
 * every member missing. Null when VPP has no bond API at all.
 */
export async function readBondStates(
  vpp: Pick<VppApi, 'dump' | 'offers'>,
  bonds: ReadonlyMap<string, BondConfig>,
): Promise<BondState[] | null> {
  if (vpp.offers?.('bond') === false) return null;
  const withLacp = vpp.offers?.('lacp') !== false;
  const [found, ifs, lacp] = await Promise.all([
    vpp.dump(sw_bond_interface_dump, { sw_if_index: NO_INDEX }),
    vpp.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    withLacp ? vpp.dump(sw_interface_lacp_dump, {}) : Promise.resolve([]),
  ]);
  const flags = new Map(ifs.map((d) => [d.interface_name, d.flags]));
  const lacpOf = new Map(lacp.map((l) => [l.interface_name, l]));
  const out: BondState[] = [];
  for (const cfg of bonds.values()) {
    const b = found.find((x) => x.interface_name === cfg.name);
    const members = b ? await vpp.dump(sw_member_interface_dump, { sw_if_index: b.sw_if_index }) : [];
    const isLacp = b ? b.mode === 5 : cfg.mode === 'lacp';
    const names = [
      ...cfg.members,
      ...members.map((m) => m.interface_name).filter((n) => !cfg.members.includes(n)),
    ];
    out.push({
      name: cfg.name,
      mode: b ? (MODE_NAMES[b.mode] ?? String(b.mode)) : cfg.mode,
      up: b !== undefined && ((flags.get(cfg.name) ?? 0) & LINK_UP) !== 0,
      members: names.map((name): BondMemberState => {
        if (!members.some((m) => m.interface_name === name)) return { name, state: 'missing' };
        const f = flags.get(name) ?? 0;
        const linked = (f & ADMIN_UP) !== 0 && (f & LINK_UP) !== 0;
        const l = lacpOf.get(name);
        if (!isLacp || !l) {
          // Without LACP a member with link is active, except active-backup's backups, which VPP
          // does not tell apart from the active one in its dumps.
          return { name, state: linked ? 'active' : 'down' };
        }
        const collecting = (l.actor_state & (LACP_BITS.collecting | LACP_BITS.distributing)) !== 0;
        const heard =
          (l.actor_state & (LACP_BITS.defaulted | LACP_BITS.expired)) === 0 && l.partner_state !== 0;
        const partner: LacpPartnerState | null = heard
          ? {
              system: l.partner_system,
              system_priority: l.partner_system_priority,
              key: l.partner_key,
              port: l.partner_port_number,
              state: l.partner_state,
            }
          : null;
        return {
          name,
          state: !linked ? 'down' : collecting ? 'active' : 'standby',
          actor_state: l.actor_state,
          partner,
        };
      }),
    });
  }
  return out;
}

/** Every bond VPP has (netvpp's or not), as readBondStates reads them: for `netvpp vpp`. */
export async function readAllBondStates(vpp: Pick<VppApi, 'dump' | 'offers'>): Promise<BondState[]> {
  if (vpp.offers?.('bond') === false) return [];
  const found = await vpp.dump(sw_bond_interface_dump, { sw_if_index: NO_INDEX });
  const all = new Map<string, BondConfig>(
    found.map((b) => [
      b.interface_name,
      {
        name: b.interface_name,
        id: b.id,
        members: [],
        mode: 'lacp',
        lb: 'l2',
        passive: false,
        longTimeout: false,
      },
    ]),
  );
  return (await readBondStates(vpp, all)) ?? [];
}

/** A bond as `netvpp status` and `netvpp vpp` print it: one line for it, one per member. */
export function formatBond(b: BondState, indent = '  '): string[] {
  const lines = [`${indent}${b.name} (${b.mode}) ${b.up ? 'up' : 'down'}`];
  for (const m of b.members) {
    const lacp =
      m.actor_state === undefined
        ? ''
        : `  actor ${lacpBits(m.actor_state)}; ` +
          (m.partner
            ? `partner ${m.partner.system} key ${m.partner.key} port ${m.partner.port} ${lacpBits(m.partner.state)}`
            : 'no partner heard');
    lines.push(`${indent}  ${m.name.padEnd(24)} ${m.state.padEnd(8)}${lacp}`);
  }
  return lines;
}
