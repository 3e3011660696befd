// Port mirroring (Tap-as-a-Service) in keyspace v1: the tap flow documents the controller writes to
// the hosts that carry a mirror, the agents' reports of them, and the ERSPAN settings the
// controller's API keeps per tap service (docs/taas.md, docs/keyspace.md). Every key and schema of
// the feature is defined here; keyspace.ts routes its key parser and value table through it.
import {
  type Check,
  hostName,
  int,
  ipAddress,
  isoTime,
  KEY_SEGMENT_RE,
  literal,
  nullable,
  obj,
  refine,
  uuid,
} from './validate.ts';

const revision = int(0, Number.MAX_SAFE_INTEGER);

/** Neutron TaaS's direction, seen from the VM: IN = frames to the source VM, OUT = frames it sends. */
export type TapDirection = 'IN' | 'OUT' | 'BOTH';
export const TAP_DIRECTIONS: readonly TapDirection[] = ['IN', 'OUT', 'BOTH'];

/**
 * What this host does for the flow:
 * - `local`: the source and the service port are both here: copies go straight to the service port;
 * - `source`: the source port is here, the service port on `peer_host`: copies go into a VXLAN
 *   tunnel to that host (VNI `vni`);
 * - `service`: the service port is here, the source on `peer_host`: what arrives in that tunnel is
 *   handed to the service port;
 * - `erspan`: the source port is here; copies go to `erspan.collector` in GRE (ERSPAN type II).
 */
export type TapRole = 'local' | 'source' | 'service' | 'erspan';
export const TAP_ROLES: readonly TapRole[] = ['local', 'source', 'service', 'erspan'];

/** ERSPAN type II to a collector outside the cloud (set through the controller's API). */
export interface ErspanTarget {
  collector: string;
  /** ERSPAN session id (10 bits). */
  session_id: number;
  /** The GRE source address on this host; null: the host's VTEP ([vxlan] local_ip). */
  source: string | null;
}

/** `nodes/<host>/tapflows/<tap_flow_id>`: one Neutron tap flow, as this host must carry it. */
export interface TapFlowDoc {
  id: string;
  tap_service_id: string;
  /** The mirrored port. */
  source_port: string;
  /** The tap service's port (the destination). */
  service_port: string;
  direction: TapDirection;
  role: TapRole;
  /** Where the source and the service port are bound (what the flow was translated from). */
  source_host: string;
  service_host: string | null;
  /** Neutron TaaS's id of the tap service (tap_id_associations), when the driver sent one. */
  taas_id: number | null;
  /** `source`/`service`: the other end's host; else null. */
  peer_host: string | null;
  /** `source`/`service`: the VNI of the tap service's tunnel between the two hosts; else null. */
  vni: number | null;
  /** `erspan`: where the copies go; else null. */
  erspan: ErspanTarget | null;
  /** Neutron revision_number of the tap flow (TaaS keeps none: the journal's counter). */
  revision: number;
}

/** `taas/erspan/<tap_service_id>`: the tap service mirrors in ERSPAN to a collector (controller API). */
export interface ErspanConfig {
  tap_service_id: string;
  collector: string;
  session_id: number;
  source: string | null;
  updated_at: string;
}

export const MAX_ERSPAN_SESSION = 1023;

const erspanTargetSchema: Check<ErspanTarget> = obj<ErspanTarget>({
  collector: ipAddress,
  session_id: int(0, MAX_ERSPAN_SESSION),
  source: nullable(ipAddress),
});

export const tapFlowDocSchema: Check<TapFlowDoc> = refine(
  obj<TapFlowDoc>({
    id: uuid,
    tap_service_id: uuid,
    source_port: uuid,
    service_port: uuid,
    direction: literal(...TAP_DIRECTIONS),
    role: literal(...TAP_ROLES),
    source_host: hostName,
    service_host: nullable(hostName),
    taas_id: nullable(int(0, 65535)),
    peer_host: nullable(hostName),
    vni: nullable(int(1, 2 ** 24 - 1)),
    erspan: nullable(erspanTargetSchema),
    revision,
  }),
  (d) => {
    const remote = d.role === 'source' || d.role === 'service';
    if (remote && (d.peer_host === null || d.vni === null))
      return `a ${d.role} tap flow needs peer_host and vni`;
    if (!remote && (d.peer_host !== null || d.vni !== null))
      return `a ${d.role} tap flow has no peer_host or vni`;
    if ((d.role === 'erspan') !== (d.erspan !== null)) return 'erspan is set exactly on erspan tap flows';
    if (d.role !== 'service' && d.source_port === d.service_port) return 'a port can not mirror into itself';
    return null;
  },
);

export const erspanConfigSchema: Check<ErspanConfig> = obj<ErspanConfig>({
  tap_service_id: uuid,
  collector: ipAddress,
  session_id: int(0, MAX_ERSPAN_SESSION),
  source: nullable(ipAddress),
  updated_at: isoTime,
});

// ---- keys ------------------------------------------------------------------------------------------

function seg(what: string, v: string): string {
  if (!KEY_SEGMENT_RE.test(v)) throw new Error(`invalid ${what} for an etcd key: ${JSON.stringify(v)}`);
  return v;
}

export const taasKeys = {
  tapFlow: (host: string, flowId: string) =>
    `nodes/${seg('host', host)}/tapflows/${seg('tap flow id', flowId)}`,
  hostTapFlows: (host: string) => `nodes/${seg('host', host)}/tapflows/`,
  tapFlowState: (host: string, flowId: string) =>
    `state/${seg('host', host)}/tapflows/${seg('tap flow id', flowId)}`,
  hostTapFlowStates: (host: string) => `state/${seg('host', host)}/tapflows/`,
  erspanConfigs: `taas/erspan/`,
  erspanConfig: (tapServiceId: string) => `taas/erspan/${seg('tap service id', tapServiceId)}`,
} as const;

export type TaasParsedKey =
  | { kind: 'tapFlow'; host: string; flowId: string }
  | { kind: 'tapFlowState'; host: string; flowId: string }
  | { kind: 'erspanConfig'; tapServiceId: string };

/** The TaaS keys among split key segments (already checked), or null. */
export function parseTaasKey(p: readonly string[]): TaasParsedKey | null {
  const [a, b, c, d] = p;
  if (p.length === 4 && a === 'nodes' && c === 'tapflows') return { kind: 'tapFlow', host: b, flowId: d };
  if (p.length === 4 && a === 'state' && c === 'tapflows')
    return { kind: 'tapFlowState', host: b, flowId: d };
  if (p.length === 3 && a === 'taas' && b === 'erspan') return { kind: 'erspanConfig', tapServiceId: c };
  return null;
}

/** A valid VNI for tap service `taasId` (Neutron TaaS's tap id) above `base`. */
export function tapVni(base: number, taasId: number): number {
  const vni = base + taasId;
  if (!Number.isSafeInteger(vni) || vni < 1 || vni > 2 ** 24 - 1)
    throw new Error(`tap VNI ${base} + ${taasId} is not a VXLAN VNI (1..16777215)`);
  return vni;
}

export const TAP_ROLE_TEXT: Record<TapRole, string> = {
  local: 'local SPAN',
  source: 'remote SPAN (source end)',
  service: 'remote SPAN (service end)',
  erspan: 'ERSPAN',
};
