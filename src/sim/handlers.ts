/**
 * One handler per whitelisted request, written from VPP 26.06's C handlers: the same checks in
 * the same order, the same return codes, the same reply fields. A handler returns the reply
 * fields (the server adds the context), a bare retval for replies that carry nothing else, an
 * array of details for a dump, or null for "no reply".
 */
import type {
  CliInband,
  AfPacketCreateV3,
  AfPacketDelete,
  BridgeDomainAddDelV2,
  BridgeDomainDump,
  BridgeFlags,
  CreateLoopback,
  CreateLoopbackInstance,
  CreateSubif,
  CreateVhostUserIfV2,
  CreateVlanSubif,
  DeleteLoopback,
  DeleteSubif,
  DeleteVhostUserIf,
  IpAddressDump,
  IpTableAddDel,
  L2Flags,
  L2FlagsGet,
  L2InterfaceVlanTagRewrite,
  SwInterfaceAddDelAddress,
  SwInterfaceDump,
  SwInterfaceGetMacAddress,
  SwInterfaceSetFlags,
  SwInterfaceSetL2Bridge,
  SwInterfaceSetMacAddress,
  SwInterfaceSetMtu,
  SwInterfaceSetTable,
  SwInterfaceTagAddDel,
  SwInterfaceTapV2Dump,
  SwInterfaceVhostUserDump,
  TapCreateV3,
  TapDeleteV2,
} from '../vpp/binapi/index.ts';
import { IF_STATUS_ADMIN_UP, IF_STATUS_LINK_UP } from './events.ts';
import { L2FIB_HANDLERS } from './l2fib.ts';
import { VXLAN_HANDLERS } from './vxlan.ts';
import { LISP_HANDLERS } from './lisp.ts';
import { NAT_HANDLERS } from './nat.ts';
import { PIPE_HANDLERS } from './pipe.ts';
import { POLICER_HANDLERS } from './policer.ts';
import { SPAN_HANDLERS } from './span.ts';
import { XCONNECT_HANDLERS } from './xconnect.ts';
import { GRE_HANDLERS } from './gre.ts';
import { ARPING_HANDLERS } from './arping.ts';
import { BOND_HANDLERS } from './bond.ts';
import { ROUTE_HANDLERS } from './routes.ts';
import { RA_HANDLERS } from './ra.ts';
import { ACL_HANDLERS } from './acl-handlers.ts';
import { RXMODE_HANDLERS } from './rxmode.ts';
import { NO_INDEX, ZERO_MAC, type SwIf, type VhostInfo, type TapInfo } from './interfaces.ts';
import { SUB_IF } from './subint.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

export type Fields = Record<string, unknown>;
/** A retval-only reply, a reply's fields, a dump's details, or no reply at all. */
export type Result = number | Fields | Fields[] | null;
export type Handler = (vpp: VppState, msg: Fields) => Result;

/** What `show_version` reports (as recorded from the reference VPP 26.06). */
export const VERSION = {
  program: 'vpe',
  version: '26.06-release',
  build_date: '2026-11-23T22:03:03',
  build_directory: '',
};

/** What a vhost-user dump shows once a guest has negotiated (VPP reports the guest's choice). */
const VHOST_CONNECTED = {
  virtio_net_hdr_sz: 12,
  features_first_32: 0x40008000,
  features_last_32: 0x1,
  num_regions: 1,
};
const ENOENT = 2;

/** C strncpy into char[n]: at most n-1 bytes. */
function clip(s: string, n: number): string {
  const b = Buffer.from(s);
  if (b.length < n) return s;
  let end = n - 1;
  // Do not cut a UTF-8 sequence in half.
  while (end > 0 && (b[end] & 0xc0) === 0x80) end--;
  return b.toString('utf8', 0, end);
}

function sw(vpp: VppState, i: number): SwIf | undefined {
  return vpp.ifs.get(i);
}

export function swDetails(vpp: VppState, s: SwIf): Fields {
  const hw = s.hw;
  const vtr = vpp.l2.vtrOf(s);
  const f = s.subFlags;
  return {
    sw_if_index: s.index,
    sup_sw_if_index: s.sup,
    l2_address: !s.isSub && hw.mac !== '' ? hw.mac : ZERO_MAC,
    flags: (s.adminUp ? IF_STATUS_ADMIN_UP : 0) | (hw.linkUp ? IF_STATUS_LINK_UP : 0),
    type: s.pipeEnd ? 3 : s.isSub ? 1 : 0,
    link_duplex: 0,
    link_speed: 0,
    link_mtu: hw.linkMtu,
    mtu: s.mtu,
    sub_id: s.isSub ? s.subId : 0,
    sub_number_of_tags: s.isSub ? (f & SUB_IF.ONE_TAG ? 1 : 0) + (f & SUB_IF.TWO_TAGS ? 2 : 0) : 0,
    sub_outer_vlan_id: s.isSub ? s.outerVlan : 0,
    sub_inner_vlan_id: s.isSub ? s.innerVlan : 0,
    sub_if_flags: s.isSub ? f & SUB_IF.MASK_VNET : 0,
    vtr_op: vtr.op,
    vtr_push_dot1q: vtr.pushDot1q ? 1 : 0,
    vtr_tag1: vtr.tag1,
    vtr_tag2: vtr.tag2,
    outer_tag: 0,
    b_dmac: ZERO_MAC,
    b_smac: ZERO_MAC,
    b_vlanid: 0,
    i_sid: 0,
    interface_name: clip(vpp.ifs.name(s), 64),
    interface_dev_type: clip(hw.devType, 64),
    tag: clip(s.tag, 64),
  };
}

function created(c: { rv: number; swIfIndex: number }): Fields {
  return { retval: c.rv, sw_if_index: c.swIfIndex };
}

export const HANDLERS: Record<string, Handler> = {
  show_version: () => ({ retval: 0, ...VERSION }),
  show_vpe_system_time: () => ({ retval: 0, vpe_system_time: Date.now() / 1000 }),

  // --- interfaces (vnet/interface_api.c) ---

  sw_interface_dump(vpp, msg) {
    const m = msg as unknown as SwInterfaceDump;
    const out: Fields[] = [];
    if (!m.name_filter_valid && m.sw_if_index !== NO_INDEX && m.sw_if_index !== 0) {
      const s = sw(vpp, m.sw_if_index);
      return s ? [swDetails(vpp, s)] : [];
    }
    const filter = m.name_filter_valid ? m.name_filter.toLowerCase() : null;
    for (const s of vpp.ifs.all()) {
      if (filter !== null && !vpp.ifs.name(s).toLowerCase().includes(filter)) continue;
      out.push(swDetails(vpp, s));
    }
    return out;
  },

  sw_interface_set_flags(vpp, msg) {
    const m = msg as unknown as SwInterfaceSetFlags;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    return vpp.ifs.setAdmin(s, (m.flags & IF_STATUS_ADMIN_UP) !== 0);
  },

  sw_interface_set_mtu(vpp, msg) {
    const m = msg as unknown as SwInterfaceSetMtu;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    s.mtu = [m.mtu[0], m.mtu[1], m.mtu[2], m.mtu[3]];
    return RV.OK;
  },

  sw_interface_set_mac_address(vpp, msg) {
    const m = msg as unknown as SwInterfaceSetMacAddress;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    return vpp.ifs.setMac(s, m.mac_address);
  },

  sw_interface_get_mac_address(vpp, msg) {
    const m = msg as unknown as SwInterfaceGetMacAddress;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return { retval: RV.INVALID_SW_IF_INDEX, mac_address: ZERO_MAC };
    return { retval: 0, mac_address: vpp.ifs.macOf(vpp.ifs.get(s.sup) as SwIf) };
  },

  sw_interface_add_del_address(vpp, msg) {
    const m = msg as unknown as SwInterfaceAddDelAddress;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    return vpp.ip.addDel(s, m.is_add, m.del_all, m.prefix);
  },

  sw_interface_tag_add_del(vpp, msg) {
    const m = msg as unknown as SwInterfaceTagAddDel;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    if (m.is_add) {
      if (m.tag === '') return RV.INVALID_VALUE;
      s.tag = m.tag;
    } else s.tag = '';
    return RV.OK;
  },

  sw_interface_set_table(vpp, msg) {
    const m = msg as unknown as SwInterfaceSetTable;
    if (!sw(vpp, m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return vpp.ip.bind(m.sw_if_index, m.is_ipv6, m.vrf_id);
  },

  create_loopback(vpp, msg) {
    const m = msg as unknown as CreateLoopback;
    return created(vpp.ifs.createLoopback(m.mac_address, false, 0));
  },

  create_loopback_instance(vpp, msg) {
    const m = msg as unknown as CreateLoopbackInstance;
    return created(vpp.ifs.createLoopback(m.mac_address, m.is_specified, m.user_instance));
  },

  delete_loopback(vpp, msg) {
    return vpp.ifs.deleteLoopback((msg as unknown as DeleteLoopback).sw_if_index);
  },

  create_vlan_subif(vpp, msg) {
    const m = msg as unknown as CreateVlanSubif;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return created({ rv: RV.INVALID_SW_IF_INDEX, swIfIndex: NO_INDEX });
    if (m.vlan_id === 0 || m.vlan_id > 4095) return created({ rv: RV.INVALID_VLAN, swIfIndex: NO_INDEX });
    return created(
      // A failed vnet_create_sw_interface is -31 here (-1 in create_subif).
      vpp.ifs.createSub(
        s,
        m.vlan_id,
        SUB_IF.ONE_TAG | SUB_IF.EXACT_MATCH,
        m.vlan_id,
        0,
        RV.INVALID_REGISTRATION,
      ),
    );
  },

  create_subif(vpp, msg) {
    const m = msg as unknown as CreateSubif;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return created({ rv: RV.INVALID_SW_IF_INDEX, swIfIndex: NO_INDEX });
    return created(vpp.ifs.createSub(s, m.sub_id, m.sub_if_flags, m.outer_vlan_id, m.inner_vlan_id));
  },

  delete_subif(vpp, msg) {
    return vpp.ifs.deleteSub((msg as unknown as DeleteSubif).sw_if_index);
  },

  // --- ip (vnet/ip/ip_api.c) ---

  ip_address_dump(vpp, msg) {
    const m = msg as unknown as IpAddressDump;
    if (!sw(vpp, m.sw_if_index)) return [];
    return vpp.ip
      .addresses(m.sw_if_index, m.is_ipv6)
      .map((a) => ({ sw_if_index: m.sw_if_index, prefix: `${a.addr}/${a.len}` }));
  },

  ip_table_add_del(vpp, msg) {
    const m = msg as unknown as IpTableAddDel;
    return vpp.ip.tableAddDel(m.table.table_id, m.table.is_ip6, m.is_add, m.table.name);
  },

  ip_table_dump: (vpp) => vpp.ip.tablesDump().map((table) => ({ table })),

  sw_interface_get_table(vpp, msg) {
    const m = msg as unknown as { sw_if_index: number; is_ipv6: boolean };
    if (!sw(vpp, m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return { retval: RV.OK, vrf_id: vpp.ip.tableOf(m.sw_if_index, m.is_ipv6) };
  },

  // --- l2 (vnet/l2/l2_api.c) ---

  bridge_domain_add_del_v2(vpp, msg) {
    const m = msg as unknown as BridgeDomainAddDelV2;
    let bdId = m.bd_id;
    if (bdId === NO_INDEX && m.is_add) bdId = vpp.l2.unusedId();
    if (bdId === NO_INDEX && m.is_add) return { retval: RV.EAGAIN, bd_id: bdId };
    const rv = vpp.l2.addDel({
      isAdd: m.is_add,
      bdId,
      flood: m.flood,
      uuFlood: m.uu_flood,
      forward: m.forward,
      learn: m.learn,
      arpTerm: m.arp_term,
      arpUfwd: m.arp_ufwd,
      macAge: m.mac_age,
      tag: m.bd_tag,
    });
    return { retval: rv, bd_id: bdId };
  },

  bridge_domain_dump(vpp, msg) {
    const m = msg as unknown as BridgeDomainDump;
    // Filtering by interface is unimplemented in VPP: no details.
    if (m.sw_if_index !== NO_INDEX || m.bd_id === 0) return [];
    const l2 = vpp.l2;
    const out: Fields[] = [];
    for (const bd of l2.live()) {
      if (m.bd_id !== NO_INDEX && bd.bdId !== m.bd_id) continue;
      out.push({
        bd_id: bd.bdId,
        flood: l2.feature(bd, 'flood'),
        uu_flood: l2.feature(bd, 'uu_flood'),
        forward: l2.feature(bd, 'forward'),
        learn: l2.feature(bd, 'learn'),
        arp_term: l2.feature(bd, 'arp_term'),
        arp_ufwd: l2.feature(bd, 'arp_ufwd'),
        mac_age: bd.macAge,
        bd_tag: clip(bd.tag, 64),
        bvi_sw_if_index: bd.bvi,
        uu_fwd_sw_if_index: bd.uuFwd,
        n_sw_ifs: bd.members.length,
        sw_if_details: bd.members.map((i) => ({ context: 0, sw_if_index: i, shg: l2.shg(i) })),
      });
    }
    return out;
  },

  // l2_api.c: VALIDATE_SW_IF_INDEX, then the interface's own input bitmap (l2input_intf_bitmap_enable).
  l2_flags(vpp, msg) {
    const m = msg as unknown as L2Flags;
    if (!sw(vpp, m.sw_if_index)) return { retval: RV.INVALID_SW_IF_INDEX, resulting_feature_bitmap: 0 };
    return {
      retval: 0,
      resulting_feature_bitmap: vpp.l2.interfaceFlags(m.sw_if_index, m.feature_bitmap, m.is_set),
    };
  },

  l2_flags_get(vpp, msg) {
    const m = msg as unknown as L2FlagsGet;
    if (!sw(vpp, m.sw_if_index))
      return { retval: RV.INVALID_SW_IF_INDEX, input_feature_bitmap: 0, output_feature_bitmap: 0 };
    // The output bitmap of a bridge member has L2OUTPUT_FEAT_OUTPUT (bit 0; recorded, l3_gateway.json).
    return {
      retval: 0,
      input_feature_bitmap: vpp.l2.inputFeatures(m.sw_if_index),
      output_feature_bitmap: vpp.l2.bridged(m.sw_if_index) ? 1 : 0,
    };
  },

  sw_interface_set_l2_bridge(vpp, msg) {
    const m = msg as unknown as SwInterfaceSetL2Bridge;
    const s = sw(vpp, m.rx_sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    return vpp.l2.setBridge(s, m.bd_id, m.port_type, m.shg, m.enable);
  },

  bridge_flags(vpp, msg) {
    const m = msg as unknown as BridgeFlags;
    const [retval, bitmap] = vpp.l2.bridgeFlags(m.bd_id, m.flags, m.is_set);
    return { retval, resulting_feature_bitmap: bitmap };
  },

  l2_interface_vlan_tag_rewrite(vpp, msg) {
    const m = msg as unknown as L2InterfaceVlanTagRewrite;
    const s = sw(vpp, m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    return vpp.l2.setVtr(s, m.vtr_op, m.push_dot1q, m.tag1, m.tag2);
  },

  // --- tap (plugins/tap/tapv2_api.c) ---

  tap_create_v3(vpp, msg) {
    const m = msg as unknown as TapCreateV3;
    const c = vpp.ifs.createTap({
      id: m.id,
      mac: m.use_random_mac ? null : m.mac_address,
      hostIfName: m.host_if_name_set ? m.host_if_name : null,
      hostMac: m.host_mac_addr_set ? m.host_mac_addr : null,
      hostMtu: m.host_mtu_set ? m.host_mtu_size : 0,
      hostNamespace: m.host_namespace_set ? m.host_namespace : '',
      hostBridge: m.host_bridge_set ? m.host_bridge : '',
      hostIp4Prefix: m.host_ip4_prefix_set ? m.host_ip4_prefix : '',
      hostIp6Prefix: m.host_ip6_prefix_set ? m.host_ip6_prefix : '',
      rxRing: m.rx_ring_sz,
      txRing: m.tx_ring_sz,
      flags: m.tap_flags,
    });
    if (c.rv === RV.OK && m.tag !== '') (vpp.ifs.get(c.swIfIndex) as SwIf).tag = m.tag;
    return created(c);
  },

  tap_delete_v2(vpp, msg) {
    return vpp.ifs.deleteTap((msg as unknown as TapDeleteV2).sw_if_index);
  },

  sw_interface_tap_v2_dump(vpp, msg) {
    const m = msg as unknown as SwInterfaceTapV2Dump;
    if (m.sw_if_index !== NO_INDEX && !sw(vpp, m.sw_if_index)) return [];
    return vpp.ifs
      .taps()
      .filter((s) => m.sw_if_index === NO_INDEX || s.index === m.sw_if_index)
      .map((s) => {
        const t = s.hw.tap as TapInfo;
        return {
          sw_if_index: s.index,
          id: t.id,
          tx_ring_sz: t.txRing,
          rx_ring_sz: t.rxRing,
          host_mtu_size: t.hostMtu,
          host_mac_addr: t.hostMac,
          host_ip4_prefix: t.hostIp4Prefix || '0.0.0.0/0',
          host_ip6_prefix: t.hostIp6Prefix || '::/0',
          tap_flags: t.flags,
          dev_name: clip(s.hw.name, 64),
          host_if_name: clip(t.hostIfName, 64),
          host_namespace: clip(t.hostNamespace, 64),
          host_bridge: clip(t.hostBridge, 64),
        };
      });
  },

  // --- vhost-user (plugins/vhost/vhost_user_api.c) ---

  create_vhost_user_if_v2(vpp, msg) {
    const m = msg as unknown as CreateVhostUserIfV2;
    const c = vpp.ifs.createVhost({
      sockFilename: m.sock_filename,
      isServer: m.is_server,
      mac: m.use_custom_mac ? m.mac_address : null,
      renumber: m.renumber,
      customDevInstance: m.custom_dev_instance,
    });
    if (c.rv === RV.OK && m.tag !== '') (vpp.ifs.get(c.swIfIndex) as SwIf).tag = m.tag;
    return created(c);
  },

  delete_vhost_user_if(vpp, msg) {
    return vpp.ifs.deleteVhost((msg as unknown as DeleteVhostUserIf).sw_if_index);
  },

  sw_interface_vhost_user_dump(vpp, msg) {
    const m = msg as unknown as SwInterfaceVhostUserDump;
    if (m.sw_if_index !== NO_INDEX && !sw(vpp, m.sw_if_index)) return [];
    return vpp.ifs
      .vhosts()
      .filter((s) => m.sw_if_index === NO_INDEX || s.index === m.sw_if_index)
      .map((s) => {
        const v = s.hw.vhost as VhostInfo;
        const up = v.guestConnected;
        return {
          sw_if_index: s.index,
          interface_name: clip(s.hw.name, 64),
          virtio_net_hdr_sz: up ? VHOST_CONNECTED.virtio_net_hdr_sz : 0,
          features_first_32: up ? VHOST_CONNECTED.features_first_32 : 0,
          features_last_32: up ? VHOST_CONNECTED.features_last_32 : 0,
          is_server: v.isServer,
          sock_filename: clip(v.sockFilename, 256),
          num_regions: up ? VHOST_CONNECTED.num_regions : 0,
          // A client-mode interface keeps failing to connect to a socket nobody serves.
          sock_errno: up || v.isServer ? 0 : ENOENT,
        };
      });
  },

  // --- af_packet (plugins/af_packet/af_packet_api.c) ---

  af_packet_create_v3(vpp, msg) {
    const m = msg as unknown as AfPacketCreateV3;
    if (m.mode !== 1 && m.mode !== 2) return created({ rv: RV.INVALID_VALUE, swIfIndex: NO_INDEX });
    return created(
      vpp.ifs.createAfPacket({
        hostIfName: m.host_if_name,
        mac: m.use_random_hw_addr ? null : m.hw_addr,
        ipMode: m.mode === 2,
      }),
    );
  },

  af_packet_delete(vpp, msg) {
    return vpp.ifs.deleteAfPacket((msg as unknown as AfPacketDelete).host_if_name);
  },

  af_packet_dump(vpp) {
    return vpp.ifs
      .afpackets()
      .map((s) => ({ sw_if_index: s.index, host_if_name: clip(s.hw.afpacketHost as string, 64) }));
  },

  cli_inband(vpp, msg) {
    const cmd = ((msg as unknown as CliInband).cmd ?? '').trim().replace(/\s+/g, ' ');
    const out = (reply: string, retval = 0) => ({ retval, reply });
    const acl = !vpp.opts.withoutGroups.has('acl');
    if (acl && /^show acl-plugin sessions\b/.test(cmd)) {
      // VPP's output, cut to the lines the simulator can fill in (no sessions: no packets here).
      return out(
        [
          'Sessions total: add 0 - del 0 = 0',
          'Sessions active: add 0 - deact 0 = 0',
          'Sessions being purged: deact 0 - del 0 = 0',
          `Reclassify sessions: ${vpp.acl.reclassifySessions ? 1 : 0}`,
          '',
        ].join('\n'),
      );
    }
    const set = acl ? /^set acl-plugin reclassify-sessions (\d+)$/.exec(cmd) : null;
    if (set) {
      vpp.acl.reclassifySessions = Number(set[1]) !== 0;
      return out('');
    }
    // Everything else: what VPP says to a command it does not know (the simulator knows no others;
    // without the acl plugin, its commands are unknown too).
    return out(`unknown input \`${cmd}'\n`, -1);
  },

  // --- ACL plugin (plugins/acl/acl.c): acl-handlers.ts ---
  ...ACL_HANDLERS,

  // --- the L2 FIB and ARP termination (vnet/l2/l2_api.c), VXLAN (plugins/vxlan/vxlan_api.c),
  // LISP/GPE (plugins/lisp/lisp-cp/one_api.c) ---
  ...L2FIB_HANDLERS,
  ...VXLAN_HANDLERS,
  ...LISP_HANDLERS,
  ...ROUTE_HANDLERS,
  ...RA_HANDLERS,
  ...PIPE_HANDLERS,
  ...ARPING_HANDLERS,
  ...NAT_HANDLERS,
  ...POLICER_HANDLERS,
  ...BOND_HANDLERS,
  ...SPAN_HANDLERS,
  ...XCONNECT_HANDLERS,
  ...GRE_HANDLERS,
  ...RXMODE_HANDLERS,
};
