"""Which hosts may take a port: the controller's view of live agents."""
import time


class HostCache(object):
    """GET /v1/hosts/<host>, remembered for a few seconds.

    A bind storm (many ports on one host) then costs one request. The cache is
    short so a host that dies stops getting ports quickly.
    """

    def __init__(self, client, ttl):
        self.client = client
        self.ttl = ttl
        self._entries = {}

    def get(self, host):
        now = time.monotonic()
        hit = self._entries.get(host)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        info = self.client.get_host(host)  # ControllerError propagates
        self._entries[host] = (now, info)
        return info
