// End to end for overlay networks: the openstack CLI against a real neutron-server (Debian's Zed,
// ML2 with Neutron's vxlan type driver and the netvpp driver), the controller, etcd and two agents on
// simulators with VTEPs. Skips, with the reason, where neutron-server is not installed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite, type NeutronPort } from './neutron-suite.ts';

type Port = NeutronPort;

const skip = neutronUnavailableReason();

describe('Neutron end to end: VXLAN networks', { skip: skip ?? false }, () => {
  const suite = neutronSuite([
    { host: 'compute1', physnets: ['physnet1'], vtep: '192.0.2.1' },
    { host: 'compute2', physnets: ['physnet1'], vtep: '192.0.2.2' },
    { host: 'compute3', physnets: ['physnet1'], vtep: '192.0.2.3' },
  ]);
  const { os, osJson, converge, portStatus } = suite;

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
      const b = await suite.stack.etcdGet<PortBinding>(keys.portBinding(host, ports[i].id));
      assert.deepEqual(
        { type: b?.network_type, physnet: b?.physnet, vni: b?.segmentation_id, mtu: b?.mtu },
        { type: 'vxlan', physnet: null, vni, mtu: 1450 },
      );
      assert.deepEqual(await suite.stack.etcdGet(keys.overlayPort(net.id as string, ports[i].id)), {
        host,
        mac: ports[i].mac_address,
        ips: ports[i].fixed_ips.map((f) => f.ip_address),
        revision: b?.revision,
      });
    }
    const n1 = suite.stack.agents.get('compute1');
    const n2 = suite.stack.agents.get('compute2');
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
    const n3 = suite.stack.agents.get('compute3');
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
    assert.equal(await suite.stack.etcdGet(keys.overlayPort(net.id as string, ports[1].id)), undefined);
    await os('port', 'delete', ports[0].id);
    await os('network', 'delete', 'e2e-vx');
  });
});
