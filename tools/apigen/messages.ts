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
    'sw_interface_set_mac_address',
    'sw_interface_get_mac_address',
    'sw_interface_add_del_address',
    'sw_interface_tag_add_del',
    'sw_interface_set_table',
    'create_loopback',
    'create_loopback_instance',
    'delete_loopback',
    'create_vlan_subif',
    'create_subif',
    'delete_subif',
    'want_interface_events',
  ],
  ip: ['ip_address_dump', 'ip_table_add_del'],
  l2: [
    'bridge_domain_add_del_v2',
    'bridge_domain_dump',
    'sw_interface_set_l2_bridge',
    'bridge_flags',
    'l2_interface_vlan_tag_rewrite',
  ],
  tapv2: ['tap_create_v3', 'tap_delete_v2', 'sw_interface_tap_v2_dump'],
  vhost_user: ['create_vhost_user_if_v2', 'delete_vhost_user_if', 'sw_interface_vhost_user_dump'],
  af_packet: ['af_packet_create_v3', 'af_packet_delete', 'af_packet_dump'],
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
