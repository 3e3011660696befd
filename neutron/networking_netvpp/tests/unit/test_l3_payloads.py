import unittest

from networking_netvpp import journal
from networking_netvpp import l3
from networking_netvpp import l3_journal
from networking_netvpp import l3_payloads

ROUTER = {'id': 'r1', 'name': 'r', 'status': 'ACTIVE',
          'admin_state_up': True, 'enable_snat': False,
          'revision_number': 7}
GW = {'id': 'gw1', 'network_id': 'ext'}
SUBNETS = {'s4': {'cidr': '203.0.113.0/24', 'gateway_ip': '203.0.113.1'},
           's6': {'cidr': '2001:db8::/64', 'gateway_ip': None},
           'other': {'cidr': '10.0.0.0/24', 'gateway_ip': '10.0.0.1'}}


class RouterPayloadTest(unittest.TestCase):

    def test_the_gateway_with_its_subnets_and_the_host(self):
        data = l3_payloads.router_payload(
            ROUTER, 'net1', GW, [('s6', '2001:db8::5'), ('s4', '203.0.113.9')],
            SUBNETS, [])
        self.assertEqual(data['external_gateway_info'], {
            'network_id': 'ext', 'enable_snat': False,
            # IPv4 first, whatever order the database gave
            'external_fixed_ips': [
                {'subnet_id': 's4', 'ip_address': '203.0.113.9'},
                {'subnet_id': 's6', 'ip_address': '2001:db8::5'}]})
        self.assertEqual(data['netvpp:gateway_port_id'], 'gw1')
        # only the gateway's subnets
        self.assertEqual(sorted(data['netvpp:subnets']), ['s4', 's6'])
        self.assertEqual(data['netvpp:host'], 'net1')
        self.assertEqual(data['revision_number'], 7)

    def test_no_gateway_no_host(self):
        data = l3_payloads.router_payload(ROUTER, None, None, None, {}, [])
        self.assertIsNone(data['external_gateway_info'])
        self.assertIsNone(data['netvpp:gateway_port_id'])
        self.assertEqual(data['netvpp:subnets'], {})
        self.assertIsNone(data['netvpp:host'])

    def test_routes_sorted_one_row_per_next_hop(self):
        data = l3_payloads.router_payload(
            ROUTER, 'net1', None, None, {},
            [('192.168.0.0/16', '10.0.0.20'), ('172.16.0.0/12', '10.0.0.9'),
             ('192.168.0.0/16', '10.0.0.3')])
        self.assertEqual(data['routes'], [
            {'destination': '172.16.0.0/12', 'nexthop': '10.0.0.9'},
            {'destination': '192.168.0.0/16', 'nexthop': '10.0.0.20'},
            {'destination': '192.168.0.0/16', 'nexthop': '10.0.0.3'}])


class FloatingIpPayloadTest(unittest.TestCase):
    FIP = {'id': 'f1', 'floating_ip_address': '203.0.113.50',
           'router_id': 'r1', 'port_id': 'p1', 'fixed_ip_address': '10.0.0.5',
           'status': 'DOWN', 'revision_number': 3}

    def test_associated_it_names_its_router_host(self):
        data = l3_payloads.floatingip_payload(self.FIP, 'net1')
        self.assertEqual(data['netvpp:host'], 'net1')
        self.assertEqual(l3_journal.mapping_wanted(data),
                         ('net1', 'p1', '10.0.0.5'))

    def test_unassociated_it_wants_no_mapping(self):
        data = l3_payloads.floatingip_payload(
            dict(self.FIP, router_id=None, port_id=None,
                 fixed_ip_address=None), 'net1')
        self.assertIsNone(data['netvpp:host'])
        self.assertIsNone(l3_journal.mapping_wanted(data))


class GatewayHostTest(unittest.TestCase):
    EXT = [{'network_type': 'flat', 'physical_network': 'ext'}]

    def host(self, **over):
        return dict({'host': 'net1', 'alive': True, 'physnets': ['ext'],
                     'vif_types': ['router'], 'features': ['nat']}, **over)

    def test_a_gateway_host_reaches_the_network_and_offers_nat(self):
        self.assertIsNone(l3.lacks_gateway(self.host(), self.EXT))
        self.assertIn('can not reach', l3.lacks_gateway(
            self.host(physnets=['physnet1']), self.EXT))
        self.assertIn('does not offer NAT', l3.lacks_gateway(
            self.host(features=['port_security']), self.EXT))
        # an agent from before features: no NAT then
        legacy = self.host()
        del legacy['features']
        self.assertIn('does not offer NAT', l3.lacks_gateway(legacy, self.EXT))

    def test_scheduling_for_a_gateway_keeps_only_nat_hosts(self):
        hosts = [self.host(), self.host(host='net2', features=[]),
                 self.host(host='net3', physnets=['other'])]
        self.assertEqual(l3.router_hosts(hosts, self.EXT, ('nat',)), ['net1'])
        self.assertEqual(l3.router_hosts(hosts), ['net1', 'net2', 'net3'])


class FakeSession(object):

    def __init__(self):
        self.info = {}

    def in_transaction(self):
        return True


class MarkTest(unittest.TestCase):

    def setUp(self):
        self.read = []
        self.saved = dict(journal._builders)
        journal._builders['router'] = self.build

    def tearDown(self):
        journal._builders.clear()
        journal._builders.update(self.saved)

    def build(self, session, ids):
        self.read.append(list(ids))
        return {i: {'id': i, 'x': 1} for i in ids if i != 'gone'}

    def test_marked_resources_are_read_once_at_commit_and_recorded(self):
        s = FakeSession()
        journal.mark(s, 'router', 'r1', journal.CREATE)
        journal.mark(s, 'router', 'r1')
        journal.mark(s, 'router', 'gone')
        journal._build_marked(s)
        self.assertEqual(self.read, [['r1', 'gone']])
        pending = {k: (p.op, p.data) for k, p in
                   s.info['netvpp_journal_pending'].items()}
        self.assertEqual(pending, {
            ('router', 'r1'): ('create', {'id': 'r1', 'x': 1}),
            # no longer in the database: deleted in this transaction
            ('router', 'gone'): ('delete', {'id': 'gone'})})

    def test_a_resource_without_builder_is_not_journaled(self):
        s = FakeSession()
        journal._builders.pop('router')
        journal.mark(s, 'router', 'r1')
        self.assertEqual(s.info, {})


if __name__ == '__main__':
    unittest.main()
