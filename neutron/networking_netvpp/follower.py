"""Turns the controller's port events into Neutron provisioning completions.

A port bound by netvpp carries an L2 provisioning block and a row in
netvpp_port_provisioning (host, revision of the binding). When the agent on
that host reports the port ready at that revision or later, the follower
completes the block and ML2 sets the port ACTIVE. A report for another host
or an older binding is ignored. While the agent on the port's host reports
an error for it, the port is ERROR (the reason in this log); when that agent
reports it ready again, it is ACTIVE again. Without a cursor (start,
leadership change, periodic re-read) the controller replays the full current
state, so ports that became ready while no follower ran are caught up.

The same stream carries routers and floating IPs (`kind`). A floating IP
waits in netvpp_floatingip_mappings (l3_journal.py) for the agent on its
router's host to report its static mapping at the mapping's revision or
later: then it turns ACTIVE; an error for that mapping makes it ERROR. A
router turns ERROR while its agent reports an error for it, and back to
ACTIVE when it reports it ready.
"""
import collections
import queue
import threading
import time

from neutron.db import provisioning_blocks
from neutron.db.models import l3 as l3_models
from neutron.db import models_v2
from neutron.plugins.ml2 import models as ml2_models
from neutron_lib.callbacks import resources
from neutron_lib import constants
from neutron_lib import context as n_context
from neutron_lib.db import api as db_api
from neutron_lib.plugins import constants as plugin_constants
from neutron_lib.plugins import directory
from oslo_log import log as logging
import sqlalchemy as sa

from networking_netvpp import backoff
from networking_netvpp import client as nclient
from networking_netvpp.db import models
from networking_netvpp import leader

LOG = logging.getLogger(__name__)

# Set when a router moved (l3.py): the follower of this process replays the
# full state at its next poll, as the new host may have reported its ports
# and floating IPs before anything waited for it there.
_replay = threading.Event()


def request_replay():
    _replay.set()


class TapFlowFollower(object):
    """Tap flow status from the agents' reports (state/<host>/tapflows/).

    A flow is carried by the source port's host (local SPAN, ERSPAN, or the
    sending end of remote SPAN) and, for remote SPAN, by the service port's
    host too. It is ACTIVE once each of those hosts reports it ready, ERROR
    while one reports an error, DOWN otherwise.
    """

    def __init__(self, client):
        self.client = client
        # flow id -> host -> (ready, error)
        self.states = {}

    def handle(self, event):
        flow_id = event.get('tap_flow_id')
        host = event.get('host')
        if not flow_id or not host:
            return
        per_host = self.states.setdefault(flow_id, {})
        if event.get('deleted'):
            per_host.pop(host, None)
        else:
            per_host[host] = (bool(event.get('ready')), event.get('error'))
        try:
            self.evaluate(flow_id)
        except nclient.ControllerError as e:
            LOG.warning('netvpp: tap flow %s: controller unavailable (%s); '
                        'its status waits', flow_id, e)

    def _hosts(self, ctx, flow_id):
        from networking_netvpp import taas
        from neutron_taas.db import taas_db
        with db_api.CONTEXT_READER.using(ctx):
            tf = ctx.session.query(taas_db.TapFlow).get(flow_id)
            if tf is None:
                return None, None
            data = taas.flow_data(ctx.session, tf)
        hosts = {data['netvpp:source_host']}
        svc = data['netvpp:service_host']
        if svc and svc not in hosts and \
                self.client.get_erspan(tf.tap_service_id) is None:
            hosts.add(svc)
        return tf, hosts

    def evaluate(self, flow_id):
        from neutron_taas.db import taas_db
        ctx = n_context.get_admin_context()
        tf, hosts = self._hosts(ctx, flow_id)
        if tf is None:
            self.states.pop(flow_id, None)
            return
        seen = self.states.get(flow_id, {})
        errors = ['%s: %s' % (h, seen[h][1]) for h in sorted(hosts - {None})
                  if h in seen and seen[h][1]]
        if None in hosts:
            status = constants.DOWN
        elif errors:
            status = constants.ERROR
        elif all(h in seen and seen[h][0] for h in hosts):
            status = constants.ACTIVE
        else:
            status = constants.DOWN
        if status == tf.status:
            return
        with db_api.CONTEXT_WRITER.using(ctx):
            ctx.session.query(taas_db.TapFlow).filter_by(id=flow_id).update(
                {'status': status}, synchronize_session=False)
        log = LOG.warning if errors else LOG.info
        log('netvpp: tap flow %s %s (hosts %s)%s', flow_id, status,
            sorted(h for h in hosts if h), ': ' + '; '.join(errors)
            if errors else '')


class Follower(object):

    def __init__(self, conf, client):
        self.conf = conf
        self.client = client
        self.lock = leader.NamedLock('follower')
        self.stopped = False
        self.completed = 0
        self.tap_flows = TapFlowFollower(client)

    def stop(self):
        self.stopped = True

    def handle(self, event):
        kind = event.get('kind', 'port')
        if kind == 'floatingip':
            return self.handle_floatingip(event)
        if kind == 'router':
            return self.handle_router(event)
        if kind == 'tap_flow':
            return self.tap_flows.handle(event)
        if kind != 'port':
            return  # a kind this driver does not know (a newer controller)
        port_id = event.get('port_id')
        host = event.get('host')
        revision = event.get('revision')
        if not port_id or event.get('deleted'):
            return
        if event.get('error'):
            return self.port_failed(port_id, host, revision, event['error'])
        if not event.get('ready'):
            return
        ctx = n_context.get_admin_context()
        with db_api.CONTEXT_READER.using(ctx):
            row = ctx.session.query(models.NetvppPortProvisioning).get(
                port_id)
            waiting = (row.host, row.revision) if row is not None else None
        if waiting is None:
            # not waiting: ACTIVE already, ERROR until now, unbound or gone
            return self.port_recovered(ctx, port_id, host, revision)
        want_host, want_rev = waiting
        if host != want_host:
            LOG.debug('netvpp: ignoring ready of port %s on %s: bound to %s',
                      port_id, host, want_host)
            return
        if not isinstance(revision, int) or revision < want_rev:
            LOG.debug('netvpp: ignoring ready of port %s at revision %s: '
                      'bound at %s', port_id, revision, want_rev)
            return
        provisioning_blocks.provisioning_complete(
            ctx, port_id, resources.PORT, provisioning_blocks.L2_AGENT_ENTITY)
        with db_api.CONTEXT_WRITER.using(ctx):
            # Only this binding's row: a newer binding must wait again.
            ctx.session.query(models.NetvppPortProvisioning).filter_by(
                port_id=port_id, revision=want_rev).delete(
                synchronize_session=False)
        self.completed += 1
        LOG.info('netvpp: port %s ready on %s (revision %s): provisioning '
                 'complete', port_id, host, revision)

    def handle_all(self, events):
        """Handles one reply's events; those of different objects side by
        side (each completion is several Neutron transactions, mostly
        waiting on the database), those of one object in order. Returns once
        all are handled, so the cursor moves on only then."""
        lanes = collections.OrderedDict()
        for event in events:
            key = (event.get('kind', 'port'), event.get('port_id') or
                   event.get('router_id') or event.get('floatingip_id'))
            lanes.setdefault(key, []).append(event)
        width = min(max(1, getattr(self.conf, 'events_concurrency', 1)),
                    len(lanes))
        if width <= 1:
            for event in events:
                self.handle(event)
            return
        failed = []
        work = queue.Queue()
        for lane in lanes.values():
            work.put(lane)

        def drain():
            while True:
                try:
                    lane = work.get_nowait()
                except queue.Empty:
                    return
                for event in lane:
                    try:
                        self.handle(event)
                    except Exception as e:
                        # the rest of this object's events wait for the
                        # replay run() starts on an error
                        failed.append(e)
                        break

        threads = [threading.Thread(target=drain, daemon=True,
                                    name='netvpp-follower-%d' % i)
                   for i in range(width)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failed:
            raise failed[0]  # the other objects' events are handled

    @staticmethod
    def _port_view(ctx, port_id):
        """(status, admin_state_up, host of its active binding) or None."""
        binding = ml2_models.PortBinding
        with db_api.CONTEXT_READER.using(ctx):
            # One primary-key look-up: a full replay asks this of every port.
            return ctx.session.query(
                models_v2.Port.status, models_v2.Port.admin_state_up,
                binding.host).outerjoin(
                binding, sa.and_(binding.port_id == models_v2.Port.id,
                                 binding.status == constants.ACTIVE)).filter(
                models_v2.Port.id == port_id).first()

    def port_failed(self, port_id, host, revision, error):
        """The agent on the port's host cannot put it in place: ERROR."""
        ctx = n_context.get_admin_context()
        view = self._port_view(ctx, port_id)
        if view is None:
            return
        status, _, bound_to = view
        if host != bound_to:
            LOG.debug('netvpp: ignoring the error of port %s on %s: bound to '
                      '%s', port_id, host, bound_to)
            return
        if status == constants.PORT_STATUS_ERROR:
            return  # already ERROR (a replay of the full state)
        directory.get_plugin().update_port_status(
            ctx, port_id, constants.PORT_STATUS_ERROR, host)
        LOG.warning('netvpp: port %s ERROR: the agent on %s reports (binding '
                    'revision %s): %s', port_id, host, revision, error)

    def port_recovered(self, ctx, port_id, host, revision):
        """Ready again on its host after an error: ACTIVE (unless disabled:
        ML2 would not make a port that is administratively down ACTIVE)."""
        view = self._port_view(ctx, port_id)
        if view is None:
            return
        status, admin_up, bound_to = view
        if status != constants.PORT_STATUS_ERROR or host != bound_to or \
                not admin_up:
            return
        directory.get_plugin().update_port_status(
            ctx, port_id, constants.PORT_STATUS_ACTIVE, host)
        LOG.info('netvpp: port %s ready again on %s (revision %s): ACTIVE',
                 port_id, host, revision)

    def handle_floatingip(self, event):
        fip_id = event.get('floatingip_id')
        host = event.get('host')
        revision = event.get('revision')
        if not fip_id or event.get('deleted'):
            return
        error = event.get('error')
        if not error and not event.get('ready'):
            return
        ctx = n_context.get_admin_context()
        with db_api.CONTEXT_READER.using(ctx):
            row = ctx.session.query(models.NetvppFloatingIpMapping).get(
                fip_id)
            if row is None:
                return  # not associated (or gone)
            want_host, want_rev, ready = row.host, row.revision, row.ready
        if host != want_host or not isinstance(revision, int) or \
                revision < want_rev:
            LOG.debug('netvpp: ignoring the state of floating IP %s on %s '
                      'at revision %s: its mapping is on %s at %s', fip_id,
                      host, revision, want_host, want_rev)
            return
        status = constants.FLOATINGIP_STATUS_ERROR if error \
            else constants.FLOATINGIP_STATUS_ACTIVE
        if ready and not error:
            return  # already ACTIVE for this mapping
        plugin = directory.get_plugin(plugin_constants.L3)
        with db_api.CONTEXT_WRITER.using(ctx):
            updated = ctx.session.query(
                models.NetvppFloatingIpMapping).filter_by(
                floatingip_id=fip_id, revision=want_rev).update(
                {'ready': not error}, synchronize_session=False)
            if updated:
                plugin.update_floatingip_status(ctx, fip_id, status)
        if not updated:
            return  # a newer mapping meanwhile: it waits for its own report
        if error:
            LOG.warning('netvpp: agent on %s failed floating IP %s (revision '
                        '%s): %s', host, fip_id, revision, error)
        else:
            LOG.info('netvpp: floating IP %s in place on %s (revision %s): '
                     'ACTIVE', fip_id, host, revision)

    def handle_router(self, event):
        router_id = event.get('router_id')
        if not router_id or event.get('deleted'):
            return
        error = event.get('error')
        if error:
            new, old = constants.ERROR, (constants.ACTIVE,)
        elif event.get('ready'):
            new, old = constants.ACTIVE, (constants.ERROR,)
        else:
            return
        ctx = n_context.get_admin_context()
        with db_api.CONTEXT_WRITER.using(ctx):
            # In bulk: a status of netvpp's making is no change to journal.
            changed = ctx.session.query(l3_models.Router).filter(
                l3_models.Router.id == router_id,
                l3_models.Router.status.in_(old)).update(
                {'status': new}, synchronize_session=False)
        if changed and error:
            LOG.warning('netvpp: agent on %s failed router %s: %s (router '
                        'ERROR)', event.get('host'), router_id, error)
        elif changed:
            LOG.info('netvpp: router %s in place on %s: ACTIVE again',
                     router_id, event.get('host'))

    def run(self):
        LOG.info('netvpp port event follower started (controller %s)',
                 self.client.base_url)
        retry = backoff.Backoff(0.25, self.conf.retry_max_backoff)
        cursor = None
        last_full = 0.0
        leading = False
        while not self.stopped:
            try:
                if not self.lock.held():
                    leading = False
                    time.sleep(self.conf.leader_retry_interval)
                    continue
                if not leading:
                    cursor = None  # new leader: start from the full state
                    leading = True
                interval = self.conf.events_full_resync_interval
                if interval and time.monotonic() - last_full > interval:
                    cursor = None
                if _replay.is_set():
                    _replay.clear()
                    cursor = None
                if cursor is None:
                    last_full = time.monotonic()
                reply = self.client.port_events(
                    cursor, self.conf.events_poll_timeout)
                if not isinstance(reply, dict):
                    raise nclient.ControllerError(
                        'GET /v1/ports/events: reply is not an object')
                self.handle_all([e for e in reply.get('events') or []
                                 if isinstance(e, dict)])
                cursor = reply.get('cursor', cursor)
                retry.reset()
            except nclient.ControllerError as e:
                delay = retry.next()
                LOG.warning('netvpp: port event stream unavailable (%s); '
                            'retrying in %.1fs', e, delay)
                time.sleep(delay)
            except Exception:
                LOG.exception('netvpp port event follower error')
                cursor = None
                time.sleep(retry.next())
        self.lock.release()
