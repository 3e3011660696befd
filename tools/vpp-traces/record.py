#!/usr/bin/env python3
"""Records a session of netvpp's VPP API traces from a real VPP, in ../shared/vpp-traces' format.

Runs the scenarios below one after another over ONE connection to a freshly started VPP (the
simulator's replay, test/sim/traces.test.ts, depends on it: later files see the indexes earlier
ones freed), through VPP's own Python client. Every frame the client writes or reads is kept, as
hex without the 16-byte socket header; a step's frames run from the end of the previous step to
the reply that ends this one (for a dump, the control_ping_reply), so an interface event lands in
the step during which it arrived. The connect handshake goes to handshake.json: its message table
gives the ids in the frames (a VPP built with other plugins numbers messages differently).

    /usr/bin/python3 tools/vpp-traces/record.py --socket /tmp/vpp1/api.sock --out DIR

DIR becomes a session of the trace directory as a subdirectory of it (../shared/vpp-traces/NAME).
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

    def call(self, name, **args):
        stream = name.endswith("_dump")
        r = getattr(self.vpp.api, name)(**args)
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
        if stream:
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--apidir", default="/opt/vpp/share/vpp/api", help="where the .api.json files are")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    s = Session(a.socket, a.apidir)
    with open(os.path.join(a.out, "handshake.json"), "w") as f:
        json.dump({"frames": s.handshake}, f)
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
