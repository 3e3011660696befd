// The bonds part of keyspace v1: what an agent reports of its bonded uplinks ([agent] bonds) in
// HostState.status.bonds (docs/bonds.md, docs/keyspace.md). keyspace.ts re-exports it and owns the
// key these values live at.
import { arrayOf, bool, type Check, int, literal, mac, nullable, obj, str } from './validate.ts';

export const BOND_MEMBER_STATES = ['active', 'standby', 'down', 'missing'] as const;
/**
 * A member's part in its bond: `active` collects and distributes traffic; `standby` has link but
 * does not (LACP: no partner in sync with it; active-backup: a backup); `down` has no link (or is
 * admin down); `missing` is not a member in VPP (the interface does not exist, or failed to join).
 */
export type BondMemberStateName = (typeof BOND_MEMBER_STATES)[number];

/** What the LACP partner of a member says in its LACPDUs (sw_interface_lacp_dump). */
export interface LacpPartnerState {
  /** Partner system id (a MAC) and priority, key and port number. */
  system: string;
  system_priority: number;
  key: number;
  port: number;
  /** Partner's state bits (802.1AX: activity 1, timeout 2, aggregation 4, sync 8, collecting 16, distributing 32, defaulted 64, expired 128). */
  state: number;
}

export interface BondMemberState {
  name: string;
  state: BondMemberStateName;
  /** LACP bonds: the member's own actor state bits (as `LacpPartnerState.state`). */
  actor_state?: number;
  /** LACP bonds: the partner heard on the member's link; null when none is (defaulted or expired). */
  partner?: LacpPartnerState | null;
}

export interface BondState {
  /** BondEthernet<id>. */
  name: string;
  mode: string;
  /** The bond's link (up while it has an active member and is admin up). */
  up: boolean;
  members: BondMemberState[];
}

const u16 = int(0, 0xffff);
const lacpPartnerSchema: Check<LacpPartnerState> = obj<LacpPartnerState>({
  system: mac,
  system_priority: u16,
  key: u16,
  port: u16,
  state: int(0, 255),
});

const bondMemberStateSchema: Check<BondMemberState> = obj<BondMemberState>({
  name: str({ min: 1, max: 63 }),
  state: literal(...BOND_MEMBER_STATES),
  actor_state: (v, path, errs) => (v === undefined ? undefined : int(0, 255)(v, path, errs)),
  partner: (v, path, errs) => (v === undefined ? undefined : nullable(lacpPartnerSchema)(v, path, errs)),
});

export const bondStateSchema: Check<BondState> = obj<BondState>({
  name: str({ min: 1, max: 63 }),
  mode: str({ max: 32 }),
  up: bool,
  members: arrayOf(bondMemberStateSchema, { max: 64 }),
});
