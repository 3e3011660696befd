// The NAT44-ED kinds (VPP's nat44_ed plugin), for routers' SNAT and floating IPs (docs/l3.md):
//
// - natenable (`nat44`): the plugin on. VPP refuses every NAT call until it is enabled, answers a
//   second enable with -170 (already enabled), and reports the enable's session count in
//   nat44_show_running_config (0 while off), which is how it is read back without writing.
//   Disabled only when VPP has no NAT setting left (netvpp's go first: they reference it), since
//   disabling drops every NAT setting, an operator's too.
// - natif (`natif:<in|out>:<interface key>`): the inside feature on a router's interfaces, the
//   outside one on its gateway interface. One router = one VRF with both sides in it, so NAT44-ED
//   translates only what leaves through an outside interface: tenant-to-tenant traffic through the
//   router stays untranslated (nat44_ed_not_translate). VPP drops the setting with the interface.
// - natpool (`natpool:<router id>`): the router's SNAT address (its gateway's IPv4 address) with
//   vrf_id = the router's VRF, so only that router's VMs get it (nat_ed_alloc_addr_and_port takes an
//   address of the packet's VRF first, and one without a VRF only as a fallback). VPP has no tag on
//   addresses: netvpp's are those in netvpp's VRFs.
// - natsm (`natsm:<floating ip id>`): a floating IP, an address-only static mapping (local = the
//   fixed IP in the router's VRF, external = the floating IP), tagged. Deleting it makes VPP flush
//   its sessions.
import {
  nat44_add_del_address_range,
  nat44_add_del_static_mapping_v2,
  nat44_address_dump,
  nat44_ed_plugin_enable_disable,
  nat44_interface_add_del_feature,
  nat44_interface_dump,
  nat44_show_running_config,
  nat44_static_mapping_dump,
  NatConfigFlags,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export const NAT_KEY = 'nat44';
/** VNET_API_ERROR_FEATURE_ALREADY_ENABLED: another client (or an earlier call) enabled it. */
const ALREADY_ENABLED = -170;
const INSIDE = NatConfigFlags.NAT_IS_INSIDE;
const OUTSIDE = NatConfigFlags.NAT_IS_OUTSIDE;
const ADDR_ONLY = NatConfigFlags.NAT_IS_ADDR_ONLY;
const TWICE_NAT = NatConfigFlags.NAT_IS_TWICE_NAT;

export interface NatEnableObj {
  kind: 'natenable';
  key: string;
  /** Sessions per thread to enable with (0: VPP's default, 63 × 1024); not compared. */
  sessions: number;
}

export interface NatIfObj {
  kind: 'natif';
  key: string;
  iface: string;
  inside: boolean;
  /** Keys that must be in place first: the interface's VRF binding (NAT takes the interface's table when the feature is added). */
  after: string[];
}

export interface NatPoolObj {
  kind: 'natpool';
  key: string;
  addr: string;
  vrf: string;
}

export interface NatSmObj {
  kind: 'natsm';
  key: string;
  local: string;
  external: string;
  vrf: string;
}

export const natifKey = (inside: boolean, ifaceKey: string): string =>
  `natif:${inside ? 'in' : 'out'}:${ifaceKey}`;
export const natpoolKey = (routerId: string): string => `natpool:${routerId}`;
export const natsmKey = (fipId: string): string => `natsm:${fipId}`;

export const natenable: KindDescriptor<NatEnableObj> = {
  kind: 'natenable',
  ownership: 'identity',
  needs: ['nat'],
  deps: () => [],
  compare: () => 'same',
  async create(o, ctx) {
    try {
      await ctx.vpp.request(nat44_ed_plugin_enable_disable, {
        enable: true,
        inside_vrf: 0,
        outside_vrf: 0,
        sessions: o.sessions,
        session_memory: 0,
        flags: 0,
      });
    } catch (e) {
      if (!(e instanceof VppApiError && e.retval === ALREADY_ENABLED)) throw e;
    }
    ctx.actual.set({ ...o });
  },
  async delete(_o, ctx) {
    // Left on while anything else uses NAT: disabling would flush it.
    const [ifs, pool, sms] = await Promise.all([
      ctx.vpp.dump(nat44_interface_dump, {}),
      ctx.vpp.dump(nat44_address_dump, {}),
      ctx.vpp.dump(nat44_static_mapping_dump, {}),
    ]);
    if (ifs.length + pool.length + sms.length > 0) return;
    await ctx.vpp.request(nat44_ed_plugin_enable_disable, {
      enable: false,
      inside_vrf: 0,
      outside_vrf: 0,
      sessions: 0,
      session_memory: 0,
      flags: 0,
    });
  },
  async read(src) {
    const rc = await src.request(nat44_show_running_config, {});
    return (sink) => {
      if (rc.sessions > 0)
        sink.add({ kind: 'natenable', key: NAT_KEY, sessions: rc.sessions } satisfies NatEnableObj);
    };
  },
};

async function feature(o: NatIfObj, isAdd: boolean, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(nat44_interface_add_del_feature, {
    is_add: isAdd,
    flags: o.inside ? INSIDE : OUTSIDE,
    sw_if_index: need(ctx, o.iface),
  });
}

export const natif: KindDescriptor<NatIfObj> = {
  kind: 'natif',
  ownership: 'setting',
  needs: ['nat'],
  deps: (o) => [o.iface, NAT_KEY, ...o.after],
  refs: (o) => [o.iface, NAT_KEY],
  parentOf: (o) => o.iface,
  goesWithParent: true,
  compare: () => 'same',
  async create(o, ctx) {
    await feature(o, true, ctx);
    ctx.actual.set({ ...o, after: [] });
  },
  delete: (o, ctx) => feature(o, false, ctx),
  readAfter: ['rif', 'natenable'],
  async read(src) {
    const rows = await src.dump(nat44_interface_dump, {});
    return (sink) => {
      for (const r of rows) {
        const iface = sink.actual.keyOfHandle('sw_if_index', r.sw_if_index);
        if (iface === undefined || !iface.startsWith('rif:')) continue;
        for (const inside of [true, false])
          if (r.flags & (inside ? INSIDE : OUTSIDE))
            sink.add({
              kind: 'natif',
              key: natifKey(inside, iface),
              iface,
              inside,
              after: [],
            } satisfies NatIfObj);
      }
    };
  },
};

async function poolAddDel(o: NatPoolObj, isAdd: boolean, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(nat44_add_del_address_range, {
    first_ip_address: o.addr,
    last_ip_address: o.addr,
    vrf_id: isAdd ? need(ctx, o.vrf) : NO_INDEX,
    is_add: isAdd,
    flags: 0,
  });
}

export const natpool: KindDescriptor<NatPoolObj> = {
  kind: 'natpool',
  ownership: 'identity',
  needs: ['nat'],
  deps: (o) => [o.vrf, NAT_KEY],
  compare: (d, a) => (d.addr === a.addr && d.vrf === a.vrf ? 'same' : 'replace'),
  async create(o, ctx) {
    await poolAddDel(o, true, ctx);
    ctx.actual.set({ ...o });
  },
  delete: (o, ctx) => poolAddDel(o, false, ctx),
  readAfter: ['vrf', 'natenable'],
  async read(src) {
    const rows = await src.dump(nat44_address_dump, {});
    return (sink) => {
      for (const r of rows) {
        if (r.flags & TWICE_NAT || r.vrf_id === NO_INDEX) continue;
        const vrf = sink.actual.keyOfHandle('table_id', r.vrf_id);
        if (vrf === undefined || !vrf.startsWith('vrf:')) continue;
        sink.add({
          kind: 'natpool',
          key: natpoolKey(vrf.slice(4)),
          addr: r.ip_address,
          vrf,
        } satisfies NatPoolObj);
      }
    };
  },
};

async function smAddDel(o: NatSmObj, isAdd: boolean, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(nat44_add_del_static_mapping_v2, {
    is_add: isAdd,
    match_pool: false,
    flags: ADDR_ONLY,
    pool_ip_address: '0.0.0.0',
    local_ip_address: o.local,
    external_ip_address: o.external,
    protocol: 0,
    local_port: 0,
    external_port: 0,
    external_sw_if_index: NO_INDEX,
    // A delete finds the mapping by its external address; the VRF may be one netvpp doesn't know.
    vrf_id: isAdd ? need(ctx, o.vrf) : (ctx.actual.handle(o.vrf) ?? NO_INDEX),
    tag: isAdd ? tagOf(o.key) : '',
  });
}

export const natsm: KindDescriptor<NatSmObj> = {
  kind: 'natsm',
  ownership: 'tag',
  needs: ['nat'],
  deps: (o) => [o.vrf, NAT_KEY],
  compare: (d, a) =>
    d.local === a.local && d.external === a.external && d.vrf === a.vrf ? 'same' : 'replace',
  async create(o, ctx) {
    await smAddDel(o, true, ctx);
    ctx.actual.set({ ...o });
  },
  delete: (o, ctx) => smAddDel(o, false, ctx),
  readAfter: ['vrf', 'natenable'],
  async read(src) {
    const rows = await src.dump(nat44_static_mapping_dump, {});
    return (sink) => {
      for (const r of rows) {
        const key = keyFromTag(r.tag);
        if (key === null || !key.startsWith('natsm:')) continue;
        const vrf = sink.actual.keyOfHandle('table_id', r.vrf_id) ?? `table:${r.vrf_id}`;
        sink.add({
          kind: 'natsm',
          key,
          local: r.local_ip_address,
          external: r.external_ip_address,
          vrf,
        } satisfies NatSmObj);
      }
    };
  },
};
