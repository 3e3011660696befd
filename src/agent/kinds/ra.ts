// ra (`ra:<interface key>`): IPv6 router advertisements on a router interface, for its subnets whose
// Neutron ipv6_ra_mode is set (docs/l3.md, "IPv6") — what Neutron's L3 agent runs radvd for.
//
// VPP (ip6_ra.c) keeps RA state per interface while it has IPv6 (its first IPv6 address makes it,
// not sending; its last one's removal drops it): so this goes after the interface's addresses. Any
// sw_interface_ip6nd_ra_config turns sending on; a flag given sets it, or with is_no clears it (two
// calls when one flag goes on and the other off). Each prefix is one sw_interface_ip6nd_ra_prefix,
// with the A (autonomous: SLAAC) bit off for dhcpv6-stateful, as Neutron's radvd.conf has it; M on
// for dhcpv6-stateful, O on for dhcpv6-stateless. Deleting suppresses the adverts and removes the
// prefixes; the state goes with the interface (or its last IPv6 address). Read back with
// sw_interface_ip6nd_ra_dump: a netvpp router interface that sends, or lists a prefix, is ours.
import {
  sw_interface_ip6nd_ra_config,
  sw_interface_ip6nd_ra_dump,
  sw_interface_ip6nd_ra_prefix,
} from '../../vpp/binapi/index.ts';
import { need, NO_INDEX } from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export interface RaPrefix {
  /** network/length (IPv6). */
  prefix: string;
  /** The A bit: hosts make their own addresses from it (slaac, dhcpv6-stateless). */
  autonomous: boolean;
}

export interface RaObj {
  kind: 'ra';
  key: string;
  iface: string;
  /** The M and O flags (dhcpv6-stateful, dhcpv6-stateless). */
  managed: boolean;
  other: boolean;
  /** Sorted by prefix. */
  prefixes: RaPrefix[];
  /** Keys that must be in place first: the interface's IPv6 addresses. */
  after: string[];
}

export const raKey = (ifaceKey: string): string => `ra:${ifaceKey}`;

/** Neutron's defaults for radvd: valid 30 days, preferred 7 days (VPP's too). */
const VALID = 2592000;
const PREFERRED = 604800;

const NO_CONFIG = {
  suppress: 0,
  managed: 0,
  other: 0,
  ll_option: 0,
  send_unicast: 0,
  cease: 0,
  is_no: false,
  default_router: 0,
  max_interval: 0,
  min_interval: 0,
  lifetime: 0,
  initial_count: 0,
  initial_interval: 0,
};

async function prefix(sw: number, p: RaPrefix, isNo: boolean, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(sw_interface_ip6nd_ra_prefix, {
    sw_if_index: sw,
    prefix: p.prefix,
    use_default: false,
    no_advertise: false,
    off_link: false,
    no_autoconfig: !p.autonomous,
    no_onlink: false,
    is_no: isNo,
    val_lifetime: VALID,
    pref_lifetime: PREFERRED,
  });
}

const samePrefix = (a: RaPrefix, b: RaPrefix): boolean =>
  a.prefix === b.prefix && a.autonomous === b.autonomous;

async function put(o: RaObj, was: RaObj | null, ctx: OpContext): Promise<void> {
  const sw = need(ctx, o.iface);
  // Sending on, and the flags that must be off cleared (is_no), then those that must be on set.
  const off = { managed: !o.managed && (was?.managed ?? true), other: !o.other && (was?.other ?? true) };
  await ctx.vpp.request(sw_interface_ip6nd_ra_config, {
    ...NO_CONFIG,
    sw_if_index: sw,
    managed: off.managed ? 1 : 0,
    other: off.other ? 1 : 0,
    is_no: off.managed || off.other,
  });
  if (o.managed || o.other)
    await ctx.vpp.request(sw_interface_ip6nd_ra_config, {
      ...NO_CONFIG,
      sw_if_index: sw,
      managed: o.managed ? 1 : 0,
      other: o.other ? 1 : 0,
    });
  for (const p of was?.prefixes ?? [])
    if (!o.prefixes.some((q) => q.prefix === p.prefix)) await prefix(sw, p, true, ctx);
  for (const p of o.prefixes)
    if (!was?.prefixes.some((q) => samePrefix(p, q))) await prefix(sw, p, false, ctx);
  ctx.actual.set({ ...o, prefixes: o.prefixes.map((p) => ({ ...p })), after: [] });
}

export const ra: KindDescriptor<RaObj> = {
  kind: 'ra',
  ownership: 'setting',
  needs: ['ip'],
  deps: (o) => [o.iface, ...o.after],
  refs: (o) => [o.iface],
  parentOf: (o) => o.iface,
  goesWithParent: true,
  compare: (d, a) =>
    d.managed === a.managed &&
    d.other === a.other &&
    d.prefixes.length === a.prefixes.length &&
    d.prefixes.every((p, i) => samePrefix(p, a.prefixes[i]))
      ? 'same'
      : 'update',
  create: (o, ctx) => put(o, null, ctx),
  update: (d, a, ctx) => put(d, a, ctx),
  async delete(o, ctx) {
    const sw = need(ctx, o.iface);
    await ctx.vpp.request(sw_interface_ip6nd_ra_config, { ...NO_CONFIG, sw_if_index: sw, suppress: 1 });
    for (const p of o.prefixes) await prefix(sw, p, true, ctx);
  },
  readAfter: ['rif'],
  async read(src) {
    const rows = await src.dump(sw_interface_ip6nd_ra_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      for (const r of rows) {
        const iface = sink.actual.keyOfHandle('sw_if_index', r.sw_if_index);
        if (iface === undefined || !iface.startsWith('rif:')) continue;
        const prefixes = r.prefixes
          .slice(0, r.n_prefixes)
          .map((p) => ({ prefix: p.prefix, autonomous: p.autonomous_flag }))
          .sort((a, b) => a.prefix.localeCompare(b.prefix));
        if (!r.send_radv && prefixes.length === 0) continue;
        sink.add({
          kind: 'ra',
          key: raKey(iface),
          iface,
          managed: r.adv_managed_flag,
          other: r.adv_other_flag,
          // A suppressed state with prefixes left (a crash mid-delete) reads as no flags: updated.
          prefixes: r.send_radv ? prefixes : [],
          after: [],
        } satisfies RaObj);
      }
    };
  },
};
