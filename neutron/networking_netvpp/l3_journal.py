"""Journal rows of routers and floating IPs, in the transaction of the change.

Routers and floating IPs are changed along many paths, several of which
have no precommit hook (a gateway port attached, SNAT switched, a floating IP
left by a deleted port, the router's host recorded): so whatever touches them
in a session marks them (journal.mark: at every flush, and at commit for
what is not flushed yet), and their snapshot is read from the database just
before that transaction commits (l3_payloads). A bulk update
that bypasses the ORM publishes a precommit event, which marks too.

Floating IP status (W24 of networking-vpp: ACTIVE before the mapping
existed): a new mapping (port, fixed IP or router host changed) is recorded
in netvpp_floatingip_mappings with the floating IP's revision, and the
floating IP goes DOWN until the follower sees its agent report that mapping
ready (follower.py).
"""
import itertools

from neutron.db.models import l3 as l3_models
from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from neutron_lib import constants
import sqlalchemy as sa
from sqlalchemy import orm

from networking_netvpp.db import models
from networking_netvpp import journal
from networking_netvpp import l3_payloads

_installed = False


def _scan(session):
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, l3_models.Router):
            journal.mark(session, journal.ROUTER, obj.id,
                         journal.CREATE if obj in session.new
                         else journal.UPDATE)
        elif isinstance(obj, (l3_models.RouterRoute,
                              models.NetvppRouterHost)):
            if obj.router_id:
                journal.mark(session, journal.ROUTER, obj.router_id)
        elif isinstance(obj, l3_models.FloatingIP):
            journal.mark(session, journal.FLOATINGIP, obj.id,
                         journal.CREATE if obj in session.new
                         else journal.UPDATE)


def _before_flush(session, flush_context, instances):
    _scan(session)


def _fip_precommit_update(resource, event, trigger, payload):
    # disassociate_floatingips (a port deleted) updates in bulk.
    fip = payload.desired_state
    fip_id = getattr(fip, 'id', None) or payload.resource_id
    if fip_id:
        journal.mark(payload.context.session, journal.FLOATINGIP, fip_id)


def mapping_wanted(data):
    """(host, port, fixed IP) of the static mapping a floating IP needs, or
    None when it is not associated (or its router has no host)."""
    if data.get('port_id') and data.get('fixed_ip_address') and \
            data.get('netvpp:host'):
        return (data['netvpp:host'], data['port_id'],
                data['fixed_ip_address'])
    return None


def _after_build(session, resource, fip_id, data):
    if resource != journal.FLOATINGIP:
        return
    M = models.NetvppFloatingIpMapping
    row = session.query(M).get(fip_id)
    want = mapping_wanted(data)
    if row is not None and want == (row.host, row.port_id,
                                    row.fixed_ip_address):
        return  # the same mapping: its status stands
    if want is None:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = M(floatingip_id=fip_id)
            session.add(row)
        moved = row.port_id is not None and \
            (row.port_id, row.fixed_ip_address) == want[1:]
        row.host, row.port_id, row.fixed_ip_address = want
        if not moved:
            row.revision = data['revision_number']
        # Moved with its router (same port and fixed IP): the document the
        # new host has is the one written at the old revision (the
        # controller moves it as it is), so that revision is awaited.
        row.ready = False
    if data.get('status') != constants.FLOATINGIP_STATUS_DOWN:
        # In bulk: no revision bump, so the row's revision stays the one the
        # controller writes the mapping with.
        session.query(l3_models.FloatingIP).filter_by(id=fip_id).update(
            {'status': constants.FLOATINGIP_STATUS_DOWN},
            synchronize_session=False)


def _build_routers(session, ids):
    return l3_payloads.read_routers(session, ids)


def _build_floatingips(session, ids):
    return l3_payloads.read_floatingips(session, ids)


def install():
    """Once per process: the session hook, the callbacks and the builders."""
    global _installed
    if _installed:
        return
    journal.register_builder(journal.ROUTER, _build_routers)
    journal.register_builder(journal.FLOATINGIP, _build_floatingips,
                             after=_after_build, scan=_scan)
    sa.event.listen(orm.Session, 'before_flush', _before_flush)
    registry.subscribe(_fip_precommit_update, resources.FLOATING_IP,
                       events.PRECOMMIT_UPDATE)
    _installed = True
