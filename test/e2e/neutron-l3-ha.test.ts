// End to end for router failover through Neutron (openstack CLI, real neutron-server with the netvpp
// L3 plugin, controller, etcd, three agents on simulators): an HA router is plumbed on two hosts and
// active on the one whose agent won its etcd election; when that agent dies the other takes over,
// the plugin gives the router a new standby, and its floating IP is ACTIVE on the survivor. A plain
// router whose host dies is moved by the plugin to a live host. Skips where neutron-server is absent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keys, type RouterActive, type RouterDoc } from '../../src/model/keyspace.ts';
import { neutronUnavailableReason, waitFor, type NeutronEnv } from './neutron-harness.ts';
import { NetvppStack } from './netvpp-stack.ts';

interface Port {
  id: string;
  status: string;
  device_owner: string;
  'binding:host_id': string;
}

const skip = neutronUnavailableReason();
const HOSTS = ['net1', 'net2', 'net3'];

describe('Neutron end to end: router rescheduling and HA routers', { skip: skip ?? false }, () => {
  let stack: NetvppStack;
  let neutron: NeutronEnv;
  const os = (...args: string[]): Promise<string> => neutron.openstack(...args);
  const osJson = <T = Record<string, unknown>>(...args: string[]): Promise<T> =>
    neutron.openstackJson<T>(...args);
  const converge = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    try {
      return await waitFor(what, probe, 90_000, 250);
    } catch (e) {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}\n--- neutron-server.log ---\n${neutron.tailServerLog(40)}`,
      );
    }
  };
  const routerPorts = async (routerId: string): Promise<Port[]> =>
    (await neutron.api<{ ports: Port[] }>('GET', `/ports?device_id=${routerId}`)).ports;
  const docHosts = async (routerId: string): Promise<string[]> => {
    const out: string[] = [];
    for (const h of HOSTS) if (await stack.etcdGet<RouterDoc>(keys.router(h, routerId))) out.push(h);
    return out;
  };
  const alive = new Set(HOSTS);
  const kill = async (host: string): Promise<void> => {
    await stack.agents.get(host)?.stop();
    alive.delete(host);
  };

  before(
    async () => {
      stack = await NetvppStack.start({ agents: HOSTS.map((host) => ({ host, physnets: ['physnet1'] })) });
      neutron = stack.neutron as NeutronEnv;
      await os('network', 'create', 'e2e-ha-net');
      await os('subnet', 'create', '--network', 'e2e-ha-net', '--subnet-range', '10.70.0.0/24', 'e2e-ha-sub');
      await os('network', 'create', 'e2e-mv-net');
      await os('subnet', 'create', '--network', 'e2e-mv-net', '--subnet-range', '10.71.0.0/24', 'e2e-mv-sub');
      await os(
        'network',
        'create',
        '--external',
        '--provider-network-type',
        'flat',
        '--provider-physical-network',
        'physnet1',
        'e2e-ha-ext',
      );
      await os(
        'subnet',
        'create',
        '--network',
        'e2e-ha-ext',
        '--subnet-range',
        '203.0.113.0/24',
        '--gateway',
        '203.0.113.1',
        '--no-dhcp',
        'e2e-ha-ext-sub',
      );
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await stack?.stop();
  });

  it('an HA router: two hosts, one active by election; its agent dies, the other takes over with the floating IP ACTIVE', async () => {
    const r = await osJson('router', 'create', '--ha', 'e2e-ha');
    const routerId = r.id as string;
    await os('router', 'add', 'subnet', 'e2e-ha', 'e2e-ha-sub');
    await os('router', 'set', '--external-gateway', 'e2e-ha-ext', 'e2e-ha');
    const pair = await converge('the router document on two hosts', async () => {
      const hs = await docHosts(routerId);
      return hs.length === 2 ? hs : undefined;
    });
    for (const h of pair) assert.equal((await stack.etcdGet<RouterDoc>(keys.router(h, routerId)))?.ha, true);
    const vm = await osJson<{ id: string }>('port', 'create', '--network', 'e2e-ha-net', 'e2e-ha-vm');
    const fip = await osJson('floating', 'ip', 'create', 'e2e-ha-ext');
    const fipId = fip.id as string;
    await os('floating', 'ip', 'set', '--port', vm.id, fipId);
    for (const h of pair)
      await converge(`the floating IP on ${h}`, () => stack.etcdGet(keys.floatingIp(h, fipId)));
    await converge('the floating IP ACTIVE', async () =>
      (await osJson('floating', 'ip', 'show', fipId)).status === 'ACTIVE' ? true : undefined,
    );
    const holder = await converge('an elected active host', async () => {
      const v = await stack.etcdGet<RouterActive>(keys.routerActive(routerId));
      return v?.host;
    });
    assert.ok(pair.includes(holder), `${holder} is one of ${pair.join(', ')}`);
    const survivor = pair.find((h) => h !== holder) as string;
    const third = HOSTS.find((h) => !pair.includes(h)) as string;

    const t0 = Date.now();
    await kill(holder);
    await converge('the survivor elected', async () =>
      (await stack.etcdGet<RouterActive>(keys.routerActive(routerId)))?.host === survivor ? true : undefined,
    );
    const electedMs = Date.now() - t0;
    // The plugin sees the dead host and moves the router: the survivor is its host, the third host
    // its new standby; the ports are bound to the survivor and the floating IP is ACTIVE there.
    await converge('the router on the survivor and the third host', async () => {
      const hs = await docHosts(routerId);
      return hs.sort().join() === [survivor, third].sort().join() ? true : undefined;
    });
    await converge('the router ports bound to the survivor and ACTIVE', async () => {
      const ps = await routerPorts(routerId);
      return ps.length === 2 && ps.every((p) => p['binding:host_id'] === survivor && p.status === 'ACTIVE')
        ? true
        : undefined;
    });
    await converge('the floating IP ACTIVE after the failover', async () =>
      (await osJson('floating', 'ip', 'show', fipId)).status === 'ACTIVE' ? true : undefined,
    );
    console.log(
      `# HA e2e: active agent stopped, survivor elected after ${electedMs} ms; rescheduled in ${Date.now() - t0} ms`,
    );
  });

  it('a plain router whose host dies moves to a live host that can carry it', async () => {
    const r = await osJson('router', 'create', 'e2e-mv');
    const routerId = r.id as string;
    await os('router', 'add', 'subnet', 'e2e-mv', 'e2e-mv-sub');
    await os('router', 'set', '--external-gateway', 'e2e-ha-ext', 'e2e-mv');
    const [host] = await converge('the router placed', async () => {
      const hs = await docHosts(routerId);
      return hs.length === 1 ? hs : undefined;
    });
    assert.ok(alive.has(host));
    const other = [...alive].find((h) => h !== host) as string;
    await kill(host);
    await converge('the router moved to the live host', async () =>
      (await docHosts(routerId)).join() === other ? true : undefined,
    );
    await converge('its ports rebound there and ACTIVE', async () => {
      const ps = await routerPorts(routerId);
      return ps.length === 2 && ps.every((p) => p['binding:host_id'] === other && p.status === 'ACTIVE')
        ? true
        : undefined;
    });
  });
});
