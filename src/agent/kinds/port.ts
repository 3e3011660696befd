// port:<port id> — a port's VPP interface: vhost-user (VM ports), tap, or af_packet on a veth pair
// (tap ports where VPP can't open /dev/vhost-net). Tagged with its key.
//
// vhost-user and tap interfaces are created with their tag in one call. An af_packet interface is
// created untagged and tagged in a second call; after a crash between the two, the create finds the
// untagged af_packet interface on the port's own veth (`vpp<port id prefix>`, a name only netvpp
// gives) and adopts it.
import {
  af_packet_create_v3,
  af_packet_delete,
  af_packet_dump,
  AfPacketMode,
  create_vhost_user_if_v2,
  delete_vhost_user_if,
  sw_interface_dump,
  sw_interface_set_mtu,
  sw_interface_tag_add_del,
  sw_interface_tap_v2_dump,
  sw_interface_vhost_user_dump,
  tap_create_v3,
  tap_delete_v2,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { baseKey, keyFromTag, need, NO_INDEX, portOfIface, tagOf } from './common.ts';
import { upKey } from './up.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export type PortVif =
  | {
      type: 'vhostuser';
      socket: string;
      /** VPP is the socket server (Neutron vhostuser_mode client) */ server: boolean;
      /**
       * GSO and checksum offload offered to the guest. VPP's dump does not report it, so it is set at
       * create and not compared: a changed `enable_gso` applies to interfaces created after it.
       */
      gso: boolean;
    }
  | {
      type: 'tap';
      hostIfName: string;
      hostMac: string;
      hostMtu: number;
      /** TAP_API_FLAG_GSO (with checksum offload); read back from tap_flags, so compared. */
      gso: boolean;
    }
  | {
      type: 'veth';
      /** The namespace-side name Neutron expects. */
      hostIfName: string;
      /** VPP's end of the pair (its af_packet host interface). */
      vppIfName: string;
      hostMac: string;
      hostMtu: number;
    }
  /** Found in VPP with a port tag but of a kind netvpp does not create (only ever deleted). */
  | { type: 'other'; dev: string };

export interface PortObj {
  kind: 'port';
  key: string;
  portId: string;
  vif: PortVif;
  /** VPP-side MAC (deterministic per port, so a re-create gives the same). */
  mac: string;
  /** L3 MTU of the interface (the network's MTU). */
  mtu: number;
}

export const portKey = (portId: string): string => `port:${portId}`;

const RING_SIZE = 256;
const AF_PACKET_FRAME_SIZE = 2048;
/** RX: VPP makes 160 blocks of this many frames (5,120 frames). */
const AF_PACKET_RX_FRAMES_PER_BLOCK = 32;
/**
 * TX: VPP makes one block, so this is the whole ring towards the kernel — VPP's own default (1,024
 * frames). With 32 a vector of packets to the port overran it ("tx ring overrun" drops): measured
 * on a real VPP, a 50 Mbit/s UDP stream lost a fifth of what its policer let through.
 */
const AF_PACKET_TX_FRAMES_PER_BLOCK = 1024;
const SYSCALL_ERROR_1 = -11;
const IF_ALREADY_EXISTS = -79;
/** TAP_API_FLAG_GSO: GSO, and with it checksum offload. */
const TAP_FLAG_GSO = 1;

function sameVif(a: PortVif, b: PortVif): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'vhostuser': {
      const o = b as typeof a;
      return a.socket === o.socket && a.server === o.server; // gso: not reported by VPP
    }
    case 'tap': {
      const o = b as typeof a;
      return (
        a.hostIfName === o.hostIfName &&
        a.hostMac.toLowerCase() === o.hostMac.toLowerCase() &&
        a.hostMtu === o.hostMtu &&
        a.gso === o.gso
      );
    }
    case 'veth': {
      const o = b as typeof a;
      return a.vppIfName === o.vppIfName;
    }
    case 'other':
      return false;
  }
}

async function createVhost(o: PortObj, v: PortVif & { type: 'vhostuser' }, ctx: OpContext): Promise<number> {
  const r = await ctx.vpp.request(create_vhost_user_if_v2, {
    is_server: v.server,
    sock_filename: v.socket,
    use_custom_mac: true,
    mac_address: o.mac,
    enable_gso: v.gso,
    tag: tagOf(o.key),
  });
  return r.sw_if_index;
}

async function createTap(o: PortObj, v: PortVif & { type: 'tap' }, ctx: OpContext): Promise<number> {
  try {
    const r = await ctx.vpp.request(tap_create_v3, {
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
      tap_flags: v.gso ? TAP_FLAG_GSO : 0,
      tag: tagOf(o.key),
    });
    return r.sw_if_index;
  } catch (e) {
    if (e instanceof VppApiError && e.retval === SYSCALL_ERROR_1) {
      throw new ObjectError(
        `${e.message}: VPP could not open the kernel tap (no /dev/vhost-net on this host?); ` +
          'set [agent] tap_backend = veth to use a veth pair instead',
      );
    }
    throw e;
  }
}

async function createVeth(o: PortObj, v: PortVif & { type: 'veth' }, ctx: OpContext): Promise<number> {
  const tag = tagOf(o.key);
  await ctx.hostNet.ensureVeth(v.hostIfName, v.vppIfName, v.hostMac, v.hostMtu);
  let idx: number;
  try {
    idx = (
      await ctx.vpp.request(af_packet_create_v3, {
        mode: AfPacketMode.AF_PACKET_API_MODE_ETHERNET,
        hw_addr: o.mac,
        use_random_hw_addr: false,
        host_if_name: v.vppIfName,
        rx_frame_size: AF_PACKET_FRAME_SIZE,
        tx_frame_size: AF_PACKET_FRAME_SIZE,
        rx_frames_per_block: AF_PACKET_RX_FRAMES_PER_BLOCK,
        tx_frames_per_block: AF_PACKET_TX_FRAMES_PER_BLOCK,
        num_rx_queues: 1,
        num_tx_queues: 1,
      })
    ).sw_if_index;
  } catch (e) {
    if (!(e instanceof VppApiError && e.retval === IF_ALREADY_EXISTS)) throw e;
    idx = await adoptAfPacket(o, v, ctx);
  }
  // Recorded before the tag call: a failure there leaves an object the next pass deletes or tags.
  await ctx.vpp.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: idx, tag });
  return idx;
}

/** The af_packet interface on this port's veth exists: netvpp's own, left untagged by a crash. */
async function adoptAfPacket(o: PortObj, v: PortVif & { type: 'veth' }, ctx: OpContext): Promise<number> {
  const afps = await ctx.vpp.dump(af_packet_dump, {});
  const found = afps.find((p) => p.host_if_name === v.vppIfName);
  if (!found)
    throw new ObjectError(`af_packet interface on ${v.vppIfName} exists but is not in af_packet_dump`);
  const [d] = await ctx.vpp.dump(sw_interface_dump, { sw_if_index: found.sw_if_index });
  const owner = d ? keyFromTag(d.tag) : null;
  if (d && d.tag !== '' && owner !== o.key) {
    throw new ObjectError(`af_packet interface on ${v.vppIfName} belongs to ${d.tag}, not to ${o.key}`);
  }
  return found.sw_if_index;
}

export const port: KindDescriptor<PortObj> = {
  kind: 'port',
  ownership: 'tag',
  handle: 'sw_if_index',
  portKeyPrefixes: ['port:'],
  deps: () => [],
  compare(d, a) {
    if (!sameVif(d.vif, a.vif)) return 'replace';
    return a.mtu === d.mtu ? 'same' : 'update';
  },
  async create(o, ctx) {
    const v = o.vif;
    let idx: number;
    if (v.type === 'vhostuser') idx = await createVhost(o, v, ctx);
    else if (v.type === 'tap') idx = await createTap(o, v, ctx);
    else if (v.type === 'veth') idx = await createVeth(o, v, ctx);
    else throw new ObjectError(`cannot create a port interface of type ${v.dev}`);
    // VPP's default MTU is not the network's: record what VPP has until set_mtu succeeds.
    ctx.actual.set({ ...o, mtu: -1 }, idx);
    await port.update?.(o, ctx.actual.get(o.key) as PortObj, ctx);
  },
  async update(o, _a, ctx) {
    const idx = need(ctx, o.key);
    await ctx.vpp.request(sw_interface_set_mtu, { sw_if_index: idx, mtu: [o.mtu, 0, 0, 0] });
    const cur = ctx.actual.get(o.key) as PortObj;
    ctx.actual.set({ ...cur, mtu: o.mtu }, idx);
  },
  async delete(o, ctx) {
    const idx = need(ctx, o.key);
    const v = o.vif;
    if (v.type === 'vhostuser') await ctx.vpp.request(delete_vhost_user_if, { sw_if_index: idx });
    else if (v.type === 'tap') await ctx.vpp.request(tap_delete_v2, { sw_if_index: idx });
    else if (v.type === 'veth') {
      await ctx.vpp.request(af_packet_delete, { host_if_name: v.vppIfName });
      await ctx.hostNet.deleteVeth(v.vppIfName);
    } else
      throw new ObjectError(`cannot delete ${o.key}: VPP interface type ${v.dev} is not one netvpp creates`);
  },
  async read(src) {
    const [ifs, vhosts, taps, afps] = await Promise.all([
      src.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
      src.dump(sw_interface_vhost_user_dump, { sw_if_index: NO_INDEX }),
      src.dump(sw_interface_tap_v2_dump, { sw_if_index: NO_INDEX }),
      src.dump(af_packet_dump, {}),
    ]);
    return (sink) => {
      const vifs = new Map<number, PortVif>();
      for (const v of vhosts)
        vifs.set(v.sw_if_index, {
          type: 'vhostuser',
          socket: v.sock_filename,
          server: v.is_server,
          gso: false,
        });
      for (const t of taps) {
        vifs.set(t.sw_if_index, {
          type: 'tap',
          hostIfName: t.host_if_name,
          hostMac: t.host_mac_addr.toLowerCase(),
          hostMtu: t.host_mtu_size,
          gso: (t.tap_flags & TAP_FLAG_GSO) !== 0,
        });
      }
      for (const p of afps) {
        vifs.set(p.sw_if_index, {
          type: 'veth',
          hostIfName: '',
          vppIfName: p.host_if_name,
          hostMac: '',
          hostMtu: 0,
        });
      }
      for (const d of ifs) {
        const key = keyFromTag(d.tag);
        const portId = key === null ? undefined : portOfIface(key);
        if (key === null || portId === undefined || d.sw_if_index !== d.sup_sw_if_index) continue;
        const vif = vifs.get(d.sw_if_index) ?? { type: 'other', dev: d.interface_dev_type };
        sink.add(
          {
            kind: 'port',
            key,
            portId,
            vif,
            mac: d.l2_address.toLowerCase(),
            mtu: d.mtu[0],
          } satisfies PortObj,
          d.sw_if_index,
        );
      }
    };
  },
  iface: {
    adminUp: (o, actual) => actual.get(upKey(o.key)) !== undefined,
    same: (o, d) => d.tag === tagOf(baseKey(o.key)),
    observe(o, adminUp, actual) {
      const k = upKey(o.key);
      if (adminUp && !actual.get(k)) actual.set({ kind: 'up', key: k, iface: o.key, after: [] });
      if (!adminUp && actual.get(k)) {
        actual.remove(k);
        return `port interface ${o.key} was set down outside netvpp; setting it up again`;
      }
      return undefined;
    },
  },
};
