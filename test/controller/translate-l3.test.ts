// Routers and floating IPs as the L3 plugin journals them → RouterDoc / FloatingIpDoc on the router's
// host, and the gateway port's binding (role gateway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type FloatingIpDoc, keys, type PortBinding, type RouterDoc } from '../../src/model/keyspace.ts';
import { Overlay, translateBatch, type WriteOp } from '../../src/controller/apply-records.ts';
import { portRow, row, uid } from './fixtures.ts';

const NOW = '2025-01-01T00:00:00.000Z';
const ROUTER = uid(500);
const GW_PORT = uid(501);
const EXT_NET = uid(502);
const EXT_SUB = uid(503);
const EXT_SUB6 = uid(504);
const FIP = uid(505);
const VM_PORT = uid(506);

function controller() {
  const view = new Overlay();
  return {
    view,
    apply(...rows: unknown[]) {
      return translateBatch(rows, view, { now: NOW });
    },
  };
}

function puts(ops: WriteOp[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const o of ops) if (o.op === 'put' && !o.key.startsWith('neutron/')) m.set(o.key, JSON.parse(o.value));
  return m;
}

const deletes = (ops: WriteOp[]): string[] => ops.flatMap((o) => (o.op === 'delete' ? [o.key] : []));

/** A router as the L3 plugin journals it: Neutron's dict plus its host and gateway details. */
function routerDict(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: ROUTER,
    name: 'r1',
    admin_state_up: true,
    status: 'ACTIVE',
    revision_number: 4,
    external_gateway_info: {
      network_id: EXT_NET,
      enable_snat: true,
      external_fixed_ips: [
        { subnet_id: EXT_SUB, ip_address: '203.0.113.10' },
        { subnet_id: EXT_SUB6, ip_address: '2001:db8:e::10' },
      ],
    },
    routes: [],
    'netvpp:host': 'net1',
    'netvpp:gateway_port_id': GW_PORT,
    'netvpp:subnets': {
      [EXT_SUB]: { cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1' },
      [EXT_SUB6]: { cidr: '2001:db8:e::/64', gateway_ip: '2001:db8:e::1' },
    },
    ...over,
  };
}

const routerRow = (over: Record<string, unknown> = {}) => row('router', 'update', routerDict(over));

function fipDict(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: FIP,
    floating_ip_address: '203.0.113.50',
    floating_network_id: EXT_NET,
    router_id: ROUTER,
    port_id: VM_PORT,
    fixed_ip_address: '10.0.0.5',
    status: 'DOWN',
    revision_number: 2,
    'netvpp:host': 'net1',
    ...over,
  };
}

const fipRow = (over: Record<string, unknown> = {}) => row('floatingip', 'update', fipDict(over));

test('a router with a gateway is a RouterDoc on its host: gateway port, SNAT, addresses, one next hop per family', () => {
  const r = controller().apply(routerRow());
  assert.deepEqual(r.rejected, []);
  const doc = puts(r.ops).get(keys.router('net1', ROUTER)) as RouterDoc;
  assert.deepEqual(doc, {
    router_id: ROUTER,
    admin_state_up: true,
    ha: false,
    gateway: {
      port_id: GW_PORT,
      network_id: EXT_NET,
      next_hops: ['203.0.113.1', '2001:db8:e::1'],
      snat: true,
      addresses: ['203.0.113.10/24', '2001:db8:e::10/64'],
    },
    routes: [],
    revision: 4,
  });
});

test('extra routes with one destination become one ECMP route with sorted next hops', () => {
  const r = controller().apply(
    routerRow({
      routes: [
        { destination: '192.168.0.0/16', nexthop: '10.0.0.20' },
        { destination: '172.16.0.0/12', nexthop: '10.0.0.9' },
        { destination: '192.168.0.0/16', nexthop: '10.0.0.3' },
        { destination: '2001:db8:99::/48', nexthop: '2001:db8::7' },
      ],
    }),
  );
  const doc = puts(r.ops).get(keys.router('net1', ROUTER)) as RouterDoc;
  assert.deepEqual(doc.routes, [
    { destination: '172.16.0.0/12', nexthops: ['10.0.0.9'] },
    { destination: '192.168.0.0/16', nexthops: ['10.0.0.3', '10.0.0.20'] },
    { destination: '2001:db8:99::/48', nexthops: ['2001:db8::7'] },
  ]);
});

test('SNAT off and the gateway cleared are rewritten; a router without a host has no document', () => {
  const c = controller();
  c.apply(routerRow());
  const noSnat = c.apply(
    routerRow({
      revision_number: 5,
      external_gateway_info: { ...(routerDict().external_gateway_info as object), enable_snat: false },
    }),
  );
  assert.equal((puts(noSnat.ops).get(keys.router('net1', ROUTER)) as RouterDoc).gateway?.snat, false);
  const cleared = c.apply(
    routerRow({
      revision_number: 6,
      external_gateway_info: null,
      'netvpp:gateway_port_id': null,
      'netvpp:subnets': {},
    }),
  );
  assert.equal((puts(cleared.ops).get(keys.router('net1', ROUTER)) as RouterDoc).gateway, null);
  // A new router that has neither interfaces nor a gateway is on no host yet.
  const other = uid(510);
  const none = c.apply(
    row(
      'router',
      'create',
      routerDict({
        id: other,
        'netvpp:host': null,
        external_gateway_info: null,
        'netvpp:gateway_port_id': null,
      }),
    ),
  );
  assert.deepEqual(none.rejected, []);
  assert.deepEqual([...puts(none.ops).keys()], []);
});

test('a status-only change of the router writes no document; a delete removes it', () => {
  const c = controller();
  c.apply(routerRow());
  const bump = c.apply(routerRow({ revision_number: 9, status: 'ERROR', name: 'renamed' }));
  assert.deepEqual([...puts(bump.ops).keys()], []);
  const del = c.apply(row('router', 'delete', null, 10, ROUTER));
  assert.deepEqual(deletes(del.ops), [keys.router('net1', ROUTER)]);
  // A late row for the deleted router brings nothing back.
  assert.deepEqual(puts(c.apply(routerRow({ revision_number: 11 })).ops).size, 0);
});

test('an associated floating IP is a static mapping on its router host; disassociated, it has no key', () => {
  const c = controller();
  c.apply(routerRow());
  const r = c.apply(fipRow());
  assert.deepEqual(r.rejected, []);
  const key = keys.floatingIp('net1', FIP);
  assert.deepEqual(puts(r.ops).get(key) as FloatingIpDoc, {
    id: FIP,
    router_id: ROUTER,
    floating_ip: '203.0.113.50',
    fixed_ip: '10.0.0.5',
    port_id: VM_PORT,
    revision: 2,
  });
  const off = c.apply(fipRow({ revision_number: 3, port_id: null, fixed_ip_address: null, router_id: null }));
  assert.deepEqual(deletes(off.ops), [key]);
  // Created unassociated: nothing at all.
  const fresh = c.apply(
    row(
      'floatingip',
      'create',
      fipDict({ id: uid(520), port_id: null, fixed_ip_address: null, router_id: null }),
    ),
  );
  assert.deepEqual([...puts(fresh.ops).keys()], []);
});

test('the router record decides where its floating IPs go, and they move with the router', () => {
  const c = controller();
  c.apply(routerRow());
  // The driver read another host (a race with a move): the controller's router record wins.
  const r = c.apply(fipRow({ 'netvpp:host': 'net9' }));
  assert.ok(puts(r.ops).has(keys.floatingIp('net1', FIP)));
  const moved = c.apply(routerRow({ revision_number: 7, 'netvpp:host': 'net2' }));
  assert.deepEqual(
    deletes(moved.ops).sort(),
    [keys.floatingIp('net1', FIP), keys.router('net1', ROUTER)].sort(),
  );
  const p = puts(moved.ops);
  assert.ok(p.has(keys.router('net2', ROUTER)));
  assert.equal((p.get(keys.floatingIp('net2', FIP)) as FloatingIpDoc).floating_ip, '203.0.113.50');
  // The floating IP's own next row keeps it there.
  const again = c.apply(fipRow({ revision_number: 3, 'netvpp:host': 'net2' }));
  assert.deepEqual([...puts(again.ops).keys(), ...deletes(again.ops)], []);
});

test("without the router's record a floating IP goes to the host the driver read", () => {
  const r = controller().apply(fipRow({ 'netvpp:host': 'net3' }));
  assert.ok(puts(r.ops).has(keys.floatingIp('net3', FIP)));
});

test('the gateway port is a router binding with role gateway and its external addresses', () => {
  const r = controller().apply(
    portRow({
      id: GW_PORT,
      network_id: EXT_NET,
      device_owner: 'network:router_gateway',
      device_id: ROUTER,
      fixed_ips: [{ subnet_id: EXT_SUB, ip_address: '203.0.113.10' }],
      security_groups: [],
      'binding:host_id': 'net1',
      'binding:vif_type': 'router',
      'binding:vif_details': { port_filter: false, connectivity: 'l2' },
      'netvpp:network': {
        id: EXT_NET,
        network_type: 'flat',
        physical_network: 'ext',
        segmentation_id: null,
        mtu: 1500,
      },
      'netvpp:subnets': { [EXT_SUB]: '203.0.113.0/24' },
    }),
  );
  assert.deepEqual(r.rejected, []);
  const b = puts(r.ops).get(keys.portBinding('net1', GW_PORT)) as PortBinding;
  assert.deepEqual(b.router, { router_id: ROUTER, addresses: ['203.0.113.10/24'], role: 'gateway' });
  assert.equal(b.port_security_enabled, false);
});

function gatewayPortRow(over: Record<string, unknown> = {}): unknown {
  return portRow({
    id: GW_PORT,
    network_id: EXT_NET,
    device_owner: 'network:router_gateway',
    device_id: ROUTER,
    fixed_ips: [{ subnet_id: EXT_SUB, ip_address: '203.0.113.10' }],
    security_groups: [],
    'binding:host_id': 'net1',
    'binding:vif_type': 'router',
    'binding:vif_details': { port_filter: false, connectivity: 'l2' },
    'netvpp:network': {
      id: EXT_NET,
      network_type: 'flat',
      physical_network: 'ext',
      segmentation_id: null,
      mtu: 1500,
    },
    'netvpp:subnets': { [EXT_SUB]: '203.0.113.0/24' },
    ...over,
  });
}

test("an HA router: its document, its ports' bindings and its floating IPs on both hosts", () => {
  const c = controller();
  const r = c.apply(routerRow({ ha: true, 'netvpp:standby_host': 'net2' }));
  const p = puts(r.ops);
  assert.equal((p.get(keys.router('net1', ROUTER)) as RouterDoc).ha, true);
  assert.deepEqual(p.get(keys.router('net2', ROUTER)), p.get(keys.router('net1', ROUTER)));
  const port = puts(c.apply(gatewayPortRow()).ops);
  assert.deepEqual(
    [...port.keys()].sort(),
    [keys.portBinding('net1', GW_PORT), keys.portBinding('net2', GW_PORT)].sort(),
  );
  const fip = puts(c.apply(fipRow()).ops);
  assert.deepEqual(
    [...fip.keys()].sort(),
    [keys.floatingIp('net1', FIP), keys.floatingIp('net2', FIP)].sort(),
  );
  // net1 died: the plugin makes net2 the host and net3 the standby; everything follows.
  const moved = c.apply(
    routerRow({ ha: true, revision_number: 8, 'netvpp:host': 'net2', 'netvpp:standby_host': 'net3' }),
  );
  assert.deepEqual(
    deletes(moved.ops).sort(),
    [keys.router('net1', ROUTER), keys.portBinding('net1', GW_PORT), keys.floatingIp('net1', FIP)].sort(),
  );
  const added = [...puts(moved.ops).keys()].sort();
  assert.deepEqual(
    added,
    [keys.router('net3', ROUTER), keys.portBinding('net3', GW_PORT), keys.floatingIp('net3', FIP)].sort(),
    'what stays on net2 is not rewritten',
  );
  // The port's own next row (bound to net2 now) keeps the spread: nothing deleted or moved.
  const again = c.apply(gatewayPortRow({ revision_number: 12, 'binding:host_id': 'net2' }));
  assert.deepEqual(again.rejected, []);
  assert.deepEqual(deletes(again.ops), []);
  assert.deepEqual(
    Object.keys(c.view.get('port', GW_PORT)?.owns ?? {}).sort(),
    [keys.portBinding('net2', GW_PORT), keys.portBinding('net3', GW_PORT)].sort(),
  );
});

test("a router moved off a dead host takes its ports' bindings along before their rows come", () => {
  const c = controller();
  c.apply(routerRow());
  c.apply(gatewayPortRow());
  const moved = c.apply(routerRow({ revision_number: 9, 'netvpp:host': 'net2' }));
  assert.ok(deletes(moved.ops).includes(keys.portBinding('net1', GW_PORT)));
  assert.ok(puts(moved.ops).has(keys.portBinding('net2', GW_PORT)));
});

test('bad router and floating IP rows are rejected with the reason; the rows after them are applied', () => {
  const c = controller();
  const r = c.apply(
    routerRow({ 'netvpp:gateway_port_id': null }),
    routerRow({ id: uid(530), 'netvpp:subnets': {} }),
    routerRow({ id: uid(531), routes: [{ destination: '10.9.0.0/16', nexthop: '2001:db8::1' }] }),
    routerRow({ id: uid(532), routes: [{ destination: 'nowhere', nexthop: '10.0.0.1' }] }),
    fipRow({ id: uid(533), 'netvpp:host': null, router_id: uid(599) }),
    fipRow({ id: uid(534), fixed_ip_address: '2001:db8::5' }),
    routerRow({ id: uid(535), 'netvpp:host': 'bad/host' }),
    fipRow({ id: uid(536) }),
  );
  assert.equal(r.done.length, 8);
  const errors = r.rejected.map((x) => x.error);
  assert.equal(errors.length, 7, errors.join('\n'));
  assert.match(errors[0], /needs netvpp:gateway_port_id/);
  assert.match(errors[1], /netvpp:subnets has no CIDR for gateway subnet/);
  assert.match(
    errors[2],
    /extra route 10\.9\.0\.0\/16 via 2001:db8::1: the next hop is not of the destination's family/,
  );
  assert.match(errors[3], /^invalid router: routes\[0\]\.destination: not a CIDR/);
  assert.match(errors[4], /its router .* has no host/);
  assert.match(errors[5], /floating IPs are IPv4/);
  assert.match(errors[6], /netvpp:host "bad\/host" can't be used in a key/);
  assert.ok(puts(r.ops).has(keys.floatingIp('net1', uid(536))), 'the good row after them was applied');
});
