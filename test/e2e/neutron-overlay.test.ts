// End to end for overlay networks: the openstack CLI against a real neutron-server (Debian's Zed,
// ML2 with Neutron's vxlan type driver and the netvpp driver), the controller, etcd and two agents on
// simulators with VTEPs. Skips, with the reason, where neutron-server is not installed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import { neutronUnavailableReason, waitFor, type NeutronEnv } from './neutron-harness.ts';
import { NetvppStack } from './netvpp-stack.ts';

interface Port {
  id: string;
  status: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

const skip = neutronUnavailableReason();

describe('Neutron end to end: VXLAN networks', { skip: skip ?? false }, () => {
  let stack: NetvppStack;
  let neutron: NeutronEnv;
  const os = (...args: string[]): Promise<string> => neutron.openstack(...args);
  const osJson = <T = Record<string, unknown>>(...args: string[]): Promise<T> =>
    neutron.openstackJson<T>(...args);
  const converge = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    try {
      return await waitFor(what, probe, 60_000, 250);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- neutron-server.log ---\n${neutron.tailServerLog(25)}` +
          `\n--- controller.log ---\n${stack.controller?.tail(15)}`,
      );
    }
  };
  const portStatus = (id: string, status: string): Promise<Port> =>
    converge(`port ${id} to be ${status}`, async () => {
      const p = (await neutron.api<{ port: Port }>('GET', `/ports/${id}`)).port;
      return p.status === status ? p : undefined;
    });

  before(
    async () => {
      stack = await NetvppStack.start({
        agents: [
          { host: 'compute1', physnets: ['physnet1'], vtep: '192.0.2.1' },
          { host: 'compute2', physnets: ['physnet1'], vtep: '192.0.2.2' },
          { host: 'compute3', physnets: ['physnet1'], vtep: '192.0.2.3' },
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

  it('a VXLAN network: ports on two hosts are published to each other, each VPP tunnels to the other; a third host joins and leaves every flood list', async () => {
    const net = await osJson<Record<string, unknown>>(
      'network',
      'create',
      '--provider-network-type',
      'vxlan',
      'e2e-vx',
    );
    const vni = net['provider:segmentation_id'] as number;
    assert.ok(vni >= 5000 && vni <= 5999, `VNI ${vni} from [ml2_type_vxlan] vni_ranges`);
    // Neutron's vxlan type driver leaves room for the encapsulation.
    assert.equal(net.mtu, 1450);
    await os('subnet', 'create', '--network', 'e2e-vx', '--subnet-range', '10.50.0.0/24', 'e2e-vx-sub');
    const ports: Port[] = [];
    for (const [i, host] of ['compute1', 'compute2'].entries()) {
      const p = await osJson<Port>('port', 'create', '--network', 'e2e-vx', `e2e-vx-p${i + 1}`);
      await os('port', 'set', '--host', host, p.id);
      ports.push(await portStatus(p.id, 'ACTIVE'));
    }
    for (const [i, host] of ['compute1', 'compute2'].entries()) {
      const b = await stack.etcdGet<PortBinding>(keys.portBinding(host, ports[i].id));
      assert.deepEqual(
        { type: b?.network_type, physnet: b?.physnet, vni: b?.segmentation_id, mtu: b?.mtu },
        { type: 'vxlan', physnet: null, vni, mtu: 1450 },
      );
      assert.deepEqual(await stack.etcdGet(keys.overlayPort(net.id as string, ports[i].id)), {
        host,
        mac: ports[i].mac_address,
        ips: ports[i].fixed_ips.map((f) => f.ip_address),
        revision: b?.revision,
      });
    }
    const n1 = stack.agents.get('compute1');
    const n2 = stack.agents.get('compute2');
    if (n1?.vxlanPeers && n2?.vxlanPeers) {
      await converge('a tunnel each way', async () =>
        JSON.stringify([await n1.vxlanPeers?.(vni), await n2.vxlanPeers?.(vni)]) ===
        JSON.stringify([['192.0.2.2'], ['192.0.2.1']])
          ? true
          : undefined,
      );
    }
    // A third host's first port: it joins both flood lists (and has both peers); its last port
    // leaving takes it out again.
    const n3 = stack.agents.get('compute3');
    const p3 = await osJson<Port>('port', 'create', '--network', 'e2e-vx', 'e2e-vx-p3');
    await os('port', 'set', '--host', 'compute3', p3.id);
    await portStatus(p3.id, 'ACTIVE');
    const peers = async () =>
      JSON.stringify([await n1?.vxlanPeers?.(vni), await n2?.vxlanPeers?.(vni), await n3?.vxlanPeers?.(vni)]);
    if (n1?.vxlanPeers && n2?.vxlanPeers && n3?.vxlanPeers) {
      await converge('compute3 in every flood list', async () =>
        (await peers()) ===
        JSON.stringify([
          ['192.0.2.2', '192.0.2.3'],
          ['192.0.2.1', '192.0.2.3'],
          ['192.0.2.1', '192.0.2.2'],
        ])
          ? true
          : undefined,
      );
    }
    await os('port', 'delete', p3.id);
    if (n1?.vxlanPeers && n2?.vxlanPeers && n3?.vxlanPeers) {
      await converge('compute3 out of every flood list', async () =>
        (await peers()) === JSON.stringify([['192.0.2.2'], ['192.0.2.1'], []]) ? true : undefined,
      );
    }
    // compute2's only port goes: compute1 stops flooding to it.
    await os('port', 'delete', ports[1].id);
    if (n1?.vxlanPeers)
      await converge('compute1 without a tunnel', async () =>
        (await n1.vxlanPeers?.(vni))?.length === 0 ? true : undefined,
      );
    assert.equal(await stack.etcdGet(keys.overlayPort(net.id as string, ports[1].id)), undefined);
    await os('port', 'delete', ports[0].id);
    await os('network', 'delete', 'e2e-vx');
  });
});
