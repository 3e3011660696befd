// The compiler's network step: which network each port joins on this host, and each claimed
// network's objects (its bridge, its way in — uplink, VLAN sub-interface, overlay tunnels — and what
// networks of its type share). Reads the ports' bindings (through their fronts) and the overlay view.
//
// Networks are claimed in port id order (the first port of a network decides its segment; a segment
// already carrying another network is an error for the later ports). That order couples only ports
// that share a network or a segment, so a change re-runs it for that connected part alone.
import type { CompileDelta, CompileOptions } from './compile.ts';
import type { NetIn, NetworkClaim } from './compile-port.ts';
import { overlayView } from './compile-overlay.ts';
import { addTo, count, removeFrom, SharedObjects } from './compile-refs.ts';
import type { DesiredState } from './desired.ts';
import {
  bondMemberObjects,
  bondObject,
  bridgeKey,
  l2Key,
  preferredBdId,
  uplinkKey,
  type VppObject,
} from './kinds/index.ts';
import { underlayObjects } from './nettypes/overlay.ts';

export class NetworkStep {
  /** The desired-state inputs the step reads. */
  static readonly reads = ['bindings', 'overlay'] as const;
  private readonly netIn = new Map<string, NetIn>();
  /** Per port: null when it joins its network, else why not. */
  private readonly outcomes = new Map<string, string | null>();
  private readonly byNetwork = new Map<string, Set<string>>();
  private readonly byMember = new Map<string, Set<string>>();
  private readonly claims = new Map<string, NetworkClaim & { net: NetIn }>();
  private readonly memberOwner = new Map<string, string>();
  private readonly networkObjects = new Map<string, string[]>();
  /** The physnet of each claimed network (an uplink exists while a network uses its physnet). */
  private readonly networkPhysnet = new Map<string, string>();
  private readonly physnetRefs = new Map<string, number>();
  /** Objects networks of one type share (the VXLAN underlay), while a network needs them. */
  private readonly shared = new SharedObjects();

  constructor(
    private readonly opts: CompileOptions,
    /** The compiled objects (the step adds and removes the networks' own). */
    private readonly objects: Map<string, VppObject>,
  ) {
    // The underlay and its VTEP address stay while the agent is configured with them, not only while
    // an overlay network is here: the VTEP answers pings, and VPP 26.06 once crashed when an
    // underlay address went and came back under LISP (see docs/overlays.md).
    this.shared.hold('underlay', underlayObjects(opts), objects, new Set());
    // Bonds and their members likewise, networks or not: LACP runs with the switch meanwhile.
    const bonds = [...(opts.bonds?.values() ?? [])].flatMap((b) => [bondObject(b), ...bondMemberObjects(b)]);
    this.shared.hold('bonds', bonds, objects, new Set());
  }

  /** Null when the port joins its network, a reason when it can't, undefined when not in the step. */
  outcome(portId: string): string | null | undefined {
    return this.outcomes.get(portId);
  }

  /** Ports on a network (for readiness lookups). */
  portsOn(networkId: string): Iterable<string> | undefined {
    return this.byNetwork.get(networkId);
  }

  /** Ports whose segment member is `member` (a VLAN sub-interface, an uplink). */
  portsOnMember(member: string): Iterable<string> | undefined {
    return this.byMember.get(member);
  }

  /**
   * Takes in the network inputs of changed ports (undefined: the port joins no network) and the
   * overlay networks whose peers or remote ports changed; ports whose outcome changed go to `redo`.
   */
  update(
    state: DesiredState,
    ports: ReadonlyMap<string, NetIn | undefined>,
    overlays: Iterable<string>,
    redo: Set<string>,
    delta: CompileDelta,
  ): void {
    const seedNets = new Set<string>();
    const seedMembers = new Set<string>();
    for (const [portId, now] of ports) {
      const old = this.netIn.get(portId);
      if (old && now && old.network === now.network && old.segment === now.segment) continue;
      if (old) {
        removeFrom(this.byNetwork, old.network, portId);
        removeFrom(this.byMember, old.member, portId);
        seedNets.add(old.network);
        seedMembers.add(old.member);
        this.netIn.delete(portId);
        this.outcomes.delete(portId);
      }
      if (now) {
        this.netIn.set(portId, now);
        addTo(this.byNetwork, now.network, portId);
        addTo(this.byMember, now.member, portId);
        seedNets.add(now.network);
        seedMembers.add(now.member);
      }
    }
    if (seedNets.size > 0) this.resolve(state, seedNets, seedMembers, redo, delta);
    // Overlay networks whose peers or remote ports changed: their objects anew (claims stay).
    for (const n of overlays) {
      if (!this.claims.has(n) || seedNets.has(n)) continue;
      const physnets = new Set<string>();
      this.drop(n, physnets, delta);
      this.add(state, n, physnets, delta);
    }
  }

  /**
   * Re-runs the network claims (in port id order) for the networks and segments connected to the
   * seeds; ports whose outcome changed are added to `redo`, networks whose claim changed get their
   * objects anew.
   */
  private resolve(
    state: DesiredState,
    seedNets: Set<string>,
    seedMembers: Set<string>,
    redo: Set<string>,
    delta: CompileDelta,
  ): void {
    const nets = new Set<string>();
    const members = new Set<string>();
    const ports = new Set<string>();
    const netQueue = [...seedNets];
    const memberQueue = [...seedMembers];
    while (netQueue.length > 0 || memberQueue.length > 0) {
      const n = netQueue.pop();
      if (n !== undefined) {
        if (nets.has(n)) continue;
        nets.add(n);
        for (const p of this.byNetwork.get(n) ?? []) {
          ports.add(p);
          memberQueue.push((this.netIn.get(p) as NetIn).member);
        }
        continue;
      }
      const m = memberQueue.pop() as string;
      if (members.has(m)) continue;
      members.add(m);
      for (const p of this.byMember.get(m) ?? []) {
        ports.add(p);
        netQueue.push((this.netIn.get(p) as NetIn).network);
      }
    }
    const before = new Map<string, string | undefined>();
    for (const n of nets) {
      before.set(n, this.claims.get(n)?.segment);
      this.claims.delete(n);
    }
    for (const m of members) this.memberOwner.delete(m);
    for (const p of [...ports].sort()) {
      const i = this.netIn.get(p) as NetIn;
      const claim = this.claims.get(i.network);
      let outcome: string | null = null;
      if (claim && claim.segment !== i.segment) {
        outcome = `network ${i.network} is ${i.segment} here but ${claim.segment} for port ${claim.by}`;
      } else {
        const taken = this.memberOwner.get(i.member);
        if (taken !== undefined && taken !== i.network) {
          outcome = `${i.segment} already carries network ${taken} on this host`;
        } else if (!claim) {
          this.claims.set(i.network, {
            by: p,
            segment: i.segment,
            bd: bridgeKey(i.network),
            member: i.member,
            net: i,
          });
          this.memberOwner.set(i.member, i.network);
        }
      }
      if (this.outcomes.get(p) !== outcome) {
        this.outcomes.set(p, outcome);
        redo.add(p);
      }
    }
    // Old objects out first: a segment may pass from one network to another.
    const changed = [...nets].filter((n) => before.get(n) !== this.claims.get(n)?.segment);
    const physnets = new Set<string>();
    for (const n of changed) this.drop(n, physnets, delta);
    for (const n of changed) this.add(state, n, physnets, delta);
    // The uplink, while any network uses its physnet.
    for (const physnet of physnets) {
      // A physnet on a bond has the bond as its uplink, kept while the agent runs (above).
      if (this.opts.bonds?.has(this.opts.physnets.get(physnet) as string)) continue;
      const key = uplinkKey(physnet);
      delta.keys.add(key);
      if (this.physnetRefs.has(physnet)) {
        this.objects.set(key, {
          kind: 'uplink',
          key,
          physnet,
          name: this.opts.physnets.get(physnet) as string,
          adminUp: true,
        });
      } else this.objects.delete(key);
    }
  }

  private drop(networkId: string, physnets: Set<string>, delta: CompileDelta): void {
    for (const k of this.networkObjects.get(networkId) ?? []) {
      this.objects.delete(k);
      delta.keys.add(k);
    }
    this.networkObjects.delete(networkId);
    const physnet = this.networkPhysnet.get(networkId);
    if (physnet !== undefined) {
      count(this.physnetRefs, physnet, -1);
      physnets.add(physnet);
      this.networkPhysnet.delete(networkId);
    }
    this.shared.release(networkId, this.objects, delta.keys);
  }

  /** A network's objects, from its claim: its way in (uplink side, VLAN, tunnels) and its bridge. */
  private add(state: DesiredState, networkId: string, physnets: Set<string>, delta: CompileDelta): void {
    const claim = this.claims.get(networkId);
    if (!claim) return;
    const n = claim.net;
    const made: VppObject[] = [...n.seg.objects];
    made.push({
      kind: 'bd',
      key: claim.bd,
      preferredId: preferredBdId(networkId),
      flood: true,
      uuFlood: true,
      forward: true,
      learn: true,
      arpTerm: n.seg.arpTerm === true,
    });
    if (n.seg.member !== null)
      made.push({ kind: 'l2', key: l2Key(n.member), iface: n.member, bd: claim.bd, after: [], shg: 0 });
    if (n.type.overlayObjects)
      made.push(...n.type.overlayObjects(networkId, n.seg, claim.bd, this.opts, overlayView(state)));
    this.shared.hold(networkId, n.seg.shared ?? [], this.objects, delta.keys);
    for (const o of made) {
      this.objects.set(o.key, o);
      delta.keys.add(o.key);
    }
    this.networkObjects.set(
      networkId,
      made.map((o) => o.key),
    );
    if (n.seg.physnet !== null) {
      this.networkPhysnet.set(networkId, n.seg.physnet);
      count(this.physnetRefs, n.seg.physnet, 1);
      physnets.add(n.seg.physnet);
    }
  }
}
