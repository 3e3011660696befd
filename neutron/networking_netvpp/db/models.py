"""The driver's own tables. Both are written inside Neutron's transactions."""
from neutron_lib.db import model_base
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# A security group with all of its rules can exceed MySQL's 64 KiB TEXT.
JSON_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')
# SQLite only auto-increments INTEGER PRIMARY KEY (used by unit tests).
JOURNAL_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


class NetvppJournal(model_base.BASEV2):
    """Outbox of Neutron changes not yet acknowledged by the controller.

    One row is a full snapshot of one resource at one Neutron revision, so a
    row may be sent any number of times; the controller keeps the newest
    revision of each resource. A row is deleted only after the controller has
    listed its id in `done` (the change is durable in etcd).
    """

    __tablename__ = 'netvpp_journal'

    id = sa.Column(JOURNAL_ID, primary_key=True, autoincrement=True)
    resource = sa.Column(sa.String(32), nullable=False)
    op = sa.Column(sa.String(16), nullable=False)
    resource_id = sa.Column(sa.String(36), nullable=False)
    revision = sa.Column(sa.BigInteger, nullable=False)
    data = sa.Column(JSON_TEXT, nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False,
                           server_default=sa.func.now())
    retry_count = sa.Column(sa.Integer, nullable=False, default=0,
                            server_default='0')
    last_error = sa.Column(sa.String(255), nullable=True)


class NetvppPortProvisioning(model_base.BASEV2):
    """A port bound by netvpp that waits for its agent to report it ready.

    `revision` is the port's revision when it was bound to `host`: a ready
    report for an older revision (an earlier binding) must not make the port
    ACTIVE. The row goes away with the port (cascade) or on unbind.
    """

    __tablename__ = 'netvpp_port_provisioning'

    port_id = sa.Column(sa.String(36),
                        sa.ForeignKey('ports.id', ondelete='CASCADE'),
                        primary_key=True)
    host = sa.Column(sa.String(255), nullable=False)
    revision = sa.Column(sa.BigInteger, nullable=False)


class NetvppGpeAllocation(model_base.BASEV2):
    """A VNI of the gpe type driver's range and whether a network has it.

    The gpe type's own pool: VNIs of vxlan networks live in Neutron's
    ml2_vxlan_allocations, and the two ranges may overlap (they are different
    encapsulations on different UDP ports).
    """

    __tablename__ = 'netvpp_gpe_allocations'

    gpe_vni = sa.Column(sa.Integer, nullable=False, primary_key=True,
                        autoincrement=False)
    allocated = sa.Column(sa.Boolean, nullable=False, default=False,
                          server_default=sa.sql.false(), index=True)

    @classmethod
    def get_segmentation_id(cls):
        return cls.gpe_vni

    @property
    def segmentation_id(self):
        return self.gpe_vni

    @staticmethod
    def primary_keys():
        return {'gpe_vni'}


class NetvppRouterHost(model_base.BASEV2):
    """The host that carries a router, and an HA router's standby host
    (l3.py schedules them; l3_scheduler.py moves them off dead hosts).

    A table of its own rather than a router attribute: no API extension, and
    the router's row stays Neutron's. It goes away with the router (cascade).
    """

    __tablename__ = 'netvpp_router_hosts'

    router_id = sa.Column(sa.String(36),
                          sa.ForeignKey('routers.id', ondelete='CASCADE'),
                          primary_key=True)
    host = sa.Column(sa.String(255), nullable=False)
    # HA routers: the second host (null: not HA, or no second host live).
    standby_host = sa.Column(sa.String(255), nullable=True)


class NetvppFloatingIpMapping(model_base.BASEV2):
    """The static mapping an associated floating IP needs on its router's
    host, and whether that host's agent has reported it in place.

    Written with every change of the floating IP (journal.py): a new mapping
    (port, fixed IP or host changed) is recorded with the floating IP's
    revision at that change and `ready` false, and the floating IP is DOWN;
    the follower sets `ready` and ACTIVE once the agent on `host` reports the
    mapping at that revision or later. Kept while associated (so a change
    that leaves the mapping alone keeps it ACTIVE); gone on disassociation
    and with the floating IP (cascade).
    """

    __tablename__ = 'netvpp_floatingip_mappings'

    floatingip_id = sa.Column(sa.String(36),
                              sa.ForeignKey('floatingips.id',
                                            ondelete='CASCADE'),
                              primary_key=True)
    host = sa.Column(sa.String(255), nullable=False)
    port_id = sa.Column(sa.String(36), nullable=False)
    fixed_ip_address = sa.Column(sa.String(64), nullable=False)
    revision = sa.Column(sa.BigInteger, nullable=False)
    ready = sa.Column(sa.Boolean, nullable=False, default=False,
                      server_default=sa.sql.false())
