"""The `taas` session of record.py: port mirroring as the agent programs it (docs/taas.md).

Loopbacks stand in for ports. SPAN in device mode (is_l2 false): rx, tx, both, a second
destination, a state change in place, the errors (state 4, the source as destination, ~0), the
dumps of each feature, disable. GRE of type ERSPAN to a collector (session id, its errors: a
session id above 1023, a duplicate, mixed families, src == dst, a missing table), tagged and up,
dumped, deleted. Remote SPAN's service end: a VXLAN tunnel of a tap VNI cross-connected into a
port (sw_interface_set_l2_xconnect), the dump, errors (bad rx, bad tx), the port in a bridge,
disable, the tunnel deleted with a cross-connect on it.
"""

NO_INDEX = 0xFFFFFFFF
ERSPAN = 2


def gre(s, src, dst, session_id, is_add=True, table=0):
    return s.call(
        "gre_tunnel_add_del",
        is_add=is_add,
        tunnel={
            "type": ERSPAN,
            "mode": 0,
            "flags": 0,
            "session_id": session_id,
            "instance": NO_INDEX,
            "outer_table_id": table,
            "sw_if_index": NO_INDEX,
            "src": src,
            "dst": dst,
        },
    )


def taas(s):
    a = s.call("create_loopback", mac_address="02:fe:7a:00:00:01").sw_if_index
    b = s.call("create_loopback", mac_address="02:fe:7a:00:00:02").sw_if_index
    c = s.call("create_loopback", mac_address="02:fe:7a:00:00:03").sw_if_index
    span = "sw_interface_span_enable_disable"
    s.call(span, sw_if_index_from=a, sw_if_index_to=b, state=1, is_l2=False)
    s.call(span, sw_if_index_from=a, sw_if_index_to=c, state=2, is_l2=False)
    s.call("sw_interface_span_dump", is_l2=False)
    s.call("sw_interface_span_dump", is_l2=True)
    s.call(span, sw_if_index_from=a, sw_if_index_to=b, state=3, is_l2=False)
    s.call(span, sw_if_index_from=c, sw_if_index_to=a, state=3, is_l2=False)
    s.call("sw_interface_span_dump", is_l2=False)
    s.call(span, sw_if_index_from=a, sw_if_index_to=b, state=4, is_l2=False)
    s.call(span, sw_if_index_from=a, sw_if_index_to=a, state=1, is_l2=False)
    s.call(span, sw_if_index_from=NO_INDEX, sw_if_index_to=a, state=1, is_l2=False)
    s.call(span, sw_if_index_from=a, sw_if_index_to=NO_INDEX, state=1, is_l2=False)
    s.call(span, sw_if_index_from=b, sw_if_index_to=a, state=1, is_l2=True)
    s.call("sw_interface_span_dump", is_l2=True)
    s.call(span, sw_if_index_from=b, sw_if_index_to=a, state=0, is_l2=True)
    s.call(span, sw_if_index_from=a, sw_if_index_to=c, state=0, is_l2=False)
    s.call("sw_interface_span_dump", is_l2=False)

    t = gre(s, "192.0.2.1", "192.0.2.9", 7).sw_if_index
    gre(s, "192.0.2.1", "192.0.2.9", 7)
    gre(s, "192.0.2.1", "192.0.2.9", 1024)
    gre(s, "192.0.2.1", "2001:db8::9", 8)
    gre(s, "192.0.2.1", "192.0.2.1", 8)
    gre(s, "192.0.2.1", "192.0.2.9", 8, table=77)
    t2 = gre(s, "192.0.2.1", "192.0.2.9", 8).sw_if_index
    s.call("sw_interface_tag_add_del", is_add=True, sw_if_index=t, tag="netvpp:erspan:192.0.2.1:192.0.2.9:7")
    s.call("sw_interface_set_flags", sw_if_index=t, flags=1)
    s.call("gre_tunnel_dump", sw_if_index=NO_INDEX)
    s.call("gre_tunnel_dump", sw_if_index=t2)
    s.call("sw_interface_dump", sw_if_index=t)
    s.call(span, sw_if_index_from=b, sw_if_index_to=t, state=3, is_l2=False)
    s.call("sw_interface_span_dump", is_l2=False)
    gre(s, "192.0.2.1", "192.0.2.9", 8, is_add=False)
    gre(s, "192.0.2.1", "192.0.2.9", 8, is_add=False)
    gre(s, "192.0.2.1", "192.0.2.9", 7, is_add=False)
    s.call("sw_interface_span_dump", is_l2=False)
    s.call(span, sw_if_index_from=b, sw_if_index_to=t, state=0, is_l2=False)

    vx = s.call(
        "vxlan_add_del_tunnel_v3",
        is_add=True,
        instance=NO_INDEX,
        src_address="198.51.100.1",
        dst_address="198.51.100.2",
        src_port=0,
        dst_port=0,
        mcast_sw_if_index=NO_INDEX,
        encap_vrf_id=0,
        decap_next_index=NO_INDEX,
        vni=0xF00007,
        is_l3=False,
    ).sw_if_index
    xc = "sw_interface_set_l2_xconnect"
    s.call(xc, rx_sw_if_index=vx, tx_sw_if_index=c, enable=True)
    s.call("l2_xconnect_dump")
    s.call(xc, rx_sw_if_index=9999, tx_sw_if_index=c, enable=True)
    s.call(xc, rx_sw_if_index=vx, tx_sw_if_index=9999, enable=True)
    s.call("bridge_domain_add_del_v2", bd_id=0xFFFFFFFF, flood=True, uu_flood=True, forward=True,
           learn=True, arp_term=False, arp_ufwd=False, mac_age=0, bd_tag="", is_add=True)
    s.call("sw_interface_set_l2_bridge", rx_sw_if_index=b, bd_id=12, port_type=0, shg=0, enable=True)
    s.call(xc, rx_sw_if_index=b, tx_sw_if_index=c, enable=True)
    s.call("l2_xconnect_dump")
    s.call("bridge_domain_dump", bd_id=NO_INDEX, sw_if_index=NO_INDEX)
    s.call(xc, rx_sw_if_index=b, tx_sw_if_index=0, enable=False)
    s.call(xc, rx_sw_if_index=b, tx_sw_if_index=0, enable=False)
    s.call("l2_xconnect_dump")
    s.call(
        "vxlan_add_del_tunnel_v3",
        is_add=False,
        instance=NO_INDEX,
        src_address="198.51.100.1",
        dst_address="198.51.100.2",
        src_port=0,
        dst_port=0,
        mcast_sw_if_index=NO_INDEX,
        encap_vrf_id=0,
        decap_next_index=NO_INDEX,
        vni=0xF00007,
        is_l3=False,
    )
    s.call("l2_xconnect_dump")
    for x in (a, b, c):
        s.call("delete_loopback", sw_if_index=x)
    s.call("sw_interface_span_dump", is_l2=False)
