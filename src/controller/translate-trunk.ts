// Trunk sub-ports in a port row → the `subport` details of their binding (docs/trunks.md). A
// sub-port is translated like any port (translate.ts); only these details are its own.
import {
  MAX_SUBPORT_VLAN,
  SEGMENTATION_TYPES,
  type SegmentationType,
  type SubportDetails,
} from '../model/keyspace.ts';
import type { NeutronPort } from './neutron.ts';
import { RowError } from './rows.ts';

/** A trunk sub-port's details: its trunk, parent and VLAN (from the driver's `netvpp:subport`). */
export function subportDetails(p: NeutronPort): SubportDetails {
  const s = p['netvpp:subport'];
  if (!s)
    throw new RowError(
      'a trunk sub-port (vif_type subport) needs netvpp:subport: its trunk, parent and VLAN',
    );
  if (!(SEGMENTATION_TYPES as string[]).includes(s.segmentation_type))
    throw new RowError(
      `segmentation_type "${s.segmentation_type}" is not one netvpp trunks carry (${SEGMENTATION_TYPES.join(', ')})`,
    );
  if (s.segmentation_id < 1 || s.segmentation_id > MAX_SUBPORT_VLAN)
    throw new RowError(`a sub-port's VLAN must be 1..${MAX_SUBPORT_VLAN}, not ${s.segmentation_id}`);
  if (s.parent_port_id === p.id) throw new RowError('a sub-port can not be its own parent');
  return {
    trunk_id: s.trunk_id,
    parent_port_id: s.parent_port_id,
    segmentation_type: s.segmentation_type as SegmentationType,
    segmentation_id: s.segmentation_id,
  };
}
