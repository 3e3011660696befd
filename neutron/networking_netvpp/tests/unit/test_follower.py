import threading
import types
import unittest

from networking_netvpp import follower


def port(pid, host='compute1', ready=True):
    return {'kind': 'port', 'port_id': pid, 'host': host, 'revision': 3,
            'ready': ready, 'error': None}


class HandleAllTest(unittest.TestCase):

    def make(self, concurrency, fail=()):
        f = follower.Follower(
            types.SimpleNamespace(events_concurrency=concurrency), None)
        self.seen = []
        self.lock = threading.Lock()
        # every lane's first event waits until all lanes have started one:
        # only lanes handled side by side get past it
        self.barrier = threading.Barrier(3, timeout=10)

        def handle(event):
            if event['port_id'] in fail:
                raise RuntimeError('db gone')
            with self.lock:
                first = not any(p == event['port_id'] for p, _ in self.seen)
                self.seen.append((event['port_id'], event['host']))
            if first and concurrency > 1:
                self.barrier.wait()
        f.handle = handle
        return f

    def test_different_ports_side_by_side_one_port_in_order(self):
        f = self.make(8)
        f.handle_all([port('p1', 'a', ready=False), port('p2'), port('p3'),
                      port('p1', 'b')])
        self.assertEqual(sorted(self.seen),
                         [('p1', 'a'), ('p1', 'b'), ('p2', 'compute1'),
                          ('p3', 'compute1')])
        p1 = [h for p, h in self.seen if p == 'p1']
        self.assertEqual(p1, ['a', 'b'])

    def test_one_at_a_time_keeps_the_reply_order(self):
        f = self.make(1)
        events = [port('p1', 'a'), port('p2'), port('p1', 'b'), port('p3')]
        f.handle_all(events)
        self.assertEqual(self.seen, [('p1', 'a'), ('p2', 'compute1'),
                                     ('p1', 'b'), ('p3', 'compute1')])

    def test_a_failure_is_raised_after_the_other_ports_are_handled(self):
        f = self.make(8, fail=('p2',))
        self.barrier = threading.Barrier(2, timeout=10)
        with self.assertRaises(RuntimeError):
            f.handle_all([port('p1'), port('p2'), port('p3')])
        self.assertEqual(sorted(p for p, _ in self.seen), ['p1', 'p3'])


if __name__ == '__main__':
    unittest.main()
