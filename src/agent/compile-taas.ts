// Tap flows (nodes/<host>/tapflows/<id>, docs/taas.md) → SPAN mirrors and ERSPAN tunnels. A pure
// step redone whenever a tap flow or a binding changes (a host carries a handful of flows): each
// flow's plan (`tapflow:<id>`) requires its mirror and both its ends, so it is reported ready only
// with the mirror really in place. Flows with the same source and destination share one mirror,
// whose state is the union of their directions.
import { formatErrors } from '../model/validate.ts';
import { decodeValue, type TapDirection, type TapFlowDoc } from '../model/keyspace.ts';
import type { Opener } from '../model/signing.ts';
import type { Entry } from './desired.ts';
import {
  erspanKey,
  l2Key,
  portKey,
  preferredBdId,
  spanKey,
  spansinkBridgeKey,
  spansinkKey,
  spansinkMac,
  type SpanState,
  type VppObject,
  vxlanKey,
  xconnectKey,
} from './kinds/index.ts';

export interface TaasPlan {
  portId: string;
  revision: number | null;
  requires: string[];
  needsLink: boolean;
  errors: string[];
  waiting: string[];
}

/**
 * Neutron TaaS directions are the VM's: IN = frames to the VM (what VPP transmits on its
 * interface: tx), OUT = frames from it (what VPP receives: rx).
 */
export const SPAN_STATE: Record<TapDirection, SpanState> = { IN: 2, OUT: 1, BOTH: 3 };

export const tapFlowPlanId = (id: string): string => `tapflow:${id}`;

/** A tap flow document, checked: a bad value is that flow's error. */
export function decodeTapFlow(opened: ReturnType<Opener>, flowId: string): Entry<TapFlowDoc> {
  if (!opened.ok) return { ok: false, error: `invalid tap flow: ${opened.error}`, revision: null };
  const r = decodeValue('tapFlow', opened.payload);
  if (!r.ok) return { ok: false, error: `invalid tap flow: ${formatErrors(r.errors)}`, revision: null };
  if (r.value.id !== flowId)
    return { ok: false, error: 'invalid tap flow: id does not match its key', revision: r.value.revision };
  return { ok: true, value: r.value };
}

export interface TaasInput {
  flows: ReadonlyMap<string, Entry<TapFlowDoc>>;
  /** Ports bound here whose interface is compiled (their `port:<id>` object exists). */
  hasPort: (portId: string) => boolean;
  /** This host's VTEP ([vxlan] local_ip): ERSPAN's default source address, remote SPAN's tunnel end. */
  vtep: string | null;
  /** Keys of what the underlay shares (its interface, the VTEP address): tunnels come after them. */
  underlay: readonly string[];
  /** A peer host's VTEP, while its agent is alive and advertises one. */
  vtepOf: (host: string) => string | undefined;
}

/** The objects and plans of every tap flow on this host. */
export function compileTaas(input: TaasInput): { objects: VppObject[]; plans: Map<string, TaasPlan> } {
  const plans = new Map<string, TaasPlan>();
  const spans = new Map<string, VppObject & { kind: 'span' }>();
  const tunnels = new Map<string, VppObject>();
  for (const [id, e] of [...input.flows].sort(([a], [b]) => a.localeCompare(b))) {
    const p: TaasPlan = {
      portId: tapFlowPlanId(id),
      revision: e.ok ? e.value.revision : e.revision,
      requires: [],
      needsLink: false,
      errors: [],
      waiting: [],
    };
    plans.set(p.portId, p);
    if (!e.ok) {
      p.errors.push(e.error);
      continue;
    }
    const d = e.value;
    let remote: (VppObject & { kind: 'vxlan' }) | undefined;
    if (d.role === 'service' || d.role === 'source') {
      const t = remoteTunnel(d, input);
      if ('error' in t) {
        (t.wait ? p.waiting : p.errors).push(t.error);
        continue;
      }
      remote = t.obj;
      if (d.role === 'service') {
        tunnels.set(t.obj.key, t.obj);
        if (!input.hasPort(d.service_port)) {
          p.waiting.push(`tap service port ${d.service_port} is not plumbed on this host`);
          continue;
        }
        for (const o of serviceEnd(d.service_port, t.obj.key)) {
          tunnels.set(o.key, o);
          p.requires.push(o.key);
        }
        p.requires.push(t.obj.key, portKey(d.service_port));
        continue;
      }
    }
    if (!input.hasPort(d.source_port)) {
      p.waiting.push(`source port ${d.source_port} is not plumbed on this host`);
      continue;
    }
    const src = portKey(d.source_port);
    let dst: string;
    if (remote !== undefined) {
      dst = remote.key;
      tunnels.set(dst, remote);
    } else if (d.role === 'local') {
      if (!input.hasPort(d.service_port)) {
        p.waiting.push(`tap service port ${d.service_port} is not plumbed on this host`);
        continue;
      }
      dst = portKey(d.service_port);
    } else {
      const t = d.erspan;
      const from = t?.source ?? input.vtep;
      if (!t || from === null) {
        p.errors.push(
          'ERSPAN needs a source address: the setting\'s "source" or this host\'s [vxlan] local_ip',
        );
        continue;
      }
      if (from.includes(':') !== t.collector.includes(':')) {
        p.errors.push(`ERSPAN source ${from} and collector ${t.collector} are of different families`);
        continue;
      }
      dst = erspanKey(from, t.collector, t.session_id);
      tunnels.set(dst, {
        kind: 'erspan',
        key: dst,
        src: from,
        collector: t.collector,
        sessionId: t.session_id,
        adminUp: true,
      });
    }
    const key = spanKey(src, dst);
    const prev = spans.get(key);
    const state = ((prev?.state ?? 0) | SPAN_STATE[d.direction]) as SpanState;
    spans.set(key, { kind: 'span', key, src, dst, state });
    p.requires.push(src, dst, key);
  }
  return { objects: [...tunnels.values(), ...spans.values()], plans };
}

/**
 * Remote SPAN's service end (docs/taas.md): the tunnel cross-connected into the service port's sink
 * (kinds/spansink.ts: a loopback alone in a bridge that forwards nothing), and the sink's transmit
 * side mirrored in device mode into the service port, so the copies skip the port's L2 output
 * features (its security group's ACLs among them). One sink per service port, whatever the tunnels.
 */
function serviceEnd(servicePort: string, tunnel: string): VppObject[] {
  const sink = spansinkKey(servicePort);
  const bd = spansinkBridgeKey(servicePort);
  const member = l2Key(sink);
  const x = xconnectKey(tunnel);
  const dst = portKey(servicePort);
  const mirror = spanKey(sink, dst);
  return [
    { kind: 'spansink', key: sink, portId: servicePort, mac: spansinkMac(servicePort), adminUp: true },
    {
      kind: 'bd',
      key: bd,
      preferredId: preferredBdId(bd),
      flood: false,
      uuFlood: false,
      forward: false,
      learn: false,
      arpTerm: false,
    },
    { kind: 'l2', key: member, iface: sink, bd, after: [], shg: 0 },
    { kind: 'xconnect', key: x, rx: tunnel, tx: sink },
    { kind: 'span', key: mirror, src: sink, dst, state: 2 },
  ];
}

/** The VXLAN tunnel of a remote SPAN flow between this host and its peer (VNI: the flow's). */
function remoteTunnel(
  d: TapFlowDoc,
  input: TaasInput,
): { obj: VppObject & { kind: 'vxlan' } } | { error: string; wait: boolean } {
  if (input.vtep === null)
    return { error: 'remote SPAN needs [vxlan] local_ip (the tunnel to the other host)', wait: false };
  const peer = d.peer_host as string;
  const dst = input.vtepOf(peer);
  if (dst === undefined) return { error: `no VTEP of host ${peer} (its agent is not alive)`, wait: true };
  if (dst === input.vtep) return { error: `host ${peer} has this host's VTEP ${dst}`, wait: false };
  const vni = d.vni as number;
  return {
    obj: {
      kind: 'vxlan',
      key: vxlanKey(vni, dst),
      src: input.vtep,
      dst,
      vni,
      after: [...input.underlay],
      adminUp: true,
    },
  };
}
