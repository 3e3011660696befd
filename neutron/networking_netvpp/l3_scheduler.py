"""Where routers live: choosing their hosts, and moving them off dead hosts.

The L3 plugin is the one owner of router scheduling (docs/l3.md, "Who
schedules"): where a router lives is Neutron's binding:host_id of its ports
and the netvpp_router_hosts row, both in Neutron's database, and a move is an
ordinary Neutron port update (ML2 rebinds, the journal carries it, the
provisioning blocks and floating IP mappings wait for the new host). The
controller only reports which hosts are alive (their lease-backed
`state/<host>/alive` keys, GET /v1/hosts) and fans an HA router's documents
out to both of its hosts; which of the two is active is an etcd election
among their agents, not a scheduling decision.

Pure functions here (unit-tested without Neutron); the Rescheduler thread
runs in the worker that holds its database lock (one across servers).
"""
import hashlib
import threading
import time

from oslo_log import log as logging

from networking_netvpp import backoff
from networking_netvpp import client as nclient
from networking_netvpp import leader

LOG = logging.getLogger(__name__)

VIF_TYPE_ROUTER = 'router'
PHYSNET_TYPES = ('flat', 'vlan')
# HostState.features: the host's VPP has the NAT44-ED plugin (SNAT, floating
# IPs). A router's gateway needs it.
FEATURE_NAT = 'nat'


def can_carry(info, segments):
    """Whether a host (its liveness record) can plumb one of a network's
    segments: a flat/VLAN segment on one of its physnets, or an overlay type
    it advertises. No segments known: assumed yes."""
    if not segments:
        return True
    physnets = set(info.get('physnets') or [])
    types = set(info.get('network_types') or [])
    for seg in segments:
        t = seg.get('network_type')
        if t in PHYSNET_TYPES:
            if seg.get('physical_network') in physnets:
                return True
        elif t in types:
            return True
    return False


def _usable(h):
    return (isinstance(h, dict) and h.get('alive') and not h.get('error') and
            isinstance(h.get('host'), str) and
            VIF_TYPE_ROUTER in (h.get('vif_types') or []))


def hosts_for(hosts, networks=(), features=()):
    """Names of live hosts offering the router vif type that reach every
    network of `networks` (each a list of its segments) and offer every
    feature of `features`, sorted."""
    return sorted(h['host'] for h in hosts
                  if _usable(h) and
                  all(can_carry(h, segs) for segs in networks) and
                  set(features) <= set(h.get('features') or []))


def ranked(router_id, candidates):
    """Rendezvous hashing: candidates by descending sha256(router/host).
    Every neutron-server ranks the same list alike, routers spread evenly,
    and a host joining or leaving changes only the routers it wins or held."""
    def score(host):
        return hashlib.sha256(
            ('%s/%s' % (router_id, host)).encode()).hexdigest()
    return sorted(set(candidates), key=score, reverse=True)


def choose_hosts(router_id, candidates, count, keep=()):
    """Up to `count` hosts: those of `keep` (in order) that are still
    candidates, then the best ranked others."""
    out = [h for h in keep if h and h in candidates]
    for h in ranked(router_id, candidates):
        if len(out) >= count:
            break
        if h not in out:
            out.append(h)
    return out[:count]


def placement(router_id, current, ha, candidates):
    """The (host, standby) a router placed at `current` = (host, standby)
    should have given the live `candidates`, or None when it stays.

    A router keeps every host that is still a candidate (a move costs its
    ports' rebinding); an HA router's survivor becomes its host (its agent
    won the election meanwhile) and the best other candidate its standby.
    With no candidate at all it stays where it is: its host may come back.
    """
    want = choose_hosts(router_id, candidates, 2 if ha else 1,
                        keep=[h for h in current if h])
    if not want:
        return None
    new = (want[0], want[1] if len(want) > 1 else None)
    return None if new == tuple(current) else new


class Rescheduler(object):
    """Moves routers whose host died: every `interval` seconds, the live
    hosts from the controller; a router host missing at two checks in a row
    (not a blip of the controller's view) is dead, and its routers get a
    new placement (`plugin.reschedule`). An HA router without a standby gets
    one when a host that can be it appears."""

    def __init__(self, plugin, conf, interval):
        self.plugin = plugin
        self.conf = conf
        self.interval = interval
        self.lock = leader.NamedLock('l3-rescheduler')
        self.missing_before = set()
        self.stopped = False
        self.moves = 0

    def check(self, context):
        """One pass; returns the routers moved."""
        hosts = self.plugin.client.get_hosts()
        live = set(hosts_for(hosts))
        placed = self.plugin.placements(context)
        missing = {h for _, cur, _ in placed for h in cur
                   if h and h not in live}
        dead = missing & self.missing_before
        self.missing_before = missing
        moved = []
        for router_id, current, ha in placed:
            if not (set(current) & dead or (ha and current[1] is None)):
                continue
            if self.plugin.reschedule(context, router_id, current, ha, hosts,
                                      dead):
                moved.append(router_id)
        self.moves += len(moved)
        return moved

    def run(self):
        from neutron_lib import context as n_context
        retry = backoff.Backoff(0.5, self.conf.retry_max_backoff)
        LOG.info('netvpp router rescheduler started (every %.1fs)',
                 self.interval)
        while not self.stopped:
            try:
                if not self.lock.held():
                    self.missing_before = set()
                    time.sleep(self.conf.leader_retry_interval)
                    continue
                self.check(n_context.get_admin_context())
                retry.reset()
                time.sleep(self.interval)
            except nclient.ControllerError as e:
                delay = retry.next()
                LOG.warning('netvpp: router rescheduler: controller '
                            'unavailable (%s); retrying in %.1fs', e, delay)
                time.sleep(delay)
            except Exception:
                LOG.exception('netvpp router rescheduler error')
                time.sleep(retry.next())
        self.lock.release()


def start(rescheduler):
    threading.Thread(target=rescheduler.run, name='netvpp-l3-rescheduler',
                     daemon=True).start()
