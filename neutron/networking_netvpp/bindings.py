"""Neutron's multiple port bindings (binding-extended), as Nova's live
migration uses them.

Nova creates an INACTIVE binding on the destination host, activates it
after the move (the source's binding becomes INACTIVE and unbound) and then
deletes the source's. Creating, updating and deleting an inactive binding
call no mechanism-driver precommit, so those changes are found among the
session's objects (a PortBinding added, changed or deleted while INACTIVE)
and the port is journaled as the transaction leaves it: its row carries
`netvpp:inactive_bindings` (payloads.inactive_bindings), from which the
controller plumbs the port on every host it is bound to.

Where a precommit hook already recorded the port in the same transaction
(activation, a port deleted), its snapshot is kept and only its inactive
bindings are read again.
"""
import itertools

from neutron.db import models_v2
from neutron.db.models import segment as segment_models
from neutron.plugins.ml2 import models as ml2_models
from neutron_lib import constants
from neutron_lib.plugins import directory
from neutron_lib.plugins.ml2 import api
import sqlalchemy as sa
from sqlalchemy import orm

from networking_netvpp import journal
from networking_netvpp import payloads

_installed = False


def _inactive_touched(session, obj):
    if not isinstance(obj, ml2_models.PortBinding) or not obj.port_id:
        return False
    if obj.status == constants.INACTIVE or obj in session.deleted:
        return True
    # Activation: ACTIVE now, INACTIVE before.
    hist = sa.inspect(obj).attrs.status.history
    return constants.INACTIVE in (hist.deleted or ())


def _scan(session):
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if _inactive_touched(session, obj):
            journal.mark(session, journal.PORT, obj.port_id)


def _before_flush(session, flush_context, instances):
    _scan(session)


def _segment_dict(seg):
    return {api.ID: seg.id, api.NETWORK_TYPE: seg.network_type,
            api.PHYSICAL_NETWORK: seg.physical_network,
            api.SEGMENTATION_ID: seg.segmentation_id}


def read_port(session, port_id):
    """The port's journal snapshot read from the session, or None if gone:
    what the driver's hooks record (payloads.port_data) for a change that
    runs no hook."""
    port_db = session.query(models_v2.Port).get(port_id)
    if port_db is None:
        return None
    port = directory.get_plugin()._make_port_dict(port_db)
    net = session.query(models_v2.Network).get(port_db.network_id)
    network = {'id': port_db.network_id,
               'mtu': net.mtu if net is not None else None}
    S = segment_models.NetworkSegment
    segs = session.query(S).filter(
        S.network_id == port_db.network_id,
        S.is_dynamic == sa.false()).order_by(S.segment_index).all()
    bound = None
    host = port.get('binding:host_id')
    if host:
        L = ml2_models.PortBindingLevel
        level = session.query(L).filter(
            L.port_id == port_id, L.host == host).order_by(
            L.level.desc()).first()
        if level is not None and level.segment_id:
            seg = session.query(S).get(level.segment_id)
            bound = _segment_dict(seg) if seg is not None else None
    cidrs = payloads.subnet_cidrs(session, port) \
        if payloads.wants_subnets(port) else None
    return payloads.port_data(port, network, bound,
                              [_segment_dict(s) for s in segs], cidrs,
                              payloads.inactive_bindings(session, port_id),
                              payloads.subport_of(session, port_id)
                              if payloads.is_subport(port) else None,
                              payloads.subnet_ra_modes(session, port)
                              if payloads.wants_subnets(port) else None)


def _build_ports(session, ids):
    out = {}
    for port_id in ids:
        data = journal.pending_snapshot(session, journal.PORT, port_id)
        if data is None:
            data = read_port(session, port_id)
            if data is None:
                continue
        elif session.query(models_v2.Port.id).filter_by(
                id=port_id).first() is None:
            continue  # deleted: the hook's snapshot stands
        else:
            data['netvpp:inactive_bindings'] = payloads.inactive_bindings(
                session, port_id)
        out[port_id] = data
    return out


def read_all_inactive(session):
    """{port_id: netvpp:inactive_bindings} of every port that has some."""
    B = ml2_models.PortBinding
    ids = {pid for (pid,) in session.query(B.port_id).filter(
        B.status == constants.INACTIVE).all()}
    return {pid: payloads.inactive_bindings(session, pid) for pid in ids}


def install():
    """Once per process: the port builder and the session hook."""
    global _installed
    if _installed:
        return
    journal.register_builder(journal.PORT, _build_ports, scan=_scan)
    sa.event.listen(orm.Session, 'before_flush', _before_flush)
    _installed = True
