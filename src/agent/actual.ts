// actual: what VPP holds, in the same object shapes compile produces. Read with dumps at start and after
// a VPP restart, then kept up to date from the agent's own successful calls (and interface events).
// Only objects carrying netvpp's tag (plus the configured uplinks) are recorded: everything else in VPP
// is invisible to diff, so it is never changed or deleted.
import {
  acl_dump,
  acl_interface_etype_whitelist_dump,
  acl_interface_list_dump,
  af_packet_dump,
  bridge_domain_dump,
  IfStatusFlags,
  macip_acl_dump,
  macip_acl_interface_get,
  sw_interface_dump,
  sw_interface_tap_v2_dump,
  sw_interface_vhost_user_dump,
  type SwInterfaceDetails,
} from '../vpp/binapi/index.ts';
import { parseAclTag } from './secgroups/index.ts';
import { keyFromTag, keyOf, portOfIface, refsOf, type PortVif, type VppObject } from './objects.ts';
import type { GroupName } from '../vpp/groups.ts';
import type { VppApi } from './vpp-api.ts';

export const NO_INDEX = 0xffffffff;
const ADMIN_UP = IfStatusFlags.IF_STATUS_API_FLAG_ADMIN_UP;
const LINK_UP = IfStatusFlags.IF_STATUS_API_FLAG_LINK_UP;

/** Interface kinds whose handle is a sw_if_index. */
const IFACE_KINDS = new Set(['uplink', 'vlan', 'port']);

export class ActualState {
  readonly objects = new Map<string, VppObject>();
  /** sw_if_index (interfaces), bd_id (bridge domains), ACL index (ACLs and MAC-IP ACLs). */
  readonly handles = new Map<string, number>();
  /** sw_if_index → interface key (for events). */
  readonly keyByIf = new Map<number, string>();
  /** Link state by sw_if_index, from dumps and interface events (changed with setLink). */
  private readonly links = new Map<number, boolean>();
  /** Every bd_id in VPP, ours or not (new bridge domains must avoid them). */
  readonly bdIds = new Set<number>();
  /** key → keys of the objects that reference it. */
  private readonly referrers = new Map<string, Set<string>>();
  /** Keys recorded or forgotten since the last takeTouched(), with the keys they referenced or reference. */
  private touched = new Set<string>();
  /** sw_if_indexes whose link state changed since the last takeLinkChanges(). */
  private linkChanged = new Set<number>();

  get(key: string): VppObject | undefined {
    return this.objects.get(key);
  }

  handle(key: string): number | undefined {
    return this.handles.get(key);
  }

  /**
   * What changed since the last call: keys set or removed, and the keys their old and new versions
   * reference (whose being "used by a frozen object" may have changed with them).
   */
  takeTouched(): Set<string> {
    const t = this.touched;
    this.touched = new Set();
    return t;
  }

  /** Records an interface's link state (from a dump or an event). */
  setLink(swIfIndex: number, up: boolean): void {
    if (this.links.get(swIfIndex) !== up) this.linkChanged.add(swIfIndex);
    this.links.set(swIfIndex, up);
  }

  get linkUp(): ReadonlyMap<number, boolean> {
    return this.links;
  }

  /** Interfaces whose link state changed since the last call. */
  takeLinkChanges(): Set<number> {
    const c = this.linkChanged;
    this.linkChanged = new Set();
    return c;
  }

  /** `keys` and every key the VPP objects among them reference, transitively. */
  closure(...keys: Iterable<string>[]): Set<string> {
    const out = new Set<string>();
    for (const ks of keys) for (const k of ks) out.add(k);
    // A Set's iteration also visits what is added during it.
    for (const k of out) {
      const o = this.objects.get(k);
      if (o) for (const r of refsOf(o)) out.add(r);
    }
    return out;
  }

  /** Records an object (and its handle, for objects that have one). */
  set(obj: VppObject, handle?: number): void {
    const old = this.objects.get(obj.key);
    this.touched.add(obj.key);
    if (old) this.unlink(old);
    this.objects.set(obj.key, obj);
    for (const r of refsOf(obj)) {
      this.touched.add(r);
      let s = this.referrers.get(r);
      if (!s) this.referrers.set(r, (s = new Set()));
      s.add(obj.key);
    }
    if (handle !== undefined) {
      const prev = this.handles.get(obj.key);
      if (prev !== undefined && prev !== handle) this.forgetHandle(obj, prev);
      this.handles.set(obj.key, handle);
      if (IFACE_KINDS.has(obj.kind)) this.keyByIf.set(handle, obj.key);
      if (obj.kind === 'bd') this.bdIds.add(handle);
    }
  }

  /** Forgets an object (it was deleted from VPP). */
  remove(key: string): void {
    const obj = this.objects.get(key);
    if (!obj) return;
    this.touched.add(key);
    this.unlink(obj);
    this.objects.delete(key);
    const h = this.handles.get(key);
    if (h !== undefined) this.forgetHandle(obj, h);
    this.handles.delete(key);
  }

  private forgetHandle(obj: VppObject, h: number): void {
    if (IFACE_KINDS.has(obj.kind)) {
      if (this.keyByIf.get(h) === obj.key) this.keyByIf.delete(h);
      if (this.links.delete(h)) this.linkChanged.add(h);
    }
    if (obj.kind === 'bd') this.bdIds.delete(h);
  }

  private unlink(obj: VppObject): void {
    for (const r of refsOf(obj)) {
      this.referrers.get(r)?.delete(obj.key);
      this.touched.add(r);
    }
  }

  /** Keys of the objects that reference `key` in VPP (they must go or change before it can be deleted). */
  referrersOf(key: string): string[] {
    return [...(this.referrers.get(key) ?? [])];
  }

  /** An interface vanished from VPP (deleted behind our back): drop it and what hung off it. */
  interfaceGone(swIfIndex: number): string | undefined {
    const key = this.keyByIf.get(swIfIndex);
    if (this.links.delete(swIfIndex)) this.linkChanged.add(swIfIndex);
    if (!key) return undefined;
    for (const k of [keyOf.l2(key), keyOf.up(key)]) this.remove(k);
    const port = portOfIface(key);
    if (port) for (const k of [keyOf.aclbind(port), keyOf.macipbind(port), keyOf.etype(port)]) this.remove(k);
    this.remove(key);
    return key;
  }
}

/** The VPP-side description of a port interface, from the per-type dumps. */
interface IfExtra {
  vif?: PortVif;
}

export interface ReadActualOptions {
  /** physnet → uplink interface name. */
  physnets: ReadonlyMap<string, string>;
}

/**
 * Reads every object netvpp owns (and the configured uplinks) from VPP with dumps run in parallel.
 * A VPP without a plugin (message group) has none of its objects: those reads are skipped.
 */
export async function readActual(vpp: VppApi, opts: ReadActualOptions): Promise<ActualState> {
  const offered = <T>(group: GroupName, read: () => Promise<T>, none: T): Promise<T> =>
    vpp.offers?.(group) === false ? Promise.resolve(none) : read();
  const [ifs, vhosts, taps, afps, bds, acls, aclLists, macips, macipIfs, etypes] = await Promise.all([
    vpp.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    offered('vhost_user', () => vpp.dump(sw_interface_vhost_user_dump, { sw_if_index: NO_INDEX }), []),
    offered('tap', () => vpp.dump(sw_interface_tap_v2_dump, { sw_if_index: NO_INDEX }), []),
    offered('af_packet', () => vpp.dump(af_packet_dump, {}), []),
    vpp.dump(bridge_domain_dump, { bd_id: NO_INDEX, sw_if_index: NO_INDEX }),
    offered('acl', () => vpp.dump(acl_dump, { acl_index: NO_INDEX }), []),
    offered('acl', () => vpp.dump(acl_interface_list_dump, { sw_if_index: NO_INDEX }), []),
    offered('acl', () => vpp.dump(macip_acl_dump, { acl_index: NO_INDEX }), []),
    offered('acl', () => vpp.request(macip_acl_interface_get, {}), { context: 0, count: 0, acls: [] }),
    offered('acl', () => vpp.dump(acl_interface_etype_whitelist_dump, { sw_if_index: NO_INDEX }), []),
  ]);
  const a = new ActualState();

  const extra = new Map<number, IfExtra>();
  for (const v of vhosts)
    extra.set(v.sw_if_index, { vif: { type: 'vhostuser', socket: v.sock_filename, server: v.is_server } });
  for (const t of taps) {
    extra.set(t.sw_if_index, {
      vif: {
        type: 'tap',
        hostIfName: t.host_if_name,
        hostMac: t.host_mac_addr.toLowerCase(),
        hostMtu: t.host_mtu_size,
      },
    });
  }
  for (const p of afps) {
    extra.set(p.sw_if_index, {
      vif: { type: 'veth', hostIfName: '', vppIfName: p.host_if_name, hostMac: '', hostMtu: 0 },
    });
  }

  const uplinkByName = new Map<string, string>();
  for (const [physnet, name] of opts.physnets) uplinkByName.set(name, physnet);

  // Interfaces: the uplinks by name first (a sub-interface refers to its parent by index).
  const byIndex = new Map<number, SwInterfaceDetails>();
  for (const d of ifs) {
    byIndex.set(d.sw_if_index, d);
    a.setLink(d.sw_if_index, (d.flags & LINK_UP) !== 0);
    const physnet = uplinkByName.get(d.interface_name);
    if (physnet !== undefined) {
      a.set(
        {
          kind: 'uplink',
          key: keyOf.uplink(physnet),
          physnet,
          name: d.interface_name,
          adminUp: (d.flags & ADMIN_UP) !== 0,
        },
        d.sw_if_index,
      );
    }
  }
  const uniqueKey = (key: string, handle: number): string => (a.objects.has(key) ? `${key}#${handle}` : key);
  for (const d of ifs) {
    const key = keyFromTag(d.tag);
    if (key === null) continue;
    const adminUp = (d.flags & ADMIN_UP) !== 0;
    const vlan = /^vlan:([^:]+):(\d+)$/.exec(key);
    if (vlan) {
      const parent = a.keyByIf.get(d.sup_sw_if_index) ?? `ifindex:${d.sup_sw_if_index}`;
      a.set(
        {
          kind: 'vlan',
          key: uniqueKey(key, d.sw_if_index),
          uplink: parent,
          vlan: d.sub_outer_vlan_id,
          pop: d.vtr_op === 3,
          adminUp,
        },
        d.sw_if_index,
      );
      continue;
    }
    const port = portOfIface(key);
    if (port !== undefined) {
      const vif: PortVif = extra.get(d.sw_if_index)?.vif ?? { type: 'other', dev: d.interface_dev_type };
      const k = uniqueKey(key, d.sw_if_index);
      a.set(
        { kind: 'port', key: k, portId: port, vif, mac: d.l2_address.toLowerCase(), mtu: d.mtu[0] },
        d.sw_if_index,
      );
      if (adminUp) a.set({ kind: 'up', key: keyOf.up(k), iface: k, after: [] });
    }
    // Other netvpp tags (a newer agent's objects) are left alone.
  }

  // Bridge domains: ours by tag; memberships of our interfaces.
  const bdKeyById = new Map<number, string>();
  for (const bd of bds) {
    a.bdIds.add(bd.bd_id);
    const key = keyFromTag(bd.bd_tag);
    if (key === null || !key.startsWith('bd:')) continue;
    const k = uniqueKey(key, bd.bd_id);
    bdKeyById.set(bd.bd_id, k);
    a.set(
      {
        kind: 'bd',
        key: k,
        preferredId: bd.bd_id,
        flood: bd.flood,
        uuFlood: bd.uu_flood,
        forward: bd.forward,
        learn: bd.learn,
        arpTerm: bd.arp_term,
      },
      bd.bd_id,
    );
  }
  for (const bd of bds) {
    const bdKey = bdKeyById.get(bd.bd_id);
    for (const m of bd.sw_if_details) {
      const iface = a.keyByIf.get(m.sw_if_index);
      if (!iface) continue;
      // An uplink in someone else's bridge is the operator's business, not a membership of ours.
      if (!bdKey && iface.startsWith('uplink:')) continue;
      a.set({ kind: 'l2', key: keyOf.l2(iface), iface, bd: bdKey ?? `bd-id:${bd.bd_id}`, after: [] });
    }
  }

  // ACLs by tag, then the interfaces' lists.
  const aclKeyByIndex = new Map<number, string>();
  for (const acl of acls) {
    const t = parseAclTag(acl.tag);
    if (!t || t.kind === 'macip') continue;
    const k = uniqueKey(keyFromTag(acl.tag) as string, acl.acl_index);
    aclKeyByIndex.set(acl.acl_index, k);
    a.set({ kind: 'acl', key: k, rules: acl.r }, acl.acl_index);
  }
  for (const l of aclLists) {
    const iface = a.keyByIf.get(l.sw_if_index);
    const port = iface ? portOfIface(iface) : undefined;
    if (!iface || !port || l.count === 0) continue;
    const keys = l.acls.map((i) => aclKeyByIndex.get(i) ?? `acl-index:${i}`);
    a.set({
      kind: 'aclbind',
      key: keyOf.aclbind(port),
      iface,
      input: keys.slice(0, l.n_input),
      output: keys.slice(l.n_input),
    });
  }

  for (const w of etypes) {
    const iface = a.keyByIf.get(w.sw_if_index);
    const port = iface ? portOfIface(iface) : undefined;
    if (!iface || !port || w.count === 0) continue;
    const list = w.whitelist.slice(0, w.count);
    a.set({
      kind: 'etype',
      key: keyOf.etype(port),
      iface,
      input: list.slice(0, w.n_input),
      output: list.slice(w.n_input),
    });
  }

  const macipKeyByIndex = new Map<number, string>();
  for (const m of macips) {
    const t = parseAclTag(m.tag);
    if (!t || t.kind !== 'macip') continue;
    const k = uniqueKey(keyFromTag(m.tag) as string, m.acl_index);
    macipKeyByIndex.set(m.acl_index, k);
    a.set({ kind: 'macip', key: k, rules: m.r }, m.acl_index);
  }
  macipIfs.acls.forEach((aclIndex, swIfIndex) => {
    if (aclIndex === NO_INDEX) return;
    const iface = a.keyByIf.get(swIfIndex);
    const port = iface ? portOfIface(iface) : undefined;
    if (!iface || !port) return;
    a.set({
      kind: 'macipbind',
      key: keyOf.macipbind(port),
      iface,
      acl: macipKeyByIndex.get(aclIndex) ?? `macip-index:${aclIndex}`,
    });
  });
  return a;
}
