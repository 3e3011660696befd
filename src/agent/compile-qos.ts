// compile, QoS (docs/qos.md): a port's policers from the policy it uses (its own, else its
// network's). What the VM sends (Neutron egress) passes a policer on VPP's input of the port
// interface: its bandwidth limit drops what exceeds the rate, its DSCP marking rewrites the DSCP of
// every IPv4/IPv6 packet it lets through. What the VM receives (Neutron ingress) passes one on
// VPP's output. A policy still loading, missing or unreadable leaves the port's policers as they
// are in VPP (frozen) and is the port's waiting or error.
import { effectiveQosPolicy, type PortBinding, type QosBandwidthLimit } from '../model/keyspace.ts';
import type { PortPlan } from './compile.ts';
import type { DesiredState } from './desired.ts';
import { ACTION, type PolicerAction, type PolicerDir, policerKey, type PolicerObj } from './kinds/index.ts';

/** The burst Neutron's "unset" (0) stands for, as its OVS agent: 80 % of a second at the rate. */
const DEFAULT_BURST_SHARE = 0.8;
/** Ethernet header and one VLAN tag: a bucket must hold at least one full frame. */
const FRAME_OVERHEAD = 18;
/** DSCP marking alone: every packet conforms or exceeds, and both are marked; the rate is moot. */
const MARK_ONLY_KBPS = 10_000_000;

/** The committed burst in bytes for a limit (kilobits → bytes), at least one frame of the port. */
export function burstBytes(limit: QosBandwidthLimit, mtu: number): number {
  const kbits = limit.max_burst_kbps > 0 ? limit.max_burst_kbps : limit.max_kbps * DEFAULT_BURST_SHARE;
  return Math.max(Math.round((kbits * 1000) / 8), mtu + FRAME_OVERHEAD);
}

function policerOf(
  portId: string,
  iface: string,
  dir: PolicerDir,
  limit: QosBandwidthLimit | null,
  dscp: number | null,
  mtu: number,
): PolicerObj | null {
  if (limit === null && dscp === null) return null;
  const pass: PolicerAction = dscp === null ? ACTION.transmit : ACTION.mark(dscp);
  const cir = limit?.max_kbps ?? MARK_ONLY_KBPS;
  return {
    kind: 'policer',
    key: policerKey(portId, dir),
    iface,
    dir,
    cir,
    cb: burstBytes(limit ?? { max_kbps: cir, max_burst_kbps: 0 }, mtu),
    conform: pass,
    exceed: limit === null ? pass : ACTION.drop,
  };
}

export interface QosUnit {
  objects: PolicerObj[];
  frozen: string[];
}

/** The policers of a port with interface `iface`; fills in the plan's requires, errors, waiting. */
export function qosUnit(b: PortBinding, iface: string, state: DesiredState, plan: PortPlan): QosUnit {
  const unit: QosUnit = { objects: [], frozen: [] };
  const id = effectiveQosPolicy(b);
  if (id === null) return unit;
  const keys = [policerKey(b.port_id, 'in'), policerKey(b.port_id, 'out')];
  const e = state.qos.policies.get(id);
  let problem: string | null = null;
  if (!state.qos.loaded.has(id)) plan.waiting.push(`QoS policy ${id} is being loaded`);
  else if (!e) problem = `QoS policy ${id} does not exist in etcd`;
  else if (!e.ok) problem = `QoS policy ${id} is invalid: ${e.error}`;
  if (problem !== null) plan.errors.push(problem);
  if (!state.qos.loaded.has(id) || !e?.ok) {
    unit.frozen.push(...keys);
    return unit;
  }
  const p = e.value;
  const input = policerOf(b.port_id, iface, 'in', p.egress, p.dscp_mark, b.mtu);
  const output = policerOf(b.port_id, iface, 'out', p.ingress, null, b.mtu);
  for (const o of [input, output]) {
    if (!o) continue;
    unit.objects.push(o);
    plan.requires.push(o.key);
  }
  return unit;
}
