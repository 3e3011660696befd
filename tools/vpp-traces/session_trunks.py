"""The `trunks` session of record.py: trunk sub-ports as the agent makes them (docs/trunks.md).

A vhost-user port interface (the parent) with its VLAN-tag guard (a default sub-interface, left
down), exact-match 802.1Q sub-interfaces per sub-port (create_vlan_subif), tagged, the tag popped
(l2_interface_vlan_tag_rewrite pop 1), in a bridge, admin-up; a duplicate VLAN, VLANs out of range,
a sub-interface of a sub-interface; dumps; a sub-port removed (delete_subif); the parent deleted
with its sub-interfaces.
"""

NO_INDEX = 0xFFFFFFFF
DEFAULT = 32  # SUB_IF_API_FLAG_DEFAULT
POP_1 = 3


def trunks(s, socket_dir="/tmp"):
    s.call("want_interface_events", enable_disable=1, pid=1)
    parent = s.call(
        "create_vhost_user_if_v2",
        is_server=False,
        sock_filename=socket_dir + "/netvpp-trace-trunk-parent",
        use_custom_mac=True,
        mac_address="02:fe:00:00:0a:01",
        enable_gso=False,
        tag="netvpp:port:parent",
    ).sw_if_index
    guard = s.call(
        "create_subif",
        sw_if_index=parent,
        sub_id=4095,
        sub_if_flags=DEFAULT,
        outer_vlan_id=0,
        inner_vlan_id=0,
    ).sw_if_index
    s.call("sw_interface_tag_add_del", is_add=True, sw_if_index=guard, tag="netvpp:tagdrop:parent")
    subs = {}
    for vlan in (10, 20):
        sw = s.call("create_vlan_subif", sw_if_index=parent, vlan_id=vlan).sw_if_index
        subs[vlan] = sw
        s.call("sw_interface_tag_add_del", is_add=True, sw_if_index=sw, tag="netvpp:subport:sp%d" % vlan)
        s.call("l2_interface_vlan_tag_rewrite", sw_if_index=sw, vtr_op=POP_1, push_dot1q=1, tag1=0, tag2=0)
    s.call("create_vlan_subif", sw_if_index=parent, vlan_id=10)  # in use
    s.call("create_vlan_subif", sw_if_index=parent, vlan_id=4095)
    s.call("create_vlan_subif", sw_if_index=parent, vlan_id=4096)  # out of range
    s.call("create_vlan_subif", sw_if_index=subs[10], vlan_id=30)  # of a sub-interface
    s.call("create_vlan_subif", sw_if_index=99, vlan_id=30)  # no such interface
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    bd = s.call(
        "bridge_domain_add_del_v2", bd_id=4050, is_add=True, bd_tag="", flood=True, uu_flood=True,
        forward=True, learn=True, arp_term=False, mac_age=0,
    )
    for sw in subs.values():
        s.call("sw_interface_set_l2_bridge", rx_sw_if_index=sw, bd_id=4050, port_type=0, shg=0, enable=True)
        s.call("sw_interface_set_flags", sw_if_index=sw, flags=1)
    s.call("bridge_domain_dump", bd_id=4050, sw_if_index=NO_INDEX)
    s.call("sw_interface_dump", sw_if_index=subs[10])
    # A sub-port removed: only its sub-interface goes (out of the bridge with it).
    s.call("delete_subif", sw_if_index=subs[20])
    s.call("delete_subif", sw_if_index=subs[20])  # gone
    s.call("bridge_domain_dump", bd_id=4050, sw_if_index=NO_INDEX)
    # Re-made, then the parent deleted: its sub-interfaces go with it.
    s.call("create_vlan_subif", sw_if_index=parent, vlan_id=20)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    s.call("delete_vhost_user_if", sw_if_index=parent)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    s.call("bridge_domain_dump", bd_id=4050, sw_if_index=NO_INDEX)
    s.call("bridge_domain_add_del_v2", bd_id=4050, is_add=False)
    s.call("want_interface_events", enable_disable=0, pid=1)
    return bd
