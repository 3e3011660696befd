"""The `l3-ipv6` session of record.py: IPv6 router advertisements on router interfaces (docs/l3.md).

A loopback (a router interface) without IPv6 (RA calls -62), with an IPv6 address (its RA state
appears, not sending), RA turned on, the managed and other flags set and cleared, intervals and a
lifetime (refused ones), prefixes added (with lifetimes, with the defaults), changed (no autoconfig),
refused (another length, an absent one), deleted, with infinite lifetimes; RA suppressed; a bad
index; a second interface; the address removed (the state goes) and added again (a fresh state).
"""

NO_INDEX = 0xFFFFFFFF


def cfg(s, sw, **kw):
    args = dict(sw_if_index=sw, suppress=0, managed=0, other=0, ll_option=0, send_unicast=0, cease=0,
                is_no=False, default_router=0, max_interval=0, min_interval=0, lifetime=0,
                initial_count=0, initial_interval=0)
    args.update(kw)
    return s.call("sw_interface_ip6nd_ra_config", **args)


def pfx(s, sw, prefix, **kw):
    args = dict(sw_if_index=sw, prefix=prefix, use_default=False, no_advertise=False, off_link=False,
                no_autoconfig=False, no_onlink=False, is_no=False, val_lifetime=2592000,
                pref_lifetime=604800)
    args.update(kw)
    return s.call("sw_interface_ip6nd_ra_prefix", **args)


def addr(s, sw, prefix, is_add=True):
    s.call("sw_interface_add_del_address", sw_if_index=sw, is_add=is_add, del_all=False, prefix=prefix)


def ra(s):
    lo = s.call("create_loopback", mac_address="02:fe:ee:00:06:01").sw_if_index
    s.call("sw_interface_set_flags", sw_if_index=lo, flags=1)
    cfg(s, lo)
    pfx(s, lo, "2001:db8:5::/64")
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=NO_INDEX)
    addr(s, lo, "2001:db8:5::1/64")
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    cfg(s, lo)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    cfg(s, lo, managed=1)
    cfg(s, lo, other=1)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    cfg(s, lo, managed=1, is_no=True)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    cfg(s, lo, default_router=1, lifetime=100)
    cfg(s, lo, max_interval=30, min_interval=25)
    cfg(s, lo, initial_count=4)
    cfg(s, lo, max_interval=30)
    cfg(s, lo, default_router=1, lifetime=60)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    pfx(s, lo, "2001:db8:5::/64", val_lifetime=86400, pref_lifetime=14400)
    pfx(s, lo, "2001:db8:6::/64", use_default=True, val_lifetime=0, pref_lifetime=0)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    pfx(s, lo, "2001:db8:5::/64", no_autoconfig=True)
    pfx(s, lo, "2001:db8:5::/48")
    pfx(s, lo, "2001:db8:7::/64", is_no=True)
    pfx(s, lo, "2001:db8:6::/48", is_no=True)
    pfx(s, lo, "2001:db8:6::/64", is_no=True)
    pfx(s, lo, "2001:db8:8::/64", val_lifetime=NO_INDEX, pref_lifetime=100)
    pfx(s, lo, "2001:db8:9::/64", no_advertise=True, off_link=True)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    cfg(s, lo, suppress=1)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=lo)
    cfg(s, lo, suppress=1, is_no=True)
    cfg(s, NO_INDEX - 1)
    pfx(s, NO_INDEX - 1, "2001:db8:5::/64")
    lo2 = s.call("create_loopback", mac_address="02:fe:ee:00:06:02").sw_if_index
    addr(s, lo2, "2001:db8:a::1/64")
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=NO_INDEX)
    addr(s, lo, "2001:db8:5::1/64", is_add=False)
    cfg(s, lo)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=NO_INDEX)
    addr(s, lo, "2001:db8:5::1/64")
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=NO_INDEX)
    s.call("delete_loopback", sw_if_index=lo2)
    s.call("delete_loopback", sw_if_index=lo)
    s.call("sw_interface_ip6nd_ra_dump", sw_if_index=NO_INDEX)
