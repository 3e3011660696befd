"""The netvpp TaaS service driver: Neutron's Tap-as-a-Service on VPP.

Configured for Neutron TaaS's plugin (service_plugins = taas) as

    [service_providers]
    service_provider = TAAS:netvpp:networking_netvpp.taas.NetvppTaasDriver:default

Tap services and tap flows are journaled in the transaction of the TaaS
plugin's change, like every other netvpp resource (journal.py): a tap
service's row carries its port and its TaaS id (the tap id association the
driver allocates, as Neutron's own RPC driver does); a tap flow's row carries
its source port, direction, the service port and the hosts both ports are
bound on, read from the database at commit. When a port of a tap flow moves
(its binding's host changes) the flow is journaled again from the same
transaction. The controller turns a flow into local SPAN, remote SPAN or
ERSPAN documents for the hosts involved (docs/taas.md).

A tap service has no VPP object of its own and is ACTIVE from its creation.
A tap flow is DOWN until the agents that carry it report its mirror in place
(follower.py), then ACTIVE; an agent's error for it makes it ERROR.

TaaS keeps no revision numbers: a row's revision is the commit time in
microseconds, so a later row of the same tap flow always wins.
"""
import time

from neutron.plugins.ml2 import models as ml2_models
from neutron_lib import constants
from neutron_lib.db import api as db_api
from neutron_taas.db import taas_db
from neutron_taas.services.taas import service_drivers
from oslo_log import log as logging
import sqlalchemy as sa
from sqlalchemy import orm

from networking_netvpp import journal

LOG = logging.getLogger(__name__)

_installed = False


def now_revision():
    return int(time.time() * 1000000)


def port_host(session, port_id):
    """The host of the port's active binding, or None."""
    host = session.query(ml2_models.PortBinding.host).filter_by(
        port_id=port_id, status=constants.ACTIVE).scalar()
    return host or None


def taas_id_of(session, tap_service_id):
    return session.query(taas_db.TapIdAssociation.taas_id).filter_by(
        tap_service_id=tap_service_id).scalar()


def service_data(session, ts):
    """A tap service's row as the controller takes it."""
    return {
        'id': ts.id,
        'tenant_id': ts.project_id,
        'name': ts.name,
        'description': ts.description,
        'port_id': ts.port_id,
        'status': ts.status,
        'netvpp:taas_id': taas_id_of(session, ts.id),
        'revision_number': now_revision(),
    }


def flow_data(session, tf, ts=None):
    """A tap flow's row: the flow, its service's port, and both hosts."""
    if ts is None:
        ts = session.query(taas_db.TapService).get(tf.tap_service_id)
    service_port = ts.port_id if ts is not None else None
    return {
        'id': tf.id,
        'tenant_id': tf.project_id,
        'name': tf.name,
        'description': tf.description,
        'tap_service_id': tf.tap_service_id,
        'source_port': tf.source_port,
        'direction': tf.direction,
        'vlan_filter': tf.vlan_filter,
        'status': tf.status,
        'netvpp:source_host': port_host(session, tf.source_port),
        'netvpp:service_port': service_port,
        'netvpp:service_host':
            port_host(session, service_port) if service_port else None,
        'netvpp:taas_id': taas_id_of(session, tf.tap_service_id),
        'revision_number': now_revision(),
    }


def read_flows(session, ids=None):
    """{flow id: row} of the given tap flows (all without ids)."""
    q = session.query(taas_db.TapFlow)
    if ids is not None:
        q = q.filter(taas_db.TapFlow.id.in_(list(ids)))
    return {tf.id: flow_data(session, tf) for tf in q.all()}


def read_services(session, ids=None):
    q = session.query(taas_db.TapService)
    if ids is not None:
        q = q.filter(taas_db.TapService.id.in_(list(ids)))
    return {ts.id: service_data(session, ts) for ts in q.all()}


def _scan(session):
    """A port binding changed in this session: the tap flows of that port
    (as source or as the service's port) are journaled again."""
    ports = {obj.port_id for obj in list(session.new) + list(session.dirty)
             if isinstance(obj, ml2_models.PortBinding) and obj.port_id}
    if not ports:
        return
    with session.no_autoflush:
        flows = session.query(taas_db.TapFlow.id).filter(
            taas_db.TapFlow.source_port.in_(ports)).all()
        flows += session.query(taas_db.TapFlow.id).join(
            taas_db.TapService,
            taas_db.TapService.id == taas_db.TapFlow.tap_service_id).filter(
            taas_db.TapService.port_id.in_(ports)).all()
    for (flow_id,) in flows:
        journal.mark(session, journal.TAP_FLOW, flow_id)


def _before_flush(session, flush_context, instances):
    _scan(session)


def ensure_tables():
    """Creates TaaS's three tables where they are missing.

    Debian's python3-neutron-taas 10.0.0 ships its alembic environment
    without the migration scripts (no versions/ directory), so
    `neutron-db-manage upgrade heads` creates no TaaS table and every tap
    service request fails. The tables are made from neutron_taas's own
    models; where TaaS's migrations did run, they exist and nothing happens.
    """
    engine = db_api.CONTEXT_WRITER.get_engine()
    tables = [m.__table__ for m in (taas_db.TapService, taas_db.TapFlow,
                                    taas_db.TapIdAssociation)]
    missing = [t.name for t in tables
               if not sa.inspect(engine).has_table(t.name)]
    if missing:
        taas_db.TapService.metadata.create_all(engine, tables=tables,
                                               checkfirst=True)
        LOG.warning('netvpp: created the missing Neutron TaaS tables %s '
                    '(the installed neutron_taas has no migrations for '
                    'them)', ', '.join(missing))


def install():
    global _installed
    if _installed:
        return
    journal.register_builder(journal.TAP_FLOW, read_flows, scan=_scan)
    journal.register_builder(journal.TAP_SERVICE, read_services)
    sa.event.listen(orm.Session, 'before_flush', _before_flush)
    _installed = True


class NetvppTaasDriver(service_drivers.TaasBaseDriver):
    """Journals tap services and tap flows for the netvpp controller."""

    def __init__(self, service_plugin):
        super().__init__(service_plugin)
        journal.install_session_hooks()
        install()
        ensure_tables()
        LOG.info('netvpp TaaS driver initialized')

    @staticmethod
    def _session(context):
        return context._plugin_context.session

    # ------------------------------------------------------- tap services
    def create_tap_service_precommit(self, context):
        ts = context.tap_service
        context.tap_id_association = \
            context._plugin.create_tap_id_association(
                context._plugin_context, ts['id'])
        session = self._session(context)
        # Nothing of its own to put in VPP: ACTIVE now (its flows are not).
        session.query(taas_db.TapService).filter_by(id=ts['id']).update(
            {'status': constants.ACTIVE}, synchronize_session=False)
        ts['status'] = constants.ACTIVE
        journal.mark(session, journal.TAP_SERVICE, ts['id'], journal.CREATE)

    def create_tap_service_postcommit(self, context):
        pass

    def _service_gone(self, context):
        ts = context.tap_service
        journal.record(self._session(context), journal.TAP_SERVICE,
                       journal.DELETE, ts['id'],
                       dict(ts, revision_number=now_revision()))

    def delete_tap_service_precommit(self, context):
        # An ACTIVE service: the plugin leaves the row (PENDING_DELETE) for
        # the driver to remove once done; netvpp's part is the journal row.
        taas_db.Taas_db_Mixin.delete_tap_service(
            self.service_plugin, context._plugin_context,
            context.tap_service['id'])
        self._service_gone(context)

    def delete_tap_service_postcommit(self, context):
        self._service_gone(context)

    # ---------------------------------------------------------- tap flows
    def create_tap_flow_precommit(self, context):
        journal.mark(self._session(context), journal.TAP_FLOW,
                     context.tap_flow['id'], journal.CREATE)

    def create_tap_flow_postcommit(self, context):
        pass

    def _flow_gone(self, context):
        tf = context.tap_flow
        journal.record(self._session(context), journal.TAP_FLOW,
                       journal.DELETE, tf['id'],
                       dict(tf, revision_number=now_revision()))

    def delete_tap_flow_precommit(self, context):
        taas_db.Taas_db_Mixin.delete_tap_flow(
            self.service_plugin, context._plugin_context,
            context.tap_flow['id'])
        self._flow_gone(context)

    def delete_tap_flow_postcommit(self, context):
        self._flow_gone(context)
