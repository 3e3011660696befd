"""One active forwarder (and one event follower) across all workers and servers.

The leader holds a database named lock on a connection it keeps checked out:
MySQL/MariaDB GET_LOCK, PostgreSQL advisory lock. The database releases it when
that connection ends, so a worker that dies (even by kill -9) hands over at
once, with no lease to wait out. A second leader for a short while would only
send rows twice, which the controller ignores; the lock keeps that rare.

Note: on Galera, GET_LOCK is local to one node, so servers connected to
different nodes may each forward. That is still correct (rows are idempotent
snapshots), only redundant.
"""
import hashlib
import os
import weakref

from neutron_lib.db import api as db_api
from oslo_log import log as logging
import sqlalchemy as sa

LOG = logging.getLogger(__name__)

_locks = weakref.WeakSet()
# Lock connections inherited through fork; kept referenced so that nothing in
# the child ever uses, returns or garbage-collects them.
_inherited = []


def _forget_locks_in_child():
    """After fork: the child must not keep the parent's lock session alive.

    neutron-server forks replacement workers from a parent that may hold a
    lock. If the child kept a copy of that socket, the database session (and
    the lock) would outlive the parent's own connection. Closing the child's
    copy of the descriptor leaves the parent's session untouched; sending a
    QUIT, as closing the DB-API connection would, must not happen.
    """
    for lock in list(_locks):
        conn, lock._conn = lock._conn, None
        if conn is None:
            continue
        _inherited.append(conn)
        try:
            fairy = conn.connection
            raw = getattr(fairy, 'dbapi_connection', None) or fairy.connection
            sock = getattr(raw, '_sock', None)  # PyMySQL
            if sock is not None:
                os.close(sock.detach())
        except Exception:
            pass


os.register_at_fork(after_in_child=_forget_locks_in_child)


class NamedLock(object):

    def __init__(self, purpose):
        self.purpose = purpose
        self._conn = None
        self._name = None
        self._dialect = None
        _locks.add(self)

    def _engine(self):
        return db_api.get_context_manager().writer.get_engine()

    def _run(self, conn, sql, **params):
        # A transaction per statement: an idle transaction left open on a
        # long-lived connection would pin an old InnoDB read view.
        with conn.begin():
            return conn.execute(sa.text(sql), params).scalar()

    @property
    def locked(self):
        """This process held the lock at its last check (no database
        round trip)."""
        return self._conn is not None

    def held(self):
        """True while this process holds the lock; tries to take it if not."""
        try:
            if self._conn is None:
                return self._acquire()
            return self._still_held()
        except Exception as e:
            LOG.warning('netvpp: lost database lock %s: %s', self._name, e)
            self._drop()
            return False

    def _acquire(self):
        engine = self._engine()
        self._dialect = engine.dialect.name
        database = engine.url.database or ''
        # MySQL limits lock names to 64 characters; the database name keeps
        # two Neutron databases on one server apart.
        self._name = ('netvpp-%s-%s' % (self.purpose, database))[:64]
        conn = engine.connect()
        try:
            if self._dialect == 'mysql':
                got = self._run(conn, 'SELECT GET_LOCK(:n, 0)', n=self._name)
            elif self._dialect == 'postgresql':
                got = self._run(conn, 'SELECT pg_try_advisory_lock(:k)',
                                k=self._pg_key())
            else:
                got = 1  # e.g. sqlite in unit tests: one process only
        except Exception:
            conn.close()
            raise
        if got in (1, True):
            self._conn = conn
            LOG.info('netvpp: this worker now holds %s', self._name)
            return True
        conn.close()
        return False

    def _pg_key(self):
        digest = hashlib.sha256(self._name.encode()).digest()
        return int.from_bytes(digest[:8], 'big', signed=True)

    def _still_held(self):
        if self._dialect == 'mysql':
            ok = self._run(self._conn,
                           'SELECT IS_USED_LOCK(:n) = CONNECTION_ID()',
                           n=self._name)
        else:
            # An advisory lock lives exactly as long as its session.
            ok = self._run(self._conn, 'SELECT 1')
        if ok in (1, True):
            return True
        LOG.warning('netvpp: database lock %s is no longer ours', self._name)
        self._drop()
        return False

    def _drop(self):
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never hand a lock-holding one to the pool
            except Exception:
                pass
            try:
                conn.close()
            except Exception:
                pass

    def release(self):
        if self._conn is None:
            return
        try:
            if self._dialect == 'mysql':
                self._run(self._conn, 'SELECT RELEASE_LOCK(:n)', n=self._name)
            elif self._dialect == 'postgresql':
                self._run(self._conn, 'SELECT pg_advisory_unlock(:k)',
                          k=self._pg_key())
        except Exception:
            pass
        self._drop()
