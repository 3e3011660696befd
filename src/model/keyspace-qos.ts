// The QoS part of keyspace v1 (docs/qos.md, docs/keyspace.md): a Neutron QoS policy as the agents
// use it, one object at `global/qos/<policy_id>` shared by every port that uses the policy (watched
// on demand, like a security group), and which policy a binding's port uses. keyspace.ts re-exports
// all of it and wires the key into parseKey and the schema table.
import { type Check, int, KEY_SEGMENT_RE, nullable, obj, uuid } from './validate.ts';

const revision = int(0, Number.MAX_SAFE_INTEGER);

/** VPP's policer takes its rate as a u32 of kbps. */
export const MAX_QOS_KBPS = 0xffffffff;
/** DSCP is 6 bits. */
export const MAX_DSCP = 63;

/** A bandwidth limit in one direction: Neutron's bandwidth_limit rule. */
export interface QosBandwidthLimit {
  /** The rate, in kilobits per second (1000 bits). */
  max_kbps: number;
  /** The burst, in kilobits; 0: Neutron's "unset" (the agent picks 80 % of a second's worth). */
  max_burst_kbps: number;
}

/**
 * `global/qos/<policy_id>`: a Neutron QoS policy's rules that netvpp applies. Directions are
 * Neutron's, seen from the VM: `egress` is what the VM sends (VPP's input on the port interface),
 * `ingress` what it receives (VPP's output). DSCP marking applies to what the VM sends.
 */
export interface QosPolicy {
  id: string;
  /** Neutron revision_number of the policy (a rule change bumps it). */
  revision: number;
  egress: QosBandwidthLimit | null;
  ingress: QosBandwidthLimit | null;
  /** Neutron's dscp_marking rule: the DSCP written into IPv4/IPv6 packets the VM sends. */
  dscp_mark: number | null;
}

export const qosBandwidthLimitSchema: Check<QosBandwidthLimit> = obj<QosBandwidthLimit>({
  max_kbps: int(1, MAX_QOS_KBPS),
  max_burst_kbps: int(0, MAX_QOS_KBPS),
});

export const qosPolicySchema: Check<QosPolicy> = obj<QosPolicy>({
  id: uuid,
  revision,
  egress: nullable(qosBandwidthLimitSchema),
  ingress: nullable(qosBandwidthLimitSchema),
  dscp_mark: nullable(int(0, MAX_DSCP)),
});

function seg(what: string, v: string): string {
  if (!KEY_SEGMENT_RE.test(v)) throw new Error(`invalid ${what} for an etcd key: ${JSON.stringify(v)}`);
  return v;
}

export const qosKeys = {
  qosPolicies: `global/qos/`,
  qosPolicy: (policyId: string) => `global/qos/${seg('QoS policy id', policyId)}`,
} as const;

/** `global/qos/<id>` split into its parts (already checked to be key segments), else null. */
export function parseQosKey(p: readonly string[]): { kind: 'qosPolicy'; policyId: string } | null {
  if (p.length === 3 && p[0] === 'global' && p[1] === 'qos') return { kind: 'qosPolicy', policyId: p[2] };
  return null;
}

/** What a binding says of QoS (PortBinding's optional fields; absent: none). */
export interface QosOfBinding {
  /** The port's own policy (Neutron's qos_policy_id of the port). */
  qos_policy_id?: string | null;
  /** Its network's policy (Neutron's qos_policy_id of the network), used when the port has none. */
  network_qos_policy_id?: string | null;
}

/** The policy a port uses: its own, else its network's (Neutron's rule), else none. */
export function effectiveQosPolicy(b: QosOfBinding): string | null {
  return b.qos_policy_id ?? b.network_qos_policy_id ?? null;
}
