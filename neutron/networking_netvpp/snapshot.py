"""Neutron's complete state, as POST /v1/sync wants it.

Everything is read in one database transaction, so on MySQL/MariaDB
(REPEATABLE READ) it is one consistent view. Each resource is shaped exactly
as its journal row would be (payloads.py): ports with their binding and
`netvpp:network` (the bottom bound segment of their binding on
`binding:host_id`, else the network's first segment), networks with
`netvpp:segments`, security groups with all their rules, routers and
floating IPs as l3_payloads reads them for their journal rows.
"""
from neutron.db import segments_db
from neutron.plugins.ml2 import models as ml2_models
from neutron_lib.db import api as db_api
from neutron_lib.plugins import directory

from networking_netvpp import bindings
from networking_netvpp import l3_payloads
from networking_netvpp import payloads
from networking_netvpp import qos
from networking_netvpp import secgroups


def bottom_levels(context, ports):
    """{port_id: segment_id} of the last binding level on each port's host."""
    hosts = {p['id']: p.get('binding:host_id') for p in ports
             if p.get('binding:host_id')}
    if not hosts:
        return {}
    rows = context.session.query(
        ml2_models.PortBindingLevel.port_id,
        ml2_models.PortBindingLevel.host,
        ml2_models.PortBindingLevel.level,
        ml2_models.PortBindingLevel.segment_id).all()
    best = {}
    for port_id, host, level, segment_id in rows:
        if hosts.get(port_id) != host:
            continue  # an inactive binding (live migration target) or stale
        if port_id not in best or level > best[port_id][0]:
            best[port_id] = (level, segment_id)
    return {port_id: seg for port_id, (level, seg) in best.items()}


def build(networks, ports, groups, segments, levels, all_segments,
          cidrs=None, routers=(), floatingips=(), inactive=None,
          subports=None, qos_policies=None, ra_modes=None):
    """Pure: the sync body from what was read.

    segments: {network_id: [static segments in Neutron's order]}
    levels: {port_id: bottom bound segment_id}
    all_segments: {segment_id: segment} (dynamic ones too)
    cidrs: {subnet_id: cidr} (router interfaces carry theirs)
    inactive: {port_id: netvpp:inactive_bindings} (ports with some)
    subports: {port_id: netvpp:subport} (trunk sub-ports)
    qos_policies: as their journal rows (qos.py); None: no QoS plugin
    ra_modes: {subnet_id: ipv6_ra_mode} of the subnets that have one
    """
    nets = {n['id']: n for n in networks}
    out_ports = []
    for port in ports:
        network = nets.get(port['network_id'], {'id': port['network_id']})
        seg_id = levels.get(port['id'])
        bound = all_segments.get(seg_id) if seg_id else None
        out_ports.append(payloads.port_data(
            port, network, bound, segments.get(port['network_id']) or [],
            cidrs, (inactive or {}).get(port['id']),
            (subports or {}).get(port['id']), ra_modes))
    body = {
        'networks': [payloads.network_data(n, segments.get(n['id']))
                     for n in networks],
        'ports': out_ports,
        'security_groups': [payloads.sorted_rules(dict(g)) for g in groups],
        # Already shaped as their journal rows (l3_payloads).
        'routers': list(routers),
        'floatingips': list(floatingips),
    }
    if qos_policies is not None:
        body['qos_policies'] = list(qos_policies)
    return body


def read(context):
    """The sync body, read from Neutron's database in one transaction."""
    plugin = directory.get_plugin()
    with db_api.CONTEXT_READER.using(context):
        networks = plugin.get_networks(context)
        net_ids = [n['id'] for n in networks]
        segments = segments_db.get_networks_segments(context, net_ids)
        every = segments_db.get_networks_segments(context, net_ids,
                                                  filter_dynamic=None)
        all_segments = {s['id']: s for segs in every.values() for s in segs}
        ports = plugin.get_ports(context)
        levels = bottom_levels(context, ports)
        subnets = plugin.get_subnets(
            context, fields=['id', 'cidr', 'ipv6_ra_mode']) \
            if any(payloads.wants_subnets(p) for p in ports) else []
        cidrs = {s['id']: s['cidr'] for s in subnets}
        ra_modes = {s['id']: s['ipv6_ra_mode'] for s in subnets
                    if s.get('ipv6_ra_mode')}
        # An admin context has no project: listing creates no default group.
        groups = plugin.get_security_groups(context) \
            if secgroups.enabled() else []
        inactive = bindings.read_all_inactive(context.session)
        routers = l3_payloads.read_routers(context.session)
        fips = l3_payloads.read_floatingips(context.session)
        subports = payloads.all_subports(context.session)
        policies = qos.read_all(context)
        taas_lists = _read_taas(context.session)
    body = build(networks, ports, groups, segments, levels, all_segments,
                 cidrs, sorted(routers.values(), key=lambda r: r['id']),
                 sorted(fips.values(), key=lambda f: f['id']), inactive,
                 subports, policies, ra_modes)
    if taas_lists is not None:
        body['tap_services'], body['tap_flows'] = taas_lists
    return body


def _read_taas(session):
    """(tap services, tap flows) as their journal rows, or None where the
    netvpp TaaS driver is not loaded (the controller then keeps its own)."""
    from networking_netvpp import journal
    if journal.TAP_FLOW not in journal._builders:
        return None
    from networking_netvpp import taas
    services = taas.read_services(session)
    flows = taas.read_flows(session)
    return (sorted(services.values(), key=lambda s: s['id']),
            sorted(flows.values(), key=lambda f: f['id']))
