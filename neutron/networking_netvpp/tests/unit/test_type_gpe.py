import unittest

from neutron.conf import common as common_conf
from neutron.conf.plugins.ml2 import config as ml2_conf
from neutron_lib import context as n_context
from neutron_lib.db import api as db_api
from neutron_lib import exceptions as n_exc
from neutron_lib.plugins.ml2 import api
from oslo_config import cfg
from oslo_db import options as db_options

from networking_netvpp.db import models
from networking_netvpp import type_gpe


def setUpModule():
    for opts in (common_conf.core_opts,):
        try:
            cfg.CONF.register_opts(opts)
        except cfg.DuplicateOptError:
            pass
    ml2_conf.register_ml2_plugin_opts()
    # The allocation table in an in-memory SQLite, as the migration makes it.
    db_options.set_defaults(cfg.CONF, connection='sqlite://')
    models.NetvppGpeAllocation.__table__.create(db_api.CONTEXT_WRITER.get_engine())


class GpeTypeDriverTest(unittest.TestCase):

    def setUp(self):
        cfg.CONF.set_override('vni_ranges', ['7000:7009', '7100:7100'],
                              'ml2_type_gpe')
        self.addCleanup(cfg.CONF.clear_override, 'vni_ranges', 'ml2_type_gpe')
        self.driver = type_gpe.GpeTypeDriver()
        self.driver.initialize()

    def test_it_is_the_gpe_type_with_the_configured_vni_ranges(self):
        self.assertEqual(self.driver.get_type(), 'gpe')
        self.assertEqual(self.driver.tunnel_ranges, [(7000, 7009), (7100, 7100)])

    def test_mtu_is_the_physnet_mtu_less_vxlan_gpe_over_ipv4(self):
        cfg.CONF.set_override('global_physnet_mtu', 1500)
        self.addCleanup(cfg.CONF.clear_override, 'global_physnet_mtu')
        self.assertEqual(self.driver.get_mtu(), 1450)

    def test_networks_get_vnis_from_the_range_and_give_them_back(self):
        ctx = n_context.get_admin_context()
        got = {self.driver.allocate_tenant_segment(ctx)[api.SEGMENTATION_ID]
               for _ in range(11)}
        self.assertEqual(got, set(range(7000, 7010)) | {7100})
        self.assertIsNone(self.driver.allocate_tenant_segment(ctx))
        self.driver.release_segment(ctx, {api.SEGMENTATION_ID: 7003})
        seg = self.driver.allocate_tenant_segment(ctx)
        self.assertEqual((seg[api.SEGMENTATION_ID], seg[api.NETWORK_TYPE],
                          seg[api.PHYSICAL_NETWORK]), (7003, 'gpe', None))
        for vni in got:
            self.driver.release_segment(ctx, {api.SEGMENTATION_ID: vni})

    def test_a_provider_segment_takes_only_a_vni(self):
        self.driver.validate_provider_segment(
            {api.NETWORK_TYPE: 'gpe', api.SEGMENTATION_ID: 7005})
        with self.assertRaises(n_exc.InvalidInput):
            self.driver.validate_provider_segment(
                {api.NETWORK_TYPE: 'gpe', api.PHYSICAL_NETWORK: 'physnet1'})

    def test_a_bad_range_stops_the_server(self):
        cfg.CONF.set_override('vni_ranges', ['9:1'], 'ml2_type_gpe')
        with self.assertRaises(SystemExit):
            type_gpe.GpeTypeDriver().initialize()

    def test_netvpp_keeps_no_tunnel_endpoints_in_neutron(self):
        self.assertEqual(self.driver.get_endpoints(), [])
        self.assertIsNone(self.driver.get_endpoint_by_host('compute1'))


if __name__ == '__main__':
    unittest.main()
