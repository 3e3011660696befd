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
"""
import threading
import time

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

LOG = logging.getLogger(__name__)


class Forwarder(object):

    def __init__(self, conf, client):
        self.conf = conf
        self.client = client
        self.lock = leader.NamedLock('forwarder')
        self.wake = threading.Event()
        self.stopped = False
        self.sent_rows = 0

    def kick(self):
        self.wake.set()

    def stop(self):
        self.stopped = True
        self.wake.set()

    def _sleep(self, seconds):
        self.wake.wait(seconds)
        self.wake.clear()

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
            group['security_group_rules'] = sorted(
                group.get('security_group_rules') or [],
                key=lambda r: r['id'])
            row['data'] = group
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

    def send_once(self):
        """Send one batch. Returns 'idle', 'sent' or 'failed'."""
        batch = self.read_batch()
        if not batch:
            return 'idle'
        ids = [r['id'] for r in batch]
        started = time.monotonic()
        try:
            done, rejected = self.client.post_journal(batch)
        except nclient.ControllerError as e:
            LOG.warning('netvpp journal: controller did not take %d rows '
                        '(ids %d..%d), kept for retry: %s',
                        len(ids), ids[0], ids[-1], e)
            self.note_failure(ids, str(e))
            return 'failed'
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

    def run(self):
        LOG.info('netvpp journal forwarder started (controller %s)',
                 self.client.base_url)
        retry = backoff.Backoff(0.25, self.conf.retry_max_backoff)
        failing = False
        while not self.stopped:
            try:
                if not self.lock.held():
                    self._sleep(self.conf.leader_retry_interval)
                    continue
                outcome = self.send_once()
                if outcome == 'idle':
                    self._sleep(self.conf.journal_poll_interval)
                elif outcome == 'sent':
                    if failing:
                        LOG.info('netvpp journal: controller reachable '
                                 'again, forwarding resumed')
                    failing = False
                    retry.reset()
                else:
                    failing = True
                    time.sleep(retry.next())
            except Exception:
                LOG.exception('netvpp journal forwarder error')
                time.sleep(retry.next())
        self.lock.release()
