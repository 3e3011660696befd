"""The netvpp ML2 mechanism driver.

Inside Neutron's transactions (precommit) it only journals: a full snapshot of
the port, network or subnet (security groups: see secgroups.py). Everything
else runs outside them: the forwarder and follower threads, and bind_port,
which asks the controller whether the host has a live agent with the
segment's physnet, the port's vif type and the features the port needs (a
VPP without a plugin turns its feature off on that host).
"""
import os
import threading

from neutron.db import provisioning_blocks
from neutron_lib.api.definitions import port_security as psec
from neutron_lib.api.definitions import portbindings
from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api
from oslo_log import log as logging
from oslo_utils import uuidutils

from networking_netvpp import agents
from networking_netvpp import bindings
from networking_netvpp import client as nclient
from networking_netvpp import config
from networking_netvpp import follower
from networking_netvpp import forwarder
from networking_netvpp import hosts
from networking_netvpp import journal
from networking_netvpp import payloads
from networking_netvpp import qos
from networking_netvpp import secgroups
from networking_netvpp import trunk
from networking_netvpp import wakeup

LOG = logging.getLogger(__name__)

config.register_opts()

DRIVER_NAME = 'netvpp'
# Types bound on a host's physnets; overlays are bound where the host's
# agent advertises the type (network_types: its VPP has the plugin and the
# host has a VTEP).
PHYSNET_TYPES = (constants.TYPE_FLAT, constants.TYPE_VLAN)
OVERLAY_TYPES = (constants.TYPE_VXLAN, 'gpe')
# Ports of Neutron's own agents (DHCP, ...) get a tap interface in VPP.
TAP_OWNER_PREFIXES = (constants.DEVICE_OWNER_NETWORK_PREFIX, 'neutron:')
VIF_TYPE_TAP = 'tap'
# A router's interface on a network is a BVI in VPP, made by the agent of the
# host that carries the router (l3.py schedules it there): vif type `router`.
VIF_TYPE_ROUTER = 'router'
# A router's interfaces and its gateway port are `router` ports (role
# interface or gateway). Its other ports (HA, DVR, SNAT) are not netvpp's
# yet: never bound, and never as a tap.
ROUTER_VIF_OWNERS = (constants.DEVICE_OWNER_ROUTER_INTF,
                     constants.DEVICE_OWNER_ROUTER_GW)
ROUTER_OWNERS = constants.ROUTER_PORT_OWNERS + (
    constants.DEVICE_OWNER_ROUTER_HA_INTF,)
# HostState.features (src/model/keyspace.ts): security groups and
# anti-spoofing need VPP's acl plugin; a router gateway (SNAT, floating IPs)
# its NAT44-ED plugin.
FEATURE_PORT_SECURITY = 'port_security'
FEATURE_NAT = 'nat'


def required_features(port):
    """The host features (HostState.features) a port needs."""
    needs = set()
    # port_security_enabled is absent when Neutron runs without the
    # port-security extension: then nothing is filtered. Ports Neutron trusts
    # (network:*: DHCP, routers) are never filtered, by Neutron's firewalls
    # or by the agent (src/agent/secgroups/port-acls.ts).
    owner = port.get('device_owner') or ''
    if port.get(psec.PORTSECURITY) and \
            not owner.startswith(constants.DEVICE_OWNER_NETWORK_PREFIX):
        needs.add(FEATURE_PORT_SECURITY)
    if owner == constants.DEVICE_OWNER_ROUTER_GW:
        needs.add(FEATURE_NAT)
    return needs


def missing_features(info, port):
    """What the port needs that the host does not offer.

    An agent that advertises no features at all predates them and offered
    every feature of its time.
    """
    features = info.get('features')
    if features is None:
        return set()
    return required_features(port) - set(features)


def vif_type_for(port):
    """The vif type netvpp binds a port with, or None: not netvpp's to bind."""
    owner = port.get('device_owner') or ''
    if owner == payloads.TRUNK_SUBPORT_OWNER:
        return trunk.VIF_TYPE_SUBPORT
    if owner in ROUTER_VIF_OWNERS:
        return VIF_TYPE_ROUTER
    if owner in ROUTER_OWNERS:
        return None
    if owner.startswith(TAP_OWNER_PREFIXES):
        return VIF_TYPE_TAP
    return portbindings.VIF_TYPE_VHOST_USER


def vhostuser_socket_path(socket_dir, port_id):
    # 'vhu' + 11 characters of the id: the 14-character name Nova and OVS
    # use for the port's device, short enough for any sun_path.
    return os.path.join(socket_dir, 'vhu' + port_id[:11])


class NetvppMechanismDriver(api.MechanismDriver):

    def __init__(self):
        super().__init__()
        self._threads_pid = None
        self._threads_lock = threading.Lock()
        self.forwarder = None
        self.follower = None
        self.reporter = None

    # ---------------------------------------------------------------- setup
    def initialize(self):
        self.conf = config.get()
        self.client = nclient.ControllerClient.from_conf(self.conf)
        self.hosts = hosts.HostCache(self.client, self.conf.host_cache_seconds)
        self.wakeup = wakeup.Sender(self.conf.journal_wakeup_socket)
        journal.install_session_hooks(on_commit=self._kick)
        bindings.install()
        secgroups.subscribe()
        # Neutron's trunk plugin (service_plugins `trunk`) finds it through
        # its AFTER_INIT event; without that plugin it stays idle.
        self.trunk_driver = trunk.NetvppTrunkDriver.create()
        # Neutron's QoS plugin (when loaded) finds the driver at its init.
        qos.register()
        # neutron-server loads plugins, then forks workers; threads started
        # now would not exist in the children. Start them in each worker
        # after the fork, and lazily in processes that never publish
        # AFTER_INIT (the API process when api_workers = 0, uwsgi).
        registry.subscribe(self._after_init, resources.PROCESS,
                           events.AFTER_INIT)
        LOG.info('netvpp mechanism driver initialized: controller %s, '
                 'vhost-user sockets in %s', self.conf.controller_url,
                 self.conf.vhostuser_socket_dir)

    @property
    def connectivity(self):
        # Zed binds ports without IP addresses only through L2 drivers.
        return portbindings.CONNECTIVITY_L2

    def _after_init(self, resource, event, trigger, payload=None):
        self._ensure_threads()

    def _ensure_threads(self):
        with self._threads_lock:
            if self._threads_pid == os.getpid():
                return
            self._threads_pid = os.getpid()
            self.forwarder = forwarder.Forwarder(self.conf, self.client)
            self.follower = follower.Follower(self.conf, self.client)
            self.reporter = agents.AgentReporter(self.conf, self.client)
            for name, target in (('netvpp-forwarder', self.forwarder.run),
                                 ('netvpp-follower', self.follower.run),
                                 ('netvpp-agents', self.reporter.run)):
                threading.Thread(target=target, name=name,
                                 daemon=True).start()
            LOG.info('netvpp: forwarder, follower and agent reporter threads '
                     'started in pid %s', self._threads_pid)

    def _kick(self):
        """Journal rows were committed: wake the forwarder, here or in the
        process that forwards (wakeup.py)."""
        fwd = self.forwarder
        if fwd is not None and self._threads_pid == os.getpid() and \
                fwd.leading:
            fwd.kick()
        else:
            self.wakeup.poke()

    def _postcommit(self, context):
        self._ensure_threads()

    # ------------------------------------------------------------- networks
    def _network_data(self, context):
        return payloads.network_data(context.current,
                                     context.network_segments)

    def create_network_precommit(self, context):
        journal.record(context._plugin_context.session, journal.NETWORK,
                       journal.CREATE, context.current['id'],
                       self._network_data(context))

    def update_network_precommit(self, context):
        journal.record(context._plugin_context.session, journal.NETWORK,
                       journal.UPDATE, context.current['id'],
                       self._network_data(context))

    def delete_network_precommit(self, context):
        journal.record(context._plugin_context.session, journal.NETWORK,
                       journal.DELETE, context.current['id'],
                       self._network_data(context))

    create_network_postcommit = _postcommit
    update_network_postcommit = _postcommit
    delete_network_postcommit = _postcommit

    # -------------------------------------------------------------- subnets
    def create_subnet_precommit(self, context):
        journal.record(context._plugin_context.session, journal.SUBNET,
                       journal.CREATE, context.current['id'], context.current)

    def update_subnet_precommit(self, context):
        journal.record(context._plugin_context.session, journal.SUBNET,
                       journal.UPDATE, context.current['id'], context.current)

    def delete_subnet_precommit(self, context):
        journal.record(context._plugin_context.session, journal.SUBNET,
                       journal.DELETE, context.current['id'], context.current)

    create_subnet_postcommit = _postcommit
    update_subnet_postcommit = _postcommit
    delete_subnet_postcommit = _postcommit

    # ---------------------------------------------------------------- ports
    def _port_data(self, context):
        port = context.current
        cidrs = payloads.subnet_cidrs(context._plugin_context.session, port) \
            if payloads.wants_subnets(port) else None
        session = context._plugin_context.session
        subport = payloads.subport_of(session, port['id']) \
            if payloads.is_subport(port) else None
        return payloads.port_data(port, context.network.current,
                                  context.bottom_bound_segment,
                                  context.network.network_segments, cidrs,
                                  payloads.inactive_bindings(session,
                                                             port['id']),
                                  subport,
                                  payloads.subnet_ra_modes(session, port)
                                  if payloads.wants_subnets(port) else None)

    def _bound_by_netvpp(self, context):
        levels = context.binding_levels
        return bool(levels) and \
            levels[-1].get(api.BOUND_DRIVER) == DRIVER_NAME and \
            context.vif_type not in (portbindings.VIF_TYPE_UNBOUND,
                                     portbindings.VIF_TYPE_BINDING_FAILED)

    def _track_binding(self, context):
        session = context._plugin_context.session
        port = context.current
        if not self._bound_by_netvpp(context):
            journal.forget_ready(session, port['id'])
            return
        new_binding = (context.original is None or
                       context.original_host != context.host or
                       context.original_vif_type != context.vif_type)
        if not new_binding:
            return
        # Hold the port DOWN until the agent on this host reports it ready
        # (interface, bridge, anti-spoofing and security groups in place).
        provisioning_blocks.add_provisioning_component(
            context._plugin_context, port['id'], resources.PORT,
            provisioning_blocks.L2_AGENT_ENTITY)
        journal.expect_ready(session, port['id'], context.host)

    def _mark_l3(self, context, deleted=False):
        """A gateway port's addresses are in its router's row; a floating
        IP's port takes the floating IP with it when deleted (cascade: no
        ORM event). Its device_id is `PENDING` until the floating IP exists,
        so only the deletion counts."""
        port = context.current
        owner = port.get('device_owner')
        session = context._plugin_context.session
        if owner == constants.DEVICE_OWNER_ROUTER_GW and port.get('device_id'):
            journal.mark(session, journal.ROUTER, port['device_id'])
        elif deleted and owner == constants.DEVICE_OWNER_FLOATINGIP and \
                uuidutils.is_uuid_like(port.get('device_id')):
            journal.mark(session, journal.FLOATINGIP, port['device_id'])

    def create_port_precommit(self, context):
        journal.record(context._plugin_context.session, journal.PORT,
                       journal.CREATE, context.current['id'],
                       self._port_data(context))
        self._mark_l3(context)

    def update_port_precommit(self, context):
        journal.record(context._plugin_context.session, journal.PORT,
                       journal.UPDATE, context.current['id'],
                       self._port_data(context))
        self._track_binding(context)
        self._mark_l3(context)

    def delete_port_precommit(self, context):
        journal.record(context._plugin_context.session, journal.PORT,
                       journal.DELETE, context.current['id'],
                       self._port_data(context))
        self._mark_l3(context, deleted=True)

    create_port_postcommit = _postcommit
    update_port_postcommit = _postcommit
    delete_port_postcommit = _postcommit

    # -------------------------------------------------------------- binding
    def _vif_details(self, vif_type, port_id):
        details = {
            # A router interface is trusted, as in Neutron's own L3 agent.
            portbindings.CAP_PORT_FILTER: vif_type != VIF_TYPE_ROUTER,
            portbindings.VIF_DETAILS_CONNECTIVITY:
                portbindings.CONNECTIVITY_L2,
        }
        if vif_type == portbindings.VIF_TYPE_VHOST_USER:
            details[portbindings.VHOST_USER_SOCKET] = vhostuser_socket_path(
                self.conf.vhostuser_socket_dir, port_id)
            # The hypervisor is the socket server; VPP connects as client.
            details[portbindings.VHOST_USER_MODE] = \
                portbindings.VHOST_USER_MODE_SERVER
        return details

    def bind_port(self, context):
        port = context.current
        vnic_type = port.get(portbindings.VNIC_TYPE,
                             portbindings.VNIC_NORMAL)
        if vnic_type != portbindings.VNIC_NORMAL:
            LOG.debug('netvpp: not binding port %s: vnic_type %s',
                      port['id'], vnic_type)
            return
        host = context.host
        try:
            info = self.hosts.get(host)
        except nclient.ControllerError as e:
            LOG.error('netvpp: cannot bind port %s on host %s: controller '
                      'unavailable: %s', port['id'], host, e)
            return
        if not info or not info.get('alive'):
            LOG.warning('netvpp: not binding port %s: host %s has no live '
                        'netvpp agent', port['id'], host)
            return
        vif_type = vif_type_for(port)
        if vif_type is None:
            LOG.warning('netvpp: not binding port %s: device_owner %s (router '
                        'HA and DVR ports are not supported yet)',
                        port['id'], port.get('device_owner'))
            return
        vif_types = info.get('vif_types')
        # An agent from before vif types were advertised offered vhostuser
        # and tap only: never a router, nor a trunk sub-port.
        if (vif_types is not None or
                vif_type in (VIF_TYPE_ROUTER, trunk.VIF_TYPE_SUBPORT)) and \
                vif_type not in (vif_types or []):
            LOG.warning('netvpp: not binding port %s: host %s does not offer '
                        'vif type %s (its VPP lacks the plugin for it)',
                        port['id'], host, vif_type)
            return
        missing = missing_features(info, port)
        if missing:
            LOG.warning('netvpp: not binding port %s: host %s does not offer '
                        '%s (its VPP lacks the plugin; see the agent\'s log)',
                        port['id'], host, ', '.join(sorted(missing)))
            return
        physnets = set(info.get('physnets') or [])
        net_types = set(info.get('network_types') or [])
        for segment in context.segments_to_bind:
            net_type = segment.get(api.NETWORK_TYPE)
            physnet = segment.get(api.PHYSICAL_NETWORK)
            if net_type in OVERLAY_TYPES:
                if net_type not in net_types:
                    continue
            elif net_type not in PHYSNET_TYPES or physnet not in physnets:
                continue
            context.set_binding(segment[api.ID], vif_type,
                                self._vif_details(vif_type, port['id']))
            LOG.info('netvpp: bound port %s on host %s: %s %s/%s as %s',
                     port['id'], host, net_type, physnet,
                     segment.get(api.SEGMENTATION_ID), vif_type)
            return
        LOG.warning('netvpp: not binding port %s on host %s: no flat/vlan '
                    'segment on its physnets %s and no overlay segment of '
                    'its network types %s (segments %s)', port['id'],
                    host, sorted(physnets), sorted(net_types),
                    [(s.get(api.NETWORK_TYPE), s.get(api.PHYSICAL_NETWORK))
                     for s in context.segments_to_bind])
