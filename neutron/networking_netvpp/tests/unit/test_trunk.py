"""netvpp's trunk driver (trunk.py): sub-ports bound to their parent's host
and unbound when removed, touching only the sub-ports of the change; the
journal rows of sub-ports (their trunk membership, and none once removed);
trunk status; bad input (a sub-port that cannot be bound, an unbound
parent)."""
import contextlib
import types
import unittest
from unittest import mock

from neutron_lib.api.definitions import portbindings
from neutron_lib.services.trunk import constants as trunk_consts
from neutron_lib.plugins.ml2 import api

from networking_netvpp import journal
from networking_netvpp import mech_driver
from networking_netvpp import payloads
from networking_netvpp import trunk

PARENT = 'aaaaaaaa-0000-0000-0000-000000000000'
SP1 = 'bbbbbbbb-1111-1111-1111-111111111111'
SP2 = 'cccccccc-2222-2222-2222-222222222222'
TRUNK_ID = 'dddddddd-3333-3333-3333-333333333333'


class FakeCore(object):
    """The ML2 plugin as the trunk driver uses it: update_port records each
    call (ML2 would journal the port in that transaction) and answers with
    the port as bound."""

    def __init__(self, ports, fail=(), unbindable=()):
        self.ports = ports
        self.fail = set(fail)
        self.unbindable = set(unbindable)
        self.updates = []

    def get_port(self, context, port_id):
        return dict(self.ports[port_id])

    def get_ports(self, context, filters=None):
        ids = (filters or {}).get('id')
        return [dict(p) for i, p in self.ports.items()
                if ids is None or i in ids]

    def update_port(self, context, port_id, body):
        self.updates.append((port_id, body['port']))
        if port_id in self.fail:
            raise RuntimeError('the database went away')
        port = dict(self.ports[port_id], **body['port'])
        host = body['port'][portbindings.HOST_ID]
        port[portbindings.VIF_TYPE] = (
            portbindings.VIF_TYPE_UNBOUND if not host else
            portbindings.VIF_TYPE_BINDING_FAILED
            if port_id in self.unbindable else trunk.VIF_TYPE_SUBPORT)
        self.ports[port_id] = port
        return dict(port)


def port(port_id, host='', vif_type=portbindings.VIF_TYPE_UNBOUND,
         status='DOWN', owner=''):
    return {'id': port_id, portbindings.HOST_ID: host,
            portbindings.VIF_TYPE: vif_type, 'status': status,
            'device_owner': owner}


def subport(port_id, vlan):
    return types.SimpleNamespace(port_id=port_id, segmentation_id=vlan,
                                 segmentation_type='vlan',
                                 trunk_id=TRUNK_ID)


def trunk_ovo(*sub_ports):
    return types.SimpleNamespace(id=TRUNK_ID, port_id=PARENT,
                                 sub_ports=list(sub_ports))


def payload(states, **metadata):
    return types.SimpleNamespace(states=list(states), metadata=metadata,
                                 latest_state=states[-1])


def bound_parent(host='compute1'):
    return port(PARENT, host, portbindings.VIF_TYPE_VHOST_USER, 'ACTIVE',
                'compute:nova')


class DriverTest(unittest.TestCase):

    def setUp(self):
        self.driver = trunk.NetvppTrunkDriver.create()
        self.statuses = []
        self._patch(mock.patch.object(
            trunk.NetvppTrunkDriver, '_update_status',
            lambda _self, ctx, trunk_id: self.statuses.append(trunk_id)))
        self._patch(mock.patch.object(trunk.n_context, 'get_admin_context',
                                      return_value='admin'))

    def _patch(self, patcher):
        patcher.start()
        self.addCleanup(patcher.stop)

    def core(self, *ports, **kw):
        c = FakeCore({p['id']: p for p in ports}, **kw)
        self._patch(mock.patch.object(
            trunk.NetvppTrunkDriver, '_core', new_callable=mock.PropertyMock,
            return_value=c))
        return c

    def test_it_trunks_vhostuser_and_tap_parents_with_vlans_even_bound(self):
        self.assertEqual(self.driver.name, 'netvpp')
        self.assertEqual(set(self.driver.interfaces), {'vhostuser', 'tap'})
        self.assertEqual(self.driver.segmentation_types, ('vlan',))
        self.assertTrue(self.driver.can_trunk_bound_port)
        self.assertIsNone(self.driver.agent_type)

    def test_a_trunk_made_with_sub_ports_binds_them_to_the_parents_host(self):
        core = self.core(bound_parent(), port(SP1), port(SP2))
        t = trunk_ovo(subport(SP1, 10), subport(SP2, 20))
        self.driver._trunk_created(None, None, None, payload([t]))
        owner = trunk_consts.TRUNK_SUBPORT_OWNER
        self.assertEqual(core.updates, [
            (SP1, {portbindings.HOST_ID: 'compute1', 'device_owner': owner}),
            (SP2, {portbindings.HOST_ID: 'compute1', 'device_owner': owner}),
        ])
        self.assertEqual(self.statuses, [TRUNK_ID])

    def test_adding_a_sub_port_to_a_live_trunk_binds_only_that_one(self):
        core = self.core(bound_parent(),
                         port(SP1, 'compute1', 'subport', 'ACTIVE',
                              trunk_consts.TRUNK_SUBPORT_OWNER),
                         port(SP2))
        t = trunk_ovo(subport(SP1, 10), subport(SP2, 20))
        self.driver._subports_added(
            None, None, None, payload([t], subports=[subport(SP2, 20)]))
        self.assertEqual([u[0] for u in core.updates], [SP2])
        self.assertEqual(core.ports[SP2][portbindings.VIF_TYPE], 'subport')

    def test_removing_a_sub_port_unbinds_only_that_one(self):
        core = self.core(bound_parent(),
                         port(SP1, 'compute1', 'subport', 'ACTIVE',
                              trunk_consts.TRUNK_SUBPORT_OWNER),
                         port(SP2, 'compute1', 'subport', 'ACTIVE',
                              trunk_consts.TRUNK_SUBPORT_OWNER))
        t = trunk_ovo(subport(SP2, 20))
        self.driver._subports_removed(
            None, None, None, payload([t], subports=[subport(SP1, 10)]))
        self.assertEqual(core.updates, [
            (SP1, {portbindings.HOST_ID: '', 'device_owner': ''})])
        self.assertEqual(self.statuses, [TRUNK_ID])

    def test_deleting_a_trunk_unbinds_every_sub_port(self):
        core = self.core(bound_parent(), port(SP1), port(SP2))
        t = trunk_ovo(subport(SP1, 10), subport(SP2, 20))
        self.driver._trunk_deleted(None, None, None, payload([t]))
        self.assertEqual([(i, b[portbindings.HOST_ID]) for i, b in
                          core.updates], [(SP1, ''), (SP2, '')])

    def test_an_unbound_parent_leaves_its_sub_ports_unbound(self):
        parent = port(PARENT, 'compute1', portbindings.VIF_TYPE_BINDING_FAILED)
        core = self.core(parent, port(SP1))
        self.driver._trunk_created(None, None, None,
                                   payload([trunk_ovo(subport(SP1, 10))]))
        self.assertEqual(core.updates, [
            (SP1, {portbindings.HOST_ID: '', 'device_owner': ''})])

    def test_a_sub_port_that_fails_is_logged_and_the_others_still_bound(self):
        core = self.core(bound_parent(), port(SP1), port(SP2), fail=[SP1])
        t = trunk_ovo(subport(SP1, 10), subport(SP2, 20))
        with self.assertLogs('networking_netvpp.trunk', 'ERROR') as logs:
            self.driver._trunk_created(None, None, None, payload([t]))
        self.assertIn('could not bind sub-port %s' % SP1, logs.output[0])
        self.assertEqual(core.ports[SP2][portbindings.VIF_TYPE], 'subport')
        self.assertEqual(self.statuses, [TRUNK_ID])

    def test_a_sub_port_ml2_cannot_bind_is_logged(self):
        self.core(bound_parent(), port(SP1), unbindable=[SP1])
        with self.assertLogs('networking_netvpp.trunk', 'WARNING') as logs:
            self.driver._subports_added(
                None, None, None,
                payload([trunk_ovo(subport(SP1, 10))],
                        subports=[subport(SP1, 10)]))
        self.assertIn('could not be bound on host compute1', logs.output[0])

    def test_a_parent_moving_host_takes_its_sub_ports_along(self):
        core = self.core(bound_parent('compute2'), port(SP1))
        details = {'trunk_id': TRUNK_ID, 'sub_ports': [{'port_id': SP1}]}
        before = dict(bound_parent('compute1'), trunk_details=details)
        after = dict(bound_parent('compute2'), trunk_details=details)
        self.driver._port_updated(None, None, None,
                                  payload([before, after]))
        self.assertEqual([(i, b[portbindings.HOST_ID]) for i, b in
                          core.updates], [(SP1, 'compute2')])

    def test_a_parent_update_on_the_same_host_rebinds_nothing(self):
        core = self.core(bound_parent(), port(SP1))
        details = {'trunk_id': TRUNK_ID, 'sub_ports': [{'port_id': SP1}]}
        p = dict(bound_parent(), trunk_details=details)
        self.driver._port_updated(None, None, None,
                                  payload([p, dict(p, name='renamed')]))
        self.assertEqual(core.updates, [])
        self.assertEqual(self.statuses, [TRUNK_ID])

    def test_an_ordinary_port_update_is_none_of_the_drivers_business(self):
        core = self.core(bound_parent())
        p = port('eeeeeeee-4444-4444-4444-444444444444', 'compute1',
                 'vhostuser', 'ACTIVE', 'compute:nova')
        self.driver._port_updated(None, None, None,
                                  payload([p, dict(p, status='DOWN')]))
        self.assertEqual((core.updates, self.statuses), ([], []))


class StatusTest(unittest.TestCase):

    def status(self, parent, *subs):
        return trunk.trunk_status(parent, list(subs))

    def test_down_while_the_parent_is_not_active(self):
        self.assertEqual(self.status(None), 'DOWN')
        self.assertEqual(self.status({'status': 'BUILD'},
                                     {'status': 'ACTIVE'}), 'DOWN')

    def test_build_while_a_sub_port_is_not_active_yet(self):
        self.assertEqual(self.status({'status': 'ACTIVE'},
                                     {'status': 'ACTIVE'},
                                     {'status': 'DOWN'}), 'BUILD')

    def test_degraded_when_a_sub_port_failed_to_bind_or_is_in_error(self):
        failed = {'status': 'DOWN',
                  portbindings.VIF_TYPE: portbindings.VIF_TYPE_BINDING_FAILED}
        self.assertEqual(self.status({'status': 'ACTIVE'}, failed),
                         'DEGRADED')
        self.assertEqual(self.status({'status': 'ACTIVE'},
                                     {'status': 'ACTIVE'},
                                     {'status': 'ERROR'}), 'DEGRADED')

    def test_active_when_all_are_active(self):
        self.assertEqual(self.status({'status': 'ACTIVE'}), 'ACTIVE')
        self.assertEqual(self.status({'status': 'ACTIVE'},
                                     {'status': 'ACTIVE'}), 'ACTIVE')


class UpdateStatusTest(unittest.TestCase):

    def setUp(self):
        self.driver = trunk.NetvppTrunkDriver.create()
        writer = mock.patch.object(trunk.db_api.CONTEXT_WRITER, 'using',
                                   lambda ctx: contextlib.nullcontext())
        writer.start()
        self.addCleanup(writer.stop)

    def run_with(self, trunk_obj, ports):
        core = FakeCore({p['id']: p for p in ports})
        with mock.patch.object(trunk.NetvppTrunkDriver, '_core',
                               new_callable=mock.PropertyMock,
                               return_value=core), \
                mock.patch.object(trunk.trunk_objects.Trunk, 'get_object',
                                  return_value=trunk_obj):
            self.driver._update_status('admin', TRUNK_ID)

    def test_the_trunk_is_updated_only_when_its_status_changes(self):
        t = mock.Mock(port_id=PARENT, sub_ports=[subport(SP1, 10)],
                      status='BUILD')
        self.run_with(t, [bound_parent(),
                          port(SP1, 'compute1', 'subport', 'ACTIVE')])
        t.update.assert_called_once_with(status='ACTIVE')
        t = mock.Mock(port_id=PARENT, sub_ports=[subport(SP1, 10)],
                      status='ACTIVE')
        self.run_with(t, [bound_parent(),
                          port(SP1, 'compute1', 'subport', 'ACTIVE')])
        t.update.assert_not_called()

    def test_a_trunk_gone_meanwhile_is_left_alone(self):
        self.run_with(None, [bound_parent()])  # no error


class SubportRowTest(unittest.TestCase):
    """A sub-port's journal row (the mech driver's, in ML2's transaction of
    the binding) carries its trunk membership; once removed (device_owner
    cleared) it carries none, so the controller deletes its binding."""

    NETWORK = {'id': 'net-sub', 'mtu': 1500}
    SEGMENT = {api.ID: 'seg-20', api.NETWORK_TYPE: 'vlan',
               api.PHYSICAL_NETWORK: 'physnet1', api.SEGMENTATION_ID: 220}
    MEMBERSHIP = payloads.subport_summary(TRUNK_ID, PARENT, 'vlan', 20)

    def context(self, owner, host):
        current = port(SP1, host, 'subport' if host else 'unbound',
                       owner=owner)
        return types.SimpleNamespace(
            current=current, _plugin_context=types.SimpleNamespace(
                session='session'),
            network=types.SimpleNamespace(current=self.NETWORK,
                                          network_segments=[self.SEGMENT]),
            bottom_bound_segment=self.SEGMENT if host else None,
            binding_levels=[], vif_type=current[portbindings.VIF_TYPE])

    def journaled(self, ctx):
        d = mech_driver.NetvppMechanismDriver()
        with mock.patch.object(journal, 'record') as record, \
                mock.patch.object(payloads, 'subport_of',
                                  return_value=self.MEMBERSHIP) as of, \
                mock.patch.object(payloads, 'inactive_bindings',
                                  return_value=[]), \
                mock.patch.object(d, '_track_binding'), \
                mock.patch.object(d, '_mark_l3'):
            d.update_port_precommit(ctx)
        (session, resource, op, rid, data), _ = record.call_args
        self.assertEqual((session, resource, op, rid),
                         ('session', journal.PORT, journal.UPDATE, SP1))
        return data, of

    def test_a_bound_sub_port_row_carries_its_parent_and_vlan(self):
        data, of = self.journaled(self.context(
            trunk_consts.TRUNK_SUBPORT_OWNER, 'compute1'))
        of.assert_called_once_with('session', SP1)
        self.assertEqual(data['netvpp:subport'], {
            'trunk_id': TRUNK_ID, 'parent_port_id': PARENT,
            'segmentation_type': 'vlan', 'segmentation_id': 20})

    def test_a_removed_sub_port_row_carries_no_membership(self):
        data, of = self.journaled(self.context('', ''))
        of.assert_not_called()
        self.assertIsNone(data['netvpp:subport'])

    def test_only_a_trunk_subport_owner_carries_a_membership(self):
        # A port that is no sub-port never carries one, even if handed one.
        data = payloads.port_data(port(SP1, owner='compute:nova'),
                                  self.NETWORK, None, [self.SEGMENT],
                                  subport=self.MEMBERSHIP)
        self.assertIsNone(data['netvpp:subport'])

    def test_sub_ports_bind_with_their_own_vif_type(self):
        self.assertEqual(mech_driver.vif_type_for(
            {'device_owner': trunk_consts.TRUNK_SUBPORT_OWNER}), 'subport')
