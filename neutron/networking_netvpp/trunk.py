"""The netvpp trunk driver: Neutron trunks (VLAN-aware VMs) on VPP.

Neutron's own trunk service plugin (`trunk` in service_plugins) keeps trunks
and sub-ports in its database; this driver is what makes them real. A
sub-port is an ordinary Neutron port in every respect but its interface: the
driver binds it to its parent's host with device_owner `trunk:subport`
(ML2 then binds it through the netvpp mechanism driver with vif type
`subport`), so its journal row reaches the controller like any port's, in the
transaction of that binding, and carries its trunk membership as the same
transaction reads it (`netvpp:subport`: parent port and VLAN, payloads.py).
The agent on the parent's host makes a VLAN sub-interface of the parent's
VPP interface for it, with the sub-port's own security groups and
anti-spoofing, and reports it ready like a port: the sub-port turns ACTIVE
through the same provisioning block as a VM port.

Removing a sub-port unbinds it (host and device_owner cleared): its row
deletes its binding from the parent's host, and nothing else there changes.
A parent that moves to another host takes its sub-ports along.

Trunk status follows its ports: DOWN while the parent is not ACTIVE, BUILD
while a sub-port is not ACTIVE yet, DEGRADED when a sub-port failed to bind
or is in ERROR, else ACTIVE.
"""
from neutron.objects import trunk as trunk_objects
from neutron.services.trunk.drivers import base as trunk_base
from neutron_lib.api.definitions import portbindings
from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from neutron_lib import constants as n_const
from neutron_lib import context as n_context
from neutron_lib.db import api as db_api
from neutron_lib.plugins import directory
from neutron_lib.services.trunk import constants as trunk_consts
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

DRIVER_NAME = 'netvpp'
VIF_TYPE_SUBPORT = 'subport'
# Parents netvpp can trunk: VM ports (vhost-user) and tap ports.
SUPPORTED_INTERFACES = (portbindings.VIF_TYPE_VHOST_USER, 'tap')
SUPPORTED_SEGMENTATION_TYPES = (trunk_consts.SEGMENTATION_TYPE_VLAN,)

_UNBOUND = (portbindings.VIF_TYPE_UNBOUND,
            portbindings.VIF_TYPE_BINDING_FAILED)


def trunk_status(parent, subports):
    """A trunk's status from its parent's and its sub-ports' port dicts."""
    if parent is None or parent.get('status') != n_const.PORT_STATUS_ACTIVE:
        return trunk_consts.TRUNK_DOWN_STATUS
    if any(p.get('status') == n_const.PORT_STATUS_ERROR or
           p.get(portbindings.VIF_TYPE) ==
           portbindings.VIF_TYPE_BINDING_FAILED for p in subports):
        return trunk_consts.TRUNK_DEGRADED_STATUS
    if all(p.get('status') == n_const.PORT_STATUS_ACTIVE for p in subports):
        return trunk_consts.TRUNK_ACTIVE_STATUS
    return trunk_consts.TRUNK_BUILD_STATUS


class NetvppTrunkDriver(trunk_base.DriverBase):

    @property
    def is_loaded(self):
        try:
            return DRIVER_NAME in cfg.CONF.ml2.mechanism_drivers
        except cfg.NoSuchOptError:
            return False

    @classmethod
    def create(cls):
        return cls(DRIVER_NAME, SUPPORTED_INTERFACES,
                   SUPPORTED_SEGMENTATION_TYPES, agent_type=None,
                   can_trunk_bound_port=True)

    @registry.receives(resources.TRUNK_PLUGIN, [events.AFTER_INIT])
    def register(self, resource, event, trigger, payload=None):
        super().register(resource, event, trigger, payload=payload)
        if not self.is_loaded:
            return
        registry.subscribe(self._trunk_created, resources.TRUNK,
                           events.AFTER_CREATE)
        registry.subscribe(self._trunk_deleted, resources.TRUNK,
                           events.AFTER_DELETE)
        registry.subscribe(self._subports_added, resources.SUBPORTS,
                           events.AFTER_CREATE)
        registry.subscribe(self._subports_removed, resources.SUBPORTS,
                           events.AFTER_DELETE)
        registry.subscribe(self._port_updated, resources.PORT,
                           events.AFTER_UPDATE)
        LOG.info('netvpp trunk driver registered (parents: %s; '
                 'segmentation: %s)', ', '.join(SUPPORTED_INTERFACES),
                 ', '.join(SUPPORTED_SEGMENTATION_TYPES))

    @property
    def _core(self):
        return directory.get_plugin()

    # ------------------------------------------------------------ bindings
    def _bind(self, context, port_id, host):
        """Binds (host set) or unbinds (host '') one sub-port; ML2 journals
        the change in its transaction, with the port's trunk membership."""
        body = {portbindings.HOST_ID: host,
                'device_owner': trunk_consts.TRUNK_SUBPORT_OWNER
                if host else ''}
        try:
            port = self._core.update_port(context, port_id, {'port': body})
        except Exception:
            LOG.exception('netvpp trunk: could not %s sub-port %s',
                          'bind' if host else 'unbind', port_id)
            return None
        if host and port.get(portbindings.VIF_TYPE) in _UNBOUND:
            LOG.warning('netvpp trunk: sub-port %s could not be bound on '
                        'host %s (vif type %s)', port_id, host,
                        port.get(portbindings.VIF_TYPE))
        return port

    def _parent_host(self, context, trunk):
        parent = self._core.get_port(context, trunk.port_id)
        if parent.get(portbindings.VIF_TYPE) in _UNBOUND:
            return ''
        return parent.get(portbindings.HOST_ID) or ''

    def _bind_subports(self, trunk, subports):
        context = n_context.get_admin_context()
        host = self._parent_host(context, trunk)
        for sp in subports:
            self._bind(context, sp.port_id, host)
        self._update_status(context, trunk.id)

    def _trunk_created(self, resource, event, trigger, payload):
        trunk = payload.states[-1]
        if trunk.sub_ports:
            self._bind_subports(trunk, trunk.sub_ports)
        else:
            self._update_status(n_context.get_admin_context(), trunk.id)

    def _subports_added(self, resource, event, trigger, payload):
        self._bind_subports(payload.states[-1], payload.metadata['subports'])

    def _subports_removed(self, resource, event, trigger, payload):
        context = n_context.get_admin_context()
        for sp in payload.metadata['subports']:
            self._bind(context, sp.port_id, '')
        self._update_status(context, payload.states[-1].id)

    def _trunk_deleted(self, resource, event, trigger, payload):
        context = n_context.get_admin_context()
        for sp in payload.states[0].sub_ports:
            self._bind(context, sp.port_id, '')

    # -------------------------------------------------------------- ports
    def _port_updated(self, resource, event, trigger, payload):
        port = payload.latest_state
        original = payload.states[0] if payload.states else {}
        details = port.get('trunk_details')
        context = n_context.get_admin_context()
        if details:
            # The parent: sub-ports follow it to its host (or off it).
            host = port.get(portbindings.HOST_ID) or ''
            if port.get(portbindings.VIF_TYPE) in _UNBOUND:
                host = ''
            old = original.get(portbindings.HOST_ID) or ''
            if original.get(portbindings.VIF_TYPE) in _UNBOUND:
                old = ''
            if host != old:
                for sp in details.get('sub_ports') or []:
                    self._bind(context, sp['port_id'], host)
            self._update_status(context, details['trunk_id'])
            return
        if port.get('device_owner') != trunk_consts.TRUNK_SUBPORT_OWNER:
            return
        if port.get('status') == original.get('status') and \
                port.get(portbindings.VIF_TYPE) == \
                original.get(portbindings.VIF_TYPE):
            return
        sp = trunk_objects.SubPort.get_object(context, port_id=port['id'])
        if sp is not None:
            self._update_status(context, sp.trunk_id)

    def _update_status(self, context, trunk_id):
        with db_api.CONTEXT_WRITER.using(context):
            trunk = trunk_objects.Trunk.get_object(context, id=trunk_id)
            if trunk is None:
                return
            ids = [trunk.port_id] + [sp.port_id for sp in trunk.sub_ports]
            ports = {p['id']: p for p in self._core.get_ports(
                context, filters={'id': ids})}
            status = trunk_status(ports.get(trunk.port_id),
                                  [ports.get(sp.port_id) or {}
                                   for sp in trunk.sub_ports])
            if trunk.status != status:
                LOG.info('netvpp trunk: trunk %s %s -> %s', trunk_id,
                         trunk.status, status)
                trunk.update(status=status)
