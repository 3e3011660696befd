// Key rotation: when a controller leads with a new signing key, every desired-state value it owns
// that etcd holds signed with another key (or unsigned) is written again, signed with the new one.
// The values come from the controller's own records (`owns`), never from etcd: re-signing what etcd
// holds would put the new key's signature on whatever someone else wrote there.
import type { KeyValue } from '../store/index.ts';
import { keys, type NeutronRecord, parseKey } from '../model/keyspace.ts';
import { kidOf } from '../model/signing.ts';
import type { WriteOp } from './apply-records.ts';

/** The prefixes whose values resignOps looks at (records, and the desired state they own). */
export const RESIGN_PREFIXES: readonly string[] = [
  keys.neutron,
  keys.nodes,
  keys.secGroups,
  keys.remoteGroups,
  keys.overlays,
  keys.meta,
];

/**
 * The puts (unsigned: the intake's write signs them) that bring every owned value present in `kvs`
 * to key `kid`, and whether the sync marker is signed with another key (only a full sync may write
 * a marker, so the caller asks for one).
 */
export function resignOps(
  kvs: readonly KeyValue[],
  records: readonly NeutronRecord[],
  kid: string,
): { ops: WriteOp[]; markerStale: boolean } {
  const stored = new Map<string, string>();
  let markerStale = false;
  for (const kv of kvs) {
    const k = parseKey(kv.key);
    if (k?.kind === 'syncMarker') markerStale = kidOf(kv.value) !== kid;
    else if (k && k.kind !== 'neutronRecord') stored.set(kv.key, kv.value);
  }
  const ops: WriteOp[] = [];
  for (const r of records) {
    if (r.deleted_at !== null) continue;
    for (const [key, value] of Object.entries(r.owns)) {
      const cur = stored.get(key);
      if (cur !== undefined && kidOf(cur) !== kid) ops.push({ op: 'put', key, value: JSON.stringify(value) });
    }
  }
  return { ops, markerStale };
}
