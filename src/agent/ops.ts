// The VPP calls that create, change and delete each kind of object. Each records its progress in the
// actual state after every successful call, so a failure part-way leaves an accurate picture and the
// next pass does only what is still missing.
import {
  acl_add_replace,
  acl_del,
  acl_interface_set_acl_list,
  acl_interface_set_etype_whitelist,
  af_packet_create_v3,
  af_packet_delete,
  AfPacketMode,
  bridge_domain_add_del_v2,
  bridge_flags,
  BdFlags,
  create_vhost_user_if_v2,
  create_vlan_subif,
  delete_subif,
  delete_vhost_user_if,
  IfStatusFlags,
  l2_interface_vlan_tag_rewrite,
  L2PortType,
  macip_acl_add_replace,
  macip_acl_del,
  macip_acl_interface_add_del,
  sw_interface_dump,
  sw_interface_set_flags,
  sw_interface_set_l2_bridge,
  sw_interface_set_mtu,
  sw_interface_tag_add_del,
  tap_create_v3,
  tap_delete_v2,
} from '../vpp/binapi/index.ts';
import { VppApiError } from '../vpp/errors.ts';
import { MAX_BD_ID } from './compile.ts';
import type { HostNet } from './host-net.ts';
import { NO_INDEX, type ActualState } from './actual.ts';
import {
  keyOf,
  tagOf,
  type AclBindObj,
  type EtypeObj,
  type AclObj,
  type BridgeObj,
  type L2Obj,
  type MacipBindObj,
  type MacipObj,
  type PortObj,
  type UplinkObj,
  type VlanObj,
  type VppObject,
} from './objects.ts';
import type { VppApi } from './vpp-api.ts';

const ADMIN_UP = IfStatusFlags.IF_STATUS_API_FLAG_ADMIN_UP;
/** l2_interface_vlan_tag_rewrite: pop one tag on ingress (and push it back on egress). */
const VTR_POP_1 = 3;
const RING_SIZE = 256;
const AF_PACKET_FRAME_SIZE = 2048;
const AF_PACKET_FRAMES_PER_BLOCK = 32;
/** VPP's VNET_API_ERROR_BD_ALREADY_EXISTS (another client took the id since our dump). */
const BD_ALREADY_EXISTS = -119;
const SUBIF_ALREADY_EXISTS = [-56, -68];
const SYSCALL_ERROR_1 = -11;

export interface OpContext {
  vpp: VppApi;
  actual: ActualState;
  hostNet: HostNet;
}

/** An error on an object that retrying the same call will not fix by itself. */
export class ObjectError extends Error {
  override name = 'ObjectError';
}

function need(ctx: OpContext, key: string): number {
  const h = ctx.actual.handle(key);
  if (h === undefined) throw new ObjectError(`${key} is not in VPP`);
  return h;
}

// ---- create ----------------------------------------------------------------------------------------

export async function createObject(o: VppObject, ctx: OpContext): Promise<void> {
  switch (o.kind) {
    case 'uplink':
      return findUplink(o, ctx);
    case 'vlan':
      return createVlan(o, ctx);
    case 'bd':
      return createBridge(o, ctx);
    case 'port':
      return createPort(o, ctx);
    case 'l2':
      return setL2(o, ctx);
    case 'acl':
      return putAcl(o, ctx);
    case 'macip':
      return putMacip(o, ctx);
    case 'aclbind':
      return setAclList(o, ctx);
    case 'macipbind':
      return bindMacip(o, undefined, ctx);
    case 'etype':
      return setEtypes(o, ctx);
    case 'up':
      await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.iface), flags: ADMIN_UP });
      ctx.actual.set({ ...o, after: [] });
      return;
  }
}

/** The uplink is the operator's: found by name (it may appear after the agent started), set up. */
async function findUplink(o: UplinkObj, ctx: OpContext): Promise<void> {
  const found = await ctx.vpp.dump(sw_interface_dump, {
    sw_if_index: NO_INDEX,
    name_filter_valid: true,
    name_filter: o.name,
  });
  const d = found.find((x) => x.interface_name === o.name);
  if (!d) throw new ObjectError(`uplink interface ${o.name} of physnet ${o.physnet} does not exist in VPP`);
  const adminUp = (d.flags & ADMIN_UP) !== 0;
  ctx.actual.set({ ...o, adminUp }, d.sw_if_index);
  if (!adminUp && o.adminUp) await updateUplink(o, ctx);
}

async function updateUplink(o: UplinkObj, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.key), flags: ADMIN_UP });
  ctx.actual.set({ ...o, adminUp: true }, need(ctx, o.key));
}

async function createVlan(o: VlanObj, ctx: OpContext): Promise<void> {
  const parent = need(ctx, o.uplink);
  let idx: number;
  try {
    idx = (await ctx.vpp.request(create_vlan_subif, { sw_if_index: parent, vlan_id: o.vlan })).sw_if_index;
  } catch (e) {
    if (e instanceof VppApiError && SUBIF_ALREADY_EXISTS.includes(e.retval)) {
      throw new ObjectError(
        `VLAN ${o.vlan} sub-interface of ${o.uplink} already exists without netvpp's tag; ` +
          'netvpp will not take it over (delete it, or tag it "' +
          tagOf(o.key) +
          '")',
      );
    }
    throw e;
  }
  try {
    await ctx.vpp.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: idx, tag: tagOf(o.key) });
  } catch (e) {
    // An untagged sub-interface would be invisible to the next resync: don't leave it behind.
    await ctx.vpp.request(delete_subif, { sw_if_index: idx }).catch(() => undefined);
    throw e;
  }
  ctx.actual.set({ ...o, pop: false, adminUp: false }, idx);
  await updateVlan(o, ctx);
}

async function updateVlan(o: VlanObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.key);
  const cur = ctx.actual.get(o.key) as VlanObj;
  if (cur.pop !== o.pop) {
    await ctx.vpp.request(l2_interface_vlan_tag_rewrite, {
      sw_if_index: idx,
      vtr_op: o.pop ? VTR_POP_1 : 0,
      push_dot1q: 1,
    });
    ctx.actual.set({ ...cur, pop: o.pop }, idx);
  }
  const now = ctx.actual.get(o.key) as VlanObj;
  if (now.adminUp !== o.adminUp) {
    await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: idx, flags: o.adminUp ? ADMIN_UP : 0 });
    ctx.actual.set({ ...now, adminUp: o.adminUp }, idx);
  }
}

/** bd_ids handed out by calls still in flight. */
const reserved = new WeakMap<ActualState, Set<number>>();

function allocateBdId(ctx: OpContext, preferred: number): number {
  let r = reserved.get(ctx.actual);
  if (!r) reserved.set(ctx.actual, (r = new Set()));
  let id = preferred;
  for (let i = 0; i < MAX_BD_ID; i++) {
    if (!ctx.actual.bdIds.has(id) && !r.has(id)) {
      r.add(id);
      return id;
    }
    id = id >= MAX_BD_ID - 1 ? 1 : id + 1;
  }
  throw new ObjectError('no free bridge domain id');
}

async function createBridge(o: BridgeObj, ctx: OpContext): Promise<void> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const id = allocateBdId(ctx, o.preferredId);
    try {
      await ctx.vpp.request(bridge_domain_add_del_v2, {
        bd_id: id,
        is_add: true,
        flood: o.flood,
        uu_flood: o.uuFlood,
        forward: o.forward,
        learn: o.learn,
        arp_term: o.arpTerm,
        arp_ufwd: false,
        mac_age: 0,
        bd_tag: tagOf(o.key),
      });
      ctx.actual.set({ ...o }, id);
      return;
    } catch (e) {
      // Someone else created that id since we looked: remember it and take the next one.
      if (e instanceof VppApiError && e.retval === BD_ALREADY_EXISTS) ctx.actual.bdIds.add(id);
      else throw e;
    } finally {
      reserved.get(ctx.actual)?.delete(id);
    }
  }
  throw new ObjectError('could not find a free bridge domain id');
}

async function updateBridge(o: BridgeObj, ctx: OpContext): Promise<void> {
  const id = need(ctx, o.key);
  const cur = ctx.actual.get(o.key) as BridgeObj;
  const want: [boolean, boolean, number][] = [
    [o.learn, cur.learn, BdFlags.BRIDGE_API_FLAG_LEARN],
    [o.forward, cur.forward, BdFlags.BRIDGE_API_FLAG_FWD],
    [o.flood, cur.flood, BdFlags.BRIDGE_API_FLAG_FLOOD],
    [o.uuFlood, cur.uuFlood, BdFlags.BRIDGE_API_FLAG_UU_FLOOD],
    [o.arpTerm, cur.arpTerm, BdFlags.BRIDGE_API_FLAG_ARP_TERM],
  ];
  for (const isSet of [true, false]) {
    const flags = want.filter(([d, a]) => d !== a && d === isSet).reduce((f, [, , bit]) => f | bit, 0);
    if (flags) await ctx.vpp.request(bridge_flags, { bd_id: id, is_set: isSet, flags });
  }
  ctx.actual.set({ ...o, preferredId: cur.preferredId }, id);
}

async function createPort(o: PortObj, ctx: OpContext): Promise<void> {
  const tag = tagOf(o.key);
  let idx: number;
  const v = o.vif;
  switch (v.type) {
    case 'vhostuser':
      idx = (
        await ctx.vpp.request(create_vhost_user_if_v2, {
          is_server: v.server,
          sock_filename: v.socket,
          use_custom_mac: true,
          mac_address: o.mac,
          tag,
        })
      ).sw_if_index;
      break;
    case 'tap':
      try {
        idx = (
          await ctx.vpp.request(tap_create_v3, {
            id: NO_INDEX,
            use_random_mac: false,
            mac_address: o.mac,
            num_rx_queues: 1,
            num_tx_queues: 1,
            tx_ring_sz: RING_SIZE,
            rx_ring_sz: RING_SIZE,
            host_mtu_set: true,
            host_mtu_size: v.hostMtu,
            host_mac_addr_set: true,
            host_mac_addr: v.hostMac,
            host_if_name_set: true,
            host_if_name: v.hostIfName,
            tag,
          })
        ).sw_if_index;
      } catch (e) {
        if (e instanceof VppApiError && e.retval === SYSCALL_ERROR_1) {
          throw new ObjectError(
            `${e.message}: VPP could not open the kernel tap (no /dev/vhost-net on this host?); ` +
              'set [agent] tap_backend = veth to use a veth pair instead',
          );
        }
        throw e;
      }
      break;
    case 'veth': {
      await ctx.hostNet.ensureVeth(v.hostIfName, v.vppIfName, v.hostMac, v.hostMtu);
      idx = (
        await ctx.vpp.request(af_packet_create_v3, {
          mode: AfPacketMode.AF_PACKET_API_MODE_ETHERNET,
          hw_addr: o.mac,
          use_random_hw_addr: false,
          host_if_name: v.vppIfName,
          rx_frame_size: AF_PACKET_FRAME_SIZE,
          tx_frame_size: AF_PACKET_FRAME_SIZE,
          rx_frames_per_block: AF_PACKET_FRAMES_PER_BLOCK,
          tx_frames_per_block: AF_PACKET_FRAMES_PER_BLOCK,
          num_rx_queues: 1,
          num_tx_queues: 1,
        })
      ).sw_if_index;
      try {
        await ctx.vpp.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: idx, tag });
      } catch (e) {
        await ctx.vpp.request(af_packet_delete, { host_if_name: v.vppIfName }).catch(() => undefined);
        throw e;
      }
      break;
    }
    case 'other':
      throw new ObjectError(`cannot create a port interface of type ${v.dev}`);
  }
  // VPP's default MTU is not the network's: record what VPP has until set_mtu succeeds.
  ctx.actual.set({ ...o, mtu: -1 }, idx);
  await updatePort(o, ctx);
}

async function updatePort(o: PortObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.key);
  await ctx.vpp.request(sw_interface_set_mtu, { sw_if_index: idx, mtu: [o.mtu, 0, 0, 0] });
  const cur = ctx.actual.get(o.key) as PortObj;
  ctx.actual.set({ ...cur, mtu: o.mtu }, idx);
}

async function setL2(o: L2Obj, ctx: OpContext): Promise<void> {
  await ctx.vpp.request(sw_interface_set_l2_bridge, {
    rx_sw_if_index: need(ctx, o.iface),
    bd_id: need(ctx, o.bd),
    port_type: L2PortType.L2_API_PORT_TYPE_NORMAL,
    shg: 0,
    enable: true,
  });
  ctx.actual.set({ ...o, after: [] });
}

async function putAcl(o: AclObj, ctx: OpContext): Promise<void> {
  const cur = ctx.actual.handle(o.key);
  const r = await ctx.vpp.request(acl_add_replace, {
    acl_index: cur ?? NO_INDEX,
    tag: tagOf(o.key),
    count: o.rules.length,
    r: o.rules,
  });
  ctx.actual.set({ ...o }, r.acl_index);
}

async function putMacip(o: MacipObj, ctx: OpContext): Promise<void> {
  const cur = ctx.actual.handle(o.key);
  const r = await ctx.vpp.request(macip_acl_add_replace, {
    acl_index: cur ?? NO_INDEX,
    tag: tagOf(o.key),
    count: o.rules.length,
    r: o.rules,
  });
  ctx.actual.set({ ...o }, r.acl_index);
}

async function setAclList(o: AclBindObj, ctx: OpContext): Promise<void> {
  const acls = [...o.input, ...o.output].map((k) => need(ctx, k));
  await ctx.vpp.request(acl_interface_set_acl_list, {
    sw_if_index: need(ctx, o.iface),
    count: acls.length,
    n_input: o.input.length,
    acls,
  });
  ctx.actual.set({ ...o });
}

async function setEtypes(o: EtypeObj, ctx: OpContext): Promise<void> {
  const whitelist = [...o.input, ...o.output];
  await ctx.vpp.request(acl_interface_set_etype_whitelist, {
    sw_if_index: need(ctx, o.iface),
    count: whitelist.length,
    n_input: o.input.length,
    whitelist,
  });
  ctx.actual.set({ ...o });
}

async function bindMacip(o: MacipBindObj, old: MacipBindObj | undefined, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.iface);
  if (old) {
    const oldIndex = ctx.actual.handle(old.acl) ?? Number(/^macip-index:(\d+)$/.exec(old.acl)?.[1] ?? NaN);
    if (Number.isInteger(oldIndex)) {
      await ctx.vpp.request(macip_acl_interface_add_del, {
        is_add: false,
        sw_if_index: idx,
        acl_index: oldIndex,
      });
    }
    ctx.actual.remove(old.key);
  }
  await ctx.vpp.request(macip_acl_interface_add_del, {
    is_add: true,
    sw_if_index: idx,
    acl_index: need(ctx, o.acl),
  });
  ctx.actual.set({ ...o });
}

// ---- update ----------------------------------------------------------------------------------------

/** Changes `actual` in place into `desired` (same key, compare() said 'update'). */
export async function updateObject(desired: VppObject, actual: VppObject, ctx: OpContext): Promise<void> {
  switch (desired.kind) {
    case 'uplink':
      return updateUplink(desired, ctx);
    case 'vlan':
      return updateVlan(desired, ctx);
    case 'bd':
      return updateBridge(desired, ctx);
    case 'port':
      return updatePort(desired, ctx);
    case 'l2':
      return setL2(desired, ctx);
    case 'acl':
      return putAcl(desired, ctx);
    case 'macip':
      return putMacip(desired, ctx);
    case 'aclbind':
      return setAclList(desired, ctx);
    case 'macipbind':
      return bindMacip(desired, actual as MacipBindObj, ctx);
    case 'etype':
      return setEtypes(desired, ctx);
    case 'up':
      return createObject(desired, ctx);
  }
}

// ---- delete ----------------------------------------------------------------------------------------

/** Deletes an object of ours from VPP (referrers are already gone or changed). */
export async function deleteObject(o: VppObject, ctx: OpContext): Promise<void> {
  switch (o.kind) {
    case 'uplink':
      return; // never deleted: the operator's interface
    case 'vlan':
      await ctx.vpp.request(delete_subif, { sw_if_index: need(ctx, o.key) });
      break;
    case 'bd':
      await ctx.vpp.request(bridge_domain_add_del_v2, { bd_id: need(ctx, o.key), is_add: false });
      break;
    case 'port':
      await deletePort(o, ctx);
      break;
    case 'l2':
      await ctx.vpp.request(sw_interface_set_l2_bridge, {
        rx_sw_if_index: need(ctx, o.iface),
        bd_id: 0,
        port_type: L2PortType.L2_API_PORT_TYPE_NORMAL,
        shg: 0,
        enable: false,
      });
      break;
    case 'acl':
      await ctx.vpp.request(acl_del, { acl_index: need(ctx, o.key) });
      break;
    case 'macip':
      await ctx.vpp.request(macip_acl_del, { acl_index: need(ctx, o.key) });
      break;
    case 'aclbind':
      await ctx.vpp.request(acl_interface_set_acl_list, {
        sw_if_index: need(ctx, o.iface),
        count: 0,
        n_input: 0,
        acls: [],
      });
      break;
    case 'macipbind': {
      const index = ctx.actual.handle(o.acl) ?? Number(/^macip-index:(\d+)$/.exec(o.acl)?.[1] ?? NaN);
      if (Number.isInteger(index)) {
        await ctx.vpp.request(macip_acl_interface_add_del, {
          is_add: false,
          sw_if_index: need(ctx, o.iface),
          acl_index: index,
        });
      }
      break;
    }
    case 'etype':
      // An empty set removes both lists (VPP keeps them past the interface's deletion otherwise).
      await ctx.vpp.request(acl_interface_set_etype_whitelist, {
        sw_if_index: need(ctx, o.iface),
        count: 0,
        n_input: 0,
        whitelist: [],
      });
      break;
    case 'up':
      await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: need(ctx, o.iface), flags: 0 });
      break;
  }
  ctx.actual.remove(o.key);
}

async function deletePort(o: PortObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.key);
  const v = o.vif;
  switch (v.type) {
    case 'vhostuser':
      await ctx.vpp.request(delete_vhost_user_if, { sw_if_index: idx });
      break;
    case 'tap':
      await ctx.vpp.request(tap_delete_v2, { sw_if_index: idx });
      break;
    case 'veth':
      await ctx.vpp.request(af_packet_delete, { host_if_name: v.vppIfName });
      await ctx.hostNet.deleteVeth(v.vppIfName);
      break;
    case 'other':
      throw new ObjectError(`cannot delete ${o.key}: VPP interface type ${v.dev} is not one netvpp creates`);
  }
  // Whatever VPP dropped with the interface.
  for (const k of [keyOf.l2(o.key), keyOf.up(o.key)]) ctx.actual.remove(k);
}
