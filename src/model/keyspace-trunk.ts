// The trunk part of keyspace v1 (docs/trunks.md): what a trunk sub-port's binding says of its
// trunk. A sub-port is bound like any port (`nodes/<host>/ports/<port_id>`, on its parent's host),
// with vif_type `subport` and these details instead of an interface of its own. keyspace.ts
// re-exports this module and owns the key.
import { type Check, int, literal, obj, uuid } from './validate.ts';

/** Neutron's segmentation types netvpp trunks carry (sub-interfaces with one 802.1Q tag). */
export type SegmentationType = 'vlan';
export const SEGMENTATION_TYPES: readonly SegmentationType[] = ['vlan'];
/** A sub-port's VLAN id: 1..4094 (0 is a priority tag, 4095 reserved). */
export const MAX_SUBPORT_VLAN = 4094;

/** PortBinding.subport: the trunk a sub-port belongs to, its parent port and its VLAN on it. */
export interface SubportDetails {
  trunk_id: string;
  /** The trunk's parent port, bound on the same host: its VPP interface carries the VLAN. */
  parent_port_id: string;
  segmentation_type: SegmentationType;
  /** The 802.1Q VLAN id the sub-port's frames carry on the parent's interface. */
  segmentation_id: number;
}

export const subportDetailsSchema: Check<SubportDetails> = obj<SubportDetails>({
  trunk_id: uuid,
  parent_port_id: uuid,
  segmentation_type: literal(...SEGMENTATION_TYPES),
  segmentation_id: int(1, MAX_SUBPORT_VLAN),
});
