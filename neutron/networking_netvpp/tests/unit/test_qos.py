"""netvpp's QoS driver (qos.py): what it journals for policies and rules,
which rules it accepts, and the QoS fields port and network rows carry (the
port's own policy and its network's, side by side: the controller and the
agent give the port's precedence, docs/qos.md)."""
import types
import unittest
from unittest import mock
import uuid

from neutron.objects.qos import policy as policy_object
from neutron.objects.qos import rule as rule_object
from neutron_lib.db import constants as db_consts

from networking_netvpp import journal
from networking_netvpp import payloads
from networking_netvpp import qos
from networking_netvpp import snapshot


def new_id():
    return str(uuid.uuid4())


def make_policy(*rules, policy_id=None):
    policy_id = policy_id or new_id()
    for r in rules:
        r.qos_policy_id = policy_id
    return policy_object.QosPolicy(
        id=policy_id, project_id='project', name='gold', shared=False,
        is_default=False, rules=list(rules))


def bw(kbps, burst=0, direction='egress', rule_id=None):
    return rule_object.QosBandwidthLimitRule(
        id=rule_id or new_id(), max_kbps=kbps, max_burst_kbps=burst,
        direction=direction)


def dscp(mark, rule_id=None):
    return rule_object.QosDscpMarkingRule(id=rule_id or new_id(),
                                          dscp_mark=mark)


class RuleLike(dict):
    """A rule as the QoS plugin hands it to is_rule_supported (get() and
    rule_type), without the OVO's own field checks."""

    def __init__(self, rule_type, **fields):
        super().__init__(**fields)
        self.rule_type = rule_type


class PolicyPayloadTest(unittest.TestCase):

    def test_a_policy_row_carries_every_rule_in_id_order_with_its_type(self):
        first, second, third = sorted(new_id() for _ in range(3))
        p = make_policy(dscp(46, rule_id=third),
                        bw(2000, 300, 'ingress', rule_id=first),
                        bw(1000, rule_id=second))
        data = qos.policy_data(p)
        self.assertEqual(data['id'], p.id)
        self.assertEqual([r['id'] for r in data['rules']],
                         [first, second, third])
        self.assertEqual(
            [(r['type'], r.get('direction'), r.get('max_kbps'),
              r.get('max_burst_kbps'), r.get('dscp_mark'))
             for r in data['rules']],
            [('bandwidth_limit', 'ingress', 2000, 300, None),
             ('bandwidth_limit', 'egress', 1000, 0, None),
             ('dscp_marking', None, None, None, 46)])

    def test_a_policy_without_rules_has_an_empty_list(self):
        self.assertEqual(qos.policy_data(make_policy())['rules'], [])


class JournalTest(unittest.TestCase):
    """The driver's precommit hooks journal the policy, in the session of
    Neutron's transaction (a rule change arrives as update_policy_precommit)."""

    def setUp(self):
        self.driver = qos.NetvppQosDriver.create()
        self.session = object()
        self.context = types.SimpleNamespace(session=self.session)
        patcher = mock.patch.object(journal, 'record')
        self.record = patcher.start()
        self.addCleanup(patcher.stop)

    def test_create_journals_the_whole_policy(self):
        p = make_policy(bw(1000))
        self.driver.create_policy_precommit(self.context, p)
        self.record.assert_called_once_with(
            self.session, journal.QOS_POLICY, journal.CREATE, p.id,
            qos.policy_data(p))

    def test_a_rule_change_journals_the_policy_with_its_new_rules(self):
        rule_id = new_id()
        p = make_policy(bw(1000, rule_id=rule_id))
        p.rules[0].max_kbps = 5000
        self.driver.update_policy_precommit(self.context, p)
        (session, resource, op, rid, data), _ = self.record.call_args
        self.assertEqual((session, resource, op, rid),
                         (self.session, journal.QOS_POLICY, journal.UPDATE,
                          p.id))
        self.assertEqual([(r['id'], r['max_kbps']) for r in data['rules']],
                         [(rule_id, 5000)])

    def test_delete_journals_only_the_id(self):
        p = make_policy(bw(1000), dscp(46))
        self.driver.delete_policy_precommit(self.context, p)
        self.record.assert_called_once_with(
            self.session, journal.QOS_POLICY, journal.DELETE, p.id,
            {'id': p.id})


class SupportedRulesTest(unittest.TestCase):
    """Neutron's QoS plugin refuses, on netvpp's ports, rules the driver
    does not support (DriverBase.is_rule_supported on supported_rules)."""

    def setUp(self):
        self.driver = qos.NetvppQosDriver.create()

    def test_bandwidth_limits_both_ways_and_dscp_marks_are_supported(self):
        for r in (bw(1000, 100, 'egress'), bw(0, 0, 'ingress'),
                  bw(db_consts.DB_INTEGER_MAX_VALUE), dscp(0), dscp(46),
                  dscp(56)):
            self.assertTrue(self.driver.is_rule_supported(r), r)

    def test_other_rule_types_are_refused(self):
        for r in (rule_object.QosMinimumBandwidthRule(
                      id=new_id(), min_kbps=1000, direction='egress'),
                  rule_object.QosPacketRateLimitRule(
                      id=new_id(), max_kpps=10, max_burst_kpps=0,
                      direction='egress')):
            self.assertFalse(self.driver.is_rule_supported(r), r.rule_type)

    def test_out_of_range_values_are_refused(self):
        bad = [
            RuleLike('bandwidth_limit', max_kbps=-1, max_burst_kbps=0,
                     direction='egress'),
            RuleLike('bandwidth_limit',
                     max_kbps=db_consts.DB_INTEGER_MAX_VALUE + 1,
                     max_burst_kbps=0, direction='egress'),
            RuleLike('bandwidth_limit', max_kbps=1000, max_burst_kbps=-5,
                     direction='egress'),
            RuleLike('bandwidth_limit', max_kbps=1000, max_burst_kbps=0,
                     direction='sideways'),
            RuleLike('dscp_marking', dscp_mark=47),
            RuleLike('dscp_marking', dscp_mark=64),
        ]
        for r in bad:
            self.assertFalse(self.driver.is_rule_supported(r), dict(r))

    def test_it_serves_netvpp_vif_types_and_normal_vnics_only(self):
        self.assertTrue(self.driver.is_vif_type_compatible('vhostuser'))
        self.assertTrue(self.driver.is_vif_type_compatible('tap'))
        self.assertFalse(self.driver.is_vif_type_compatible('ovs'))
        self.assertTrue(self.driver.is_vnic_compatible('normal'))
        self.assertFalse(self.driver.is_vnic_compatible('direct'))


class RegisterTest(unittest.TestCase):

    def test_the_driver_is_made_once_per_process(self):
        with mock.patch.object(qos, '_driver', None):
            first = qos.register()
            self.assertIs(qos.register(), first)
            self.assertEqual(first.name, 'netvpp')


class PrecedenceTest(unittest.TestCase):
    """Rows carry the port's own policy and its network's unchanged, so the
    controller can apply Neutron's rule (the port's wins)."""

    NETWORK = {'id': 'net-1', 'mtu': 1500, 'qos_policy_id': 'net-policy'}
    SEGMENT = {'id': 'seg-1', 'network_type': 'vlan',
               'physical_network': 'physnet1', 'segmentation_id': 100}

    def port(self, own):
        return {'id': 'port-1', 'device_owner': 'compute:nova',
                'qos_policy_id': own, 'qos_network_policy_id': 'net-policy'}

    def test_a_port_row_carries_its_own_policy_and_its_networks(self):
        data = payloads.port_data(self.port('port-policy'), self.NETWORK,
                                  self.SEGMENT, [self.SEGMENT])
        self.assertEqual((data['qos_policy_id'],
                          data['qos_network_policy_id']),
                         ('port-policy', 'net-policy'))

    def test_a_port_without_its_own_policy_still_names_its_networks(self):
        data = payloads.port_data(self.port(None), self.NETWORK,
                                  self.SEGMENT, [self.SEGMENT])
        self.assertIsNone(data['qos_policy_id'])
        self.assertEqual(data['qos_network_policy_id'], 'net-policy')

    def test_a_full_sync_carries_both_and_every_policy(self):
        port = dict(self.port('port-policy'), network_id='net-1')
        body = snapshot.build([self.NETWORK], [port], [],
                              {'net-1': [self.SEGMENT]}, {}, {},
                              qos_policies=[{'id': 'p1', 'rules': []}])
        self.assertEqual(body['qos_policies'], [{'id': 'p1', 'rules': []}])
        self.assertEqual([(p['qos_policy_id'], p['qos_network_policy_id'])
                          for p in body['ports']],
                         [('port-policy', 'net-policy')])
        self.assertEqual([n.get('qos_policy_id') for n in body['networks']],
                         ['net-policy'])

    def test_without_the_qos_plugin_a_full_sync_sends_no_policies(self):
        body = snapshot.build([self.NETWORK], [], [], {}, {}, {},
                              qos_policies=None)
        self.assertNotIn('qos_policies', body)

    def test_read_all_is_none_without_the_qos_plugin(self):
        with mock.patch('neutron_lib.plugins.directory.get_plugin',
                        return_value=None):
            self.assertIsNone(qos.read_all(mock.Mock()))
