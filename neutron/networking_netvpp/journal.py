"""Journal rows, written in the same DB transaction as Neutron's change.

Mechanism driver hooks and security-group callbacks call `record()` during
precommit. The row itself is written just before that transaction commits (a
SQLAlchemy `before_commit` hook on the same session), because only then is the
resource's revision number final: Neutron bumps revisions at flush time, and a
security-group rule deletion bumps its group only after the precommit
callbacks have run. One resource changed several times in one transaction
gives one row, its last snapshot.

If the transaction rolls back, nothing of this is written: "if Neutron commits
to it, it will happen", and nothing else.
"""
import collections
import copy
import json
import time

from neutron.db import models_v2
from neutron.db.models import l3 as l3_models
from neutron.db.models import securitygroup as sg_models
from neutron.db.qos import models as qos_models
from neutron_lib.db import standard_attr
from oslo_log import log as logging
import sqlalchemy as sa
from sqlalchemy import orm

from networking_netvpp.db import models

LOG = logging.getLogger(__name__)

PORT = 'port'
NETWORK = 'network'
SUBNET = 'subnet'
SECURITY_GROUP = 'security_group'
ROUTER = 'router'
FLOATINGIP = 'floatingip'
QOS_POLICY = 'qos_policy'
# Neutron TaaS (taas.py): no standard attributes, so no revision numbers; a
# row's revision is the one its snapshot carries (the commit time in us).
TAP_SERVICE = 'tap_service'
TAP_FLOW = 'tap_flow'
_UNVERSIONED = (TAP_SERVICE, TAP_FLOW)

CREATE = 'create'
UPDATE = 'update'
DELETE = 'delete'

_MODELS = {
    PORT: models_v2.Port,
    NETWORK: models_v2.Network,
    SUBNET: models_v2.Subnet,
    SECURITY_GROUP: sg_models.SecurityGroup,
    ROUTER: l3_models.Router,
    FLOATINGIP: l3_models.FloatingIP,
    QOS_POLICY: qos_models.QosPolicy,
}

_PENDING = 'netvpp_journal_pending'
_PROVISION = 'netvpp_provision_pending'
_WROTE = 'netvpp_journal_wrote'
_MARKS = 'netvpp_journal_marks'

Pending = collections.namedtuple('Pending', 'resource op resource_id data')

_hooks_installed = False
_on_commit = []
# resource -> fn(session, [ids]) -> {id: snapshot}: resources whose rows are
# read from the database at commit (mark()), not handed over by a hook.
_builders = {}
# fn(session, resource, id, data): runs after a marked resource was read.
_after_build = []
# fn(session): marks what the session holds unflushed. before_commit runs
# before commit's own flush, so changes not yet flushed must be seen here.
_scans = []


def _merge_op(previous, new):
    if new == DELETE:
        return DELETE
    if previous == CREATE:
        return CREATE  # created and then changed in one transaction
    return new


def record(session, resource, op, resource_id, data):
    """Journal a full snapshot of one resource in the session's transaction."""
    if resource not in _MODELS and resource not in _UNVERSIONED:
        raise ValueError('netvpp journal: unknown resource %r' % resource)
    if not session.in_transaction():
        # Every caller is a precommit hook; outside a transaction the row
        # would not be atomic with the change, which is the whole point.
        raise RuntimeError('netvpp journal: record() outside a transaction')
    pending = session.info.setdefault(_PENDING, collections.OrderedDict())
    key = (resource, resource_id)
    previous = pending.pop(key, None)
    if previous is not None:
        op = _merge_op(previous.op, op)
    pending[key] = Pending(resource, op, resource_id, copy.deepcopy(data))


def mark(session, resource, resource_id, op=UPDATE):
    """Journal `resource_id` as the transaction leaves it: its snapshot is
    read (by the resource's builder) just before commit, once every change
    of the transaction is flushed. For resources that many code paths change
    (routers: gateway, routes, scheduling; floating IPs: association, and a
    port's deletion disassociating them)."""
    if resource not in _builders:
        return  # routers are journaled only where the netvpp L3 plugin runs
    marks = session.info.setdefault(_MARKS, collections.OrderedDict())
    key = (resource, resource_id)
    marks[key] = _merge_op(marks[key], op) if key in marks else op


def pending_snapshot(session, resource, resource_id):
    """A copy of the snapshot a hook recorded in this transaction, or None."""
    p = session.info.get(_PENDING, {}).get((resource, resource_id))
    return copy.deepcopy(p.data) if p is not None else None


def register_builder(resource, build, after=None, scan=None):
    """build(session, ids) -> {id: snapshot} of the ids that still exist;
    scan(session): marks resources among the session's unflushed objects."""
    _builders[resource] = build
    if after is not None and after not in _after_build:
        _after_build.append(after)
    if scan is not None and scan not in _scans:
        _scans.append(scan)


def _build_marked(session):
    """Snapshots of the marked resources, recorded like hook snapshots."""
    # Reading may flush, and a flush may mark more: until nothing is new.
    while session.info.get(_MARKS):
        marks = session.info.pop(_MARKS)
        by_resource = collections.OrderedDict()
        for (resource, rid), op in marks.items():
            by_resource.setdefault(resource, []).append((rid, op))
        for resource, items in by_resource.items():
            found = _builders[resource](session, [rid for rid, _ in items])
            for rid, op in items:
                data = found.get(rid)
                if data is None and \
                        (resource, rid) in session.info.get(_PENDING, {}):
                    continue  # deleted: the hook's last snapshot stands
                if data is None:
                    record(session, resource, DELETE, rid, {'id': rid})
                    continue
                record(session, resource, op, rid, data)
                for after in _after_build:
                    after(session, resource, rid, data)


def expect_ready(session, port_id, host):
    """Remember that port_id, bound to host in this transaction, waits for
    its agent; the row is written at commit with the port's final revision."""
    session.info.setdefault(_PROVISION, {})[port_id] = host


def forget_ready(session, port_id):
    """The port is no longer bound by netvpp: stop waiting for its agent."""
    session.info.get(_PROVISION, {}).pop(port_id, None)
    session.query(models.NetvppPortProvisioning).filter_by(
        port_id=port_id).delete(synchronize_session=False)


def current_revision(session, resource, resource_id):
    """The resource's revision as this transaction sees it, or None if gone."""
    model = _MODELS[resource]
    attr = standard_attr.StandardAttribute
    return session.query(attr.revision_number).join(
        model, model.standard_attr_id == attr.id).filter(
        model.id == resource_id).scalar()


def _before_commit(session):
    for scan in _scans:
        scan(session)
    if not (session.info.get(_PENDING) or session.info.get(_PROVISION) or
            session.info.get(_MARKS)):
        return
    if session.in_nested_transaction():
        return  # a savepoint; the outer transaction writes the rows
    # Flushing runs Neutron's revision bumps for everything changed so far.
    session.flush()
    _build_marked(session)
    session.flush()
    pending = session.info.pop(_PENDING, None)
    provision = session.info.pop(_PROVISION, None)
    revisions = {}
    for p in (pending or {}).values():
        data = p.data
        if p.resource in _UNVERSIONED:
            rev = data.get('revision_number') or int(time.time() * 1000000)
        else:
            rev = current_revision(session, p.resource, p.resource_id)
        if rev is None:
            # Deleted in this transaction: the last revision it had.
            rev = data.get('revision_number') or 0
        data['revision_number'] = rev
        revisions[(p.resource, p.resource_id)] = rev
        session.add(models.NetvppJournal(
            resource=p.resource, op=p.op, resource_id=p.resource_id,
            revision=rev, data=json.dumps(data, default=str, sort_keys=True),
            retry_count=0))
    for port_id, host in (provision or {}).items():
        rev = revisions.get((PORT, port_id))
        if rev is None:
            rev = current_revision(session, PORT, port_id)
        if rev is None:
            continue  # the port went away in this same transaction
        row = session.query(models.NetvppPortProvisioning).get(port_id)
        if row is None:
            session.add(models.NetvppPortProvisioning(
                port_id=port_id, host=host, revision=rev))
        else:
            row.host = host
            row.revision = rev
    if pending:
        session.info[_WROTE] = True


def _after_commit(session):
    if session.info.pop(_WROTE, False):
        for callback in list(_on_commit):
            try:
                callback()
            except Exception:  # never fail a committed transaction
                LOG.exception('netvpp journal: commit callback failed')


def _after_transaction_end(session, transaction):
    if transaction.parent is None:
        # Rolled back (or committed): forget whatever was not written.
        session.info.pop(_PENDING, None)
        session.info.pop(_PROVISION, None)
        session.info.pop(_MARKS, None)
        session.info.pop(_WROTE, None)


def install_session_hooks(on_commit=None):
    """Hook every ORM session once per process (cheap when nothing pends)."""
    global _hooks_installed
    if on_commit is not None and on_commit not in _on_commit:
        _on_commit.append(on_commit)
    if _hooks_installed:
        return
    sa.event.listen(orm.Session, 'before_commit', _before_commit)
    sa.event.listen(orm.Session, 'after_commit', _after_commit)
    sa.event.listen(orm.Session, 'after_transaction_end',
                    _after_transaction_end)
    _hooks_installed = True


def row_payload(row):
    """A journal row as POST /v1/journal carries it."""
    return {
        'id': row.id,
        'resource': row.resource,
        'op': row.op,
        'resource_id': row.resource_id,
        'revision': row.revision,
        'data': json.loads(row.data),
    }
