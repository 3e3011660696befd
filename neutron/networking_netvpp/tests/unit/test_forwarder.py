import types
import unittest

from networking_netvpp import client as nclient
from networking_netvpp import forwarder


def row(i):
    return {'id': i, 'resource': 'port', 'op': 'update', 'resource_id': 'p%d' % i,
            'revision': i, 'data': {}}


class FakeClient(object):
    base_url = 'http://controller'

    def __init__(self, reply):
        self.reply = reply
        self.sent = []

    def post_journal(self, rows):
        self.sent.append([r['id'] for r in rows])
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply(rows)


class ForwarderTest(unittest.TestCase):

    def make(self, reply, rows):
        conf = types.SimpleNamespace(journal_batch_size=100,
                                     journal_batch_bytes=1 << 20,
                                     retry_max_backoff=1,
                                     leader_retry_interval=1,
                                     journal_poll_interval=1)
        f = forwarder.Forwarder(conf, FakeClient(reply))
        self.table = list(rows)
        self.failures = []
        f.read_batch = lambda: [row(i) for i in self.table]
        f.delete_rows = lambda ids: [self.table.remove(i) for i in ids]
        f.note_failure = lambda ids, err: self.failures.append((ids, err))
        return f

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



class RefreshGroupsTest(unittest.TestCase):

    def test_groups_are_sent_as_committed_now(self):
        f = forwarder.Forwarder(types.SimpleNamespace(), FakeClient(None))
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
