import types
import unittest

from neutron.plugins.ml2 import models as ml2_models

from networking_netvpp import mech_driver
from networking_netvpp import snapshot

NET = {'id': 'n1', 'mtu': 1450, 'revision_number': 4,
       'provider:network_type': 'vlan'}
SEG_A = {'id': 'sa', 'network_type': 'vlan', 'physical_network': 'physnet1',
         'segmentation_id': 100, 'network_id': 'n1'}
SEG_B = {'id': 'sb', 'network_type': 'vlan', 'physical_network': 'physnet2',
         'segmentation_id': 200, 'network_id': 'n1'}
DYN = {'id': 'sd', 'network_type': 'vlan', 'physical_network': 'physnet3',
       'segmentation_id': 300, 'network_id': 'n1'}


def port(pid, host='', vif='unbound'):
    return {'id': pid, 'network_id': 'n1', 'binding:host_id': host,
            'binding:vif_type': vif, 'revision_number': 9,
            'fixed_ips': [{'subnet_id': 's1', 'ip_address': '10.0.0.9'}]}


class SubnetSession(object):
    """Answers the driver's query for subnet CIDRs and IPv6 RA modes (and
    for inactive bindings: none)."""

    def __init__(self, cidrs, ra_modes=None):
        self.cidrs = cidrs
        self.ra_modes = ra_modes or {}

    def query(self, *cols):
        bindings = cols and cols[0].class_ is ml2_models.PortBinding
        ra = len(cols) > 1 and cols[1].key == 'ipv6_ra_mode'
        rows = [] if bindings else list(
            (self.ra_modes if ra else self.cidrs).items())
        q = types.SimpleNamespace(all=lambda: rows)
        q.filter = lambda *a: q
        return q


def journal_row(p, bound_segment, cidrs=None, ra_modes=None):
    """What update_port_precommit journals for the same port."""
    ctx = types.SimpleNamespace(
        _plugin_context=types.SimpleNamespace(
            session=SubnetSession(cidrs or {}, ra_modes)),
        current=p, bottom_bound_segment=bound_segment,
        network=types.SimpleNamespace(current=NET,
                                      network_segments=[SEG_A, SEG_B]))
    return mech_driver.NetvppMechanismDriver()._port_data(ctx)


class FakeSession(object):

    def __init__(self, rows):
        self.rows = rows

    def query(self, *cols):
        return types.SimpleNamespace(all=lambda: self.rows)


class SnapshotTest(unittest.TestCase):

    def build(self, ports, levels, cidrs=None, ra_modes=None):
        return snapshot.build(
            [NET], ports,
            [{'id': 'g1', 'security_group_rules': [{'id': 'r2'},
                                                   {'id': 'r1'}]}],
            {'n1': [SEG_A, SEG_B]}, levels,
            {s['id']: s for s in (SEG_A, SEG_B, DYN)}, cidrs,
            ra_modes=ra_modes)

    def test_an_ipv6_slaac_interface_carries_its_ra_mode_in_both(self):
        rp = dict(port('p8', 'net1', 'router'),
                  device_owner='network:router_interface', device_id='r1',
                  fixed_ips=[{'subnet_id': 's6', 'ip_address': '2001:db8::1'},
                             {'subnet_id': 's1', 'ip_address': '10.0.0.1'}])
        cidrs = {'s1': '10.0.0.0/24', 's6': '2001:db8::/64'}
        modes = {'s6': 'slaac', 's7': 'dhcpv6-stateful'}
        [got] = self.build([rp], {'p8': 'sa'}, cidrs, modes)['ports']
        self.assertEqual(got['netvpp:ipv6_ra'], {'s6': 'slaac'})
        self.assertEqual(got, journal_row(rp, SEG_A, cidrs, {'s6': 'slaac'}))

    def test_router_interfaces_carry_their_subnets_cidrs_in_both(self):
        rp = dict(port('p5', 'net1', 'router'),
                  device_owner='network:router_interface', device_id='r1')
        vm = port('p6', 'compute1', 'vhostuser')
        cidrs = {'s1': '10.0.0.0/24', 's9': '10.9.0.0/16'}
        out = self.build([rp, vm], {'p5': 'sa', 'p6': 'sa'}, cidrs)
        by_id = {p['id']: p for p in out['ports']}
        self.assertEqual(by_id['p5']['netvpp:subnets'], {'s1': '10.0.0.0/24'})
        self.assertEqual(by_id['p5'], journal_row(rp, SEG_A, {'s1': '10.0.0.0/24'}))
        self.assertNotIn('netvpp:subnets', by_id['p6'])

    def test_a_gateway_port_carries_its_subnets_cidrs_in_both(self):
        gw = dict(port('p7', 'net1', 'router'),
                  device_owner='network:router_gateway', device_id='r1')
        cidrs = {'s1': '203.0.113.0/24'}
        out = self.build([gw], {'p7': 'sa'}, cidrs)
        [got] = out['ports']
        self.assertEqual(got['netvpp:subnets'], cidrs)
        self.assertEqual(got, journal_row(gw, SEG_A, cidrs))

    def test_routers_and_floating_ips_go_as_read(self):
        router = {'id': 'r1', 'netvpp:host': 'net1', 'routes': []}
        fip = {'id': 'f1', 'netvpp:host': 'net1'}
        out = snapshot.build([], [], [], {}, {}, {}, {}, [router], [fip])
        self.assertEqual((out['routers'], out['floatingips']),
                         ([router], [fip]))

    def test_ports_are_shaped_exactly_as_their_journal_rows(self):
        bound = port('p1', 'compute1', 'vhostuser')
        unbound = port('p2')
        failed = port('p3', 'compute2', 'binding_failed')
        dynamic = port('p4', 'compute1', 'vhostuser')
        out = self.build([bound, unbound, failed, dynamic],
                         {'p1': 'sb', 'p4': 'sd'})
        by_id = {p['id']: p for p in out['ports']}
        self.assertEqual(by_id['p1'], journal_row(bound, SEG_B))
        self.assertEqual(by_id['p2'], journal_row(unbound, None))
        self.assertEqual(by_id['p3'], journal_row(failed, None))
        self.assertEqual(by_id['p4']['netvpp:network']['physical_network'],
                         'physnet3', 'a dynamic bottom segment is found too')
        self.assertEqual(by_id['p1']['netvpp:network'], {
            'id': 'n1', 'network_type': 'vlan',
            'physical_network': 'physnet2', 'segmentation_id': 200,
            'mtu': 1450})

    def test_networks_carry_their_segments_and_groups_sorted_rules(self):
        out = self.build([], {})
        [net] = out['networks']
        self.assertEqual(net['revision_number'], 4)
        self.assertEqual([s['physical_network']
                          for s in net['netvpp:segments']],
                         ['physnet1', 'physnet2'])
        self.assertEqual([r['id'] for r in
                          out['security_groups'][0]['security_group_rules']],
                         ['r1', 'r2'])

    def test_the_bottom_level_of_the_active_host_counts(self):
        ctx = types.SimpleNamespace(session=FakeSession([
            ('p1', 'compute1', 0, 'sa'),
            ('p1', 'compute1', 1, 'sb'),
            # the target of a live migration: not the active binding
            ('p1', 'compute9', 0, 'sd'),
            ('p2', 'compute1', 0, 'sa'),
        ]))
        ports = [port('p1', 'compute1'), port('p2', '')]
        self.assertEqual(snapshot.bottom_levels(ctx, ports), {'p1': 'sb'})


if __name__ == '__main__':
    unittest.main()
