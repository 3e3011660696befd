"""What netvpp adds to Neutron's dicts, shared by journal rows and full syncs.

A full sync must describe a resource exactly as its journal row would: the
controller recomputes the same revision's keys from either, and a difference
would be written as a change.
"""
import json

from neutron.db import models_v2
from neutron.plugins.ml2 import models as ml2_models
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


def segment_summary(segment, network):
    """`netvpp:network` of a port: its bound segment, or the first."""
    if not segment:
        return {'id': network.get('id'), 'network_type': None,
                'physical_network': None, 'segmentation_id': None,
                'mtu': network.get('mtu')}
    return {
        'id': network.get('id'),
        'network_type': segment.get(api.NETWORK_TYPE),
        'physical_network': segment.get(api.PHYSICAL_NETWORK),
        'segmentation_id': segment.get(api.SEGMENTATION_ID),
        'mtu': network.get('mtu'),
    }


def network_data(network, segments):
    data = dict(network)
    data['netvpp:segments'] = [segment_summary(s, network)
                               for s in (segments or [])]
    return data


def wants_subnets(port):
    """Router interfaces and gateway ports carry their subnets' CIDRs
    (`netvpp:subnets`): the agent gives the port each fixed IP with its
    prefix length."""
    return port.get('device_owner') in (constants.DEVICE_OWNER_ROUTER_INTF,
                                        constants.DEVICE_OWNER_ROUTER_GW)


def subnet_cidrs(session, port):
    """{subnet_id: cidr} of the port's fixed IPs, read in `session`."""
    ids = sorted({f['subnet_id'] for f in port.get('fixed_ips') or []})
    if not ids:
        return {}
    rows = session.query(models_v2.Subnet.id, models_v2.Subnet.cidr).filter(
        models_v2.Subnet.id.in_(ids)).all()
    return {sid: cidr for sid, cidr in rows}


def subnet_ra_modes(session, port):
    """{subnet_id: ipv6_ra_mode} of the port's fixed IPs' subnets that have
    one (`netvpp:ipv6_ra`: the router interface advertises them)."""
    ids = sorted({f['subnet_id'] for f in port.get('fixed_ips') or []})
    if not ids:
        return {}
    rows = session.query(models_v2.Subnet.id,
                         models_v2.Subnet.ipv6_ra_mode).filter(
        models_v2.Subnet.id.in_(ids)).all()
    return {sid: mode for sid, mode in rows if mode}


def inactive_bindings(session, port_id):
    """`netvpp:inactive_bindings`: the port's INACTIVE bindings (Neutron's
    binding-extended; Nova's live migration target, and after activation
    its source until Nova deletes it), by host: {host, vif_type,
    vif_details}. The source's binding is unbound by activation; the
    controller then keeps the port plumbed there as it was."""
    B = ml2_models.PortBinding
    rows = session.query(B.host, B.vif_type, B.vif_details).filter(
        B.port_id == port_id, B.status == constants.INACTIVE).all()
    out = []
    for host, vif_type, details in sorted(rows):
        try:
            details = json.loads(details) if details else {}
        except ValueError:
            details = {}
        out.append({'host': host, 'vif_type': vif_type,
                    'vif_details': details if isinstance(details, dict)
                    else {}})
    return out


TRUNK_SUBPORT_OWNER = 'trunk:subport'


def is_subport(port):
    """Whether the port is bound as a trunk sub-port (the trunk driver
    sets this device_owner; only such ports carry `netvpp:subport`)."""
    return port.get('device_owner') == TRUNK_SUBPORT_OWNER


def subport_of(session, port_id):
    """`netvpp:subport` of a port: its trunk membership as `session` sees
    it ({trunk_id, parent_port_id, segmentation_type, segmentation_id}), or
    None when the port is no trunk's sub-port."""
    from neutron.services.trunk import models as trunk_models
    row = session.query(
        trunk_models.SubPort.trunk_id, trunk_models.Trunk.port_id,
        trunk_models.SubPort.segmentation_type,
        trunk_models.SubPort.segmentation_id).join(
        trunk_models.Trunk,
        trunk_models.Trunk.id == trunk_models.SubPort.trunk_id).filter(
        trunk_models.SubPort.port_id == port_id).first()
    return subport_summary(*row) if row else None


def all_subports(session):
    """{port_id: netvpp:subport} of every trunk sub-port (full syncs)."""
    from neutron.services.trunk import models as trunk_models
    rows = session.query(
        trunk_models.SubPort.port_id, trunk_models.SubPort.trunk_id,
        trunk_models.Trunk.port_id, trunk_models.SubPort.segmentation_type,
        trunk_models.SubPort.segmentation_id).join(
        trunk_models.Trunk,
        trunk_models.Trunk.id == trunk_models.SubPort.trunk_id).all()
    return {r[0]: subport_summary(*r[1:]) for r in rows}


def subport_summary(trunk_id, parent_port_id, segmentation_type,
                    segmentation_id):
    return {'trunk_id': trunk_id, 'parent_port_id': parent_port_id,
            'segmentation_type': segmentation_type,
            'segmentation_id': segmentation_id}


def port_data(port, network, bound_segment, segments, cidrs=None,
              inactive=None, subport=None, ra_modes=None):
    """A port as journal rows carry it: the bound segment, else the first.

    cidrs: {subnet_id: cidr}, at least of the port's subnets (more are
    ignored); used only for router interfaces (wants_subnets).
    subport: its trunk membership (subport_of), for trunk sub-ports.
    ra_modes: {subnet_id: ipv6_ra_mode} (router interfaces: netvpp:ipv6_ra).
    """
    data = dict(port)
    data['netvpp:subport'] = subport if is_subport(port) else None
    segment = bound_segment
    if segment is None:
        segment = segments[0] if segments else None
    data['netvpp:network'] = segment_summary(segment, network)
    data['netvpp:inactive_bindings'] = list(inactive or [])
    if wants_subnets(port):
        cidrs = cidrs or {}
        data['netvpp:subnets'] = {
            f['subnet_id']: cidrs[f['subnet_id']]
            for f in port.get('fixed_ips') or [] if f['subnet_id'] in cidrs}
        modes = ra_modes or {}
        data['netvpp:ipv6_ra'] = {
            f['subnet_id']: modes[f['subnet_id']]
            for f in port.get('fixed_ips') or [] if f['subnet_id'] in modes}
    return data


def sorted_rules(group):
    """A security group with its rules in id order, as journal rows."""
    group['security_group_rules'] = sorted(
        group.get('security_group_rules') or [], key=lambda r: r['id'])
    return group
