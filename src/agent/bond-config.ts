// [agent] bonds: the bond interfaces the agent makes in VPP from members the operator names (a
// physnet's interface in `physnets` may be one of them). One place parses and checks them; the bond
// and bondmember kinds (src/agent/kinds/) make them, docs/bonds.md describes them.
//
//   bonds = BondEthernet0:GigabitEthernet0/8/0+GigabitEthernet0/9/0:lacp:l34,
//           BondEthernet1:host-eth2+host-eth3:active-backup
//
// Each bond: its VPP name (BondEthernet<id>: VPP names a bond by its id), its members joined by `+`,
// then in any order its mode (lacp, the default; active-backup; xor), its load balancing (l2, the
// default; l23; l34: lacp and xor only), and for LACP `passive` and `long-timeout`.

/** Bond modes as bond_create2 numbers them (vl_api_bond_mode_t). */
export const BOND_MODES = { 'active-backup': 2, xor: 3, lacp: 5 } as const;
/** Load balancing as bond_create2 numbers it (vl_api_bond_lb_algo_t). */
export const BOND_LBS = { l2: 0, l34: 1, l23: 2 } as const;
/** What VPP reports for an active-backup bond's load balancing (BOND_LB_AB). */
export const LB_ACTIVE_BACKUP = 5;

export type BondMode = keyof typeof BOND_MODES;
export type BondLb = keyof typeof BOND_LBS;

export interface BondConfig {
  /** `BondEthernet<id>`, VPP's name for it. */
  name: string;
  id: number;
  /** VPP interface names of its members, in the order they join. */
  members: string[];
  mode: BondMode;
  lb: BondLb;
  /** LACP: wait for the partner to speak first (bond_add_member is_passive). */
  passive: boolean;
  /** LACP: 90 s partner timeout instead of 3 s (is_long_timeout; failover is slower). */
  longTimeout: boolean;
}

const NAME = /^BondEthernet(\d{1,9})$/;

/** Parses `[agent] bonds`; problems are added to `problems` naming `where`. */
export function parseBonds(s: string, problems: string[], where = 'bonds'): Map<string, BondConfig> {
  const out = new Map<string, BondConfig>();
  const memberOf = new Map<string, string>();
  for (const part of s.split(/[,\n]/)) {
    const item = part.trim();
    if (item === '') continue;
    const [name = '', members = '', ...opts] = item.split(':').map((x) => x.trim());
    const m = NAME.exec(name);
    if (!m) {
      problems.push(
        `${where}: ${JSON.stringify(item)}: a bond is named BondEthernet<number> (VPP names bonds by id), ` +
          `as in BondEthernet0:GigabitEthernet0/8/0+GigabitEthernet0/9/0:lacp:l34`,
      );
      continue;
    }
    if (out.has(name)) {
      problems.push(`${where}: bond ${name} is listed twice`);
      continue;
    }
    const list = members
      .split('+')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    let bad = list.length === 0 ? `bond ${name} has no members (members are joined by +)` : '';
    for (const x of list) {
      if (bad) break;
      if (x.length > 63) bad = `member ${JSON.stringify(x)} of ${name} is longer than VPP's 63 characters`;
      else if (NAME.test(x)) bad = `member ${x} of ${name} is a bond (VPP does not nest bonds)`;
      else if (memberOf.has(x)) bad = `${x} is a member of both ${memberOf.get(x)} and ${name}`;
      else if (list.indexOf(x) !== list.lastIndexOf(x)) bad = `${x} is listed twice in ${name}`;
    }
    const cfg: BondConfig = {
      name,
      id: Number(m[1]),
      members: list,
      mode: 'lacp',
      lb: 'l2',
      passive: false,
      longTimeout: false,
    };
    let lbSet = false;
    for (const o of opts) {
      if (bad) break;
      const w = o.toLowerCase();
      if (w in BOND_MODES) cfg.mode = w as BondMode;
      else if (w in BOND_LBS) {
        cfg.lb = w as BondLb;
        lbSet = true;
      } else if (w === 'passive') cfg.passive = true;
      else if (w === 'long-timeout') cfg.longTimeout = true;
      else
        bad =
          `${name}: unknown ${JSON.stringify(o)} (modes: ${Object.keys(BOND_MODES).join(', ')}; ` +
          `load balancing: ${Object.keys(BOND_LBS).join(', ')}; passive; long-timeout)`;
    }
    if (!bad && lbSet && cfg.mode === 'active-backup')
      bad = `${name}: load balancing is for lacp and xor bonds, not active-backup`;
    if (!bad && (cfg.passive || cfg.longTimeout) && cfg.mode !== 'lacp')
      bad = `${name}: passive and long-timeout are LACP settings (mode lacp)`;
    if (bad) {
      problems.push(`${where}: ${bad}`);
      continue;
    }
    for (const x of list) memberOf.set(x, name);
    out.set(name, cfg);
  }
  return out;
}

/** Checks the bonds against the other interfaces the agent is told about. */
export function checkBondUse(
  bonds: ReadonlyMap<string, BondConfig>,
  physnets: ReadonlyMap<string, string>,
  underlay: string | undefined,
  where: { bonds: string; physnets: string; underlay: string },
  problems: string[],
): void {
  const memberOf = new Map<string, string>();
  for (const b of bonds.values()) for (const m of b.members) memberOf.set(m, b.name);
  for (const [physnet, ifname] of physnets) {
    const bond = memberOf.get(ifname);
    if (bond !== undefined)
      problems.push(
        `${where.physnets}: physnet ${physnet} names ${ifname}, a member of ${bond}: name the bond instead`,
      );
  }
  if (underlay === undefined || underlay === '') return;
  if (memberOf.has(underlay))
    problems.push(`${where.underlay}: ${underlay} is a member of bond ${memberOf.get(underlay)}`);
  else if (bonds.has(underlay))
    problems.push(
      `${where.underlay}: ${underlay} is a bond; a VXLAN underlay on a bond is not supported yet`,
    );
}
