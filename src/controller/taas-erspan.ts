// The controller's own TaaS setting: ERSPAN for a tap service (PUT/DELETE/GET
// /v1/taas/erspan/<tap_service_id>, docs/taas.md). Neutron's TaaS API in Zed has no ERSPAN, so the
// setting lives in the tap service's record (taas/erspan/<id>, which the record owns) and every tap
// flow of the service is translated again: its copies go to the collector in GRE instead of to the
// service port. Pure: intake.ts reads the records and writes what this returns.
import { type ErspanConfig, keys, type NeutronRecord } from '../model/keyspace.ts';
import { diffOwns } from './translate.ts';
import { Overlay, recordOp, type WriteOp } from './apply-records.ts';
import {
  erspanConfig,
  erspanOf,
  type ErspanRequest,
  flowInput,
  flowsOfService,
  tapFlowOwns,
} from './translate-taas.ts';
import { RowError } from './rows.ts';

export interface ErspanPlan {
  ops: WriteOp[];
  config: ErspanConfig | null;
  /** Tap flows whose documents change. */
  flows: number;
}

/** The writes that set (req) or clear (null) a tap service's ERSPAN; throws RowError without one. */
export function planErspan(
  records: readonly NeutronRecord[],
  tapServiceId: string,
  req: ErspanRequest | null,
  now: string,
): ErspanPlan {
  const view = new Overlay(records);
  const ts = view.get('tap_service', tapServiceId);
  if (!ts || ts.deleted_at !== null) throw new RowError(`no tap service ${tapServiceId}`);
  const key = keys.erspanConfig(tapServiceId);
  const before = erspanOf(view, tapServiceId);
  // The same collector again changes nothing (its time stays that of the first PUT).
  const same =
    req !== null &&
    before !== null &&
    before.collector === req.collector &&
    before.session_id === req.session_id &&
    before.source === req.source;
  const want = req === null ? {} : { [key]: same ? before : erspanConfig(tapServiceId, req, now) };
  const d = diffOwns(ts.owns, want);
  if (d.ops.length === 0) return { ops: [], config: before, flows: 0 };
  const rec: NeutronRecord = { ...ts, owns: d.owns };
  view.set(rec);
  const ops: WriteOp[] = [...d.ops, recordOp(rec)];
  let flows = 0;
  for (const f of flowsOfService(view.all(), tapServiceId)) {
    const input = flowInput(f);
    if (input === null) continue;
    const fd = diffOwns(f.owns, tapFlowOwns(input, f.revision, view));
    if (fd.ops.length === 0) continue;
    ops.push(...fd.ops, recordOp({ ...f, owns: fd.owns }));
    flows++;
  }
  return { ops, config: erspanOf(view, tapServiceId), flows };
}
