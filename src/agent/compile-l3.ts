// compile, for routers beyond their ports: what a router's document (nodes/<host>/routers/<id>)
// and its floating IPs (nodes/<host>/floatingips/<id>) make in VPP, given the router ports bound
// here (compile-router.ts makes their interfaces, the gateway's patch and the router's VRF):
//
// - the default routes (0.0.0.0/0, ::/0) via the gateway's next hops, and the extra routes, one
//   entry per destination with all its next hops (ECMP), in the router's VRF;
// - NAT44-ED when the router has a gateway here and SNAT or a floating IP: the plugin on, its output
//   feature on the gateway interface (kinds/natout.ts), the SNAT address in the router's VRF
//   (snat only), a static mapping per floating IP and its ARP entry in the gateway's bridge;
// - per router and per floating IP a plan: the keys that must be in place for it to be reported
//   ready, its errors (a bad document is its own error, and its objects are left as they are).
//
// Redone whole on any change of a router document, a floating IP or a router port: a host carries
// at most a few hundred routers, and the objects that did not change cause no work downstream.
import { isIPv6 } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { FloatingIpDoc, PortBinding, RouterDoc } from '../model/keyspace.ts';
import type { DesiredState } from './desired.ts';
import type { CompileDelta, PortPlan } from './compile.ts';
import { gatewayArp } from './compile-router.ts';
import {
  l2flagsKey,
  NAT_KEY,
  natifKey,
  natoutKey,
  natpoolKey,
  natsmKey,
  rifKey,
  riftableKey,
  routeKey,
  vrfKey,
  type VppObject,
} from './kinds/index.ts';

/** Plan ids: routers and floating IPs are reported under their own keys, not as ports. */
export const routerPlanId = (id: string): string => `router:${id}`;
export const fipPlanId = (id: string): string => `fip:${id}`;

export interface L3Compiled {
  /** `router:<id>` and `fip:<id>` → what must be in place for it to be ready. */
  plans: Map<string, PortPlan>;
  /**
   * Router ports whose interface is held admin down: their router is admin_state_up false, or an
   * HA router this host does not lead (the standby keeps it plumbed, routes and NAT included).
   */
  downPorts: Set<string>;
  /** Key prefixes diff leaves alone: the routes of a router whose document is unreadable. */
  frozenPrefixes: Set<string>;
}

interface RouterPorts {
  interfaces: string[];
  gateway: string[];
}

/** The network address of a CIDR, as VPP keeps a route's prefix (host bits cleared). */
export function canonicalPrefix(cidr: string): string {
  const [addr, lenText] = cidr.split('/');
  const len = Number(lenText);
  if (isIPv6(addr)) {
    const groups = expand6(addr);
    let bits = len;
    const out = groups.map((g) => {
      const keep = Math.max(0, Math.min(16, bits));
      bits -= 16;
      return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
    });
    return `${compress6(out)}/${len}`;
  }
  const n = addr.split('.').reduce((a, x) => a * 256 + Number(x), 0);
  const masked = len === 0 ? 0 : n - (n % 2 ** (32 - len));
  return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${len}`;
}

function expand6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':').map((x) => parseInt(x, 16)) : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':').map((x) => parseInt(x, 16)) : [];
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** RFC 5952 text, as the codec decodes VPP's addresses. */
function compress6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const plan = (id: string, revision: number | null): PortPlan => ({
  portId: id,
  revision,
  requires: [],
  needsLink: false,
  errors: [],
  waiting: [],
});

/**
 * The L3 step's output for a host: its objects (added to the compiled objects) and plans. Pure:
 * the same desired state and port objects give the same result.
 */
export function compileL3(
  state: DesiredState,
  portObjects: ReadonlyMap<string, VppObject>,
): { objects: VppObject[]; l3: L3Compiled } {
  const objects: VppObject[] = [];
  const l3: L3Compiled = { plans: new Map(), frozenPrefixes: new Set(), downPorts: new Set() };
  const add = (p: PortPlan, o: VppObject): void => {
    objects.push(o);
    p.requires.push(o.key);
  };

  // The router ports here whose interface compile-router.ts made.
  const ports = new Map<string, RouterPorts>();
  for (const [portId, e] of state.bindings) {
    const r = e.ok ? (e.value as PortBinding).router : undefined;
    if (!r || !portObjects.has(rifKey(portId))) continue;
    let rp = ports.get(r.router_id);
    if (!rp) ports.set(r.router_id, (rp = { interfaces: [], gateway: [] }));
    (r.role === 'gateway' ? rp.gateway : rp.interfaces).push(portId);
  }
  for (const rp of ports.values()) {
    rp.interfaces.sort();
    rp.gateway.sort();
  }

  const fipsOf = new Map<string, [string, FloatingIpDoc][]>();
  for (const [id, e] of [...state.fips].sort(([a], [b]) => a.localeCompare(b))) {
    if (!e.ok) continue;
    const list = fipsOf.get(e.value.router_id) ?? [];
    list.push([id, e.value]);
    fipsOf.set(e.value.router_id, list);
  }

  /** Per router with NAT in place: the keys a floating IP needs besides its mapping. */
  const natReady = new Map<string, string[]>();
  /** Per router with NAT in place: its gateway port and MAC, which answer ARP for its floating IPs. */
  const gatewayOf = new Map<string, { port: string; mac: string }>();
  const external = new Map<string, string>(); // NAT external address → who uses it
  const routerIds = [...state.routers.keys()].sort();
  for (const id of routerIds) {
    const e = state.routers.get(id) as NonNullable<ReturnType<typeof state.routers.get>>;
    const p = plan(routerPlanId(id), e.ok ? e.value.revision : e.revision);
    l3.plans.set(p.portId, p);
    const rp = ports.get(id) ?? { interfaces: [], gateway: [] };
    if (!e.ok) {
      // Left as they are in VPP: a bad write must not tear down a working router.
      p.errors.push(e.error);
      l3.frozenPrefixes.add(`route:${id}:`);
      l3.frozenPrefixes.add(natpoolKey(id));
      for (const port of [...rp.interfaces, ...rp.gateway]) {
        l3.frozenPrefixes.add(natifKey(true, rifKey(port)));
        l3.frozenPrefixes.add(natifKey(false, rifKey(port)));
        l3.frozenPrefixes.add(natoutKey(rifKey(port)));
      }
      continue;
    }
    const doc: RouterDoc = e.value;
    // Down, not removed: taking over (or admin up again) is one flag per interface, and the
    // addresses, routes and NAT that stay are unreachable while their interfaces are down.
    if (!doc.admin_state_up || (doc.ha && !state.haActive.has(id)))
      for (const port of [...rp.interfaces, ...rp.gateway]) l3.downPorts.add(port);
    const vrf = vrfKey(id);
    if (!portObjects.has(vrf)) {
      p.waiting.push('no port of the router is plumbed on this host yet');
      continue;
    }
    const routes = new Map<string, Set<string>>();
    const gw = doc.gateway;
    const gwPort = gw ? rp.gateway.find((x) => x === gw.port_id) : undefined;
    if (gw && gwPort === undefined)
      p.waiting.push(`the gateway port ${gw.port_id} is not plumbed on this host yet`);
    if (gw && gwPort !== undefined)
      for (const nh of gw.next_hops) routes.set(isIPv6(nh) ? '::/0' : '0.0.0.0/0', new Set([nh]));
    for (const r of doc.routes) {
      const prefix = canonicalPrefix(r.destination);
      const bad = r.nexthops.filter((nh) => isIPv6(nh) !== prefix.includes(':'));
      if (bad.length) {
        p.errors.push(`extra route ${r.destination}: next hops ${bad.join(', ')} are of the other family`);
        continue;
      }
      if (r.nexthops.length === 0) continue;
      const set = routes.get(prefix) ?? new Set<string>();
      for (const nh of r.nexthops) set.add(nh);
      routes.set(prefix, set);
    }
    for (const [prefix, hops] of [...routes].sort(([a], [b]) => a.localeCompare(b)))
      add(p, { kind: 'route', key: routeKey(id, prefix), vrf, prefix, nexthops: [...hops].sort() });

    const fips = fipsOf.get(id) ?? [];
    if (!gw || gwPort === undefined || (!gw.snat && fips.length === 0)) continue;
    // NAT: the plugin and its output feature on the gateway (natout.ts says why not inside and
    // outside features: those made other routers' FIBs decide what this one translates).
    const gwIf = rifKey(gwPort);
    add(p, { kind: 'natenable', key: NAT_KEY, sessions: 0 });
    const out = natoutKey(gwIf);
    add(p, { kind: 'natout', key: out, iface: gwIf, after: [riftableKey(gwPort)] });
    natReady.set(id, [NAT_KEY, out]);
    const gwBinding = state.bindings.get(gwPort);
    if (gwBinding?.ok)
      gatewayOf.set(id, { port: gwPort, mac: (gwBinding.value as PortBinding).mac.toLowerCase() });
    if (!gw.snat) continue;
    const v4 = gw.addresses.map((a) => a.split('/')[0]).find((a) => !isIPv6(a));
    if (v4 === undefined) {
      p.errors.push('SNAT needs an IPv4 address on the gateway port');
      continue;
    }
    const other = external.get(v4);
    if (other !== undefined) {
      p.errors.push(`SNAT address ${v4} is also used by ${other}`);
      continue;
    }
    external.set(v4, `router ${id}`);
    add(p, { kind: 'natpool', key: natpoolKey(id), addr: v4, vrf });
  }

  // Floating IPs: one static mapping each, once their router's NAT is in place.
  for (const [id, e] of [...state.fips].sort(([a], [b]) => a.localeCompare(b))) {
    const p = plan(fipPlanId(id), e.ok ? e.value.revision : e.revision);
    l3.plans.set(p.portId, p);
    if (!e.ok) {
      p.errors.push(e.error);
      l3.frozenPrefixes.add(natsmKey(id));
      continue;
    }
    const f = e.value;
    const r = state.routers.get(f.router_id);
    if (!r) {
      p.waiting.push(`router ${f.router_id} is not carried by this host yet`);
      continue;
    }
    const need = natReady.get(f.router_id);
    if (!r.ok) {
      p.errors.push(`router ${f.router_id} has an invalid document`);
      l3.frozenPrefixes.add(natsmKey(id));
      continue;
    }
    if (!need) {
      const gw = r.value.gateway;
      if (!gw) p.errors.push(`router ${f.router_id} has no external gateway`);
      else p.waiting.push(`router ${f.router_id}'s gateway is not plumbed on this host yet`);
      continue;
    }
    const other = external.get(f.floating_ip);
    if (other !== undefined) {
      p.errors.push(`floating IP ${f.floating_ip} is also used by ${other}`);
      continue;
    }
    external.set(f.floating_ip, `floating IP ${id}`);
    p.requires.push(...need);
    add(p, {
      kind: 'natsm',
      key: natsmKey(id),
      local: f.fixed_ip,
      external: f.floating_ip,
      vrf: vrfKey(f.router_id),
    });
    // Answered for ARP by its router's gateway bridge only (compile-router.ts, kinds/l2flags.ts).
    const g = gatewayOf.get(f.router_id);
    if (g) add(p, gatewayArp(g.port, f.floating_ip, g.mac));
  }
  // Shared objects (the plugin, an interface's inside feature) once, whoever asked first.
  const seen = new Set<string>();
  return { objects: objects.filter((o) => !seen.has(o.key) && seen.add(o.key)), l3 };
}

/** The copy of a port step's object an inactive router has instead, or undefined if it is inactive already. */
function inactive(o: VppObject | undefined): VppObject | undefined {
  if (o?.kind === 'rif' && o.adminUp) return { ...o, adminUp: false };
  if (o?.kind === 'l2flags' && o.arpTerm) return { ...o, arpTerm: false };
  return undefined;
}

/**
 * Keeps the L3 step's objects in the compiled state: replaces the previous ones, recording in
 * `delta` the keys whose object changed.
 */
export class L3Step {
  private objects = new Map<string, VppObject>();
  /** rif key → (the port step's object, the admin-down copy put in its place). */
  private downs = new Map<string, { orig: VppObject; mine: VppObject }>();
  l3: L3Compiled = { plans: new Map(), frozenPrefixes: new Set(), downPorts: new Set() };

  apply(state: DesiredState, compiled: Map<string, VppObject>, delta: CompileDelta): void {
    for (const k of this.objects.keys()) compiled.delete(k);
    // The port step's own interfaces back, unless it recompiled them meanwhile.
    const before = new Map<string, VppObject | undefined>();
    for (const [k, d] of this.downs) {
      before.set(k, compiled.get(k));
      if (compiled.get(k) === d.mine) compiled.set(k, d.orig);
    }
    const { objects, l3 } = compileL3(state, compiled);
    const next = new Map<string, VppObject>();
    for (const o of objects) {
      const old = this.objects.get(o.key);
      // An unchanged object keeps its identity and touches nothing downstream.
      const keep = old !== undefined && isDeepStrictEqual(old, o) ? old : o;
      if (keep !== old) delta.keys.add(o.key);
      next.set(o.key, keep);
      compiled.set(o.key, keep);
    }
    for (const k of this.objects.keys()) if (!next.has(k)) delta.keys.add(k);
    const downs = new Map<string, { orig: VppObject; mine: VppObject }>();
    for (const port of l3.downPorts) {
      // The interface admin down, and on a gateway the pipe end from outside without ARP
      // termination: its bridge's entries would answer for the addresses even with the BVI down.
      for (const k of [rifKey(port), l2flagsKey(port, 1)]) {
        const orig = compiled.get(k);
        const down = inactive(orig);
        if (orig === undefined || down === undefined) continue;
        if (!before.has(k)) before.set(k, orig);
        const prev = this.downs.get(k);
        const mine = prev && prev.orig === orig ? prev.mine : down;
        compiled.set(k, mine);
        downs.set(k, { orig, mine });
      }
    }
    for (const [k, was] of before) if (compiled.get(k) !== was) delta.keys.add(k);
    for (const id of new Set([...this.l3.plans.keys(), ...l3.plans.keys()])) delta.ports.add(id);
    this.objects = next;
    this.downs = downs;
    this.l3 = l3;
  }
}
