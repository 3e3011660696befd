/**
 * The whitelist: every request netvpp sends to VPP. apigen emits bindings for these, their
 * replies/details and the events they register for; the client refuses anything else and checks
 * each one's CRC against VPP's message table at connect, per message group (src/vpp/groups.ts: a
 * message joins the group of its .api.json file; a new file needs a group). Add a message here,
 * then `npm run apigen`.
 */
export const WHITELIST: Record<string, readonly string[]> = {
  memclnt: ['sockclnt_create', 'sockclnt_delete', 'control_ping', 'memclnt_keepalive'],
  vpe: ['show_version', 'show_vpe_system_time'],
  vlib: ['cli_inband'],
  interface: [
    'sw_interface_dump',
    'sw_interface_set_flags',
    'sw_interface_set_mtu',
    'sw_interface_set_rx_mode',
    'sw_interface_rx_placement_dump',
    'sw_interface_set_mac_address',
    'sw_interface_get_mac_address',
    'sw_interface_add_del_address',
    'sw_interface_tag_add_del',
    'sw_interface_set_table',
    'sw_interface_get_table',
    'create_loopback',
    'create_loopback_instance',
    'delete_loopback',
    'create_vlan_subif',
    'create_subif',
    'delete_subif',
    'want_interface_events',
  ],
  ip: ['ip_address_dump', 'ip_table_add_del', 'ip_table_dump', 'ip_route_add_del', 'ip_route_dump'],
  // A router's gateway: a pipe patches its own bridge (the gateway BVI's) into the external network's.
  pipe: ['pipe_create', 'pipe_delete', 'pipe_dump'],
  // Router advertisements on router interfaces of SLAAC / DHCPv6 subnets (kinds/ra.ts).
  ip6_nd: ['sw_interface_ip6nd_ra_config', 'sw_interface_ip6nd_ra_prefix', 'sw_interface_ip6nd_ra_dump'],
  l2: [
    'bridge_domain_add_del_v2',
    'bridge_domain_dump',
    'sw_interface_set_l2_bridge',
    'bridge_flags',
    'l2_interface_vlan_tag_rewrite',
    'l2fib_add_del',
    'l2_fib_table_dump',
    'bd_ip_mac_add_del',
    'bd_ip_mac_dump',
    'l2_flags',
    'l2_flags_get',
    // Remote SPAN: the tap service's tunnel hands what it carries to the service port.
    'sw_interface_set_l2_xconnect',
    'l2_xconnect_dump',
  ],
  // Port mirroring (docs/taas.md).
  span: ['sw_interface_span_enable_disable', 'sw_interface_span_dump'],
  // ERSPAN type II tunnels to a collector (docs/taas.md).
  gre: ['gre_tunnel_add_del', 'gre_tunnel_dump'],
  tapv2: ['tap_create_v3', 'tap_delete_v2', 'sw_interface_tap_v2_dump'],
  vhost_user: ['create_vhost_user_if_v2', 'delete_vhost_user_if', 'sw_interface_vhost_user_dump'],
  af_packet: ['af_packet_create_v3', 'af_packet_delete', 'af_packet_dump'],
  vxlan: ['vxlan_add_del_tunnel_v3', 'vxlan_tunnel_v2_dump'],
  // The LISP control plane as ONE names it (the lisp_* messages are older aliases of the same
  // handlers); netvpp programs it statically, with no map server or resolver (docs/overlays.md).
  one: [
    'one_enable_disable',
    'show_one_status',
    'one_add_del_locator_set',
    'one_locator_set_dump',
    'one_locator_dump',
    'one_eid_table_add_del_map',
    'one_eid_table_map_dump',
    'one_add_del_local_eid',
    'one_eid_table_dump',
    'one_add_del_remote_mapping',
    'one_add_del_adjacency',
    'one_adjacencies_get',
  ],
  // SNAT and floating IPs (docs/l3.md).
  nat44_ed: [
    'nat44_ed_plugin_enable_disable',
    'nat44_show_running_config',
    'nat44_interface_add_del_feature',
    'nat44_interface_dump',
    'nat44_ed_add_del_output_interface',
    'nat44_ed_output_interface_get',
    'nat44_add_del_address_range',
    'nat44_address_dump',
    'nat44_add_del_static_mapping_v2',
    'nat44_static_mapping_dump',
  ],
  // QoS of ports (docs/qos.md): a policer per port and direction, found again by its name (its dump
  // carries no index), bound by name and deleted by name; changed in place by index.
  policer: [
    'policer_add',
    'policer_add_del',
    'policer_update',
    'policer_input',
    'policer_output',
    'policer_dump',
  ],
  // Bonded uplinks ([agent] bonds, docs/bonds.md): the bond, its members, and (lacp plugin) the
  // LACP state of each member.
  bond: [
    'bond_create2',
    'bond_delete',
    'bond_add_member',
    'bond_detach_member',
    'sw_bond_interface_dump',
    'sw_member_interface_dump',
  ],
  lacp: ['sw_interface_lacp_dump'],
  // HA routers: the new active host announces its addresses and floating IPs (gratuitous ARP).
  arping: ['arping'],
  acl: [
    'acl_plugin_get_version',
    'acl_add_replace',
    'acl_del',
    'acl_dump',
    'acl_interface_set_acl_list',
    'acl_interface_list_dump',
    'acl_interface_set_etype_whitelist',
    'acl_interface_etype_whitelist_dump',
    'macip_acl_add_replace',
    'macip_acl_del',
    'macip_acl_dump',
    'macip_acl_interface_add_del',
    'macip_acl_interface_get',
    'macip_acl_interface_list_dump',
  ],
};
