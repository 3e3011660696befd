import unittest

from networking_netvpp import l3


def host(name, vif_types=('vhostuser', 'tap', 'router'), **over):
    return dict({'host': name, 'alive': True, 'vif_types': list(vif_types)},
                **over)


class RouterHostsTest(unittest.TestCase):

    def test_only_live_hosts_offering_the_router_vif_type(self):
        hosts = [host('net2'), host('compute1', ('vhostuser', 'tap')),
                 host('net1'), host('dead', alive=False),
                 host('broken', error='bad value'),
                 {'host': 'legacy', 'alive': True}, 'garbage']
        self.assertEqual(l3.router_hosts(hosts), ['net1', 'net2'])


class CanCarryTest(unittest.TestCase):
    VLAN = {'network_type': 'vlan', 'physical_network': 'physnet1'}
    VXLAN = {'network_type': 'vxlan', 'physical_network': None}

    def test_a_physnet_segment_needs_the_physnet(self):
        self.assertTrue(l3.can_carry({'physnets': ['physnet1']}, [self.VLAN]))
        self.assertFalse(l3.can_carry({'physnets': ['physnet2']}, [self.VLAN]))

    def test_an_overlay_segment_needs_the_type(self):
        self.assertTrue(l3.can_carry({'network_types': ['vxlan']}, [self.VXLAN]))
        self.assertFalse(l3.can_carry({'network_types': ['vlan']}, [self.VXLAN]))

    def test_any_segment_will_do_and_none_known_means_yes(self):
        self.assertTrue(l3.can_carry({'physnets': ['physnet1']},
                                     [self.VXLAN, self.VLAN]))
        self.assertTrue(l3.can_carry({}, []))

    def test_router_hosts_keeps_only_hosts_reaching_the_network(self):
        hosts = [host('net1', physnets=['physnet2']),
                 host('net2', physnets=['physnet1'])]
        self.assertEqual(l3.router_hosts(hosts, [self.VLAN]), ['net2'])
        self.assertEqual(l3.router_hosts(hosts), ['net1', 'net2'])


class ChooseHostTest(unittest.TestCase):
    ROUTERS = ['%08x-0000-4000-8000-000000000000' % i for i in range(300)]

    def test_no_candidate_no_host(self):
        self.assertIsNone(l3.choose_host(self.ROUTERS[0], []))

    def test_the_same_list_gives_the_same_host_in_any_order(self):
        for r in self.ROUTERS[:20]:
            self.assertEqual(l3.choose_host(r, ['a', 'b', 'c']),
                             l3.choose_host(r, ['c', 'a', 'b']))

    def test_routers_spread_over_the_hosts(self):
        counts = {}
        for r in self.ROUTERS:
            h = l3.choose_host(r, ['a', 'b', 'c'])
            counts[h] = counts.get(h, 0) + 1
        self.assertEqual(sorted(counts), ['a', 'b', 'c'])
        self.assertTrue(min(counts.values()) > 60, counts)

    def test_a_new_host_takes_routers_only_for_itself(self):
        for r in self.ROUTERS:
            before = l3.choose_host(r, ['a', 'b', 'c'])
            after = l3.choose_host(r, ['a', 'b', 'c', 'd'])
            self.assertIn(after, (before, 'd'))


if __name__ == '__main__':
    unittest.main()
