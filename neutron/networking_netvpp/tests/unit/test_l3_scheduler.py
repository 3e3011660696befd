import unittest

from networking_netvpp import l3_scheduler as s

R = '0a000000-0000-4000-8000-000000000000'
VLAN1 = [{'network_type': 'vlan', 'physical_network': 'physnet1'}]
FLAT2 = [{'network_type': 'flat', 'physical_network': 'physnet2'}]


def host(name, physnets=('physnet1',), features=('nat',), **over):
    return dict({'host': name, 'alive': True, 'physnets': list(physnets),
                 'vif_types': ['tap', 'router'],
                 'features': list(features)}, **over)


class HostsForTest(unittest.TestCase):

    def test_every_network_and_feature_is_needed(self):
        hosts = [host('a'), host('b', physnets=('physnet1', 'physnet2')),
                 host('c', physnets=('physnet2',)),
                 host('d', physnets=('physnet1', 'physnet2'), features=())]
        self.assertEqual(s.hosts_for(hosts, [VLAN1, FLAT2], ('nat',)), ['b'])
        self.assertEqual(s.hosts_for(hosts, [VLAN1, FLAT2]), ['b', 'd'])
        self.assertEqual(s.hosts_for(hosts), ['a', 'b', 'c', 'd'])


class PlacementTest(unittest.TestCase):

    def test_a_router_on_a_live_host_stays(self):
        self.assertIsNone(s.placement(R, ('a', None), False, ['a', 'b']))

    def test_a_router_of_a_dead_host_goes_to_the_best_ranked_live_one(self):
        new = s.placement(R, ('dead', None), False, ['b', 'c'])
        self.assertEqual(new, (s.ranked(R, ['b', 'c'])[0], None))

    def test_nowhere_to_go_means_it_stays(self):
        self.assertIsNone(s.placement(R, ('dead', None), False, []))

    def test_an_ha_router_keeps_its_survivor_as_host_and_gets_a_standby(self):
        self.assertEqual(s.placement(R, ('dead', 'b'), True, ['b', 'c']),
                         ('b', 'c'))
        self.assertEqual(s.placement(R, ('a', 'dead'), True, ['a', 'c']),
                         ('a', 'c'))

    def test_an_ha_router_runs_on_one_host_when_only_one_is_left(self):
        self.assertEqual(s.placement(R, ('dead', 'b'), True, ['b']),
                         ('b', None))
        self.assertIsNone(s.placement(R, ('b', None), True, ['b']))

    def test_choose_hosts_is_the_same_for_any_order(self):
        self.assertEqual(s.choose_hosts(R, ['a', 'b', 'c'], 2),
                         s.choose_hosts(R, ['c', 'b', 'a'], 2))
        self.assertEqual(len(set(s.choose_hosts(R, ['a', 'b', 'c'], 2))), 2)


class FakeClient(object):
    def __init__(self):
        self.hosts = []

    def get_hosts(self):
        return self.hosts


class RecordingPlugin(object):
    """The plugin's side of a pass: placements and the moves asked for."""

    def __init__(self, placed):
        self.client = FakeClient()
        self.placed = placed
        self.asked = []

    def placements(self, context):
        return self.placed

    def reschedule(self, context, router_id, current, ha, hosts, dead):
        self.asked.append((router_id, sorted(dead)))
        return True


class ReschedulerTest(unittest.TestCase):

    def test_a_host_missing_once_is_not_dead_twice_is(self):
        plugin = RecordingPlugin([('r1', ('a', None), False),
                                  ('r2', ('b', None), False)])
        plugin.client.hosts = [host('b')]
        r = s.Rescheduler(plugin, None, 1.0)
        self.assertEqual(r.check(None), [])
        plugin.client.hosts = [host('a'), host('b')]
        self.assertEqual(r.check(None), [], 'back: a blip')
        plugin.client.hosts = [host('b')]
        self.assertEqual(r.check(None), [])
        self.assertEqual(r.check(None), ['r1'])
        self.assertEqual(plugin.asked, [('r1', ['a'])])

    def test_an_ha_router_without_standby_is_offered_one(self):
        plugin = RecordingPlugin([('r1', ('a', None), True)])
        plugin.client.hosts = [host('a'), host('b')]
        self.assertEqual(s.Rescheduler(plugin, None, 1.0).check(None),
                         ['r1'])
