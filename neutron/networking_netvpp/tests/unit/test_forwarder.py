import time
import json
import types
import unittest

from networking_netvpp import client as nclient
from networking_netvpp import forwarder


def row(i):
    return {'id': i, 'resource': 'port', 'op': 'update', 'resource_id': 'p%d' % i,
            'revision': i, 'data': {}}


def conf(**over):
    c = dict(journal_batch_size=100, journal_batch_bytes=1 << 20,
             retry_max_backoff=1, leader_retry_interval=1,
             journal_poll_interval=1, sync_timeout=60,
             sync_check_interval=10)
    c.update(over)
    return types.SimpleNamespace(**c)


class FakeClient(object):
    base_url = 'http://controller'

    def __init__(self, reply, sync_needed=False):
        self.reply = reply
        self.sync_needed = sync_needed
        self.sent = []
        self.backlogs = []
        self.triggers = []
        self.calls = []
        self.sync_reply = {'rejected': [], 'written': 3, 'deleted': 0,
                           'kept': 0}
        self.health_reply = {'status': 'ok', 'sync_needed': False}

    def post_journal(self, rows, backlog=None, trigger=None):
        self.sent.append([r['id'] for r in rows])
        self.backlogs.append(backlog)
        self.triggers.append(trigger)
        if isinstance(self.reply, Exception):
            raise self.reply
        done, rejected = self.reply(rows)
        return done, rejected, self.sync_needed

    def sync_status(self):
        self.calls.append('token')
        return {'sync_needed': True, 'token': '42'}

    def post_sync(self, data, timeout):
        self.calls.append(('sync', json.loads(data)))
        if isinstance(self.sync_reply, Exception):
            raise self.sync_reply
        return self.sync_reply

    def health(self):
        self.calls.append('health')
        return self.health_reply

    # A paged sync (POST /v1/sync/session ...); paged=False: a controller
    # from before it (404).
    paged = True

    def sync_begin(self, token, lists):
        if not self.paged:
            raise nclient.ControllerError('HTTP 404: no such resource',
                                          status=404)
        self.calls.append(('begin', token, lists))
        return 's1'

    def sync_page(self, session, seq, page, timeout):
        self.calls.append(('page', session, seq, page))
        return 100

    def sync_commit(self, session, pages, timeout):
        self.calls.append(('commit', session, pages))
        return self.sync_reply


class ForwarderTest(unittest.TestCase):

    def make(self, reply, rows):
        f = forwarder.Forwarder(conf(), FakeClient(reply))
        self.table = list(rows)
        self.failures = []
        f.read_batch = lambda: [row(i) for i in self.table]
        f.read_backlog = lambda: {'rows': len(self.table),
                                  'oldest_age_seconds': 7.5}
        f.delete_rows = lambda ids: [self.table.remove(i) for i in ids]
        f.note_failure = lambda ids, err: self.failures.append((ids, err))
        return f

    def test_each_batch_carries_the_journal_backlog(self):
        f = self.make(lambda rows: ([r['id'] for r in rows], []), [1, 2, 3])
        self.assertEqual(f.send_once(), 'sent')
        self.assertEqual(f.client.backlogs,
                         [{'rows': 3, 'oldest_age_seconds': 7.5}])

    def test_a_backlog_that_cannot_be_counted_is_left_out(self):
        f = forwarder.Forwarder(conf(), FakeClient(
            lambda rows: ([r['id'] for r in rows], [])))
        f.read_batch = lambda: [row(1)]
        f.delete_rows = lambda ids: None
        # no database here: the count fails, the batch goes without it
        self.assertEqual(f.send_once(), 'sent')
        self.assertEqual(f.client.backlogs, [None])

    def test_acknowledged_rows_are_deleted(self):
        f = self.make(lambda rows: ([r['id'] for r in rows], []), [1, 2, 3])
        self.assertEqual(f.send_once(), 'sent')
        self.assertEqual(self.table, [])
        self.assertEqual(f.send_once(), 'idle')

    def test_a_timeout_deletes_nothing(self):
        f = self.make(nclient.ControllerError('timed out'), [1, 2])
        self.assertEqual(f.send_once(), 'failed')
        self.assertEqual(self.table, [1, 2])
        self.assertEqual(self.failures, [([1, 2], 'timed out')])

    def test_only_rows_listed_in_done_leave_the_journal(self):
        # unknown ids (not sent) and rows left out stay as they are
        f = self.make(lambda rows: ([2, 99], []), [1, 2, 3])
        self.assertEqual(f.send_once(), 'sent')
        self.assertEqual(self.table, [1, 3])
        self.assertEqual(self.failures, [([1, 3], 'not acknowledged')])

    def test_nothing_acknowledged_counts_as_a_failure(self):
        f = self.make(lambda rows: ([], []), [5])
        self.assertEqual(f.send_once(), 'failed')
        self.assertEqual(self.table, [5])

    def test_rejected_rows_are_logged_and_do_not_block(self):
        f = self.make(lambda rows: ([1, 2], [{'id': 1, 'error': 'bad'}]),
                      [1, 2])
        with self.assertLogs('networking_netvpp.forwarder', 'ERROR') as logs:
            self.assertEqual(f.send_once(), 'sent')
        self.assertEqual(self.table, [])
        self.assertIn('rejected row 1', logs.output[0])


STATE = {'networks': [{'id': 'n1'}], 'ports': [{'id': 'p1'}],
         'security_groups': []}


class FullSyncTest(unittest.TestCase):

    def make(self, rows=(), sync_needed=False, **over):
        self.client = FakeClient(lambda rows: ([r['id'] for r in rows], []),
                                 sync_needed=sync_needed)
        f = forwarder.Forwarder(conf(**over), self.client)
        self.table = list(rows)
        f.read_batch = lambda: [row(i) for i in self.table]
        f.delete_rows = lambda ids: [self.table.remove(i) for i in ids]
        f.note_failure = lambda ids, err: None

        def read_snapshot():
            self.client.calls.append('snapshot')
            return json.loads(json.dumps(STATE))
        f.read_snapshot = read_snapshot
        return f

    def test_a_new_forwarder_syncs_first_token_before_snapshot(self):
        f = self.make()
        with self.assertLogs('networking_netvpp.forwarder', 'INFO') as logs:
            f.sync_if_pending()
        self.assertEqual(self.client.calls[:2], ['token', 'snapshot'])
        kind, body = self.client.calls[2]
        self.assertEqual(kind, 'sync')
        self.assertEqual(body, dict(STATE, token='42'))
        self.assertFalse(f.sync_pending)
        # size and time of the sync are logged
        self.assertTrue(any('KiB' in line for line in logs.output))
        self.assertTrue(any('applied in' in line for line in logs.output))
        f.sync_if_pending()
        self.assertEqual(len(self.client.calls), 3, 'no second sync')

    def test_a_sync_larger_than_a_page_goes_in_pages_networks_first(self):
        f = self.make(sync_page_items=2)
        state = {'networks': [{'id': 'n1'}],
                 'ports': [{'id': 'p%d' % i} for i in range(4)],
                 'security_groups': [{'id': 'g1'}], 'routers': []}
        f.read_snapshot = lambda: json.loads(json.dumps(state))
        with self.assertLogs('networking_netvpp.forwarder', 'INFO') as logs:
            f.sync_if_pending()
        self.assertFalse(f.sync_pending)
        self.assertEqual(self.client.calls[1], (
            'begin', '42',
            ['networks', 'security_groups', 'routers', 'ports']))
        pages = [c[3] for c in self.client.calls if c[0] == 'page']
        self.assertEqual(pages, [
            {'networks': [{'id': 'n1'}], 'security_groups': [{'id': 'g1'}]},
            {'ports': [{'id': 'p0'}, {'id': 'p1'}]},
            {'ports': [{'id': 'p2'}, {'id': 'p3'}]},
        ])
        self.assertEqual([c[2] for c in self.client.calls if c[0] == 'page'],
                         [0, 1, 2])
        self.assertEqual(self.client.calls[-1], ('commit', 's1', 3))
        self.assertTrue(any('in 3 pages' in line for line in logs.output))
        # the same sync within one page: one body, as before
        f = self.make(sync_page_items=10)
        f.read_snapshot = lambda: json.loads(json.dumps(state))
        f.sync_if_pending()
        self.assertEqual([c if isinstance(c, str) else c[0]
                          for c in self.client.calls],
                         ['token', 'sync'])

    def test_a_controller_without_paged_sync_gets_one_body(self):
        f = self.make(sync_page_items=1)
        self.client.paged = False
        f.sync_if_pending()
        self.assertFalse(f.sync_pending)
        kind, body = self.client.calls[-1]
        self.assertEqual(kind, 'sync')
        self.assertEqual(body, dict(STATE, token='42'))

    def test_a_journal_reply_asking_for_a_sync_triggers_one(self):
        f = self.make(rows=[1, 2], sync_needed=True)
        f.sync_pending = False
        self.assertEqual(f.send_once(), 'sent')
        self.assertEqual(self.table, [], 'the batch itself is done')
        self.assertTrue(f.sync_pending)
        f.sync_if_pending()
        self.assertEqual([c if isinstance(c, str) else c[0]
                          for c in self.client.calls],
                         ['token', 'snapshot', 'sync'])

    def test_a_failed_sync_is_retried_later_and_rows_keep_flowing(self):
        f = self.make(rows=[7])
        self.client.sync_reply = nclient.ControllerError(
            'HTTP 413: too large', status=413)
        with self.assertLogs('networking_netvpp.forwarder',
                             'WARNING') as logs:
            f.sync_if_pending()
        self.assertIn('max_body_mb', logs.output[0])
        self.assertTrue(f.sync_pending)
        self.assertGreater(f.sync_not_before, time.monotonic())
        self.assertEqual(f.send_once(), 'sent')
        self.assertEqual(self.table, [])
        calls = len(self.client.calls)
        f.sync_if_pending()  # still backing off: nothing sent
        self.assertEqual(len(self.client.calls), calls)
        # replies that keep asking for the sync do not cut the back-off
        self.client.sync_needed = True
        self.table.append(8)
        self.assertEqual(f.send_once(), 'sent')
        f.sync_if_pending()
        self.assertEqual(len(self.client.calls), calls)
        self.client.sync_reply = {'rejected': [], 'written': 0}
        f.sync_not_before = 0
        f.sync_if_pending()
        self.assertFalse(f.sync_pending)

    def test_a_snapshot_that_cannot_be_read_is_retried(self):
        f = self.make()

        def broken():
            raise RuntimeError('database gone')
        f.read_snapshot = broken
        with self.assertLogs('networking_netvpp.forwarder', 'ERROR'):
            f.sync_if_pending()
        self.assertTrue(f.sync_pending)
        self.assertNotIn('sync', [c[0] for c in self.client.calls
                                  if isinstance(c, tuple)])

    def test_while_idle_the_controller_is_asked_whether_it_needs_a_sync(self):
        f = self.make()
        f.sync_pending = False
        f.last_sync_check = time.monotonic() - 11
        f.check_sync_needed()
        self.assertEqual(self.client.calls, ['health'])
        self.assertFalse(f.sync_pending)
        f.check_sync_needed()  # within the interval: no second call
        self.assertEqual(self.client.calls, ['health'])
        self.client.health_reply = {'status': 'ok', 'sync_needed': True}
        f.last_sync_check = time.monotonic() - 11
        with self.assertLogs('networking_netvpp.forwarder', 'WARNING'):
            f.check_sync_needed()
        self.assertTrue(f.sync_pending)

    def test_losing_the_lock_means_a_sync_when_it_is_regained(self):
        f = self.make()
        f.sync_pending = False
        held = iter([False])

        def lock_held():
            try:
                return next(held)
            except StopIteration:
                f.stopped = True
                return False
        f.lock = types.SimpleNamespace(held=lock_held, release=lambda: None)
        f._sleep = lambda s: None
        f.run()
        self.assertTrue(f.sync_pending)


class RefreshGroupsTest(unittest.TestCase):

    def test_groups_are_sent_as_committed_now(self):
        f = forwarder.Forwarder(conf(), FakeClient(None))
        committed = {'g1': {'id': 'g1', 'revision_number': 7,
                            'security_group_rules': [{'id': 'r2'}, {'id': 'r1'}]},
                     'g2': None}
        f.fetch_group = lambda sg_id: committed[sg_id]
        stale = {'id': 'g1', 'revision_number': 6,
                 'security_group_rules': [{'id': 'r2'}]}
        batch = [
            {'id': 1, 'resource': 'security_group', 'op': 'update',
             'resource_id': 'g1', 'revision': 6, 'data': stale},
            {'id': 2, 'resource': 'security_group', 'op': 'update',
             'resource_id': 'g2', 'revision': 3, 'data': {'id': 'g2'}},
            {'id': 3, 'resource': 'security_group', 'op': 'delete',
             'resource_id': 'g3', 'revision': 4, 'data': {'id': 'g3'}},
            {'id': 4, 'resource': 'port', 'op': 'update',
             'resource_id': 'p1', 'revision': 2, 'data': {'id': 'p1'}},
        ]
        out = f.refresh_groups(batch)
        self.assertEqual(out[0]['revision'], 7)
        self.assertEqual([r['id'] for r in out[0]['data']['security_group_rules']],
                         ['r1', 'r2'])
        # gone since: sent as a delete; deletes and other resources untouched
        self.assertEqual((out[1]['op'], out[1]['revision']), ('delete', 3))
        self.assertEqual(out[2]['data'], {'id': 'g3'})
        self.assertEqual(out[3]['data'], {'id': 'p1'})


if __name__ == '__main__':
    unittest.main()
