"""netvpp's QoS driver for Neutron's QoS service plugin (docs/qos.md).

A policy is journaled as a whole, with its rules, in the transaction of the
change: the plugin calls the *_precommit methods inside it for the policy's
own create, update and delete, and update_policy_precommit for every rule
created, changed or deleted (a rule change bumps the policy's revision). The
controller writes it to etcd as one object shared by all the ports that use
it; which policy a port uses travels with the port's and its network's rows.
"""
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.db import constants as db_consts
from neutron_lib.services.qos import base
from neutron_lib.services.qos import constants as qos_consts
from oslo_log import log as logging

from networking_netvpp import journal

LOG = logging.getLogger(__name__)

# VPP's policer takes its rate in kbps as a u32; DSCP marks are Neutron's.
SUPPORTED_RULES = {
    qos_consts.RULE_TYPE_BANDWIDTH_LIMIT: {
        qos_consts.MAX_KBPS: {
            'type:range': [0, db_consts.DB_INTEGER_MAX_VALUE]},
        qos_consts.MAX_BURST: {
            'type:range': [0, db_consts.DB_INTEGER_MAX_VALUE]},
        qos_consts.DIRECTION: {
            'type:values': constants.VALID_DIRECTIONS},
    },
    qos_consts.RULE_TYPE_DSCP_MARKING: {
        qos_consts.DSCP_MARK: {'type:values': constants.VALID_DSCP_MARKS},
    },
}

# The vif types netvpp binds ports with (mech_driver.vif_type_for).
VIF_TYPES = [portbindings.VIF_TYPE_VHOST_USER, 'tap']

_driver = None


def policy_data(policy):
    """A QoS policy (its OVO, rules loaded) as journal rows carry it: its
    dict with the rules in id order, each naming its `type`."""
    data = policy.to_dict()
    data['rules'] = sorted((dict(r) for r in data.get('rules') or []),
                           key=lambda r: r['id'])
    return data


class NetvppQosDriver(base.DriverBase):

    @staticmethod
    def create():
        return NetvppQosDriver(
            name='netvpp',
            vif_types=VIF_TYPES,
            vnic_types=[portbindings.VNIC_NORMAL],
            supported_rules=SUPPORTED_RULES,
            requires_rpc_notifications=False)

    def _record(self, context, op, policy, data):
        journal.record(context.session, journal.QOS_POLICY, op, policy.id,
                       data)

    def create_policy_precommit(self, context, policy):
        self._record(context, journal.CREATE, policy, policy_data(policy))

    def update_policy_precommit(self, context, policy):
        self._record(context, journal.UPDATE, policy, policy_data(policy))

    def delete_policy_precommit(self, context, policy):
        self._record(context, journal.DELETE, policy, {'id': policy.id})


def register():
    """Once per process, before the QoS plugin initialises (the ML2 driver's
    initialize: core plugins load before service plugins)."""
    global _driver
    if _driver is None:
        _driver = NetvppQosDriver.create()
        LOG.info('netvpp QoS driver registered')
    return _driver


def read_all(context):
    """Every QoS policy as its journal row would carry it, or None when the
    QoS plugin is not loaded (the controller then keeps what it has)."""
    from neutron_lib.plugins import constants as plugin_constants
    from neutron_lib.plugins import directory
    if directory.get_plugin(plugin_constants.QOS) is None:
        return None
    from neutron.objects.qos import policy as policy_object
    policies = policy_object.QosPolicy.get_objects(context.elevated())
    return sorted((policy_data(p) for p in policies), key=lambda p: p['id'])
