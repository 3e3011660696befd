import types
import unittest

from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

from networking_netvpp import client as nclient
from networking_netvpp import journal
from networking_netvpp import mech_driver

PORT_ID = '0123abcd-4567-89ef-0123-456789abcdef'
VLAN = {api.ID: 'seg-vlan', api.NETWORK_TYPE: 'vlan',
        api.PHYSICAL_NETWORK: 'physnet1', api.SEGMENTATION_ID: 120}
VXLAN = {api.ID: 'seg-vx', api.NETWORK_TYPE: 'vxlan',
         api.PHYSICAL_NETWORK: None, api.SEGMENTATION_ID: 7}
GPE = {api.ID: 'seg-gpe', api.NETWORK_TYPE: 'gpe',
       api.PHYSICAL_NETWORK: None, api.SEGMENTATION_ID: 7001}
FLAT2 = {api.ID: 'seg-flat2', api.NETWORK_TYPE: 'flat',
         api.PHYSICAL_NETWORK: 'physnet2', api.SEGMENTATION_ID: None}


class FakeHosts(object):

    def __init__(self, hosts=None, error=None):
        self.hosts = hosts or {}
        self.error = error

    def get(self, host):
        if self.error:
            raise self.error
        return self.hosts.get(host)


class FakePortContext(object):

    def __init__(self, host='compute1', segments=(VLAN,), owner='',
                 vnic=portbindings.VNIC_NORMAL, port_security=None):
        self.current = {'id': PORT_ID, 'device_owner': owner,
                        portbindings.VNIC_TYPE: vnic}
        if port_security is not None:
            self.current['port_security_enabled'] = port_security
        self.host = host
        self.segments_to_bind = list(segments)
        self.bound = None

    def set_binding(self, segment_id, vif_type, vif_details, status=None):
        self.bound = (segment_id, vif_type, vif_details)


COMPUTE1 = {'host': 'compute1', 'alive': True, 'physnets': ['physnet1'],
            'vif_types': ['vhostuser', 'tap'], 'features': ['port_security']}
# Its VPP runs without the acl plugin: no security groups, no anti-spoofing.
NO_ACL = dict(COMPUTE1, features=[])
# A host whose VPP has the ip API: it carries routers.
NET1 = dict(COMPUTE1, host='net1', vif_types=['vhostuser', 'tap', 'router'])
# ... and the NAT plugin: it can be a router's gateway.
NAT1 = dict(NET1, features=['port_security', 'nat'])


def driver(hosts):
    d = mech_driver.NetvppMechanismDriver()
    d.conf = types.SimpleNamespace(vhostuser_socket_dir='/run/vpp-sockets')
    d.hosts = hosts
    return d


class BindPortTest(unittest.TestCase):

    def test_vm_port_is_bound_as_vhostuser_with_the_hypervisor_as_server(self):
        ctx = FakePortContext(segments=(VXLAN, VLAN))
        driver(FakeHosts({'compute1': COMPUTE1})).bind_port(ctx)
        segment, vif_type, details = ctx.bound
        self.assertEqual((segment, vif_type), ('seg-vlan', 'vhostuser'))
        self.assertEqual(details, {
            'vhostuser_socket': '/run/vpp-sockets/vhu0123abcd-45',
            'vhostuser_mode': 'server',
            'port_filter': True,
            'connectivity': 'l2',
        })

    def test_a_gpe_segment_is_bound_only_where_the_agent_lists_gpe(self):
        ctx = FakePortContext(segments=(GPE,))
        driver(FakeHosts({'compute1': COMPUTE1})).bind_port(ctx)
        self.assertIsNone(getattr(ctx, 'bound', None))
        gpe_host = dict(COMPUTE1, network_types=['flat', 'vlan', 'gpe'])
        ctx = FakePortContext(segments=(GPE,))
        driver(FakeHosts({'compute1': gpe_host})).bind_port(ctx)
        self.assertEqual(ctx.bound[:2], ('seg-gpe', 'vhostuser'))

    def test_dhcp_and_other_service_ports_get_a_tap(self):
        for owner in ('network:dhcp', 'neutron:LOADBALANCERV2'):
            ctx = FakePortContext(owner=owner)
            driver(FakeHosts({'compute1': COMPUTE1})).bind_port(ctx)
            self.assertEqual(ctx.bound[1], 'tap', owner)
            self.assertNotIn('vhostuser_socket', ctx.bound[2])

    def test_a_router_interface_is_bound_as_vif_type_router_where_offered(self):
        ctx = FakePortContext(host='net1', owner='network:router_interface',
                              port_security=True)
        driver(FakeHosts({'net1': NET1})).bind_port(ctx)
        segment, vif_type, details = ctx.bound
        self.assertEqual((segment, vif_type), ('seg-vlan', 'router'))
        self.assertEqual(details, {'port_filter': False,
                                   'connectivity': 'l2'})

    def test_a_router_interface_is_never_bound_where_routers_are_not_offered(
            self):
        # compute1 offers tap (router ports used to be taps) but no router;
        # an agent from before vif types were advertised offers no router.
        legacy = dict(COMPUTE1)
        del legacy['vif_types']
        for info in (COMPUTE1, legacy):
            ctx = FakePortContext(owner='network:router_interface')
            driver(FakeHosts({'compute1': info})).bind_port(ctx)
            self.assertIsNone(ctx.bound)

    def test_a_gateway_port_is_a_router_port_where_nat_is_offered(self):
        ctx = FakePortContext(host='net1', owner='network:router_gateway',
                              port_security=True)
        driver(FakeHosts({'net1': NAT1})).bind_port(ctx)
        segment, vif_type, details = ctx.bound
        self.assertEqual((segment, vif_type), ('seg-vlan', 'router'))
        self.assertEqual(details['port_filter'], False)

    def test_a_gateway_port_is_not_bound_where_nat_is_missing(self):
        # net1 routes (ip API) but its VPP has no NAT plugin.
        ctx = FakePortContext(host='net1', owner='network:router_gateway')
        driver(FakeHosts({'net1': NET1})).bind_port(ctx)
        self.assertIsNone(ctx.bound)

    def test_other_router_ports_are_not_bound_at_all(self):
        for owner in ('network:router_ha_interface',
                      'network:router_interface_distributed',
                      'network:ha_router_replicated_interface',
                      'network:router_centralized_snat'):
            ctx = FakePortContext(host='net1', owner=owner)
            driver(FakeHosts({'net1': NAT1})).bind_port(ctx)
            self.assertIsNone(ctx.bound, owner)

    def test_no_binding_without_a_live_agent_with_the_physnet(self):
        cases = {
            'unknown host': (FakeHosts({}), FakePortContext()),
            'dead host': (FakeHosts({'compute1': dict(COMPUTE1, alive=False)}),
                          FakePortContext()),
            'physnet missing': (FakeHosts({'compute1': COMPUTE1}),
                                FakePortContext(segments=(FLAT2,))),
            'only vxlan': (FakeHosts({'compute1': COMPUTE1}),
                           FakePortContext(segments=(VXLAN,))),
            'vif type not offered': (
                FakeHosts({'compute1': dict(COMPUTE1, vif_types=['tap'])}),
                FakePortContext()),
            'direct vnic': (FakeHosts({'compute1': COMPUTE1}),
                            FakePortContext(vnic='direct')),
            'controller down': (
                FakeHosts(error=nclient.ControllerError('refused')),
                FakePortContext()),
        }
        for name, (hosts, ctx) in cases.items():
            driver(hosts).bind_port(ctx)
            self.assertIsNone(ctx.bound, name)

    def test_a_port_needing_a_feature_the_host_lacks_is_not_bound(self):
        cases = {
            'port security on, no acl plugin': (
                NO_ACL, FakePortContext(port_security=True)),
            'no vif type at all (VPP lacks vhost_user, tap, af_packet)': (
                dict(COMPUTE1, vif_types=[]), FakePortContext()),
            'tap not offered': (dict(COMPUTE1, vif_types=['vhostuser']),
                                FakePortContext(owner='network:dhcp')),
        }
        for name, (info, ctx) in cases.items():
            driver(FakeHosts({'compute1': info})).bind_port(ctx)
            self.assertIsNone(ctx.bound, name)

    def test_ports_that_need_no_missing_feature_are_still_bound(self):
        cases = {
            'port security off': (NO_ACL, FakePortContext(port_security=False)),
            'no port-security extension': (NO_ACL, FakePortContext()),
            # Neutron never filters its own network:* ports; nor does netvpp.
            'dhcp port with port security': (
                NO_ACL, FakePortContext(owner='network:dhcp',
                                        port_security=True)),
            'port security on, acl plugin present': (
                COMPUTE1, FakePortContext(port_security=True)),
            # An agent from before features were advertised offered them all.
            'agent without features': (
                {k: v for k, v in COMPUTE1.items() if k != 'features'},
                FakePortContext(port_security=True)),
        }
        for name, (info, ctx) in cases.items():
            driver(FakeHosts({'compute1': info})).bind_port(ctx)
            self.assertIsNotNone(ctx.bound, name)
            self.assertEqual(ctx.bound[0], 'seg-vlan', name)


class FakeSession(object):

    def __init__(self):
        self.info = {}

    def in_transaction(self):
        return True


class JournalRecordTest(unittest.TestCase):

    def test_one_row_per_resource_per_transaction_with_the_last_snapshot(self):
        s = FakeSession()
        journal.record(s, 'port', 'create', 'p1', {'name': 'a'})
        journal.record(s, 'security_group', 'update', 'g1', {'rules': [1]})
        journal.record(s, 'port', 'update', 'p1', {'name': 'b'})
        journal.record(s, 'security_group', 'update', 'g1', {'rules': [1, 2]})
        pending = list(s.info['netvpp_journal_pending'].values())
        self.assertEqual(
            [(p.resource, p.op, p.data) for p in pending],
            [('port', 'create', {'name': 'b'}),
             ('security_group', 'update', {'rules': [1, 2]})])

    def test_a_delete_wins_over_earlier_changes(self):
        s = FakeSession()
        journal.record(s, 'port', 'update', 'p1', {})
        journal.record(s, 'port', 'delete', 'p1', {})
        [p] = s.info['netvpp_journal_pending'].values()
        self.assertEqual(p.op, 'delete')

    def test_the_snapshot_is_a_copy(self):
        s = FakeSession()
        data = {'fixed_ips': [{'ip_address': '10.0.0.5'}]}
        journal.record(s, 'port', 'update', 'p1', data)
        data['fixed_ips'].append({'ip_address': '10.0.0.6'})
        [p] = s.info['netvpp_journal_pending'].values()
        self.assertEqual(len(p.data['fixed_ips']), 1)

    def test_recording_outside_a_transaction_is_refused(self):
        s = FakeSession()
        s.in_transaction = lambda: False
        with self.assertRaises(RuntimeError):
            journal.record(s, 'port', 'update', 'p1', {})


if __name__ == '__main__':
    unittest.main()
