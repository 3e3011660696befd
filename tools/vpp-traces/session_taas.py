"""The `taas` session of record.py: port mirroring as the agent programs it (docs/taas.md).

Loopbacks stand in for ports. SPAN in device mode (is_l2 false): rx, tx, both, a second
destination, a state change in place, the errors (state 4, the source as destination, ~0), the
dumps of each feature, disable. GRE of type ERSPAN to a collector (session id, its errors: a
session id above 1023, a duplicate, mixed families, src == dst, a missing table), tagged and up,
dumped, deleted. Remote SPAN's service end: a VXLAN tunnel of a tap VNI cross-connected into a
port (sw_interface_set_l2_xconnect), the dump, errors (bad rx, bad tx), the port in a bridge,
disable, the tunnel deleted with a cross-connect on it. `taas_sink`: the service end as it is
now, through the service port's sink (kinds/spansink.ts).
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


def vxlan_tap(s, is_add=True):
    return s.call(
        "vxlan_add_del_tunnel_v3",
        is_add=is_add,
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


def taas_sink(s):
    """Remote SPAN's service end as the agent programs it (kinds/spansink.ts, docs/taas.md).

    A loopback stands in for the service port, in a bridge. The sink: a loopback with netvpp's MAC,
    tagged, admin up, alone in a bridge that floods, forwards and learns nothing (bd_tag), the tap
    tunnel cross-connected into it (after into the port, as before: the in-place move), its tx
    mirrored in device mode into the port; the dumps the agent reads back; the sink admin down and
    up; then all removed in the agent's order (the sink's bridge dumped empty after the sink).
    """
    port = s.call("create_loopback", mac_address="fa:16:3e:00:00:07").sw_if_index
    s.call("bridge_domain_add_del_v2", bd_id=3101, flood=True, uu_flood=True, forward=True,
           learn=True, arp_term=False, arp_ufwd=False, mac_age=0, bd_tag="netvpp:bd:net", is_add=True)
    s.call("sw_interface_set_l2_bridge", rx_sw_if_index=port, bd_id=3101, port_type=0, shg=0, enable=True)
    sink = s.call("create_loopback", mac_address="06:74:1c:2b:3a:49").sw_if_index
    s.call("sw_interface_tag_add_del", is_add=True, sw_if_index=sink, tag="netvpp:spansink:svc")
    s.call("sw_interface_set_flags", sw_if_index=sink, flags=1)
    s.call("bridge_domain_add_del_v2", bd_id=3102, flood=False, uu_flood=False, forward=False,
           learn=False, arp_term=False, arp_ufwd=False, mac_age=0, bd_tag="netvpp:bd:tap-svc", is_add=True)
    s.call("sw_interface_set_l2_bridge", rx_sw_if_index=sink, bd_id=3102, port_type=0, shg=0, enable=True)
    vx = vxlan_tap(s).sw_if_index
    s.call("sw_interface_tag_add_del", is_add=True, sw_if_index=vx, tag="netvpp:vxlan:15728647:198.51.100.2")
    s.call("sw_interface_set_flags", sw_if_index=vx, flags=1)
    xc = "sw_interface_set_l2_xconnect"
    s.call(xc, rx_sw_if_index=vx, tx_sw_if_index=port, enable=True)
    s.call(xc, rx_sw_if_index=vx, tx_sw_if_index=sink, enable=True)
    span = "sw_interface_span_enable_disable"
    s.call(span, sw_if_index_from=sink, sw_if_index_to=port, state=2, is_l2=False)
    s.call("sw_interface_dump", sw_if_index=sink)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    s.call("bridge_domain_dump", bd_id=NO_INDEX, sw_if_index=NO_INDEX)
    s.call("l2_xconnect_dump")
    s.call("sw_interface_span_dump", is_l2=False)
    s.call("sw_interface_set_flags", sw_if_index=sink, flags=0)
    s.call("sw_interface_dump", sw_if_index=sink)
    s.call("sw_interface_set_flags", sw_if_index=sink, flags=1)
    # Removal in the agent's order: the mirror, the cross-connect, the sink (its membership goes
    # with it), its bridge, the tunnel.
    s.call(span, sw_if_index_from=sink, sw_if_index_to=port, state=0, is_l2=False)
    s.call(xc, rx_sw_if_index=vx, tx_sw_if_index=0, enable=False)
    s.call("delete_loopback", sw_if_index=sink)
    s.call("bridge_domain_dump", bd_id=3102, sw_if_index=NO_INDEX)
    s.call("bridge_domain_add_del_v2", bd_id=3102, is_add=False)
    vxlan_tap(s, is_add=False)
    s.call("l2_xconnect_dump")
    s.call("sw_interface_span_dump", is_l2=False)
    s.call("sw_interface_set_l2_bridge", rx_sw_if_index=port, bd_id=0, port_type=0, shg=0, enable=False)
    s.call("bridge_domain_add_del_v2", bd_id=3101, is_add=False)
    s.call("delete_loopback", sw_if_index=port)
    s.call("bridge_domain_dump", bd_id=NO_INDEX, sw_if_index=NO_INDEX)
