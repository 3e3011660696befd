// End to end for routers (L3 phase 1, east-west): the openstack CLI against a real neutron-server
// (Debian's Zed) with the netvpp L3 service plugin and ML2 driver, the controller, etcd and two
// agents on simulators: `net1`, whose VPP has the ip API (it offers the router vif type), and
// `compute1`, whose VPP lacks it. Skips, with the reason, where neutron-server is not installed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FloatingIpDoc, keys, type PortBinding, type RouterDoc } from '../../src/model/keyspace.ts';
import { neutronUnavailableReason, waitFor, type NeutronEnv } from './neutron-harness.ts';
import { NetvppStack } from './netvpp-stack.ts';

interface Port {
  id: string;
  status: string;
  device_owner: string;
  device_id: string;
  network_id: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  'binding:host_id': string;
  'binding:vif_type': string;
}

const skip = neutronUnavailableReason();

describe('Neutron end to end: routers', { skip: skip ?? false }, () => {
  let stack: NetvppStack;
  let neutron: NeutronEnv;
  const os = (...args: string[]): Promise<string> => neutron.openstack(...args);
  const osJson = <T = Record<string, unknown>>(...args: string[]): Promise<T> =>
    neutron.openstackJson<T>(...args);
  const withLogs = (e: unknown): Error =>
    new Error(
      `${e instanceof Error ? e.message : String(e)}\n--- neutron-server.log ---\n${neutron.tailServerLog(30)}` +
        `\n--- controller.log ---\n${stack.controller?.tail(15)}`,
    );
  const converge = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    try {
      return await waitFor(what, probe, 60_000, 250);
    } catch (e) {
      throw withLogs(e);
    }
  };
  const apiPort = async (id: string): Promise<Port> =>
    (await neutron.api<{ port: Port }>('GET', `/ports/${id}`)).port;
  const routerPorts = async (routerId: string): Promise<Port[]> =>
    (await neutron.api<{ ports: Port[] }>('GET', `/ports?device_id=${routerId}`)).ports;
  const binding = (host: string, portId: string): Promise<PortBinding | undefined> =>
    stack.etcdGet<PortBinding>(keys.portBinding(host, portId));

  before(
    async () => {
      stack = await NetvppStack.start({
        agents: [
          { host: 'net1', physnets: ['physnet1'] },
          { host: 'compute1', physnets: ['physnet1'], withoutGroups: ['ip'] },
        ],
        vhostSocketDir: '/run/netvpp-e2e/vhost',
      });
      neutron = stack.neutron as NeutronEnv;
    },
    { timeout: 180_000 },
  );
  after(async () => {
    await stack?.stop();
  });

  it('the hosts say which of them can carry routers', async () => {
    const hosts = await converge('both hosts with their vif types', async () => {
      const r = await stack.controllerFetch('/v1/hosts');
      const list = (await r.json()) as { host: string; vif_types: string[] }[];
      return list.length === 2 ? list : undefined;
    });
    const vifs = Object.fromEntries(hosts.map((h) => [h.host, h.vif_types.includes('router')]));
    assert.deepEqual(vifs, { compute1: false, net1: true });
  });

  it('a router on two subnets: its ports are bound on the router host as vif_type router, with their addresses', async () => {
    const subnets: Record<string, string> = {};
    for (const [name, cidr] of [
      ['e2e-l3-a', '10.60.0.0/24'],
      ['e2e-l3-b', '10.61.0.0/24'],
    ]) {
      await os('network', 'create', name);
      const sub = await osJson('subnet', 'create', '--network', name, '--subnet-range', cidr, `${name}-sub`);
      subnets[name] = sub.id as string;
    }
    const router = await osJson('router', 'create', 'e2e-r1');
    const routerId = router.id as string;
    assert.equal(router.status, 'ACTIVE');
    await os('router', 'add', 'subnet', 'e2e-r1', 'e2e-l3-a-sub');
    await os('router', 'add', 'subnet', 'e2e-r1', 'e2e-l3-b-sub');

    const ports = await routerPorts(routerId);
    assert.equal(ports.length, 2);
    for (const p of ports) {
      assert.equal(p.device_owner, 'network:router_interface');
      assert.deepEqual([p['binding:host_id'], p['binding:vif_type']], ['net1', 'router'], p.id);
    }
    const expected = new Map([
      [subnets['e2e-l3-a'], '10.60.0.1/24'],
      [subnets['e2e-l3-b'], '10.61.0.1/24'],
    ]);
    for (const p of ports) {
      const b = await converge(`the binding of router port ${p.id}`, () => binding('net1', p.id));
      assert.equal(b.vif_type, 'router');
      assert.equal(b.vhostuser, null);
      assert.equal(b.tap, null);
      assert.equal(b.port_security_enabled, false);
      assert.deepEqual(b.security_groups, []);
      assert.deepEqual(b.router, {
        router_id: routerId,
        addresses: [expected.get(p.fixed_ips[0].subnet_id)],
        role: 'interface',
      });
    }
    // ACTIVE only once the agent on net1 reports the router interface ready in VPP.
    for (const p of ports)
      await converge(`router port ${p.id} ACTIVE`, async () =>
        (await apiPort(p.id)).status === 'ACTIVE' ? true : undefined,
      );

    // Removing an interface deletes its port, and with it the binding.
    const portB = ports.find((p) => p.fixed_ips[0].subnet_id === subnets['e2e-l3-b']) as Port;
    await os('router', 'remove', 'subnet', 'e2e-r1', 'e2e-l3-b-sub');
    await converge('the removed interface to leave etcd', async () =>
      (await binding('net1', portB.id)) === undefined ? true : undefined,
    );
    assert.deepEqual(
      (await routerPorts(routerId)).map((p) => p.id),
      ports.filter((p) => p !== portB).map((p) => p.id),
    );
  });

  it('a port added to a router is moved to the router host; a second router goes there too', async () => {
    const port = await osJson<Port>(
      'port',
      'create',
      '--network',
      'e2e-l3-b',
      '--fixed-ip',
      'subnet=e2e-l3-b-sub,ip-address=10.61.0.254',
      '--host',
      'compute1',
      'e2e-r2-port',
    );
    const router = await osJson('router', 'create', 'e2e-r2');
    await os('router', 'add', 'port', 'e2e-r2', port.id);
    const p = await apiPort(port.id);
    assert.deepEqual(
      [p.device_owner, p.device_id, p['binding:host_id'], p['binding:vif_type']],
      ['network:router_interface', router.id, 'net1', 'router'],
    );
    const b = await converge('the binding on net1', () => binding('net1', port.id));
    assert.deepEqual(b.router, { router_id: router.id, addresses: ['10.61.0.254/24'], role: 'interface' });
    assert.equal(await binding('compute1', port.id), undefined);
    await converge(`router port ${port.id} ACTIVE`, async () =>
      (await apiPort(port.id)).status === 'ACTIVE' ? true : undefined,
    );
    await os('router', 'remove', 'port', 'e2e-r2', port.id);
    await converge('the port and its binding gone', async () =>
      (await binding('net1', port.id)) === undefined ? true : undefined,
    );
    await os('router', 'delete', 'e2e-r2');
  });

  it('a host whose VPP cannot route never gets a router port', async () => {
    const p = await osJson<Port>(
      'port',
      'create',
      '--network',
      'e2e-l3-a',
      '--device-owner',
      'network:router_interface',
      '--host',
      'compute1',
      'e2e-not-a-router-host',
    );
    const bound = await apiPort(p.id);
    assert.equal(bound['binding:vif_type'], 'binding_failed');
    assert.deepEqual(await stack.etcdKeys(keys.hostPortBindings('compute1')), []);
    await os('port', 'delete', p.id);
  });

  it('a network the router host cannot reach is refused before any port is made', async () => {
    // physnet2: no agent here has it.
    await os(
      'network',
      'create',
      '--provider-network-type',
      'vlan',
      '--provider-physical-network',
      'physnet2',
      '--provider-segment',
      '300',
      'e2e-l3-p2',
    );
    await os('subnet', 'create', '--network', 'e2e-l3-p2', '--subnet-range', '10.63.0.0/24', 'e2e-l3-p2-sub');
    const r1 = await osJson('router', 'show', 'e2e-r1');
    const before = (await routerPorts(r1.id as string)).length;
    // e2e-r1 lives on net1, which has physnet1 only.
    await assert.rejects(os('router', 'add', 'subnet', 'e2e-r1', 'e2e-l3-p2-sub'), /can not reach network/);
    assert.equal((await routerPorts(r1.id as string)).length, before, 'no half-made router port');
    // A new router whose first interface is there finds no host at all.
    await os('router', 'create', 'e2e-r4');
    await assert.rejects(os('router', 'add', 'subnet', 'e2e-r4', 'e2e-l3-p2-sub'), /No live netvpp host/);
    await os('router', 'delete', 'e2e-r4');
  });

  // External gateways, SNAT, floating IPs and extra routes (phase 2). net1 must offer NAT (feature
  // `nat`, its VPP's NAT44-ED plugin) to be a gateway; the router and floating IP documents are the
  // controller's, their states (and so ACTIVE) the agent's.
  it('an external gateway: the router document on net1 with SNAT and next hop, the gateway port bound as role gateway', async () => {
    await os(
      'network',
      'create',
      '--external',
      '--provider-network-type',
      'flat',
      '--provider-physical-network',
      'physnet1',
      'e2e-ext',
    );
    const extSub = await osJson(
      'subnet',
      'create',
      '--network',
      'e2e-ext',
      '--subnet-range',
      '203.0.113.0/24',
      '--gateway',
      '203.0.113.1',
      '--no-dhcp',
      'e2e-ext-sub',
    );
    const ext = await osJson('network', 'show', 'e2e-ext');
    const r1 = await osJson('router', 'show', 'e2e-r1');
    const routerId = r1.id as string;
    await os('router', 'set', '--external-gateway', 'e2e-ext', 'e2e-r1');
    const [gw] = (await routerPorts(routerId)).filter((p) => p.device_owner === 'network:router_gateway');
    assert.ok(gw, 'a gateway port');
    assert.deepEqual([gw['binding:host_id'], gw['binding:vif_type']], ['net1', 'router']);
    const gwIp = gw.fixed_ips[0].ip_address;
    assert.equal(gw.fixed_ips[0].subnet_id, extSub.id);
    const doc = await converge('the router document with its gateway', async () => {
      const d = await stack.etcdGet<RouterDoc>(keys.router('net1', routerId));
      return d?.gateway ? d : undefined;
    });
    assert.deepEqual(doc.gateway, {
      port_id: gw.id,
      network_id: ext.id,
      next_hops: ['203.0.113.1'],
      snat: true,
      addresses: [`${gwIp}/24`],
    });
    assert.equal(doc.admin_state_up, true);
    const b = await converge('the gateway port binding', () => binding('net1', gw.id));
    assert.deepEqual(b.router, { router_id: routerId, addresses: [`${gwIp}/24`], role: 'gateway' });
    assert.equal(b.network_type, 'flat');
    // ACTIVE once the agent on net1 reports the gateway in place (agent side).
    await converge('the gateway port ACTIVE', async () =>
      (await apiPort(gw.id)).status === 'ACTIVE' ? true : undefined,
    );
    // SNAT off reaches the document.
    await os('router', 'set', '--external-gateway', 'e2e-ext', '--disable-snat', 'e2e-r1');
    await converge('snat off', async () =>
      (await stack.etcdGet<RouterDoc>(keys.router('net1', routerId)))?.gateway?.snat === false
        ? true
        : undefined,
    );
    await os('router', 'set', '--external-gateway', 'e2e-ext', '--enable-snat', 'e2e-r1');
  });

  it('extra routes: two next hops for one destination are one ECMP route', async () => {
    const routerId = (await osJson('router', 'show', 'e2e-r1')).id as string;
    await os(
      'router',
      'set',
      '--route',
      'destination=192.168.50.0/24,gateway=10.60.0.12',
      '--route',
      'destination=192.168.50.0/24,gateway=10.60.0.11',
      '--route',
      'destination=198.51.100.0/24,gateway=203.0.113.1',
      'e2e-r1',
    );
    const doc = await converge('the routes in the router document', async () => {
      const d = await stack.etcdGet<RouterDoc>(keys.router('net1', routerId));
      return d && d.routes.length === 2 ? d : undefined;
    });
    assert.deepEqual(doc.routes, [
      { destination: '192.168.50.0/24', nexthops: ['10.60.0.11', '10.60.0.12'] },
      { destination: '198.51.100.0/24', nexthops: ['203.0.113.1'] },
    ]);
    await os('router', 'unset', '--route', 'destination=192.168.50.0/24,gateway=10.60.0.12', 'e2e-r1');
    await converge('one next hop left', async () => {
      const d = await stack.etcdGet<RouterDoc>(keys.router('net1', routerId));
      const r = d?.routes.find((x) => x.destination === '192.168.50.0/24');
      return r && r.nexthops.length === 1 ? true : undefined;
    });
  });

  it('a floating IP: DOWN, associated → its mapping on the router host, ACTIVE once in place; disassociated → gone', async () => {
    const routerId = (await osJson('router', 'show', 'e2e-r1')).id as string;
    const vm = await osJson<Port>('port', 'create', '--network', 'e2e-l3-a', 'e2e-vm-fip');
    const fip = await osJson('floating', 'ip', 'create', 'e2e-ext');
    const fipId = fip.id as string;
    assert.equal(fip.status, 'DOWN', 'not ACTIVE before anything exists (W24)');
    assert.deepEqual(await stack.etcdKeys(keys.hostFloatingIps('net1')), [], 'unassociated: no mapping');
    await os('floating', 'ip', 'set', '--port', vm.id, fipId);
    const doc = await converge('the floating IP document on net1', () =>
      stack.etcdGet<FloatingIpDoc>(keys.floatingIp('net1', fipId)),
    );
    assert.deepEqual(
      { ...doc, revision: 0 },
      {
        id: fipId,
        router_id: routerId,
        floating_ip: fip.floating_ip_address,
        fixed_ip: vm.fixed_ips[0].ip_address,
        port_id: vm.id,
        revision: 0,
      },
    );
    // ACTIVE only once the agent on net1 reports the static mapping in place (agent side).
    await converge('the floating IP ACTIVE', async () =>
      (await osJson('floating', 'ip', 'show', fipId)).status === 'ACTIVE' ? true : undefined,
    );
    await os('floating', 'ip', 'unset', '--port', fipId);
    await converge('the mapping gone', async () =>
      (await stack.etcdGet(keys.floatingIp('net1', fipId))) === undefined ? true : undefined,
    );
    assert.equal((await osJson('floating', 'ip', 'show', fipId)).status, 'DOWN');
    await os('floating', 'ip', 'delete', fipId);
    await os('port', 'delete', vm.id);
  });

  it('a gateway on a router without interfaces schedules it; one no host can reach is refused', async () => {
    const r = await osJson('router', 'create', '--external-gateway', 'e2e-ext', 'e2e-r5');
    const doc = await converge('the new router on net1', () =>
      stack.etcdGet<RouterDoc>(keys.router('net1', r.id as string)),
    );
    assert.equal(doc.gateway?.next_hops[0], '203.0.113.1');
    const [gw] = await routerPorts(r.id as string);
    assert.equal(gw['binding:host_id'], 'net1');
    // Clearing the gateway: the document says so, the gateway port and its binding go.
    await os('router', 'unset', '--external-gateway', 'e2e-r5');
    await converge('the gateway cleared', async () =>
      (await stack.etcdGet<RouterDoc>(keys.router('net1', r.id as string)))?.gateway === null
        ? true
        : undefined,
    );
    await converge('the gateway binding gone', async () =>
      (await binding('net1', gw.id)) === undefined ? true : undefined,
    );
    await os('router', 'delete', 'e2e-r5');
    await converge('the router document gone', async () =>
      (await stack.etcdGet(keys.router('net1', r.id as string))) === undefined ? true : undefined,
    );
    // physnet2: no host reaches it.
    await os(
      'network',
      'create',
      '--external',
      '--provider-network-type',
      'flat',
      '--provider-physical-network',
      'physnet2',
      'e2e-ext2',
    );
    await os('subnet', 'create', '--network', 'e2e-ext2', '--subnet-range', '198.18.0.0/24', 'e2e-ext2-sub');
    await assert.rejects(
      os('router', 'create', '--external-gateway', 'e2e-ext2', 'e2e-r6'),
      /No live netvpp host can carry router .* that reaches external network .* and offers NAT/,
    );
  });

  it('the l3-ha flag is accepted and kept; changing it is refused', async () => {
    const r = await osJson('router', 'create', '--ha', 'e2e-rha');
    assert.equal(r.ha, true);
    assert.equal((await osJson('router', 'show', 'e2e-rha')).ha, true);
    assert.equal((await osJson('router', 'create', 'e2e-rnoha')).ha, false);
    await assert.rejects(os('router', 'set', '--no-ha', 'e2e-rha'), /does not change the ha flag/);
    await os('router', 'delete', 'e2e-rha', 'e2e-rnoha');
  });

  it('without a live host that can route, adding an interface fails with the reason', async () => {
    await os('network', 'create', 'e2e-l3-c');
    await os('subnet', 'create', '--network', 'e2e-l3-c', '--subnet-range', '10.62.0.0/24', 'e2e-l3-c-sub');
    await os('router', 'create', 'e2e-r3');
    await stack.agents.get('net1')?.stop();
    await converge('net1 gone from the hosts', async () => {
      const list = (await (await stack.controllerFetch('/v1/hosts')).json()) as { host: string }[];
      return list.every((h) => h.host !== 'net1') ? true : undefined;
    });
    await assert.rejects(os('router', 'add', 'subnet', 'e2e-r3', 'e2e-l3-c-sub'), /No live netvpp host/);
    const router = await osJson('router', 'show', 'e2e-r3');
    assert.deepEqual(await routerPorts(router.id as string), [], 'no half-made router port');
  });
});
