"""The netvpp L3 service plugin: Neutron routers on VPP, no Neutron L3 agent.

Routers, their interfaces and extra routes are Neutron's own database code
(the `*_dbonly_mixin`s: no RPC to L3 agents, none runs). What netvpp adds is
where a router lives: each router is carried by one host whose agent offers
the `router` vif type (its VPP has the ip API), chosen once and recorded in
`netvpp_router_hosts`. A router interface is an ordinary Neutron port
(device_owner `network:router_interface`, device_id = the router); the plugin
sets its `binding:host_id` to the router's host, ML2 binds it through the
netvpp mechanism driver with vif type `router`, its journal row reaches the
controller like any port's, and it turns ACTIVE when that host's agent
reports the BVI ready (provisioning blocks, as for VM ports).

External gateways (phase 2): setting one schedules the router, if it has
no host yet, on a host that reaches the external network and offers NAT
(HostState.features `nat`), or checks that its host does (409 otherwise); the
gateway port (device_owner `network:router_gateway`) is then bound there as
vif type `router` too. Routers and floating IPs are journaled from the
transactions that change them (l3_journal.py, l3_payloads.py); a floating IP
is DOWN until the agent reports its static mapping in place, then ACTIVE
(follower.py).

Scheduling is this plugin's (l3_scheduler.py says why): a router whose host
died moves to a live host that can carry it, and an HA router (`--ha`) gets
two hosts, whose agents elect the active one in etcd (docs/l3.md).
"""
import os
import threading

from neutron.db import extraroute_db
from neutron.db import l3_attrs_db
from neutron.db import segments_db
from neutron.db import l3_gwmode_db
from neutron.db.models import l3 as l3_models
from neutron.quota import resource_registry
from neutron_lib.api.definitions import extraroute
from neutron_lib.api.definitions import extraroute_atomic
from neutron_lib.api.definitions import l3 as l3_apidef
from neutron_lib.api.definitions import l3_ext_gw_mode
from neutron_lib.api.definitions import l3_ext_ha_mode
from neutron_lib.api.definitions import portbindings
from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from neutron_lib.db import api as db_api
from neutron_lib import constants
from neutron_lib import exceptions as n_exc
from neutron_lib.exceptions import l3 as l3_exc
from neutron_lib.plugins import constants as plugin_constants
from neutron_lib.services import base as service_base
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging

from networking_netvpp import client as nclient
from networking_netvpp import config
from networking_netvpp.db import models
from networking_netvpp import follower
from networking_netvpp import journal
from networking_netvpp import l3_journal
from networking_netvpp import l3_scheduler
from networking_netvpp.l3_scheduler import can_carry  # noqa: F401 (API)
from networking_netvpp.l3_scheduler import FEATURE_NAT
from networking_netvpp.l3_scheduler import VIF_TYPE_ROUTER

LOG = logging.getLogger(__name__)

config.register_opts()

ROUTER_PORT_OWNERS = (constants.DEVICE_OWNER_ROUTER_INTF,
                      constants.DEVICE_OWNER_ROUTER_GW)


class NoRouterHost(n_exc.Conflict):
    message = ('No live netvpp host can carry router %(router_id)s: no agent '
               'offers the router vif type (its VPP needs the ip API)%(why)s.')


class RouterHostLacksNetwork(n_exc.Conflict):
    message = ('Router %(router_id)s is carried by host %(host)s, which can '
               'not reach network %(network_id)s (its segments: '
               '%(segments)s; the host has physnets %(physnets)s and network '
               'types %(types)s).')


class RouterHostLacksGateway(n_exc.Conflict):
    message = ('Router %(router_id)s is carried by host %(host)s, which can '
               'not be its gateway to network %(network_id)s: %(why)s.')


def lacks_gateway(info, segments):
    """Why a host (its liveness record) can't be a router's gateway to a
    network of `segments`, or None when it can."""
    if not can_carry(info, segments):
        return ('it can not reach that network (segments %s; the host has '
                'physnets %s and network types %s)' % (
                    [(s.get('network_type'), s.get('physical_network'))
                     for s in segments],
                    sorted(info.get('physnets') or []),
                    sorted(info.get('network_types') or [])))
    if FEATURE_NAT not in (info.get('features') or []):
        return 'its agent does not offer NAT (feature "%s")' % FEATURE_NAT
    return None


def router_hosts(hosts, segments=None, features=()):
    """The names of live hosts whose agent offers the router vif type (and,
    with `segments`, that can reach the network those belong to; with
    `features`, that offer all of them)."""
    return l3_scheduler.hosts_for(hosts, [segments] if segments else (),
                                  features)


def choose_host(router_id, candidates):
    """Rendezvous hashing: the candidate with the highest hash of
    (router, host). Every neutron-server picks the same host from the same
    list, routers spread evenly, and a host joining or leaving changes the
    choice only for the routers it wins or held. None without candidates."""
    best = l3_scheduler.ranked(router_id, candidates)
    return best[0] if best else None


class NetvppL3RouterPlugin(service_base.ServicePluginBase,
                           extraroute_db.ExtraRoute_dbonly_mixin,
                           l3_gwmode_db.L3_NAT_dbonly_mixin,
                           l3_attrs_db.ExtraAttributesMixin):

    # l3-ha: the `ha` flag is accepted and kept (router_extra_attributes),
    # but an HA router is carried by one host like any other until HA
    # routers are done.
    _supported_extension_aliases = [l3_apidef.ALIAS, extraroute.ALIAS,
                                    extraroute_atomic.ALIAS,
                                    l3_ext_gw_mode.ALIAS,
                                    l3_ext_ha_mode.ALIAS]

    __native_pagination_support = True
    __native_sorting_support = True
    __filter_validation_support = True

    @resource_registry.tracked_resources(router=l3_models.Router,
                                         floatingip=l3_models.FloatingIP)
    def __init__(self):
        super().__init__()
        l3_journal.install()
        registry.subscribe(self._precommit_router_create, resources.ROUTER,
                           events.PRECOMMIT_CREATE)
        conf = config.get()
        self.client = nclient.ControllerClient.from_conf(conf)
        self.rescheduler = l3_scheduler.Rescheduler(
            self, conf, conf.router_reschedule_interval)
        self._threads_pid = None
        self._threads_lock = threading.Lock()
        # Started in each worker after neutron-server forks (as the
        # mechanism driver's threads); one worker across servers runs it.
        registry.subscribe(self._after_init, resources.PROCESS,
                           events.AFTER_INIT)
        LOG.info('netvpp L3 plugin initialized: routers are scheduled on '
                 'hosts offering vif type %s (controller %s)',
                 VIF_TYPE_ROUTER, conf.controller_url)

    def _after_init(self, resource, event, trigger, payload=None):
        self._ensure_threads()

    def _ensure_threads(self):
        if not self.rescheduler.interval:
            return
        with self._threads_lock:
            if self._threads_pid == os.getpid():
                return
            self._threads_pid = os.getpid()
            l3_scheduler.start(self.rescheduler)

    @property
    def supported_extension_aliases(self):
        return self._supported_extension_aliases

    @classmethod
    def get_plugin_type(cls):
        return plugin_constants.L3

    def get_plugin_description(self):
        return ('netvpp L3: Neutron routers carried out by VPP on netvpp '
                'hosts (no L3 agent).')

    # ------------------------------------------------------------ scheduling
    def router_host(self, context, router_id):
        """The host recorded for the router, or None."""
        return self.router_hosts(context, router_id)[0]

    def router_hosts(self, context, router_id):
        """(host, standby host) recorded for the router; (None, None)."""
        with db_api.CONTEXT_READER.using(context):
            row = context.session.query(models.NetvppRouterHost).get(
                router_id)
            return (row.host, row.standby_host) if row else (None, None)

    def is_ha(self, context, router_id):
        with db_api.CONTEXT_READER.using(context):
            attrs = self._get_router(context, router_id).extra_attributes
            return bool(attrs and attrs.ha)

    def schedule_router(self, context, router_id, segments=None,
                        features=(), why=''):
        """The router's host: the recorded one, else chosen (among hosts
        that can reach the network of `segments`, the first interface's) and
        recorded; an HA router gets the second best as its standby.

        Once chosen it is kept until the host dies (the Rescheduler moves
        it) or can't be the gateway a request asks for (_gateway_host).
        """
        host = self.router_host(context, router_id)
        if host is not None:
            return host
        try:
            candidates = router_hosts(self.client.get_hosts(), segments,
                                      features)
        except nclient.ControllerError as e:
            raise NoRouterHost(router_id=router_id,
                               why=' (the netvpp controller is unavailable: '
                                   '%s)' % e)
        chosen = l3_scheduler.choose_hosts(
            router_id, candidates, 2 if self.is_ha(context, router_id) else 1)
        if not chosen:
            raise NoRouterHost(router_id=router_id, why=why)
        host, standby = chosen[0], (chosen[1] if len(chosen) > 1 else None)
        try:
            with db_api.CONTEXT_WRITER.using(context):
                context.session.add(models.NetvppRouterHost(
                    router_id=router_id, host=host, standby_host=standby))
        except db_exc.DBDuplicateEntry:
            # Another server scheduled it meanwhile (same list, same choice,
            # unless the hosts changed in between): its record wins.
            return self.router_host(context, router_id)
        except db_exc.DBReferenceError:
            raise l3_exc.RouterNotFound(router_id=router_id)
        LOG.info('netvpp: router %s scheduled on host %s (standby %s, of '
                 '%s)', router_id, host, standby, candidates)
        return host

    # ------------------------------------------------------------ moving
    def _router_ports(self, context, router_id):
        return self._core_plugin.get_ports(
            context.elevated(), filters={'device_id': [router_id],
                                         'device_owner': ROUTER_PORT_OWNERS})

    def _needs(self, context, router_id, ports, gateway_network=None):
        """(segment lists of every network the router is on, whether it
        needs NAT: it has or gets a gateway)."""
        nets = {p['network_id'] for p in ports}
        if gateway_network:
            nets.add(gateway_network)
        nat = gateway_network is not None or any(
            p['device_owner'] == constants.DEVICE_OWNER_ROUTER_GW
            for p in ports)
        return ([segments_db.get_network_segments(context, n)
                 for n in sorted(nets)], nat)

    def placements(self, context):
        """[(router_id, (host, standby), ha)] of every scheduled router."""
        with db_api.CONTEXT_READER.using(context):
            rows = context.session.query(models.NetvppRouterHost).all()
            placed = [(r.router_id, (r.host, r.standby_host)) for r in rows]
        return [(rid, cur, self.is_ha(context, rid)) for rid, cur in placed]

    def reschedule(self, context, router_id, current, ha, hosts, dead=()):
        """Moves a router off dead hosts (or gives an HA router a standby)
        when live hosts can carry all of it; True when it moved."""
        ports = self._router_ports(context, router_id)
        networks, nat = self._needs(context, router_id, ports)
        candidates = l3_scheduler.hosts_for(
            hosts, networks, (FEATURE_NAT,) if nat else ())
        new = l3_scheduler.placement(router_id, current, ha, candidates)
        if new is None:
            if set(current) & set(dead):
                LOG.warning('netvpp: router %s stays on %s: no live host '
                            'can carry it (of %s)', router_id, current,
                            sorted(h.get('host') for h in hosts
                                   if isinstance(h, dict)))
            return False
        self.move_router(context, router_id, new[0], new[1], ports)
        LOG.warning('netvpp: router %s moved from %s to %s (dead: %s)',
                    router_id, current, new, sorted(dead))
        return True

    def move_router(self, context, router_id, host, standby, ports):
        """Records the new placement and rebinds the router's ports there:
        Neutron's own port updates, so ML2, the journal and the provisioning
        blocks do the rest. Its floating IPs' mappings wait for the new host
        (DOWN until it reports them)."""
        with db_api.CONTEXT_WRITER.using(context):
            row = context.session.query(models.NetvppRouterHost).get(
                router_id)
            if row is None:
                return
            row.host, row.standby_host = host, standby
            for (fip_id,) in context.session.query(
                    l3_models.FloatingIP.id).filter_by(router_id=router_id):
                journal.mark(context.session, journal.FLOATINGIP, fip_id)
        for p in ports:
            if p.get(portbindings.HOST_ID) != host:
                self._core_plugin.update_port(
                    context.elevated(), p['id'],
                    {'port': {portbindings.HOST_ID: host}})
        # The new host may have reported them before anything waited for
        # it there (an HA standby has everything in place): its current
        # floating IP states are applied now (the follower may run in
        # another worker), and this worker's follower replays the rest.
        try:
            reply = self.client.port_events(None, 1)
            f = follower.Follower(config.get(), self.client)
            for event in (reply or {}).get('events') or []:
                if isinstance(event, dict) and \
                        event.get('kind') == 'floatingip':
                    f.handle(event)
        except nclient.ControllerError as e:
            LOG.warning('netvpp: router %s moved; floating IP states not '
                        'read (%s): the follower catches up', router_id, e)
        follower.request_replay()

    # ------------------------------------------------------------------- HA
    def _precommit_router_create(self, resource, event, trigger, payload):
        router = payload.latest_state
        ha = router.get(l3_ext_ha_mode.HA_INFO)
        is_ha = cfg.CONF.l3_ha if ha in (None, constants.ATTR_NOT_SPECIFIED) \
            else bool(ha)
        self.set_extra_attr_value(payload.context,
                                  payload.metadata['router_db'],
                                  l3_ext_ha_mode.HA_INFO, is_ha)

    def update_router(self, context, id, router):
        ha = router['router'].get(l3_ext_ha_mode.HA_INFO,
                                  constants.ATTR_NOT_SPECIFIED)
        if ha is not constants.ATTR_NOT_SPECIFIED and bool(ha) != bool(
                self.get_router(context, id).get(l3_ext_ha_mode.HA_INFO)):
            raise n_exc.BadRequest(
                resource='router',
                msg='netvpp does not change the ha flag of a router yet')
        return super().update_router(context, id, router)

    # ----------------------------------------------------------- interfaces
    def _interface_network(self, context, interface_info):
        """The network a router interface request names (by subnet or
        port), or None when it names neither (Neutron then refuses it)."""
        if interface_info.get('subnet_id'):
            return self._core_plugin.get_subnet(
                context, interface_info['subnet_id'])['network_id']
        if interface_info.get('port_id'):
            return self._core_plugin.get_port(
                context, interface_info['port_id'])['network_id']
        return None

    def _check_reach(self, router_id, host, network_id, segments):
        """A clear refusal, before any port is made, when the router's live
        host can't reach the network (else the port would fail to bind)."""
        try:
            info = self.client.get_host(host)
        except nclient.ControllerError:
            return  # the binding says so, if it comes to that
        if info and info.get('alive') and not can_carry(info, segments):
            raise RouterHostLacksNetwork(
                router_id=router_id, host=host, network_id=network_id,
                segments=[(s.get('network_type'), s.get('physical_network'))
                          for s in segments],
                physnets=sorted(info.get('physnets') or []),
                types=sorted(info.get('network_types') or []))

    def add_router_interface(self, context, router_id, interface_info=None):
        # Checked first, so a router without a host gets no half-made port.
        self._get_router(context, router_id)
        network_id = self._interface_network(context, interface_info or {})
        segments = (segments_db.get_network_segments(context, network_id)
                    if network_id else [])
        host = self.schedule_router(context, router_id, segments)
        self._check_reach(router_id, host, network_id, segments)
        info = super().add_router_interface(context, router_id,
                                            interface_info)
        port = self._core_plugin.get_port(context, info['port_id'])
        if port.get(portbindings.HOST_ID) != host:
            # ML2 binds it on that host (netvpp: vif type router).
            self._core_plugin.update_port(
                context, info['port_id'],
                {'port': {portbindings.HOST_ID: host}})
        LOG.info('netvpp: router %s interface %s on network %s (subnets %s) '
                 'bound to host %s', router_id, info['port_id'],
                 info['network_id'], info['subnet_ids'], host)
        return info

    # -------------------------------------------------------------- gateway
    def _gateway_host(self, context, router_id, network_id):
        """The router's host for a gateway to `network_id`: scheduled (on a
        host reaching that network and offering NAT) when it has none;
        moved, with its interfaces, when its host can't be that gateway and
        another live host can carry all of it. Raises 409 before any gateway
        port is made when no host can."""
        segments = segments_db.get_network_segments(context, network_id)
        host, standby = self.router_hosts(context, router_id)
        if host is None:
            return self.schedule_router(
                context, router_id, segments, features=(FEATURE_NAT,),
                why=' that reaches external network %s and offers NAT '
                    '(feature "%s")' % (network_id, FEATURE_NAT))
        try:
            hosts = self.client.get_hosts()
        except nclient.ControllerError:
            return host  # the gateway port's binding says so, if it must
        info = next((h for h in hosts if isinstance(h, dict) and
                     h.get('host') == host), None)
        why = lacks_gateway(info, segments) if info and info.get('alive') \
            else None
        if not why:
            return host
        ports = self._router_ports(context, router_id)
        networks, _ = self._needs(context, router_id, ports, network_id)
        candidates = l3_scheduler.hosts_for(hosts, networks, (FEATURE_NAT,))
        # Among hosts that can be the gateway: the current ones first.
        keep = l3_scheduler.choose_hosts(
            router_id, candidates, 2 if self.is_ha(context, router_id) else 1,
            keep=[h for h in (host, standby) if h])
        if not keep:
            raise RouterHostLacksGateway(router_id=router_id, host=host,
                                         network_id=network_id, why=why)
        new = (keep[0], keep[1] if len(keep) > 1 else None)
        LOG.info('netvpp: router %s moves from %s to %s to have its gateway '
                 'to network %s (%s: %s)', router_id, host, new[0],
                 network_id, host, why)
        self.move_router(context, router_id, new[0], new[1], ports)
        return new[0]

    def _update_router_gw_info(self, context, router_id, info,
                               request_body, router=None):
        network_id = (info or {}).get('network_id')
        host = self._gateway_host(context, router_id, network_id) \
            if network_id else None
        result = super()._update_router_gw_info(
            context, router_id, info, request_body, router=router)
        if host is None:
            return result
        with db_api.CONTEXT_READER.using(context):
            gw_port_id = self._get_router(context, router_id).gw_port_id
        if gw_port_id:
            port = self._core_plugin.get_port(context.elevated(), gw_port_id)
            if port.get(portbindings.HOST_ID) != host:
                # ML2 binds it there (netvpp: vif type router, role gateway).
                self._core_plugin.update_port(
                    context.elevated(), gw_port_id,
                    {'port': {portbindings.HOST_ID: host}})
            LOG.info('netvpp: router %s gateway port %s on network %s bound '
                     'to host %s', router_id, gw_port_id, network_id, host)
        return self._get_router(context, router_id)

    # --------------------------------------------------------- floating IPs
    def create_floatingip(self, context, floatingip,
                          initial_status=constants.FLOATINGIP_STATUS_DOWN):
        # DOWN until the agent reports the static mapping (not ACTIVE at
        # once, as Neutron's default and networking-vpp's W24).
        return super().create_floatingip(
            context, floatingip,
            initial_status=constants.FLOATINGIP_STATUS_DOWN)
