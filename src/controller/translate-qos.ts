// Neutron QoS → etcd, as pure functions (docs/qos.md): a QoS policy row becomes one shared
// `global/qos/<id>` object; a port's bindings carry the port's own policy and its network's (the
// agent uses the port's when set, Neutron's rule); a network whose policy changes rewrites the
// bindings of its ports, as an MTU change does.
import {
  keys,
  type NeutronRecord,
  parseKey,
  type PortBinding,
  type QosBandwidthLimit,
  type QosPolicy,
  qosPolicySchema,
} from '../model/keyspace.ts';
import { arrayOf, type Check, int, literal, nullable, obj, optional, str, uuid } from '../model/validate.ts';
import { checked, RowError } from './rows.ts';
import type { RecordView } from './apply-records.ts';

/** A rule of a Neutron QoS policy dict (QosPolicy.to_dict(): each rule names its `type`). */
export interface NeutronQosRule {
  id: string;
  type: string;
  direction: 'ingress' | 'egress';
  max_kbps: number | null;
  max_burst_kbps: number | null;
  dscp_mark: number | null;
}

export interface NeutronQosPolicy {
  id: string;
  rules: NeutronQosRule[];
}

export const neutronQosPolicySchema: Check<NeutronQosPolicy> = obj<NeutronQosPolicy>({
  id: uuid,
  rules: optional(
    arrayOf(
      obj<NeutronQosRule>({
        id: uuid,
        type: str({ min: 1, max: 64 }),
        // Neutron's default for a bandwidth limit; other rule types have none.
        direction: optional(literal('ingress', 'egress'), 'egress'),
        max_kbps: nullable(int(0, Number.MAX_SAFE_INTEGER)),
        max_burst_kbps: nullable(int(0, Number.MAX_SAFE_INTEGER)),
        dscp_mark: nullable(int(0, 255)),
      }),
    ),
    [],
  ),
});

/**
 * The policy's document. A bandwidth limit of 0 kbps is Neutron's "no limit" (as in its OVS
 * agent); rule types netvpp does not apply (minimum bandwidth, packet rate) are left out: Neutron's
 * QoS plugin refuses them on netvpp's ports (the driver's supported_rules).
 */
export function qosPolicy(p: NeutronQosPolicy, revision: number): QosPolicy {
  const doc: QosPolicy = { id: p.id, revision, egress: null, ingress: null, dscp_mark: null };
  for (const r of p.rules) {
    if (r.type === 'bandwidth_limit') {
      if (r.max_kbps === null || r.max_kbps === 0) continue;
      if (doc[r.direction] !== null)
        throw new RowError(`rule ${r.id}: a second bandwidth_limit rule for ${r.direction}`);
      const limit: QosBandwidthLimit = { max_kbps: r.max_kbps, max_burst_kbps: r.max_burst_kbps ?? 0 };
      doc[r.direction] = limit;
    } else if (r.type === 'dscp_marking') {
      if (r.dscp_mark === null) throw new RowError(`rule ${r.id}: a dscp_marking rule needs dscp_mark`);
      doc.dscp_mark = r.dscp_mark;
    }
  }
  const key = keys.qosPolicy(p.id);
  return checked(qosPolicySchema, doc, key);
}

export function qosPolicyOwns(p: NeutronQosPolicy, revision: number): Record<string, unknown> {
  return { [keys.qosPolicy(p.id)]: qosPolicy(p, revision) };
}

/** The QoS fields of a binding (only those set, so a port without QoS keeps its binding as before). */
export function qosFields(own: string | null, network: string | null): Partial<PortBinding> {
  return {
    ...(own !== null ? { qos_policy_id: own } : {}),
    ...(network !== null ? { network_qos_policy_id: network } : {}),
  };
}

/**
 * The network's policy as the port's translation must use it: the network's record when it has
 * one (a newer network row wins), else the copy the port row carries.
 */
export function networkQosOf(net: NeutronRecord | null, fromPort: string | null): string | null {
  if (net && net.deleted_at === null) return net.qos_policy_id ?? null;
  return fromPort;
}

/** Every binding in `owns` with the port's QoS fields. */
export function withQos(
  owns: Record<string, unknown>,
  own: string | null,
  network: string | null,
): Record<string, unknown> {
  const fields = qosFields(own, network);
  if (Object.keys(fields).length === 0) return owns;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(owns))
    out[k] = parseKey(k)?.kind === 'portBinding' ? { ...(v as PortBinding), ...fields } : v;
  return out;
}

/** A binding with the network's policy set to `policy` (null: none). */
export function withNetworkQos(b: PortBinding, policy: string | null): PortBinding {
  const { network_qos_policy_id: _old, ...rest } = b;
  return policy === null ? rest : { ...rest, network_qos_policy_id: policy };
}

/**
 * A network row's MTU or QoS policy reaches every bound port of the network: the port records
 * whose bindings change, with those bindings rewritten (each port's record follows its bindings).
 * `mtu` null: unchanged.
 */
export function portsFollowingNetwork(
  view: RecordView,
  networkId: string,
  mtu: number | null,
  qos: string | null,
): NeutronRecord[] {
  const out: NeutronRecord[] = [];
  for (const rec of view.portsOnNetwork(networkId)) {
    const owns = { ...rec.owns };
    let changed = false;
    for (const [key, value] of Object.entries(rec.owns)) {
      if (parseKey(key)?.kind !== 'portBinding') continue;
      const b = value as PortBinding;
      let next = withNetworkQos(b, qos);
      if (mtu !== null) next = { ...next, mtu };
      if (next.mtu === b.mtu && (next.network_qos_policy_id ?? null) === (b.network_qos_policy_id ?? null))
        continue;
      owns[key] = next;
      changed = true;
    }
    if (changed) out.push({ ...rec, owns });
  }
  return out;
}
