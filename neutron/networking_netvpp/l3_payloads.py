"""Routers and floating IPs as their journal rows (and full syncs) carry them.

Both are read from the database with column queries in the session of the
change, just before it commits (journal.py's builders), so a row is the
resource as that transaction leaves it, whatever path changed it (router and
gateway updates, extra routes, floating IP association, a port's deletion
disassociating its floating IPs). Column queries, not ORM objects: the
session's identity map may hold objects that bulk updates left stale.

A router row is Neutron's router dict (external_gateway_info, routes) plus
what the controller needs to write its RouterDoc: `netvpp:host` (the router's
host, netvpp_router_hosts), `netvpp:gateway_port_id` and `netvpp:subnets`
({subnet_id: {cidr, gateway_ip}} of the gateway port's fixed IPs). A floating
IP row is Neutron's dict plus `netvpp:host` (its router's host).
"""
from neutron.db import models_v2
from neutron.db.models import l3 as l3_models
from neutron.db.models import l3_attrs
from neutron_lib.db import standard_attr

from networking_netvpp.db import models

ROUTER = 'router'
FLOATINGIP = 'floatingip'


# ------------------------------------------------------------------ pure
def router_payload(router, host, gw_port, gw_ips, subnets, routes,
                   standby=None):
    """The router row from what was read (standby: an HA router's second
    host; router['ha']: its l3-ha flag).

    router: {id, name, status, admin_state_up, enable_snat, revision_number}
    gw_port: {id, network_id} or None
    gw_ips: [(subnet_id, ip_address)] of the gateway port
    subnets: {subnet_id: {cidr, gateway_ip}} (at least the gateway's)
    routes: [(destination, nexthop)]
    """
    data = {
        'id': router['id'],
        'name': router.get('name'),
        'status': router.get('status'),
        'admin_state_up': bool(router.get('admin_state_up')),
        'revision_number': router.get('revision_number'),
        'external_gateway_info': None,
        # Sorted: journal rows and full syncs describe one router alike.
        'routes': [{'destination': d, 'nexthop': n}
                   for d, n in sorted(set(routes or []))],
        'ha': bool(router.get('ha')),
        'netvpp:host': host,
        'netvpp:standby_host': standby,
        'netvpp:gateway_port_id': None,
        'netvpp:subnets': {},
    }
    if gw_port:
        ips = sorted(gw_ips or [], key=lambda x: (':' in x[1], x[1]))
        data['external_gateway_info'] = {
            'network_id': gw_port['network_id'],
            'enable_snat': bool(router.get('enable_snat', True)),
            'external_fixed_ips': [{'subnet_id': s, 'ip_address': ip}
                                   for s, ip in ips],
        }
        data['netvpp:gateway_port_id'] = gw_port['id']
        data['netvpp:subnets'] = {s: dict(subnets[s]) for s, _ in ips
                                  if s in subnets}
    return data


def floatingip_payload(fip, host):
    """The floating IP row. fip: Neutron's fields (port_id = fixed_port_id)."""
    return {
        'id': fip['id'],
        'floating_ip_address': fip['floating_ip_address'],
        'floating_network_id': fip.get('floating_network_id'),
        'router_id': fip.get('router_id'),
        'port_id': fip.get('port_id'),
        'fixed_ip_address': fip.get('fixed_ip_address'),
        'status': fip.get('status'),
        'revision_number': fip.get('revision_number'),
        'netvpp:host': host if fip.get('router_id') else None,
    }


# -------------------------------------------------------------- database
def _revisions(session, model, ids):
    attr = standard_attr.StandardAttribute
    return dict(session.query(model.id, attr.revision_number).join(
        attr, model.standard_attr_id == attr.id).filter(
        model.id.in_(ids)).all())


def _placements(session, router_ids):
    """{router_id: (host, standby host)}."""
    if not router_ids:
        return {}
    H = models.NetvppRouterHost
    return {r: (h, s) for r, h, s in session.query(
        H.router_id, H.host, H.standby_host).filter(
        H.router_id.in_(router_ids)).all()}


def _hosts(session, router_ids):
    return {r: p[0] for r, p in _placements(session, router_ids).items()}


def _ha(session, router_ids):
    A = l3_attrs.RouterExtraAttributes
    return {r for r, ha in session.query(A.router_id, A.ha).filter(
        A.router_id.in_(router_ids)).all() if ha}


def read_routers(session, router_ids=None):
    """{router_id: row data} of the given routers (all when None)."""
    R = l3_models.Router
    q = session.query(R.id, R.name, R.status, R.admin_state_up,
                      R.gw_port_id, R.enable_snat)
    if router_ids is not None:
        if not router_ids:
            return {}
        q = q.filter(R.id.in_(list(router_ids)))
    rows = q.all()
    ids = [r.id for r in rows]
    if not ids:
        return {}
    revs = _revisions(session, R, ids)
    hosts = _placements(session, ids)
    ha = _ha(session, ids)
    gw_ids = [r.gw_port_id for r in rows if r.gw_port_id]
    gw_nets, gw_ips, subnets = {}, {}, {}
    if gw_ids:
        gw_nets = dict(session.query(models_v2.Port.id,
                                     models_v2.Port.network_id).filter(
            models_v2.Port.id.in_(gw_ids)).all())
        A = models_v2.IPAllocation
        for port_id, subnet_id, ip in session.query(
                A.port_id, A.subnet_id, A.ip_address).filter(
                A.port_id.in_(gw_ids)).all():
            gw_ips.setdefault(port_id, []).append((subnet_id, str(ip)))
        sub_ids = {s for ips in gw_ips.values() for s, _ in ips}
        if sub_ids:
            S = models_v2.Subnet
            for sid, cidr, gw in session.query(
                    S.id, S.cidr, S.gateway_ip).filter(
                    S.id.in_(sub_ids)).all():
                subnets[sid] = {'cidr': str(cidr),
                                'gateway_ip': str(gw) if gw else None}
    routes = {}
    RR = l3_models.RouterRoute
    for rid, dest, hop in session.query(
            RR.router_id, RR.destination, RR.nexthop).filter(
            RR.router_id.in_(ids)).all():
        routes.setdefault(rid, []).append((str(dest), str(hop)))
    out = {}
    for r in rows:
        gw = None
        if r.gw_port_id and r.gw_port_id in gw_nets:
            gw = {'id': r.gw_port_id, 'network_id': gw_nets[r.gw_port_id]}
        router = {'id': r.id, 'name': r.name, 'status': r.status,
                  'admin_state_up': r.admin_state_up,
                  'enable_snat': r.enable_snat, 'ha': r.id in ha,
                  'revision_number': revs.get(r.id)}
        host, standby = hosts.get(r.id, (None, None))
        out[r.id] = router_payload(router, host, gw,
                                   gw_ips.get(r.gw_port_id), subnets,
                                   routes.get(r.id), standby)
    return out


def read_floatingips(session, fip_ids=None):
    """{fip_id: row data} of the given floating IPs (all when None)."""
    F = l3_models.FloatingIP
    q = session.query(F.id, F.floating_ip_address, F.floating_network_id,
                      F.router_id, F.fixed_port_id, F.fixed_ip_address,
                      F.status)
    if fip_ids is not None:
        if not fip_ids:
            return {}
        q = q.filter(F.id.in_(list(fip_ids)))
    rows = q.all()
    if not rows:
        return {}
    revs = _revisions(session, F, [f.id for f in rows])
    hosts = _hosts(session, {f.router_id for f in rows if f.router_id})
    return {f.id: floatingip_payload(
        {'id': f.id, 'floating_ip_address': str(f.floating_ip_address),
         'floating_network_id': f.floating_network_id,
         'router_id': f.router_id, 'port_id': f.fixed_port_id,
         'fixed_ip_address': (str(f.fixed_ip_address)
                              if f.fixed_ip_address else None),
         'status': f.status, 'revision_number': revs.get(f.id)},
        hosts.get(f.router_id)) for f in rows}


def read_router(session, router_id):
    return read_routers(session, [router_id]).get(router_id)


def read_floatingip(session, fip_id):
    return read_floatingips(session, [fip_id]).get(fip_id)
