#!/usr/bin/env python3
"""Records a session of netvpp's VPP API traces from a real VPP, in ../shared/vpp-traces' format.

Runs the scenarios below one after another over ONE connection to a freshly started VPP (the
simulator's replay, test/sim/traces.test.ts, depends on it: later files see the indexes earlier
ones freed), through VPP's own Python client. Every frame the client writes or reads is kept, as
hex without the 16-byte socket header; a step's frames run from the end of the previous step to
the reply that ends this one (for a dump, the control_ping_reply), so an interface event lands in
the step during which it arrived. The connect handshake goes to handshake.json: its message table
gives the ids in the frames (a VPP built with other plugins numbers messages differently).

    /usr/bin/python3 tools/vpp-traces/record.py --socket /tmp/vpp1/api.sock --out DIR [--session NAME]

NAME picks the scenarios: vxlan-l2fib (the default), lisp-gpe (the ONE calls of gpe networks),
l3-nat (nat44_ed, pipes, routes and a VRF's FIB entries), l3-ipv6 (router advertisements:
session_ra.py), qos (policers), trunks (trunk sub-ports: session_trunks.py), bonds
(bond interfaces, members, LACP), taas (SPAN, ERSPAN, cross-connects, remote SPAN's sink: session_taas.py) or rx-mode (receive queues: sw_interface_set_rx_mode and the
placement dump).

DIR becomes a session: a subdirectory of the project's own recordings (test/sim/recorded/NAME; the
reference recording in ../shared/vpp-traces is read-only).
vpp_papi comes with a VPP build (../shared/tools/build-vpp.sh installs it); the API definitions
are read from /opt/vpp/share/vpp/api (`--apidir`; the script runs against the simulator too).
"""
import argparse
import json
import os
import threading

from vpp_papi import VPPApiClient
from vpp_papi.vpp_transport_socket import VppTransport

NO_INDEX = 0xFFFFFFFF

_lock = threading.Lock()
_frames = []
_write, _read = VppTransport.write, VppTransport._read


def _tap_write(self, buf):
    with _lock:
        _frames.append({"dir": "to_vpp", "hex": bytes(buf).hex()})
    return _write(self, buf)


def _tap_read(self):
    msg = _read(self)
    if msg:
        with _lock:
            _frames.append({"dir": "from_vpp", "hex": bytes(msg).hex()})
    return msg


VppTransport.write, VppTransport._read = _tap_write, _tap_read

# The lisp plugin's dumps send their details with the id within one.api, without the plugin's base
# (docs/overlays.md). While such a dump is outstanding, the unbased id is handed to vpp_papi as the
# real one (so it decodes them); the frame is kept as VPP sent it.
_unbased = {}
_read_kept = VppTransport._read


def _rebase_read(self):
    msg = _read_kept(self)
    if msg and _unbased:
        i = int.from_bytes(msg[:2], "big")
        if i in _unbased:
            msg = _unbased[i].to_bytes(2, "big") + bytes(msg[2:])
    return msg


VppTransport._read = _rebase_read


def plain(v):
    """A decoded message as JSON: addresses and MACs as text, enums and flags as integers."""
    if hasattr(v, "_asdict"):
        v = v._asdict()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, bytes):
        return list(v)
    return str(v)


class Session:
    def __init__(self, socket, apidir):
        self.vpp = VPPApiClient(apidir=apidir, server_address=socket, use_socket=True)
        self.vpp.connect("netvpp-trace")
        with _lock:
            self.handshake = list(_frames)
            _frames.clear()
        self.steps = []

    def _ends(self, name, stream):
        reply = "control_ping_reply" if stream else name + "_reply"
        return self.vpp.transport.message_table[f"{reply}_{self.vpp.messages[reply].crc[2:]}"]

    def _id(self, name):
        return self.vpp.transport.message_table[f"{name}_{self.vpp.messages[name].crc[2:]}"]

    def call(self, name, /, **args):
        stream = name.endswith("_dump")
        if stream and name.startswith("one_"):
            details = self._id(name[: -len("_dump")] + "_details")
            _unbased[details - self._id("one_add_del_locator_set")] = details
        try:
            r = getattr(self.vpp.api, name)(**args)
        finally:
            _unbased.clear()
        end_id = self._ends(name, stream)
        with _lock:
            # This step's frames end with its final reply; anything read after it is the next step's.
            last = max(
                i
                for i, f in enumerate(_frames)
                if f["dir"] == "from_vpp" and int(f["hex"][:4], 16) == end_id
            )
            frames = _frames[: last + 1]
            del _frames[: last + 1]
        step = {"call": name, "args": plain(args), "frames": frames}
        if not stream and isinstance(r, tuple) and len(r) == 2:
            # A _get with a cursor (service ... stream): vpp_papi returns (reply, details).
            step["reply"] = plain(r[0])
            step["details"] = plain(list(r[1]))
        elif stream:
            step["details"] = plain(list(r))
        else:
            step["reply"] = plain(r)
        self.steps.append(step)
        return r

    def save(self, path, doc):
        with open(path, "w") as f:
            json.dump({"doc": doc, "steps": self.steps}, f, indent=1)
            f.write("\n")
        self.steps = []


def tunnel(s, src, dst, vni, is_add=True, **kw):
    args = dict(
        is_add=is_add,
        instance=NO_INDEX,
        src_address=src,
        dst_address=dst,
        src_port=0,
        dst_port=0,
        mcast_sw_if_index=NO_INDEX,
        encap_vrf_id=0,
        decap_next_index=NO_INDEX,
        vni=vni,
        is_l3=False,
    )
    args.update(kw)
    return s.call("vxlan_add_del_tunnel_v3", **args)


def vxlan(s):
    s.call("want_interface_events", enable_disable=1, pid=1)
    t1 = tunnel(s, "192.0.2.1", "192.0.2.2", 100).sw_if_index
    s.call("sw_interface_dump", sw_if_index=t1)
    s.call("vxlan_tunnel_v2_dump", sw_if_index=NO_INDEX)
    s.call("sw_interface_tag_add_del", is_add=True, sw_if_index=t1, tag="netvpp:vxlan:t1")
    tunnel(s, "192.0.2.1", "192.0.2.2", 100)  # exists
    tunnel(s, "192.0.2.1", "192.0.2.1", 100)  # src = dst
    tunnel(s, "192.0.2.1", "2001:db8::2", 100)  # mixed families
    tunnel(s, "192.0.2.1", "192.0.2.9", 100, encap_vrf_id=5)  # no table 5
    tunnel(s, "192.0.2.1", "192.0.2.9", 100, decap_next_index=2)
    tunnel(s, "192.0.2.1", "239.1.1.1", 100, mcast_sw_if_index=99)
    tunnel(s, "192.0.2.1", "192.0.2.3", 100, instance=7)
    tunnel(s, "192.0.2.1", "192.0.2.4", 100, instance=7)  # instance in use
    t6 = tunnel(s, "2001:db8::1", "2001:db8::2", 200).sw_if_index
    tunnel(s, "2001:db8::5", "2001:db8::2", 200)  # IPv6: the same key without src
    s.call("vxlan_tunnel_v2_dump", sw_if_index=NO_INDEX)
    s.call("vxlan_tunnel_v2_dump", sw_if_index=t6)
    s.call("vxlan_tunnel_v2_dump", sw_if_index=0)
    tunnel(s, "2001:db8::9", "2001:db8::2", 200, is_add=False)
    tunnel(s, "192.0.2.1", "192.0.2.2", 100, is_add=False, src_port=4789, dst_port=1)
    tunnel(s, "192.0.2.1", "192.0.2.2", 100, is_add=False)  # gone
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    # Freed sw_if_index and pool slots are reused most recently freed first.
    tunnel(s, "192.0.2.1", "192.0.2.5", 100)
    tunnel(s, "192.0.2.1", "192.0.2.6", 100, instance=1)
    tunnel(s, "192.0.2.1", "192.0.2.3", 100, is_add=False)  # frees slot 1
    tunnel(s, "192.0.2.1", "192.0.2.7", 100)  # slot 1 again: instance 1 is taken
    tunnel(s, "192.0.2.1", "192.0.2.7", 100)  # and again: every ~0 tunnel gets slot 1
    tunnel(s, "192.0.2.1", "192.0.2.8", 100, instance=50, decap_next_index=0)
    s.call("vxlan_tunnel_v2_dump", sw_if_index=NO_INDEX)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    # A multicast group (keyed without src), an L3 tunnel (no MAC), IPv4 written as IPv6.
    lo = s.call("create_loopback", mac_address="02:fe:00:00:01:00").sw_if_index
    tunnel(s, "192.0.2.1", "239.1.1.1", 100, mcast_sw_if_index=lo)
    tunnel(s, "192.0.2.9", "239.1.1.1", 100, mcast_sw_if_index=lo)
    tunnel(s, "192.0.2.1", "192.0.2.10", 100, is_l3=True)
    tunnel(s, "::c000:201", "::c000:20b", 100)
    s.call("vxlan_tunnel_v2_dump", sw_if_index=NO_INDEX)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    for dst in ("192.0.2.5", "192.0.2.6", "192.0.2.8", "239.1.1.1", "192.0.2.10", "192.0.2.11"):
        tunnel(s, "192.0.2.1", dst, 100, is_add=False)
    # A multicast tunnel is deleted naming its interface too (the checks come before the lookup).
    tunnel(s, "192.0.2.1", "239.1.1.1", 100, is_add=False, mcast_sw_if_index=lo)
    s.call("delete_loopback", sw_if_index=lo)
    s.call("vxlan_tunnel_v2_dump", sw_if_index=NO_INDEX)
    s.call("control_ping")
    s.call("want_interface_events", enable_disable=0, pid=1)


def bridge(s, bd_id, is_add=True, arp_term=False):
    if not is_add:
        return s.call("bridge_domain_add_del_v2", bd_id=bd_id, is_add=False)
    flags = dict(flood=True, uu_flood=True, forward=True, learn=True, arp_term=arp_term, mac_age=0)
    return s.call("bridge_domain_add_del_v2", bd_id=bd_id, is_add=True, bd_tag="", **flags)


def member(s, sw, bd_id, enable=True, port_type=0, shg=0):
    s.call("sw_interface_set_l2_bridge", rx_sw_if_index=sw, bd_id=bd_id, port_type=port_type, shg=shg, enable=enable)


def fib(s, bd_id, mac, sw, is_add=True, static_mac=True, filter_mac=False, bvi_mac=False):
    s.call(
        "l2fib_add_del",
        mac=mac,
        bd_id=bd_id,
        sw_if_index=sw,
        is_add=is_add,
        static_mac=static_mac,
        filter_mac=filter_mac,
        bvi_mac=bvi_mac,
    )


def ip_mac(s, bd_id, ip, mac, is_add=True):
    s.call("bd_ip_mac_add_del", is_add=is_add, entry={"bd_id": bd_id, "ip": ip, "mac": mac})


def l2fib(s):
    port = s.call("create_loopback", mac_address="02:fe:00:00:02:00").sw_if_index
    bvi = s.call("create_loopback", mac_address="02:fe:00:00:02:01").sw_if_index
    l3 = s.call("create_loopback", mac_address="02:fe:00:00:02:02").sw_if_index
    bridge(s, 10, arp_term=True)
    member(s, port, 10)
    tun = tunnel(s, "192.0.2.1", "192.0.2.2", 10).sw_if_index
    member(s, tun, 10, shg=1)
    member(s, bvi, 10, port_type=1)
    s.call("bridge_domain_dump", bd_id=10, sw_if_index=NO_INDEX)
    for i in range(6):
        fib(s, 10, f"02:fe:00:00:0a:0{i}", tun)
    fib(s, 10, "02:fe:00:00:0b:00", port, static_mac=False)
    fib(s, 10, "02:fe:00:00:0c:00", NO_INDEX, filter_mac=True)
    s.call("l2_fib_table_dump", bd_id=10)
    s.call("l2_fib_table_dump", bd_id=NO_INDEX)
    fib(s, 10, "02:fe:00:00:0d:00", l3)  # not bridged
    fib(s, 11, "02:fe:00:00:0d:00", port)  # no bridge domain 11
    fib(s, 10, "02:fe:00:00:0a:00", port)  # overwrites
    fib(s, 10, "02:fe:00:00:0a:00", tun, is_add=False)  # points at port now
    fib(s, 10, "02:fe:00:00:0a:00", 0, is_add=False)
    fib(s, 10, "02:fe:00:00:0a:00", 0, is_add=False)  # gone
    s.call("l2_fib_table_dump", bd_id=10)
    ip_mac(s, 10, "10.0.0.5", "02:fe:00:00:0a:01")
    ip_mac(s, 10, "2001:db8::5", "02:fe:00:00:0a:01")
    ip_mac(s, 10, "10.0.0.5", "02:fe:00:00:0a:02")  # replaces
    s.call("bd_ip_mac_dump", bd_id=10)
    ip_mac(s, 10, "10.0.0.5", "02:fe:00:00:0a:01", is_add=False)  # another MAC
    ip_mac(s, 0, "10.0.0.6", "02:fe:00:00:0a:01")
    ip_mac(s, 11, "10.0.0.6", "02:fe:00:00:0a:01")
    s.call("bd_ip_mac_dump", bd_id=NO_INDEX)
    s.call("sw_interface_set_mac_address", sw_if_index=bvi, mac_address="02:fe:00:00:02:11")
    s.call("l2_fib_table_dump", bd_id=10)
    tunnel(s, "192.0.2.1", "192.0.2.2", 10, is_add=False)
    s.call("bridge_domain_dump", bd_id=10, sw_if_index=NO_INDEX)
    s.call("l2_fib_table_dump", bd_id=10)
    member(s, port, 10, enable=False)
    member(s, bvi, 10, enable=False)
    bridge(s, 10, is_add=False)
    s.call("l2_fib_table_dump", bd_id=NO_INDEX)
    s.call("bd_ip_mac_dump", bd_id=NO_INDEX)
    fib(s, 10, "02:fe:00:00:0a:01", 0, is_add=False)  # no bridge domain 10 now
    bridge(s, 20)  # on the freed bd_index: inherits the entries, not the ARP entries
    s.call("l2_fib_table_dump", bd_id=20)
    s.call("bd_ip_mac_dump", bd_id=20)
    for e in s.call("l2_fib_table_dump", bd_id=20):
        fib(s, 20, str(e.mac), 0, is_add=False)
    s.call("l2_fib_table_dump", bd_id=NO_INDEX)
    bridge(s, 20, is_add=False)
    for sw in (l3, bvi, port):
        s.call("delete_loopback", sw_if_index=sw)


LISP_SET = "netvpp"
VNI = 1001
L1, L2, L3 = "fa:16:3e:70:00:01", "fa:16:3e:70:00:02", "fa:16:3e:70:00:03"
R1, R2 = "fa:16:3e:70:00:11", "fa:16:3e:70:00:12"


def mac_eid(mac):
    return {"type": 1, "address": {"mac": mac}}


def one_set(s, sw, is_add=True, name=LISP_SET):
    locators = [{"sw_if_index": sw, "priority": 1, "weight": 1}] if is_add else []
    return s.call(
        "one_add_del_locator_set",
        is_add=is_add,
        locator_set_name=name,
        locator_num=len(locators),
        locators=locators,
    )


def one_map(s, vni, bd_id, is_add=True):
    return s.call("one_eid_table_add_del_map", is_add=is_add, vni=vni, dp_table=bd_id, is_l2=True)


def one_leid(s, mac, vni=VNI, is_add=True, name=LISP_SET):
    return s.call("one_add_del_local_eid", is_add=is_add, eid=mac_eid(mac), locator_set_name=name, vni=vni)


def one_rmap(s, mac, rloc=None, vni=VNI, is_add=True):
    if not is_add:
        return s.call("one_add_del_remote_mapping", is_add=False, vni=vni, deid=mac_eid(mac))
    rlocs = [{"priority": 1, "weight": 1, "ip_address": rloc}]
    return s.call(
        "one_add_del_remote_mapping", is_add=True, vni=vni, deid=mac_eid(mac), rloc_num=1, rlocs=rlocs
    )


def one_adj(s, remote, local, vni=VNI, is_add=True):
    return s.call("one_add_del_adjacency", is_add=int(is_add), vni=vni, reid=mac_eid(remote), leid=mac_eid(local))


def one_read(s, vni=VNI):
    """What netvpp's read-back asks (src/agent/kinds/lisp.ts and the kinds that use it)."""
    s.call("show_one_status")
    s.call("one_eid_table_map_dump", is_l2=True)
    sets = s.call("one_locator_set_dump", filter=1)
    if any(x.ls_name == LISP_SET for x in sets):
        s.call("one_locator_dump", ls_name=LISP_SET, is_index_set=False)
    eids = s.call("one_eid_table_dump", eid_set=False, filter=0)
    for e in eids:
        if not e.is_local and e.locator_set_index != NO_INDEX:
            s.call("one_locator_dump", ls_index=e.locator_set_index, is_index_set=True)
    s.call("one_adjacencies_get", vni=vni)


def lisp_agent(s):
    """The calls the agent makes for gpe networks, in its order: a host's first gpe network with
    two local ports and two remote ones, the read-back of a restarted agent, the adjacencies moving
    off a leaving port's EID, a peer's new VTEP, a remote port leaving, then the last network
    leaving (rmap, leid, eidmap, bridge, locset, lisp)."""
    s.call("want_interface_events", enable_disable=1, pid=1)
    one_read(s)  # an agent starting on a VPP whose LISP is off
    # underlay: the interface up with the VTEP address (vtepaddr)
    up = s.call("create_loopback", mac_address="02:fe:00:00:07:00").sw_if_index
    s.call("sw_interface_set_flags", sw_if_index=up, flags=1)
    s.call("sw_interface_add_del_address", sw_if_index=up, is_add=True, prefix="192.0.2.11/24")
    s.call("one_enable_disable", is_enable=True)  # lisp
    one_set(s, up)  # locset
    bridge(s, 1, arp_term=True)  # bd
    one_map(s, VNI, 1)  # eidmap: l2_lisp_gpe1001 comes up in bridge domain 1
    one_leid(s, L1)
    one_leid(s, L2)
    one_rmap(s, R1, "192.0.2.12")
    one_adj(s, R1, L1)
    one_rmap(s, R2, "192.0.2.13")
    one_adj(s, R2, L1)
    one_read(s)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    s.call("bridge_domain_dump", bd_id=1, sw_if_index=NO_INDEX)
    # L1 leaves: the adjacencies move to L2 first (R1's deleted and added, R2's added again), then
    # its EID goes. VPP drops every adjacency of the VNI with it, whatever local EID they name.
    one_adj(s, R1, L1, is_add=False)
    one_adj(s, R1, L2)
    one_adj(s, R2, L2)
    s.call("one_adjacencies_get", vni=VNI)
    one_leid(s, L1, is_add=False)
    s.call("one_adjacencies_get", vni=VNI)
    # R1's host has a new VTEP: the mapping again (locators replaced), then the adjacency again.
    one_rmap(s, R1, "192.0.2.14")
    one_adj(s, R1, L2)
    one_read(s)
    # R1 leaves: deleting its mapping removes its adjacency too.
    one_rmap(s, R1, is_add=False)
    s.call("one_adjacencies_get", vni=VNI)
    # The network leaves the host.
    one_rmap(s, R2, is_add=False)
    one_leid(s, L2, is_add=False)
    one_map(s, VNI, 1, is_add=False)  # l2_lisp_gpe1001 goes down and leaves the bridge
    bridge(s, 1, is_add=False)
    one_set(s, up, is_add=False)
    s.call("one_enable_disable", is_enable=False)
    one_read(s)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    s.call("want_interface_events", enable_disable=0, pid=1)


def lisp_errors(s):
    """Repeats, misses and calls while LISP is off; what survives a disable; GPE interface reuse."""
    # The underlay loopback keeps its address: removing it and adding it again after this session's
    # first part crashed VPP 26.06 (SIGSEGV in lisp_gpe_update_adjacency, from adj_glean_add_or_lock).
    up = [x for x in s.call("sw_interface_dump", sw_if_index=NO_INDEX) if x.interface_name == "loop0"][0].sw_if_index
    bridge(s, 2)
    bridge(s, 3)
    # LISP off: everything but one_enable_disable and the reads
    one_set(s, up)
    one_map(s, VNI, 2)
    one_leid(s, L1)
    one_rmap(s, R1, "192.0.2.12")
    one_rmap(s, R1, is_add=False)
    one_adj(s, R1, L1)
    one_adj(s, R1, L1, is_add=False)
    s.call("one_eid_table_map_dump", is_l2=True)
    s.call("one_eid_table_dump", eid_set=False, filter=0)
    s.call("one_adjacencies_get", vni=VNI)
    s.call("one_enable_disable", is_enable=False)  # off again
    s.call("one_enable_disable", is_enable=True)
    s.call("one_enable_disable", is_enable=True)  # on again
    # local EIDs before their set and map
    one_leid(s, L1)  # no locator set
    one_set(s, up)
    one_set(s, up)  # again: replaces its locators, same index
    one_leid(s, L1)  # VNI not mapped
    one_map(s, VNI, 2)
    one_map(s, VNI, 2)  # again
    one_map(s, VNI, 3)  # VNI mapped to another bridge
    one_map(s, VNI + 1, 2)  # bridge mapped to another VNI
    one_map(s, VNI + 1, 3, is_add=False)  # missing
    one_map(s, VNI, 3, is_add=False)  # wrong bridge
    one_leid(s, L1)
    one_leid(s, L1)  # again
    one_leid(s, L2, name="nosuchset")
    one_leid(s, L3, is_add=False)  # missing
    # remote mappings and adjacencies
    one_adj(s, R1, L1)  # no remote mapping
    one_rmap(s, R1, "192.0.2.11")  # an RLOC of this VPP
    one_rmap(s, R1, "192.0.2.12")
    one_rmap(s, R1, "192.0.2.12")  # again
    one_adj(s, R1, L3)  # no such local EID
    one_adj(s, R1, L1)
    one_adj(s, R1, L1)  # again
    one_leid(s, L3)
    one_leid(s, L3, is_add=False)  # another local EID: R1's adjacency goes too
    s.call("one_adjacencies_get", vni=VNI)
    one_adj(s, R1, L1)
    one_rmap(s, R2, "192.0.2.13", vni=VNI + 5)  # a VNI with no map
    one_adj(s, R2, L1, vni=VNI + 5)
    s.call("one_adjacencies_get", vni=VNI + 5)
    one_adj(s, R2, L1, vni=VNI + 5, is_add=False)
    one_rmap(s, R2, vni=VNI + 5, is_add=False)
    one_rmap(s, R2, is_add=False)  # missing
    one_adj(s, R2, L1, is_add=False)  # missing remote
    # the dumps' filters
    s.call("one_eid_table_dump", eid_set=False, filter=1)
    s.call("one_eid_table_dump", eid_set=False, filter=2)
    s.call("one_eid_table_dump", eid_set=True, vni=VNI, eid=mac_eid(R1), filter=0)
    s.call("one_locator_set_dump", filter=0)
    s.call("one_locator_set_dump", filter=2)
    s.call("one_locator_dump", ls_name="nosuchset", is_index_set=False)
    s.call("one_eid_table_map_dump", is_l2=False)
    # what can't go while something uses it
    one_set(s, up, is_add=False)  # EIDs on it
    bridge(s, 2, is_add=False)  # the GPE interface is in it
    # a disable keeps the control plane, flushes the forwarding entries, downs the interfaces
    s.call("one_enable_disable", is_enable=False)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    s.call("one_enable_disable", is_enable=True)
    one_read(s)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    # a removed GPE interface is kept and reused for the next VNI
    one_adj(s, R1, L1, is_add=False)
    one_adj(s, R1, L1, is_add=False)  # no entry: still 0
    one_leid(s, L1, is_add=False)
    one_map(s, VNI, 2, is_add=False)
    one_map(s, VNI + 2, 3)
    s.call("sw_interface_dump", sw_if_index=NO_INDEX)
    s.call("bridge_domain_dump", bd_id=NO_INDEX, sw_if_index=NO_INDEX)
    one_rmap(s, R1, is_add=False)
    one_map(s, VNI + 2, 3, is_add=False)
    one_set(s, up, is_add=False)
    one_set(s, up, is_add=False)  # missing
    bridge(s, 2, is_add=False)
    bridge(s, 3, is_add=False)
    s.call("one_enable_disable", is_enable=False)
    one_read(s)


def l3_nat(s):
    """The nat44_ed plugin off, enabled, its interfaces, addresses and static mappings (pipes are
    checked by test/contract/l3.test.ts, not recorded yet)."""
    lo = s.call("create_loopback", mac_address="02:fe:ee:00:00:01").sw_if_index
    s.call("nat44_show_running_config")
    s.call("nat44_add_del_address_range", first_ip_address="198.51.100.90",
           last_ip_address="198.51.100.90", vrf_id=NO_INDEX, is_add=True, flags=0)
    s.call("nat44_interface_add_del_feature", is_add=True, flags=32, sw_if_index=lo)
    s.call("nat44_ed_add_del_output_interface", is_add=True, sw_if_index=lo)
    s.call("nat44_ed_plugin_enable_disable", enable=False)
    s.call("nat44_ed_plugin_enable_disable", enable=True)
    s.call("nat44_ed_plugin_enable_disable", enable=True)
    s.call("nat44_show_running_config")
    s.call("nat44_interface_add_del_feature", is_add=True, flags=32, sw_if_index=lo)
    s.call("nat44_interface_add_del_feature", is_add=True, flags=16, sw_if_index=lo)
    s.call("nat44_interface_dump")
    s.call("nat44_interface_add_del_feature", is_add=False, flags=16, sw_if_index=lo)
    s.call("nat44_interface_add_del_feature", is_add=False, flags=16, sw_if_index=NO_INDEX - 1)
    # The output feature (a router's gateway): its own list, an interface in one list only.
    out = s.call("create_loopback", mac_address="02:fe:ee:00:00:02").sw_if_index
    s.call("nat44_ed_output_interface_get", cursor=0)
    s.call("nat44_ed_add_del_output_interface", is_add=False, sw_if_index=out)
    s.call("nat44_ed_add_del_output_interface", is_add=True, sw_if_index=out)
    s.call("nat44_ed_add_del_output_interface", is_add=True, sw_if_index=out)
    s.call("nat44_interface_add_del_feature", is_add=True, flags=16, sw_if_index=out)
    s.call("nat44_ed_add_del_output_interface", is_add=True, sw_if_index=lo)
    s.call("nat44_ed_add_del_output_interface", is_add=True, sw_if_index=NO_INDEX - 1)
    s.call("nat44_ed_output_interface_get", cursor=0)
    s.call("nat44_interface_dump")
    s.call("delete_loopback", sw_if_index=out)
    s.call("nat44_ed_output_interface_get", cursor=0)
    s.call("ip_table_add_del", is_add=True, table={"table_id": 77, "is_ip6": False, "name": "netvpp:vrf:t"})
    for a, v in (("198.51.100.90", 77), ("198.51.100.91", NO_INDEX), ("198.51.100.90", 77)):
        s.call("nat44_add_del_address_range", first_ip_address=a, last_ip_address=a, vrf_id=v,
               is_add=True, flags=0)
    s.call("nat44_address_dump")
    s.call("nat44_add_del_address_range", first_ip_address="198.51.100.90",
           last_ip_address="198.51.100.90", vrf_id=NO_INDEX, is_add=False, flags=0)
    s.call("nat44_address_dump")
    sm = dict(match_pool=False, flags=8, pool_ip_address="0.0.0.0", protocol=0, local_port=0,
              external_port=0, external_sw_if_index=NO_INDEX, vrf_id=77)
    s.call("nat44_add_del_static_mapping_v2", is_add=True, local_ip_address="10.0.0.9",
           external_ip_address="198.51.100.95", tag="netvpp:natsm:x", **sm)
    s.call("nat44_add_del_static_mapping_v2", is_add=True, local_ip_address="10.0.0.10",
           external_ip_address="198.51.100.95", tag="", **sm)
    s.call("nat44_static_mapping_dump")
    s.call("nat44_add_del_static_mapping_v2", is_add=False, local_ip_address="10.0.0.9",
           external_ip_address="198.51.100.95", tag="", **sm)
    s.call("nat44_add_del_static_mapping_v2", is_add=False, local_ip_address="10.0.0.9",
           external_ip_address="198.51.100.95", tag="", **sm)
    s.call("delete_loopback", sw_if_index=lo)
    s.call("nat44_interface_dump")


def path4(nh, weight=1):
    return {"sw_if_index": NO_INDEX, "table_id": 0, "weight": weight, "preference": 0, "type": 0,
            "flags": 0, "proto": 0, "rpf_id": 0, "n_labels": 0,
            "nh": {"address": {"ip4": nh}, "via_label": 0, "obj_id": 0, "classify_table_index": 0},
            "label_stack": [{"is_uniform": 0, "label": 0, "ttl": 0, "exp": 0}] * 16}


def path6(nh, table=0):
    p = path4("0.0.0.0")
    p.update(proto=1, table_id=table, nh=dict(p["nh"], address={"ip6": nh}))
    return p


def route(s, table, prefix, hops, is_add=True, is_multipath=False, path_table=0):
    mk = (lambda h: path6(h, path_table)) if ":" in prefix else (lambda h: dict(path4(h), table_id=path_table))
    return s.call("ip_route_add_del", is_add=is_add, is_multipath=is_multipath,
                  route={"table_id": table, "stats_index": 0, "prefix": prefix, "n_paths": len(hops),
                         "paths": [mk(h) for h in hops]})


def dump_routes(s, table):
    for is_ip6 in (False, True):
        s.call("ip_route_dump", table={"table_id": table, "is_ip6": is_ip6, "name": ""})


def vrf_entries(s):
    """What ip_route_dump lists beside API routes: a VRF's special entries (both families), an
    interface's connected, local, network and broadcast entries, a default route over the special
    one and gone again, the paths' table ids, the entries leaving with the addresses and the table."""
    for is_ip6 in (False, True):
        s.call("ip_table_add_del", is_add=True, table={"table_id": 80, "is_ip6": is_ip6, "name": "netvpp:vrf:v"})
    dump_routes(s, 80)
    lo = s.call("create_loopback", mac_address="02:fe:ee:00:00:80").sw_if_index
    for is_ip6 in (False, True):
        s.call("sw_interface_set_table", sw_if_index=lo, is_ipv6=is_ip6, vrf_id=80)
    s.call("sw_interface_set_flags", sw_if_index=lo, flags=1)
    for a in ("10.1.1.1/24", "10.1.1.2/24", "10.9.0.1/32", "2001:db8:1::1/64", "2001:db8:2::1/128"):
        s.call("sw_interface_add_del_address", sw_if_index=lo, is_add=True, del_all=False, prefix=a)
    dump_routes(s, 80)
    route(s, 80, "0.0.0.0/0", ["203.0.113.1"], path_table=80)
    route(s, 80, "::/0", ["2001:db8:ff::1"], path_table=80)
    route(s, 80, "2001:db8:99::/48", ["2001:db8:1::5", "2001:db8:1::6"], path_table=80)
    route(s, 80, "10.1.1.0/24", ["10.1.1.9"], path_table=80)
    dump_routes(s, 80)
    route(s, 80, "10.1.1.0/24", [], is_add=False)
    route(s, 80, "0.0.0.0/0", [], is_add=False)
    route(s, 80, "::/0", [], is_add=False)
    s.call("sw_interface_add_del_address", sw_if_index=lo, is_add=False, del_all=False, prefix="10.1.1.1/24")
    dump_routes(s, 80)
    s.call("sw_interface_add_del_address", sw_if_index=lo, is_add=False, del_all=True, prefix="0.0.0.0/0")
    dump_routes(s, 80)
    s.call("delete_loopback", sw_if_index=lo)
    route(s, 80, "2001:db8:99::/48", [], is_add=False)
    for is_ip6 in (False, True):
        s.call("ip_table_add_del", is_add=False, table={"table_id": 80, "is_ip6": is_ip6, "name": ""})
    dump_routes(s, 80)
    dump_routes(s, 0)


def l3_gateway(s):
    """A router gateway as the agent makes it: its own bridge with ARP termination, a pipe whose
    end 1 joins it with flooding and learning off (l2_flags, read back with l2_flags_get), ARP
    entries; routes with ECMP paths in a VRF, replaced, dumped, deleted."""
    gw = bridge(s, 4031, arp_term=True)
    ext = bridge(s, 4032)
    p = s.call("pipe_create", is_specified=True, user_instance=77)
    s.call("pipe_create", is_specified=True, user_instance=77)
    s.call("pipe_dump")
    end0, end1 = p.pipe_sw_if_index[0], p.pipe_sw_if_index[1]
    member(s, end0, 4032)
    member(s, end1, 4031)
    s.call("l2_flags_get", sw_if_index=end1)
    s.call("l2_flags", sw_if_index=end1, is_set=False, feature_bitmap=4 | 1)
    s.call("l2_flags_get", sw_if_index=end1)
    s.call("l2_flags", sw_if_index=end1, is_set=True, feature_bitmap=1)
    s.call("l2_flags_get", sw_if_index=end0)
    s.call("l2_flags", sw_if_index=NO_INDEX - 1, is_set=False, feature_bitmap=4)
    ip_mac(s, 4031, "203.0.113.10", "fa:16:3e:00:00:10")
    ip_mac(s, 4031, "203.0.113.50", "fa:16:3e:00:00:10")
    s.call("bd_ip_mac_dump", bd_id=4031)
    s.call("bridge_domain_dump", bd_id=4031, sw_if_index=NO_INDEX)
    s.call("ip_table_add_del", is_add=True, table={"table_id": 78, "is_ip6": False, "name": "netvpp:vrf:r"})
    route(s, 78, "172.16.0.0/16", ["10.1.1.5", "10.1.1.6"])
    route(s, 78, "0.0.0.0/0", ["203.0.113.1"])
    s.call("ip_route_dump", table={"table_id": 78, "is_ip6": False, "name": ""})
    route(s, 78, "172.16.0.0/16", ["10.1.1.5", "10.1.1.7"])
    route(s, 78, "172.16.0.0/16", ["10.1.1.8"], is_multipath=True)
    s.call("ip_route_dump", table={"table_id": 78, "is_ip6": False, "name": ""})
    route(s, 78, "172.16.0.0/16", [], is_add=False)
    route(s, 79, "172.16.0.0/16", ["10.1.1.5"])
    s.call("ip_route_dump", table={"table_id": 78, "is_ip6": False, "name": ""})
    s.call("pipe_delete", sw_if_index=p.sw_if_index)
    s.call("pipe_dump")
    s.call("bd_ip_mac_dump", bd_id=4031)
    bridge(s, 4031, is_add=False)
    bridge(s, 4032, is_add=False)
    vrf_entries(s)


def pol_cfg(cir, cb, conform=1, exceed=0, dscp=0, eb=0, type_=0):
    return {
        "cir": cir,
        "eir": 0,
        "cb": cb,
        "eb": eb,
        "rate_type": 0,
        "round_type": 0,
        "type": type_,
        "color_aware": False,
        "conform_action": {"type": conform, "dscp": dscp},
        "exceed_action": {"type": exceed, "dscp": dscp},
        "violate_action": {"type": exceed, "dscp": dscp},
    }


def qos(s):
    """Policers as the agent uses them (docs/qos.md), and the facts it is written around."""
    lo = s.call("create_loopback", mac_address="02:fe:00:00:0a:01").sw_if_index
    s.call("policer_dump", match_name_valid=False, match_name="")
    a = s.call("policer_add", name="netvpp:policer-in:a", infos=pol_cfg(10000, 12500)).policer_index
    # A name in use; 1R2C with an excess burst; an unconfigured (always-violate) policer.
    s.call("policer_add", name="netvpp:policer-in:a", infos=pol_cfg(20000, 12500))
    s.call("policer_add", name="bad", infos=pol_cfg(10000, 12500, eb=1000))
    s.call("policer_add", name="zero", infos=pol_cfg(0, 0))
    s.call("policer_add", name="bad2", infos=pol_cfg(0, 12500))
    s.call("policer_add", name="mef", infos=pol_cfg(10000, 12500, type_=4))
    s.call("policer_dump", match_name_valid=False, match_name="")
    s.call("policer_dump", match_name_valid=True, match_name="netvpp:policer-in:a")
    s.call("policer_dump", match_name_valid=True, match_name="missing")
    s.call("policer_input", name="netvpp:policer-in:a", sw_if_index=lo, apply=True)
    s.call("policer_input", name="missing", sw_if_index=lo, apply=True)
    s.call("policer_input", name="netvpp:policer-in:a", sw_if_index=9999, apply=True)
    s.call("policer_output", name="netvpp:policer-in:a", sw_if_index=lo, apply=True)
    # In place by index: marking, a new rate; a free index; a configuration VPP refuses.
    s.call("policer_update", policer_index=a, infos=pol_cfg(5000, 6250, conform=2, dscp=46))
    s.call("policer_update", policer_index=77, infos=pol_cfg(5000, 6250))
    s.call("policer_update", policer_index=a, infos=pol_cfg(5000, 0))
    s.call("policer_dump", match_name_valid=True, match_name="netvpp:policer-in:a")
    s.call("policer_output", name="netvpp:policer-in:a", sw_if_index=lo, apply=False)
    # Deleted while bound on input: allowed (the binding is not removed); then the name is gone, so
    # unbinding by name fails.
    s.call(
        "policer_add_del", is_add=False, name="netvpp:policer-in:a", **pol_cfg(0, 0)
    )
    s.call(
        "policer_add_del", is_add=False, name="netvpp:policer-in:a", **pol_cfg(0, 0)
    )
    s.call("policer_input", name="netvpp:policer-in:a", sw_if_index=lo, apply=False)
    # The freed index is reused by the next policer.
    b = s.call("policer_add_del", is_add=True, name="netvpp:policer-out:b", **pol_cfg(2000, 3000)).policer_index
    s.call("policer_add", name="netvpp:policer-in:c", infos=pol_cfg(3000, 4000))
    s.call("policer_dump", match_name_valid=False, match_name="")
    s.call("policer_input", name="netvpp:policer-out:b", sw_if_index=lo, apply=False)
    for name in ("netvpp:policer-out:b", "netvpp:policer-in:c", "zero"):
        s.call("policer_add_del", is_add=False, name=name, **pol_cfg(0, 0))
    s.call("policer_dump", match_name_valid=False, match_name="")
    s.call("delete_loopback", sw_if_index=lo)
    return b


def bonds(s):
    """Bond interfaces as the agent makes them ([agent] bonds): created with an id (LACP, l34), the
    errors of bond_create2, members added (the bond takes the first one's MAC), the member and
    LACP dumps while the members are admin down (no timing involved), detach, delete."""
    lo1 = s.call("create_loopback", mac_address="02:fe:bb:00:00:01").sw_if_index
    lo2 = s.call("create_loopback", mac_address="02:fe:bb:00:00:02").sw_if_index
    b = s.call("bond_create2", mode=5, lb=1, id=5, numa_only=False, enable_gso=False,
               use_custom_mac=False).sw_if_index
    s.call("bond_create2", mode=5, lb=1, id=5)
    s.call("bond_create2", mode=9, lb=0)
    s.call("bond_create2", mode=3, lb=7)
    x = s.call("bond_create2", mode=3, lb=2, id=NO_INDEX).sw_if_index
    s.call("sw_bond_interface_dump", sw_if_index=NO_INDEX)
    s.call("sw_bond_interface_dump", sw_if_index=b)
    s.call("sw_bond_interface_dump", sw_if_index=9999)
    s.call("bond_add_member", sw_if_index=lo1, bond_sw_if_index=b, is_passive=False, is_long_timeout=False)
    s.call("bond_add_member", sw_if_index=lo1, bond_sw_if_index=b)
    s.call("bond_add_member", sw_if_index=lo2, bond_sw_if_index=lo1)
    s.call("bond_add_member", sw_if_index=x, bond_sw_if_index=b)
    s.call("bond_add_member", sw_if_index=9999, bond_sw_if_index=b)
    s.call("bond_add_member", sw_if_index=lo2, bond_sw_if_index=b, is_passive=True, is_long_timeout=True)
    s.call("sw_member_interface_dump", sw_if_index=b)
    s.call("sw_member_interface_dump", sw_if_index=lo1)
    s.call("sw_bond_interface_dump", sw_if_index=b)
    s.call("sw_interface_dump", sw_if_index=b)
    s.call("sw_interface_dump", sw_if_index=lo2)
    s.call("sw_interface_lacp_dump")
    s.call("sw_interface_tag_add_del", is_add=True, sw_if_index=b, tag="netvpp:bond:BondEthernet5")
    s.call("bond_detach_member", sw_if_index=lo1)
    s.call("bond_detach_member", sw_if_index=lo1)
    s.call("bond_detach_member", sw_if_index=9999)
    s.call("sw_member_interface_dump", sw_if_index=b)
    s.call("sw_interface_dump", sw_if_index=lo1)
    s.call("sw_interface_lacp_dump")
    s.call("bond_delete", sw_if_index=lo1)
    s.call("bond_delete", sw_if_index=b)
    s.call("bond_delete", sw_if_index=x)
    s.call("sw_bond_interface_dump", sw_if_index=NO_INDEX)
    s.call("sw_interface_dump", sw_if_index=lo2)
    s.call("sw_interface_lacp_dump")
    s.call("delete_loopback", sw_if_index=lo1)
    s.call("delete_loopback", sw_if_index=lo2)


def rx_mode(s, vhost_dir):
    """Receive queues and their rx-mode: a loopback (no queues), a vhost-user interface without a
    guest (polling; interrupt and adaptive refused), a sub-interface, bad indexes and queues."""
    lo = s.call("create_loopback", mac_address="02:fe:00:00:0b:00").sw_if_index
    vu = s.call("create_vhost_user_if_v2", is_server=True, sock_filename=os.path.join(vhost_dir, "vu0"),
                use_custom_mac=True, mac_address="02:fe:00:00:0b:01", tag="netvpp:port:rx").sw_if_index
    sub = s.call("create_subif", sw_if_index=vu, sub_id=4095, sub_if_flags=1 << 5).sw_if_index
    s.call("sw_interface_rx_placement_dump", sw_if_index=NO_INDEX)
    s.call("sw_interface_rx_placement_dump", sw_if_index=vu)
    s.call("sw_interface_rx_placement_dump", sw_if_index=lo)
    s.call("sw_interface_rx_placement_dump", sw_if_index=sub)
    for mode in (2, 3, 1, 4, 0):
        s.call("sw_interface_set_rx_mode", sw_if_index=vu, queue_id_valid=False, queue_id=0, mode=mode)
    s.call("sw_interface_set_rx_mode", sw_if_index=vu, queue_id_valid=True, queue_id=3, mode=1)
    s.call("sw_interface_set_rx_mode", sw_if_index=lo, queue_id_valid=False, queue_id=0, mode=2)
    s.call("sw_interface_set_rx_mode", sw_if_index=sub, queue_id_valid=False, queue_id=0, mode=2)
    s.call("sw_interface_set_rx_mode", sw_if_index=NO_INDEX - 1, queue_id_valid=False, queue_id=0, mode=2)
    s.call("sw_interface_set_flags", sw_if_index=vu, flags=1)
    s.call("sw_interface_set_rx_mode", sw_if_index=vu, queue_id_valid=False, queue_id=0, mode=3)
    s.call("sw_interface_rx_placement_dump", sw_if_index=NO_INDEX)
    s.call("delete_vhost_user_if", sw_if_index=vu)
    s.call("delete_loopback", sw_if_index=lo)
    s.call("sw_interface_rx_placement_dump", sw_if_index=NO_INDEX)


SESSIONS = ("vxlan-l2fib", "lisp-gpe", "l3-nat", "l3-ipv6", "qos", "trunks", "bonds", "rx-mode", "taas")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--session", choices=SESSIONS, default="vxlan-l2fib", help="which scenarios")
    p.add_argument("--apidir", default="/opt/vpp/share/vpp/api", help="where the .api.json files are")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    s = Session(a.socket, a.apidir)
    with open(os.path.join(a.out, "handshake.json"), "w") as f:
        json.dump({"frames": s.handshake}, f)
    if a.session == "trunks":
        from session_trunks import trunks

        trunks(s)
        s.save(
            os.path.join(a.out, "trunks.json"),
            "trunk sub-ports: exact-match VLAN sub-interfaces of a vhost-user port beside its VLAN-tag "
            "guard, tagged, tag popped, bridged, up; VLANs in use or out of range, a sub-interface of a "
            "sub-interface; one removed; the parent deleted with the rest",
        )
        s.vpp.disconnect()
        return
    if a.session == "l3-ipv6":
        from session_ra import ra

        ra(s)
        s.save(
            os.path.join(a.out, "ra.json"),
            "IPv6 router advertisements: RA calls without IPv6, the state an IPv6 address makes, RA "
            "on, managed/other flags set and cleared, intervals and lifetimes (refused ones), prefixes "
            "added, changed, refused and deleted, suppressed, a bad index, two interfaces, the state "
            "gone with the last IPv6 address and fresh again",
        )
        s.vpp.disconnect()
        return
    if a.session == "taas":
        from session_taas import taas, taas_sink

        taas(s)
        s.save(
            os.path.join(a.out, "taas.json"),
            "port mirroring: SPAN device and L2 entries (states, a second destination, errors, dumps), "
            "ERSPAN GRE tunnels (errors, tag, up, dumps, a mirror into one, delete), a VXLAN tunnel "
            "cross-connected into a port, a bridged port cross-connected and back to L3, errors, the "
            "tunnel deleted with its cross-connect",
        )
        taas_sink(s)
        s.save(
            os.path.join(a.out, "taas_sink.json"),
            "remote SPAN's service end: a tagged loopback (netvpp's MAC, admin up) alone in a bridge "
            "that floods, forwards and learns nothing, a tap VXLAN tunnel cross-connected into it "
            "(moved from the port), its tx mirrored in device mode into a bridged port, the dumps, "
            "admin down and up, removal in the agent's order",
        )
        s.vpp.disconnect()
        return
    if a.session == "bonds":
        bonds(s)
        s.save(
            os.path.join(a.out, "bonds.json"),
            "bond interfaces: bond_create2 with an id and its errors, members added (MACs, passive and "
            "long timeout), member, bond and LACP dumps with the members admin down, a tag, detach "
            "and its errors, delete",
        )
        s.vpp.disconnect()
        return
    if a.session == "rx-mode":
        vhost_dir = os.path.join(a.out, "vhost")
        os.makedirs(vhost_dir, exist_ok=True)
        rx_mode(s, vhost_dir)
        s.save(
            os.path.join(a.out, "rx_mode.json"),
            "rx-mode and rx placement: a loopback (no queues), a vhost-user server interface without "
            "a guest (polling; interrupt/adaptive refused, polling/default accepted), its default "
            "sub-interface, a queue it lacks, an invalid index, admin-up without a guest",
        )
        s.vpp.disconnect()
        return
    if a.session == "l3-nat":
        l3_nat(s)
        s.save(
            os.path.join(a.out, "nat44.json"),
            "NAT44-ED off then on (errors, a second enable), interfaces inside/outside, the output "
            "feature (its own list, errors, gone with its interface), addresses with "
            "a tenant VRF, address-only static mappings with a tag, a deleted interface's record",
        )
        l3_gateway(s)
        s.save(
            os.path.join(a.out, "l3_gateway.json"),
            "a router gateway's bridge with ARP termination and entries, a pipe between two bridges "
            "with flooding and learning off on one end (l2_flags, l2_flags_get), ECMP routes in a "
            "VRF replaced, added to, dumped and deleted, a missing table, the pipe deleted; a VRF's "
            "special, connected and local entries (IPv4 and IPv6) beside API routes, gone with "
            "the addresses and the table",
        )
        s.vpp.disconnect()
        return
    if a.session == "qos":
        qos(s)
        s.save(
            os.path.join(a.out, "policer.json"),
            "policers as the QoS of ports uses them: add (a name in use, refused configurations), dumps "
            "(all, by name, a missing name), input/output bindings by name (a missing name, a bad "
            "interface), update in place by index, delete by name while bound, the freed index reused",
        )
        s.vpp.disconnect()
        return
    if a.session == "lisp-gpe":
        lisp_agent(s)
        s.save(
            os.path.join(a.out, "lisp_agent.json"),
            "gpe networks as the agent programs them: LISP on, the locator set on the underlay, a VNI "
            "mapped to a bridge, local and remote MAC EIDs, adjacencies, the read-back, adjacencies "
            "moved off a leaving EID, a new VTEP, removal in the agent's order, LISP off",
        )
        lisp_errors(s)
        s.save(
            os.path.join(a.out, "lisp_errors.json"),
            "LISP's error returns: calls while it is off, repeated adds, deletes of what is missing, "
            "what is in use, an RLOC of this VPP, a VNI without a map, the dumps' filters, what a "
            "disable keeps, a GPE interface reused for the next VNI",
        )
        s.vpp.disconnect()
        return
    vxlan(s)
    s.save(
        os.path.join(a.out, "vxlan.json"),
        "VXLAN tunnels on a fresh VPP: create, interface, dumps, tag, errors, instances, the IPv6 key, "
        "delete by key, index and slot reuse, multicast, L3, interface events",
    )
    l2fib(s)
    s.save(
        os.path.join(a.out, "l2fib.json"),
        "static L2 FIB entries (tunnel, port, filter, BVI), ARP termination entries, what survives a "
        "deleted tunnel and a deleted bridge domain",
    )
    s.vpp.disconnect()


if __name__ == "__main__":
    main()
