"""Wakes the journal forwarder when any neutron-server process commits a row.

neutron-server runs its API and RPC workers as separate processes, and only
one of them forwards the journal (leader.py). A row committed by the
forwarder's own process wakes it in-process (Forwarder.kick); a row of any
other process would wait for the forwarder's next poll of the table
(journal_poll_interval). MariaDB has no LISTEN/NOTIFY, so the processes of
one server talk over a unix datagram socket instead: the process that
forwards binds `[ml2_netvpp] journal_wakeup_socket` while it leads, and
every process that commits journal rows sends it one empty datagram.

The datagram is only a hint, never the data: the rows are in the database.
A lost one -- nobody bound (a leadership hand-over), the socket file
removed, its queue full, another server of the cluster (the socket is local
to one machine) -- costs at most one poll interval, as before. The listener
re-binds when its socket file was removed or replaced.
"""
import errno
import os
import socket
import stat
import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# One datagram means "look at the journal"; its content is not read.
_POKE = b'j'
# What sendto may raise when nobody is there to wake (or it is awake
# already): the poll finds the rows.
_LOST = (errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN, errno.EWOULDBLOCK,
         errno.ENOBUFS, errno.ENOTSOCK, errno.EACCES, errno.EPERM)


class Sender(object):
    """The commit side: one non-blocking datagram per commit with rows."""

    def __init__(self, path):
        self.path = path
        self.sent = 0
        self.lost = 0
        self._sock = None
        self._pid = None
        self._lock = threading.Lock()

    def _socket(self):
        # A socket per process: one inherited through fork is shared with
        # the parent, which is harmless for datagrams but confusing.
        if self._sock is None or self._pid != os.getpid():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.setblocking(False)
            self._sock, self._pid = s, os.getpid()
        return self._sock

    def poke(self):
        """Returns True when the datagram was queued for the forwarder."""
        if not self.path:
            return False
        with self._lock:
            try:
                self._socket().sendto(_POKE, self.path)
            except OSError as e:
                self.lost += 1
                if e.errno not in _LOST:
                    LOG.debug('netvpp: journal wake-up to %s failed: %s',
                              self.path, e)
                return False
            self.sent += 1
            return True


class Listener(object):
    """The forwarder's side: calls `on_wake()` for every datagram.

    Bound only while this process forwards; `check()` re-binds when the
    socket file is gone or is not ours any more.
    """

    def __init__(self, path, on_wake):
        self.path = path
        self.on_wake = on_wake
        self.received = 0
        self._sock = None
        self._inode = None
        self._thread = None
        self._failing = False

    @property
    def bound(self):
        return self._sock is not None

    def _ours(self):
        try:
            st = os.lstat(self.path)
        except OSError:
            return False
        return stat.S_ISSOCK(st.st_mode) and st.st_ino == self._inode

    def check(self):
        """Binds if not bound or no longer reachable; True when bound."""
        if not self.path:
            return False
        if self._sock is not None and self._ours():
            return True
        if self._sock is not None:
            LOG.warning('netvpp: journal wake-up socket %s was removed or '
                        'replaced; binding it again', self.path)
            self.close(unlink=False)
        return self._bind()

    def _bind(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            try:
                st = os.lstat(self.path)
                if stat.S_ISSOCK(st.st_mode):
                    # a previous leader's (this process leads now)
                    os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.makedirs(os.path.dirname(self.path) or '.', exist_ok=True)
            s.bind(self.path)
            os.chmod(self.path, 0o600)  # neutron-server's processes only
            self._inode = os.lstat(self.path).st_ino
        except OSError as e:
            s.close()
            if not self._failing:  # once, not at every round
                LOG.warning('netvpp: cannot bind the journal wake-up socket '
                            '%s (other workers\' rows wait for the journal '
                            'poll): %s', self.path, e)
            self._failing = True
            return False
        self._failing = False
        # A receive that times out lets the thread notice close() soon.
        s.settimeout(5.0)
        self._sock = s
        self._thread = threading.Thread(target=self._receive, args=(s,),
                                        name='netvpp-journal-wakeup',
                                        daemon=True)
        self._thread.start()
        LOG.info('netvpp: journal wake-up socket %s bound', self.path)
        return True

    def _receive(self, sock):
        while self._sock is sock:
            try:
                sock.recv(64)
            except socket.timeout:
                continue
            except OSError:
                if self._sock is sock:
                    LOG.debug('netvpp: journal wake-up socket closed')
                return
            self.received += 1
            try:
                self.on_wake()
            except Exception:
                LOG.exception('netvpp: journal wake-up callback failed')

    def close(self, unlink=True):
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if unlink and self._ours():
            try:
                os.unlink(self.path)
            except OSError:
                pass
        self._inode = None
        try:
            sock.close()
        except OSError:
            pass
