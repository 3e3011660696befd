"""The `gpe` network type: VXLAN-GPE overlay networks that netvpp's agents
carry through VPP's LISP-GPE data plane.

A tunnel type like Neutron's vxlan: a VNI per network from
`[ml2_type_gpe] vni_ranges`, no physical network, and the network MTU less
the encapsulation's cost. It has no tunnel endpoints in Neutron's database:
netvpp's hosts advertise their VTEP in etcd, and the mechanism driver binds a
gpe segment only on hosts whose agents list `gpe` among their network types.
"""
from neutron_lib import exceptions as n_exc
from oslo_config import cfg
from oslo_log import log
from oslo_versionedobjects import fields as obj_fields

from neutron.objects import base
from neutron.objects.plugins.ml2 import base as ml2_base
from neutron.plugins.ml2.drivers import type_tunnel

from networking_netvpp.db import models

LOG = log.getLogger(__name__)

TYPE_GPE = 'gpe'
# LISP-GPE header 8 + UDP 8 + outer Ethernet 14; Neutron's tunnel base takes
# the outer IP header off as well (overlay_ip_version).
GPE_ENCAP_OVERHEAD = 30

gpe_opts = [
    cfg.ListOpt('vni_ranges', default=[],
                help="Comma-separated <vni_min>:<vni_max> tuples of the "
                     "VNIs gpe tenant networks are allocated from "
                     "(1..16777215)."),
]
cfg.CONF.register_opts(gpe_opts, 'ml2_type_gpe')


@base.NeutronObjectRegistry.register
class GpeAllocation(base.NeutronDbObject, ml2_base.SegmentAllocation):
    # Version 1.0: Initial version
    VERSION = '1.0'

    db_model = models.NetvppGpeAllocation

    primary_keys = ['gpe_vni']

    fields = {
        'gpe_vni': obj_fields.IntegerField(),
        'allocated': obj_fields.BooleanField(default=False),
    }

    network_type = TYPE_GPE

    @classmethod
    def get_segmentation_id(cls):
        return cls.db_model.get_segmentation_id()


class GpeTypeDriver(type_tunnel.ML2TunnelTypeDriver):

    def __init__(self):
        super().__init__(GpeAllocation)
        self.model_segmentation_id = models.NetvppGpeAllocation.gpe_vni

    def get_type(self):
        return TYPE_GPE

    def initialize(self):
        try:
            self._initialize(cfg.CONF.ml2_type_gpe.vni_ranges)
        except n_exc.NetworkTunnelRangeError:
            LOG.exception("Failed to parse [ml2_type_gpe] vni_ranges")
            raise SystemExit()

    def get_mtu(self, physical_network=None):
        mtu = super().get_mtu()
        return mtu - GPE_ENCAP_OVERHEAD if mtu else 0

    # Neutron's tunnel endpoints are for its own agents' tunnel RPC; netvpp
    # keeps VTEPs in etcd, so there are none here.
    def add_endpoint(self, ip, host):
        return None

    def get_endpoints(self):
        return []

    def get_endpoint_by_host(self, host):
        return None

    def get_endpoint_by_ip(self, ip):
        return None

    def delete_endpoint(self, ip):
        return None

    def delete_endpoint_by_host_or_ip(self, host, ip):
        return None

