"""HTTP client of the netvpp controller REST API (docs/controller-api.md).

Plain urllib: neutron-server monkey-patches sockets with eventlet, so these
calls yield to other green threads while they wait.
"""
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


# The lists of a full sync body, in the order a paged sync sends them
# (networks and groups before the ports that name them).
SYNC_LISTS = ('networks', 'security_groups', 'qos_policies', 'routers',
              'ports', 'floatingips', 'tap_services', 'tap_flows')


def encode(body):
    return json.dumps(body, default=str).encode('utf-8')


class ControllerError(Exception):
    """The controller could not be reached or did not accept a request."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class TokenFile(object):
    """The driver's token: the first line of a file that is not empty or a
    `#` comment. Re-read when the file changes, so a rotated token is used
    without restarting neutron-server."""

    def __init__(self, path):
        self.path = path
        self._stamp = None
        self._token = None
        self.get()  # a missing or empty file is a start-up error

    def get(self):
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._stamp:
            with open(self.path, encoding='utf-8') as f:
                lines = [ln.strip() for ln in f.read().splitlines()]
            tokens = [ln for ln in lines if ln and not ln.startswith('#')]
            if not tokens:
                if self._token is None:
                    raise ValueError('netvpp: token file %s holds no token'
                                     % self.path)
                return self._token  # keep the last good one
            self._token = tokens[0]
            self._stamp = stamp
        return self._token


def _norm(url):
    return url.strip().rstrip('/').lower()


class ControllerClient(object):
    """Talks to one of the configured controllers.

    `base_urls` may name several controller instances. Any of them answers
    reads; only the elected leader takes journal writes, and the others
    answer 503 with the leader's URL, which the client then uses -- but only
    when that URL is one of `base_urls`: whoever can write etcd could
    otherwise send the journal (and the token) anywhere. After a connection
    failure the next configured URL is tried.

    `token_file`: the bearer token sent with every request; `ca_file`: the
    CA bundle that verifies an https controller (default: the system's).
    """

    def __init__(self, base_urls, timeout, token_file=None, ca_file=None):
        if isinstance(base_urls, str):
            base_urls = base_urls.split(',')
        self.base_urls = [u.strip().rstrip('/') for u in base_urls if u.strip()]
        if not self.base_urls:
            raise ValueError('netvpp: no controller URL configured')
        self.base_url = self.base_urls[0]
        self.timeout = timeout
        self.token = TokenFile(token_file) if token_file else None
        self.ssl_context = None
        if any(u.lower().startswith('https:') for u in self.base_urls):
            self.ssl_context = ssl.create_default_context(cafile=ca_file or None)
        self._untrusted_logged = set()

    @classmethod
    def from_conf(cls, conf):
        """The client as `[ml2_netvpp]` configures it."""
        return cls(conf.controller_url, conf.http_timeout,
                   token_file=conf.auth_token_file or None,
                   ca_file=conf.ca_file or None)

    def _follow_leader(self, leader):
        for u in self.base_urls:
            if _norm(u) == _norm(leader):
                self.base_url = u
                return
        if leader not in self._untrusted_logged:
            self._untrusted_logged.add(leader)
            LOG.warning('netvpp: the controller names %s as its leader, '
                        'which is not in controller_url; not following it',
                        leader)
        self._rotate()

    def _rotate(self):
        try:
            i = self.base_urls.index(self.base_url)
        except ValueError:
            i = -1
        self.base_url = self.base_urls[(i + 1) % len(self.base_urls)]

    def _request(self, method, path, body=None, timeout=None, data=None):
        """`data`: the body already encoded as JSON (when its size matters)."""
        url = self.base_url + path
        headers = {'Accept': 'application/json'}
        if self.token is not None:
            headers['Authorization'] = 'Bearer ' + self.token.get()
        if body is not None:
            data = encode(body)
        if data is not None:
            headers['Content-Type'] = 'application/json'
        req = urllib.request.Request(url, data=data, headers=headers,
                                     method=method)
        try:
            with urllib.request.urlopen(
                    req, timeout=timeout or self.timeout,
                    context=self.ssl_context) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
            try:
                reply = json.loads(raw.decode('utf-8'))
                detail = reply.get('error')
            except (ValueError, AttributeError):
                reply = {}
                detail = raw[:200].decode('utf-8', 'replace')
            leader = reply.get('leader') if isinstance(reply, dict) else None
            if status == 503 and isinstance(leader, str) and leader:
                # a follower instance: go to the leader next time
                self._follow_leader(leader)
            raise ControllerError('%s %s: HTTP %s: %s' % (
                method, url, status, detail), status=status)
        except (urllib.error.URLError, OSError) as e:
            # includes timeouts (socket.timeout is an OSError)
            self._rotate()
            raise ControllerError('%s %s: %s' % (method, url, e))
        try:
            return json.loads(raw.decode('utf-8')) if raw else None
        except ValueError:
            raise ControllerError('%s %s: HTTP %s with a body that is not '
                                  'JSON' % (method, path, status),
                                  status=status)

    def post_journal(self, rows, backlog=None, trigger=None):
        """Send rows; returns (done ids, rejected [{id, error}],
        sync_needed). `backlog`: {'rows', 'oldest_age_seconds'} of the
        journal table, which the controller turns into metrics; `trigger`:
        what woke the forwarder (counted by the controller)."""
        body = {'rows': rows}
        if backlog is not None:
            body['backlog'] = backlog
        if trigger:
            body['trigger'] = trigger
        reply = self._request('POST', '/v1/journal', body)
        if not isinstance(reply, dict) or not isinstance(
                reply.get('done'), list):
            raise ControllerError('POST /v1/journal: reply has no "done" list')
        return (reply['done'], reply.get('rejected') or [],
                reply.get('sync_needed') is True)

    def sync_status(self):
        """GET /v1/sync: {'sync_needed': bool, 'token': str}."""
        reply = self._request('GET', '/v1/sync')
        if not isinstance(reply, dict) or not isinstance(
                reply.get('token'), str):
            raise ControllerError('GET /v1/sync: reply has no "token"')
        return reply

    def post_sync(self, data, timeout):
        """POST /v1/sync with `data` (encode() of the body)."""
        reply = self._request('POST', '/v1/sync', data=data, timeout=timeout)
        if not isinstance(reply, dict) or not isinstance(
                reply.get('rejected'), list):
            raise ControllerError('POST /v1/sync: reply has no "rejected" '
                                  'list')
        return reply

    def sync_begin(self, token, lists):
        """POST /v1/sync/session: begins a full sync sent in pages; returns
        its session id."""
        reply = self._request('POST', '/v1/sync/session',
                              {'token': token, 'lists': lists})
        if not isinstance(reply, dict) or not isinstance(
                reply.get('session'), str):
            raise ControllerError('POST /v1/sync/session: reply has no '
                                  '"session"')
        return reply['session']

    def sync_page(self, session, seq, page, timeout):
        """One page ({list name: [items]}) of a paged full sync, numbered
        from 0; returns the bytes sent."""
        data = encode(dict(page, seq=seq))
        self._request('POST', '/v1/sync/session/%s/page' % session,
                      data=data, timeout=timeout)
        return len(data)

    def sync_commit(self, session, pages, timeout):
        """Applies a paged full sync: the reply of POST /v1/sync."""
        reply = self._request('POST', '/v1/sync/session/%s/commit' % session,
                              {'pages': pages}, timeout=timeout)
        if not isinstance(reply, dict) or not isinstance(
                reply.get('rejected'), list):
            raise ControllerError('sync commit: reply has no "rejected" '
                                  'list')
        return reply

    def get_hosts(self):
        """Every live host's liveness record (GET /v1/hosts)."""
        reply = self._request('GET', '/v1/hosts')
        if not isinstance(reply, list):
            raise ControllerError('GET /v1/hosts: reply is not a list')
        return reply

    def get_erspan(self, tap_service_id):
        """The ERSPAN setting of a tap service (GET /v1/taas/erspan/<id>),
        or None."""
        reply = self._request('GET', '/v1/taas/erspan/%s' % tap_service_id)
        if not isinstance(reply, dict):
            raise ControllerError('GET /v1/taas/erspan: reply is not an object')
        return reply.get('erspan')

    def get_host(self, host):
        """One host's liveness record, or None when the controller has none."""
        try:
            return self._request(
                'GET', '/v1/hosts/' + urllib.parse.quote(host, safe=''))
        except ControllerError as e:
            if e.status == 404:
                return None
            raise

    def port_events(self, since, timeout):
        query = {'timeout': str(timeout)}
        if since is not None:
            query['since'] = since
        # the HTTP timeout must outlast the long poll itself
        return self._request(
            'GET', '/v1/ports/events?' + urllib.parse.urlencode(query),
            timeout=timeout + self.timeout)

    def health(self):
        return self._request('GET', '/v1/health')
