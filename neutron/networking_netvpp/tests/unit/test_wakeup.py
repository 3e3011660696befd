import os
import shutil
import tempfile
import threading
import unittest

from networking_netvpp import wakeup


class WakeupTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='netvpp-wakeup-')
        self.path = os.path.join(self.dir, 'state', 'wakeup.sock')
        self.woken = threading.Semaphore(0)
        self.listener = wakeup.Listener(self.path, self.woken.release)
        self.sender = wakeup.Sender(self.path)

    def tearDown(self):
        self.listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_woken(self):
        # a convergence wait: the datagram crosses to the listener's thread
        return self.woken.acquire(timeout=10)

    def test_a_poke_from_another_socket_wakes_the_listener(self):
        self.assertTrue(self.listener.check())
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        self.assertTrue(self.sender.poke())
        self.assertTrue(self.wait_woken())
        self.assertEqual(self.listener.received, 1)
        self.assertEqual(self.sender.sent, 1)

    def test_nobody_listening_loses_the_poke_quietly(self):
        self.assertFalse(self.sender.poke())
        self.assertEqual((self.sender.sent, self.sender.lost), (0, 1))

    def test_a_removed_socket_is_bound_again_at_the_next_check(self):
        self.assertTrue(self.listener.check())
        os.unlink(self.path)
        self.assertFalse(self.sender.poke(), 'lost while the file is gone')
        self.assertTrue(self.listener.check())
        self.assertTrue(self.sender.poke())
        self.assertTrue(self.wait_woken())

    def test_a_stale_socket_of_a_previous_leader_is_replaced(self):
        old = wakeup.Listener(self.path, lambda: None)
        self.assertTrue(old.check())
        old._sock.close()  # that process died without cleaning up
        old._sock = None
        self.assertTrue(self.listener.check())
        self.assertTrue(self.sender.poke())
        self.assertTrue(self.wait_woken())

    def test_close_unlinks_only_its_own_socket(self):
        self.assertTrue(self.listener.check())
        self.listener.close()
        self.assertFalse(os.path.exists(self.path))
        self.assertFalse(self.sender.poke())

    def test_an_empty_path_disables_both_sides(self):
        self.assertFalse(wakeup.Listener('', lambda: None).check())
        self.assertFalse(wakeup.Sender('').poke())


class ForwarderWakeTest(unittest.TestCase):

    def test_the_forwarder_names_what_woke_it(self):
        from networking_netvpp.tests.unit.test_forwarder import conf
        from networking_netvpp.tests.unit.test_forwarder import FakeClient
        from networking_netvpp import forwarder
        f = forwarder.Forwarder(conf(journal_wakeup_socket=''),
                                FakeClient(lambda rows: ([], [])))
        self.assertEqual(f._sleep(0.01), 'poll')
        f.kick()
        self.assertEqual(f._sleep(10), 'commit')
        timer = threading.Timer(0.05, f.kick, args=('wakeup',))
        timer.start()
        self.assertEqual(f._sleep(30), 'wakeup')
        timer.join()
        f.read_batch = lambda: [{'id': 1, 'resource': 'port', 'op': 'update',
                                 'resource_id': 'p1', 'revision': 1,
                                 'data': {}}]
        f.note_failure = lambda ids, err: None
        f.send_once('wakeup')
        self.assertEqual(f.client.triggers, ['wakeup'])
        self.assertEqual(f.batches, {'wakeup': 1})


if __name__ == '__main__':
    unittest.main()
