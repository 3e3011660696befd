"""Sends the journal to the controller, oldest row first.

Rows leave the table only when the controller lists them in `done`, which it
does once they are durable in etcd. A timeout, a refused batch or a dead
controller keeps every row; the batch is sent again after a back-off. Rows
the controller could not translate come back in `done` and `rejected`, so one
bad row never blocks the journal; they are logged as errors.

Security groups are re-read when sent. A group's snapshot taken inside a
rule's transaction can miss a rule that a concurrent transaction committed
meanwhile (InnoDB's consistent read shows the database as it was when the
transaction first read, and rule changes bump the group's revision without a
compare-and-swap), so the row with the highest revision could lack a rule.
Read after the row's commit, the group is complete and at least that new.

Full sync. When this worker becomes the forwarder, and whenever the controller
says `sync_needed` (a journal reply, or GET /v1/health while the journal is
idle: etcd is new, was wiped, or was restored from an older backup), the
forwarder reads Neutron's complete state (snapshot.py) and sends it to POST
/v1/sync, between two journal batches, then goes on with the journal.

Rows journaled while the snapshot is read. The snapshot is one read
transaction; a change committed during or after it is not in it, but its row
is in the journal and is sent after the sync (rows leave the journal only once
acknowledged, and nothing is sent between the snapshot and the sync). Rows
older than the snapshot are harmless in either order: an older revision never
overwrites a newer one, and a delete row is for a resource the snapshot no
longer has. What could go wrong is a row newer than the snapshot reaching the
controller *before* the sync, from another forwarder (a lock hand-over while a
batch is in flight, or Galera, where each node has its own lock): the sync
would then delete a resource just created, or revive one just deleted, and
deletes are final. So the forwarder first takes a token (etcd's revision,
GET /v1/sync), then reads the snapshot, and sends the token with it: the
controller leaves alone the existence of every resource a row changed after
the token, and revisions decide the rest. The token is fetched again for
every attempt, so a sync retried later never carries a stale snapshot.

Waking up. The forwarder sleeps while the journal is empty. A commit with
rows in its own process wakes it at once (kick); a commit in another
neutron-server process wakes it through wakeup.py's datagram socket, which
the forwarder binds while it leads. Its poll of the table every
journal_poll_interval delivers whatever a lost wake-up left behind. Every
batch tells the controller what woke the forwarder (`trigger`), which the
controller counts (netvpp_controller_journal_batches_total).
"""
import threading
import time

import sqlalchemy as sa

from neutron_lib import context as n_context
from neutron_lib.db import api as db_api
from neutron_lib import exceptions as n_exc
from neutron_lib.plugins import directory
from oslo_log import log as logging

from networking_netvpp import backoff
from networking_netvpp import client as nclient
from networking_netvpp.db import models
from networking_netvpp import journal
from networking_netvpp import leader
from networking_netvpp import payloads
from networking_netvpp import snapshot
from networking_netvpp import wakeup

LOG = logging.getLogger(__name__)


class Forwarder(object):

    def __init__(self, conf, client):
        self.conf = conf
        self.client = client
        self.lock = leader.NamedLock('forwarder')
        self.wake = threading.Event()
        self.woken_by = None
        self.stopped = False
        self.sent_rows = 0
        # batches sent, by trigger (what woke the forwarder)
        self.batches = {}
        self.listener = wakeup.Listener(
            getattr(conf, 'journal_wakeup_socket', None) or '',
            lambda: self.kick('wakeup'))
        # A worker that (again) becomes the forwarder starts with a sync.
        self.sync_pending = True
        self.sync_retry = backoff.Backoff(1.0, max(conf.retry_max_backoff,
                                                   1.0))
        self.sync_not_before = 0.0
        self.last_sync_check = time.monotonic()

    @property
    def leading(self):
        """This process forwards (as far as it knows)."""
        return self.lock.locked

    def kick(self, source='commit'):
        self.woken_by = source
        self.wake.set()

    def stop(self):
        self.stopped = True
        self.wake.set()

    def _sleep(self, seconds):
        """Waits for a kick or `seconds`; what ended the wait."""
        woken = self.wake.wait(seconds)
        self.wake.clear()
        source, self.woken_by = self.woken_by, None
        return (source or 'commit') if woken else 'poll'

    def read_backlog(self):
        """Rows waiting and the age of the oldest, by the database's clock
        (the rows' created_at is the database's too)."""
        try:
            ctx = n_context.get_admin_context()
            with db_api.CONTEXT_READER.using(ctx):
                count, oldest, now = ctx.session.query(
                    sa.func.count(models.NetvppJournal.id),
                    sa.func.min(models.NetvppJournal.created_at),
                    sa.func.current_timestamp()).one()
        except Exception as e:
            LOG.debug('netvpp journal: could not count the backlog: %s', e)
            return None
        age = (now - oldest).total_seconds() if oldest and now else 0.0
        return {'rows': int(count or 0), 'oldest_age_seconds': max(age, 0.0)}

    def read_batch(self):
        ctx = n_context.get_admin_context()
        with db_api.CONTEXT_READER.using(ctx):
            rows = ctx.session.query(models.NetvppJournal).order_by(
                models.NetvppJournal.id).limit(
                self.conf.journal_batch_size).all()
            batch = []
            size = 0
            for row in rows:
                size += len(row.data)
                if batch and size > self.conf.journal_batch_bytes:
                    break
                batch.append(journal.row_payload(row))
        return self.refresh_groups(batch)

    def fetch_group(self, sg_id):
        """The committed group with all of its rules, or None if it is gone."""
        plugin = directory.get_plugin()
        try:
            # a fresh admin context: a new transaction that sees every commit
            return plugin.get_security_group(n_context.get_admin_context(),
                                             sg_id)
        except n_exc.NotFound:
            return None

    def refresh_groups(self, batch):
        fresh = {}
        for row in batch:
            if row['resource'] != journal.SECURITY_GROUP or \
                    row['op'] == journal.DELETE:
                continue
            sg_id = row['resource_id']
            if sg_id not in fresh:
                fresh[sg_id] = self.fetch_group(sg_id)
            group = fresh[sg_id]
            if group is None:
                # deleted since; its own delete row follows
                row['op'] = journal.DELETE
                continue
            row['data'] = payloads.sorted_rules(group)
            row['revision'] = max(row['revision'],
                                  group.get('revision_number') or 0)
        return batch

    def delete_rows(self, ids):
        ctx = n_context.get_admin_context()
        with db_api.CONTEXT_WRITER.using(ctx):
            ctx.session.query(models.NetvppJournal).filter(
                models.NetvppJournal.id.in_(ids)).delete(
                synchronize_session=False)

    def note_failure(self, ids, error):
        try:
            ctx = n_context.get_admin_context()
            with db_api.CONTEXT_WRITER.using(ctx):
                ctx.session.query(models.NetvppJournal).filter(
                    models.NetvppJournal.id.in_(ids)).update(
                    {models.NetvppJournal.retry_count:
                        models.NetvppJournal.retry_count + 1,
                     models.NetvppJournal.last_error: error[:255]},
                    synchronize_session=False)
        except Exception as e:
            LOG.debug('netvpp journal: could not note the failure: %s', e)

    def send_once(self, trigger='poll'):
        """Send one batch. Returns 'idle', 'sent' or 'failed'."""
        batch = self.read_batch()
        if not batch:
            return 'idle'
        ids = [r['id'] for r in batch]
        backlog = self.read_backlog()
        started = time.monotonic()
        self.batches[trigger] = self.batches.get(trigger, 0) + 1
        try:
            done, rejected, sync_needed = self.client.post_journal(
                batch, backlog, trigger)
        except nclient.ControllerError as e:
            LOG.warning('netvpp journal: controller did not take %d rows '
                        '(ids %d..%d), kept for retry: %s',
                        len(ids), ids[0], ids[-1], e)
            self.note_failure(ids, str(e))
            return 'failed'
        if sync_needed:
            self.ask_sync('the controller asks for a full sync')
        sent = set(ids)
        acked = sorted(i for i in done if isinstance(i, int) and i in sent)
        by_id = {r['id']: r for r in batch}
        for rej in rejected:
            row = by_id.get(rej.get('id')) if isinstance(rej, dict) else None
            if row is not None:
                LOG.error('netvpp journal: controller rejected row %d (%s %s '
                          '%s revision %s): %s', row['id'], row['op'],
                          row['resource'], row['resource_id'],
                          row['revision'], rej.get('error'))
        if acked:
            self.delete_rows(acked)
            self.sent_rows += len(acked)
        LOG.debug('netvpp journal: %d of %d rows acknowledged in %.3fs',
                  len(acked), len(ids), time.monotonic() - started)
        if len(acked) < len(ids):
            missing = sorted(sent.difference(acked))
            LOG.warning('netvpp journal: controller left %d rows '
                        'unacknowledged (first %d); retrying',
                        len(missing), missing[0])
            self.note_failure(missing, 'not acknowledged')
            return 'failed' if not acked else 'sent'
        return 'sent'

    # ------------------------------------------------------------ full sync
    def ask_sync(self, why):
        # Every reply repeats the request until the sync is done; a sync
        # that keeps failing stays on its back-off (each try reads the
        # whole database).
        if self.sync_pending:
            return
        LOG.warning('netvpp: %s (etcd is new, or lost or went back on its '
                    'data)', why)
        self.sync_pending = True
        self.sync_not_before = 0.0

    def read_snapshot(self):
        return snapshot.read(n_context.get_admin_context())

    def full_sync(self):
        """Send Neutron's complete state. Returns True once the controller
        applied it."""
        started = time.monotonic()
        try:
            # The token must be taken before the snapshot is read.
            token = self.client.sync_status()['token']
            state = self.read_snapshot()
            state['token'] = token
            read_s = time.monotonic() - started
            total = sum(len(v) for v in state.values() if isinstance(v, list))
            page_items = getattr(self.conf, 'sync_page_items', 0) or 0
            LOG.info('netvpp full sync: read %d networks, %d ports, %d '
                     'security groups, %d routers, %d floating IPs from '
                     'Neutron in %.2fs',
                     len(state['networks']), len(state['ports']),
                     len(state['security_groups']),
                     len(state.get('routers') or []),
                     len(state.get('floatingips') or []), read_s)
            reply = None
            if page_items and total > page_items:
                reply = self.send_paged(state, page_items)
            if reply is None:
                data = nclient.encode(state)
                LOG.info('netvpp full sync: sending %.1f KiB in one body',
                         len(data) / 1024.0)
                reply = self.client.post_sync(data, self.conf.sync_timeout)
        except nclient.ControllerError as e:
            hint = ''
            if e.status == 413:
                hint = (' (raise [controller] max_body_mb of the controller, '
                        'or lower [netvpp] sync_page_items)')
            LOG.warning('netvpp full sync failed after %.2fs, will retry: '
                        '%s%s', time.monotonic() - started, e, hint)
            return False
        except Exception:
            LOG.exception('netvpp full sync: could not read Neutron\'s '
                          'state; will retry')
            return False
        for rej in reply.get('rejected') or []:
            if isinstance(rej, dict):
                LOG.error('netvpp full sync: controller rejected %s %s: %s',
                          rej.get('resource'), rej.get('id'),
                          rej.get('error'))
        LOG.info('netvpp full sync applied in %.2fs (%.2fs to send and '
                 'apply): %s keys written, %s deleted, %s resources '
                 'left to newer journal rows, %d rejected',
                 time.monotonic() - started,
                 time.monotonic() - started - read_s, reply.get('written'),
                 reply.get('deleted'), reply.get('kept'),
                 len(reply.get('rejected') or []))
        return True

    def send_paged(self, state, page_items):
        """The sync in pages of `page_items` resources; None when the
        controller takes no paged sync (one from before it: 404)."""
        lists = [n for n in nclient.SYNC_LISTS
                 if isinstance(state.get(n), list)]
        try:
            session = self.client.sync_begin(state['token'], lists)
        except nclient.ControllerError as e:
            if e.status == 404:
                return None
            raise
        seq, sent, page, n = 0, 0, {}, 0
        for name in lists:
            items = state[name]
            i = 0
            while i < len(items):
                take = items[i:i + page_items - n]
                page.setdefault(name, []).extend(take)
                n += len(take)
                i += len(take)
                if n >= page_items:
                    sent += self.client.sync_page(session, seq, page,
                                                  self.conf.sync_timeout)
                    seq, page, n = seq + 1, {}, 0
        if page or seq == 0:
            sent += self.client.sync_page(session, seq, page,
                                          self.conf.sync_timeout)
            seq += 1
        LOG.info('netvpp full sync: sent %.1f KiB in %d pages', sent / 1024.0,
                 seq)
        return self.client.sync_commit(session, seq, self.conf.sync_timeout)

    def sync_if_pending(self):
        now = time.monotonic()
        if not self.sync_pending or now < self.sync_not_before:
            return
        if self.full_sync():
            self.sync_pending = False
            self.sync_retry.reset()
        else:
            # Rows go on meanwhile: with the token, their order relative
            # to the sync does not matter.
            self.sync_not_before = time.monotonic() + self.sync_retry.next()

    def check_sync_needed(self):
        """While idle: does the controller want a sync (e.g. etcd wiped)?"""
        interval = self.conf.sync_check_interval
        now = time.monotonic()
        if not interval or self.sync_pending or \
                now - self.last_sync_check < interval:
            return
        self.last_sync_check = now
        try:
            health = self.client.health()
        except nclient.ControllerError as e:
            LOG.debug('netvpp: health check failed: %s', e)
            return
        if isinstance(health, dict) and health.get('sync_needed') is True:
            self.ask_sync('the controller reports that it needs a full sync')

    def run(self):
        LOG.info('netvpp journal forwarder started (controller %s)',
                 self.client.base_url)
        retry = backoff.Backoff(0.25, self.conf.retry_max_backoff)
        failing = False
        trigger = 'start'
        while not self.stopped:
            try:
                if not self.lock.held():
                    self.listener.close()
                    self.sync_pending = True  # for when it is ours again
                    self._sleep(self.conf.leader_retry_interval)
                    trigger = 'start'
                    continue
                # Bound before the table is read: a row committed after
                # this read wakes the forwarder.
                self.listener.check()
                self.sync_if_pending()
                outcome = self.send_once(trigger)
                if outcome == 'idle':
                    self.check_sync_needed()
                    trigger = self._sleep(self.conf.journal_poll_interval)
                elif outcome == 'sent':
                    if failing:
                        LOG.info('netvpp journal: controller reachable '
                                 'again, forwarding resumed')
                    failing = False
                    retry.reset()
                    trigger = 'more'
                else:
                    failing = True
                    time.sleep(retry.next())
                    trigger = 'retry'
            except Exception:
                LOG.exception('netvpp journal forwarder error')
                time.sleep(retry.next())
                trigger = 'retry'
        self.listener.close()
        self.lock.release()
