// Tap services and tap flows (Neutron TaaS) → the tap flow documents of the hosts that carry them
// (docs/taas.md), as pure functions used by translate.ts. A tap service writes nothing of its own:
// its record keeps the ERSPAN setting the controller's API gave it (taas/erspan/<id>). A tap flow
// writes nodes/<host>/tapflows/<id> on the source port's host (local SPAN when the service port is
// there too, the source end of remote SPAN, or ERSPAN) and, for remote SPAN, on the service port's
// host (the service end).
import {
  type ErspanConfig,
  erspanConfigSchema,
  keys,
  type NeutronRecord,
  TAP_DIRECTIONS,
  type TapFlowDoc,
  tapFlowDocSchema,
  tapVni,
} from '../model/keyspace.ts';
import {
  type Check,
  int,
  ipAddress,
  KEY_SEGMENT_RE,
  literal,
  nullable,
  obj,
  optional,
  str,
  uuid,
} from '../model/validate.ts';
import { checked, RowError } from './rows.ts';

/**
 * Tunnel VNIs of remote SPAN: this base + the tap service's TaaS id (Neutron TaaS allocates ids in
 * [taas] vlan_range_start..vlan_range_end, 3900..4000 by default). Above any tenant VNI range a
 * Neutron deployment configures in practice; docs/taas.md.
 */
export const TAP_VNI_BASE = 0xf00000;

/** A tap service row as the netvpp TaaS driver sends it. */
export interface NeutronTapService {
  id: string;
  port_id: string;
  /** Neutron TaaS's tap id (tap_id_associations), null before one is allocated. */
  'netvpp:taas_id': number | null;
}

export const neutronTapServiceSchema: Check<NeutronTapService> = obj<NeutronTapService>({
  id: uuid,
  port_id: uuid,
  'netvpp:taas_id': optional(nullable(int(0, 65535)), null),
});

/** A tap flow row as the netvpp TaaS driver sends it: the flow and where its two ports are bound. */
export interface NeutronTapFlow {
  id: string;
  tap_service_id: string;
  source_port: string;
  direction: 'IN' | 'OUT' | 'BOTH';
  /** binding:host_id of the source port ('' or null: unbound). */
  'netvpp:source_host': string | null;
  /** The tap service's port and its host. */
  'netvpp:service_port': string;
  'netvpp:service_host': string | null;
  'netvpp:taas_id': number | null;
}

const hostField = optional(nullable(str({ max: 255 })), null);

export const neutronTapFlowSchema: Check<NeutronTapFlow> = obj<NeutronTapFlow>({
  id: uuid,
  tap_service_id: uuid,
  source_port: uuid,
  direction: literal(...TAP_DIRECTIONS),
  'netvpp:source_host': hostField,
  'netvpp:service_port': uuid,
  'netvpp:service_host': hostField,
  'netvpp:taas_id': optional(nullable(int(0, 65535)), null),
});

/** What the controller's API takes for ERSPAN (PUT /v1/taas/erspan/<tap_service_id>). */
export interface ErspanRequest {
  collector: string;
  session_id: number;
  source: string | null;
}

export const erspanRequestSchema: Check<ErspanRequest> = obj<ErspanRequest>({
  collector: ipAddress,
  session_id: int(0, 1023),
  source: optional(nullable(ipAddress), null),
});

function host(h: string | null, what: string): string | null {
  if (h === null || h === '') return null;
  if (!KEY_SEGMENT_RE.test(h)) throw new RowError(`${what} "${h}" can't be used in a key`);
  return h;
}

/** The ERSPAN setting a tap service's record holds, if any. */
export function erspanOf(view: TaasView, tapServiceId: string): ErspanConfig | null {
  const rec = view.get('tap_service', tapServiceId);
  if (!rec || rec.deleted_at !== null) return null;
  const v = rec.owns[keys.erspanConfig(tapServiceId)];
  return v === undefined ? null : (v as ErspanConfig);
}

/** The records the TaaS translation consults (a subset of translate.ts's RecordView). */
export interface TaasView {
  get(kind: 'tap_service' | 'tap_flow', id: string): NeutronRecord | null;
}

/** A tap service owns only its ERSPAN setting, kept across its rows. */
export function tapServiceOwns(before: Record<string, unknown>, id: string): Record<string, unknown> {
  const key = keys.erspanConfig(id);
  return key in before ? { [key]: before[key] } : {};
}

/** Every key a tap flow produces (none while a port it needs is unbound). */
export function tapFlowOwns(f: NeutronTapFlow, revision: number, view: TaasView): Record<string, unknown> {
  const src = host(f['netvpp:source_host'], 'netvpp:source_host');
  const svc = host(f['netvpp:service_host'], 'netvpp:service_host');
  if (src === null) return {};
  const base = {
    id: f.id,
    tap_service_id: f.tap_service_id,
    source_port: f.source_port,
    service_port: f['netvpp:service_port'],
    direction: f.direction,
    source_host: src,
    service_host: svc,
    taas_id: f['netvpp:taas_id'],
    revision,
  };
  const doc = (h: string, d: Omit<TapFlowDoc, keyof typeof base>): [string, TapFlowDoc] => {
    const key = keys.tapFlow(h, f.id);
    return [key, checked(tapFlowDocSchema, { ...base, ...d }, key)];
  };
  const erspan = erspanOf(view, f.tap_service_id);
  if (erspan !== null) {
    const target = { collector: erspan.collector, session_id: erspan.session_id, source: erspan.source };
    return Object.fromEntries([doc(src, { role: 'erspan', peer_host: null, vni: null, erspan: target })]);
  }
  if (f.source_port === f['netvpp:service_port'])
    throw new RowError('a tap flow can not mirror the tap service port into itself');
  if (svc === null) return {};
  if (svc === src)
    return Object.fromEntries([doc(src, { role: 'local', peer_host: null, vni: null, erspan: null })]);
  const taasId = f['netvpp:taas_id'];
  if (taasId === null) throw new RowError('a remote tap flow needs netvpp:taas_id (its tap service id)');
  const vni = tapVni(TAP_VNI_BASE, taasId);
  return Object.fromEntries([
    doc(src, { role: 'source', peer_host: svc, vni, erspan: null }),
    doc(svc, { role: 'service', peer_host: src, vni, erspan: null }),
  ]);
}

/** The ERSPAN value a PUT stores in the tap service's record. */
export function erspanConfig(tapServiceId: string, req: ErspanRequest, now: string): ErspanConfig {
  const key = keys.erspanConfig(tapServiceId);
  return checked(erspanConfigSchema, { tap_service_id: tapServiceId, ...req, updated_at: now }, key);
}

/** The tap flows (live records) of a tap service: the ones to translate again when its ERSPAN changes. */
export function flowsOfService(records: Iterable<NeutronRecord>, tapServiceId: string): NeutronRecord[] {
  return [...records].filter(
    (r) =>
      r.kind === 'tap_flow' &&
      r.deleted_at === null &&
      Object.values(r.owns).some((v) => (v as TapFlowDoc).tap_service_id === tapServiceId),
  );
}

/** The row a tap flow's record was translated from, rebuilt from one of its documents. */
export function flowInput(r: NeutronRecord): NeutronTapFlow | null {
  const d = Object.values(r.owns)[0] as TapFlowDoc | undefined;
  if (d === undefined) return null;
  return {
    id: d.id,
    tap_service_id: d.tap_service_id,
    source_port: d.source_port,
    direction: d.direction,
    'netvpp:source_host': d.source_host,
    'netvpp:service_port': d.service_port,
    'netvpp:service_host': d.service_host,
    'netvpp:taas_id': d.taas_id,
  };
}
