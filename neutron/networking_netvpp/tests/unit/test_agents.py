import unittest

from networking_netvpp import agents

# GET /v1/hosts/<host> as the controller gives it (HostState).
COMPUTE1 = {'host': 'compute1', 'alive': True,
            'physnets': ['physnet2', 'physnet1'],
            'network_types': ['vlan', 'flat', 'vxlan'],
            'vif_types': ['vhostuser', 'tap'], 'features': ['port_security'],
            'agent_version': '0.1.0', 'vtep': '192.0.2.1',
            'vpp': {'connected': True, 'version': '26.06'},
            'started_at': '2026-12-03T06:00:00Z',
            'status': {'ports': {'total': 3, 'ready': 2, 'errored': 1,
                                 'pending': 0}}}


class AgentStateTest(unittest.TestCase):

    def test_a_live_host_as_neutron_records_an_agent(self):
        s = agents.agent_state(COMPUTE1, True)
        self.assertEqual(
            (s['agent_type'], s['binary'], s['host'], s['start_flag']),
            ('netvpp agent', 'netvpp-agent', 'compute1', True))
        self.assertEqual(s['topic'], 'N/A')
        c = s['configurations']
        self.assertEqual(c['physnets'], ['physnet1', 'physnet2'])
        self.assertEqual(c['network_types'], ['flat', 'vlan', 'vxlan'])
        self.assertEqual((c['vpp_version'], c['vpp_connected']),
                         ('26.06', True))
        self.assertEqual(c['vtep'], '192.0.2.1')
        self.assertEqual(c['ports']['errored'], 1)
        self.assertNotIn('error', c)

    def test_a_malformed_liveness_record_keeps_its_error(self):
        s = agents.agent_state({'host': 'bad', 'alive': True, 'physnets': [],
                                'error': 'vpp: expected an object'}, False)
        c = s['configurations']
        self.assertEqual((c['physnets'], c['vpp_version'], c['vpp_connected']),
                         ([], None, False))
        self.assertEqual(c['error'], 'vpp: expected an object')


if __name__ == '__main__':
    unittest.main()
