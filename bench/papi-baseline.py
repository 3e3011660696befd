#!/usr/bin/env python3
"""The baseline of `npm run bench:vpp-api`: VPP's own Python client (vpp_papi, from VPP's source
tree) against the same VPP in the same run. Prints one JSON line:
{"sequential": req/s, "async": req/s} for control_ping, sequential (each call waits for its
reply) and async (do_async=True: every request written at once, replies counted by the event
callback). Usage: papi-baseline.py SOCKET APIDIR N_SEQ N_ASYNC.
"""
import json
import sys
import threading
import time

from vpp_papi import VPPApiClient


def client(socket, apidir):
    return VPPApiClient(apidir=apidir, server_address=socket, read_timeout=60)


def sequential(socket, apidir, n):
    vpp = client(socket, apidir)
    vpp.connect("netvpp-bench-papi-seq")
    t0 = time.perf_counter()
    for _ in range(n):
        vpp.api.control_ping()
    rate = n / (time.perf_counter() - t0)
    vpp.disconnect()
    return rate


def pipelined(socket, apidir, n):
    vpp = client(socket, apidir)
    done = threading.Event()
    got = [0]

    def on_message(name, _msg):
        if name == "control_ping_reply":
            got[0] += 1
            if got[0] == n:
                done.set()

    vpp.register_event_callback(on_message)
    vpp.connect("netvpp-bench-papi-async", do_async=True)
    t0 = time.perf_counter()
    for _ in range(n):
        vpp.api.control_ping()
    if not done.wait(300):
        raise SystemExit(f"vpp_papi async: {got[0]} of {n} replies within 300 s")
    rate = n / (time.perf_counter() - t0)
    vpp.disconnect()
    return rate


def main():
    socket, apidir, n_seq, n_async = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(
        json.dumps(
            {
                "sequential": sequential(socket, apidir, n_seq),
                "async": pipelined(socket, apidir, n_async),
            }
        )
    )


if __name__ == "__main__":
    main()
