import unittest
from unittest import mock

from oslo_config import cfg

from networking_netvpp import interface

DEV = 'tap0123456789a'
NS = 'qdhcp-net1'
MAC = 'fa:16:3e:00:00:01'


class FakeKernel:
    """Where each device is (None: the root namespace) and its link."""

    def __init__(self):
        self.where = {}
        self.links = {}
        self.calls = []

    def exists(self, name, namespace=None):
        return name in self.where and self.where[name] == namespace

    def device(self, name, namespace=None):
        kernel = self
        dev = mock.Mock()
        dev.name = name
        dev.namespace = namespace
        link = kernel.links.setdefault(name, {'address': '', 'mtu': 1500})

        class Link:
            @property
            def address(self):
                return link['address']

            @property
            def mtu(self):
                return link['mtu']

            def set_address(self, mac):
                kernel.calls.append(('address', name, mac))
                link['address'] = mac

            def set_mtu(self, mtu):
                kernel.calls.append(('mtu', name, mtu))
                link['mtu'] = mtu

            def set_up(self):
                kernel.calls.append(('up', name))

            def set_netns(self, ns):
                kernel.calls.append(('netns', name, ns))
                kernel.where[name] = ns

        dev.link = Link()
        return dev


class NetvppInterfaceDriverTest(unittest.TestCase):

    def setUp(self):
        self.conf = cfg.ConfigOpts()
        self.kernel = FakeKernel()
        patches = [
            mock.patch.object(interface.ip_lib, 'device_exists',
                              side_effect=self.kernel.exists),
            mock.patch.object(interface.ip_lib, 'IPDevice',
                              side_effect=self.kernel.device),
            mock.patch.object(interface.ip_lib, 'IPWrapper'),
            mock.patch.object(interface.privileged, 'set_link_attribute'),
        ]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)
        self.driver = interface.NetvppInterfaceDriver(self.conf)
        self.conf.set_override('plug_timeout', 0.2, 'netvpp')
        self.conf.set_override('plug_poll_interval', 0.01, 'netvpp')

    def plug(self):
        self.driver.plug('net1', 'port1', DEV, MAC, namespace=NS, mtu=1450)

    def test_moves_the_netvpp_agents_interface_into_the_namespace(self):
        self.kernel.where[DEV] = None
        self.plug()
        self.assertEqual(self.kernel.where[DEV], NS)
        self.assertEqual(self.kernel.calls, [
            ('netns', DEV, NS), ('address', DEV, MAC), ('mtu', DEV, 1450),
            ('up', DEV)])

    def test_an_interface_already_in_the_namespace_only_gets_its_mtu(self):
        self.kernel.where[DEV] = NS
        self.kernel.links[DEV] = {'address': MAC, 'mtu': 1500}
        self.plug()
        self.assertEqual(self.kernel.calls, [('mtu', DEV, 1450)])
        self.plug()
        self.assertEqual(self.kernel.calls, [('mtu', DEV, 1450)])

    def test_waits_for_the_interface_and_says_why_it_gave_up(self):
        with self.assertRaises(interface.PlugTimeout) as e:
            self.plug()
        self.assertIn('did not appear', str(e.exception))
        self.assertIn('netvpp port show', str(e.exception))

    def test_unplug_moves_it_back_to_the_root_namespace(self):
        self.kernel.where[DEV] = NS
        self.driver.unplug(DEV, namespace=NS)
        interface.privileged.set_link_attribute.assert_called_once_with(
            DEV, NS, net_ns_pid=interface.ROOT_NS_PID)

    def test_unplug_of_an_absent_interface_does_nothing(self):
        self.driver.unplug(DEV, namespace=NS)
        interface.privileged.set_link_attribute.assert_not_called()


if __name__ == '__main__':
    unittest.main()
