// End to end for gpe networks: the openstack CLI against a real neutron-server (Debian's Zed, ML2
// with netvpp's gpe type driver and the netvpp mechanism driver), the controller, etcd and two agents
// on simulators with VTEPs and an underlay interface (what a host needs to offer gpe). Skips, with
// the reason, where neutron-server is not installed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite, type NeutronPort } from './neutron-suite.ts';

type Port = NeutronPort;

const skip = neutronUnavailableReason();

describe('Neutron end to end: gpe networks', { skip: skip ?? false }, () => {
  const suite = neutronSuite([
    { host: 'compute1', physnets: ['physnet1'], vtep: '192.0.2.1' },
    { host: 'compute2', physnets: ['physnet1'], vtep: '192.0.2.2' },
  ]);
  const { os, osJson, converge, portStatus } = suite;

  it('neutron-server loads netvpp’s gpe type driver', () => {
    const log = suite.neutron.serverLogLines();
    const loaded = log.find((l) => /Loaded type driver names:/.test(l));
    assert.ok(loaded, 'neutron-server logs the type drivers it loaded');
    assert.match(loaded, /'gpe'/, loaded);
    assert.ok(
      log.some((l) => /Initializing driver for type 'gpe'/.test(l)),
      'neutron-server initializes the gpe type driver',
    );
  });

  it('a gpe network: ports on two hosts are published to each other, each VPP maps the other’s MAC to its VTEP', async () => {
    const net = await osJson<Record<string, unknown>>(
      'network',
      'create',
      '--provider-network-type',
      'gpe',
      'e2e-gpe',
    );
    const vni = net['provider:segmentation_id'] as number;
    assert.equal(net['provider:network_type'], 'gpe');
    assert.equal(net['provider:physical_network'], null);
    assert.ok(vni >= 7000 && vni <= 7999, `VNI ${vni} from [ml2_type_gpe] vni_ranges`);
    // VXLAN-GPE over IPv4 costs what VXLAN does.
    assert.equal(net.mtu, 1450);
    const shown = await osJson<Record<string, unknown>>('network', 'show', 'e2e-gpe');
    assert.deepEqual(
      [shown['provider:network_type'], shown['provider:segmentation_id'], shown.mtu],
      ['gpe', vni, 1450],
    );
    await os('subnet', 'create', '--network', 'e2e-gpe', '--subnet-range', '10.51.0.0/24', 'e2e-gpe-sub');
    const ports: Port[] = [];
    for (const [i, host] of ['compute1', 'compute2'].entries()) {
      const p = await osJson<Port>('port', 'create', '--network', 'e2e-gpe', `e2e-gpe-p${i + 1}`);
      await os('port', 'set', '--host', host, p.id);
      ports.push(await portStatus(p.id, 'ACTIVE'));
    }
    for (const [i, host] of ['compute1', 'compute2'].entries()) {
      const b = await suite.stack.etcdGet<PortBinding>(keys.portBinding(host, ports[i].id));
      assert.deepEqual(
        { type: b?.network_type, physnet: b?.physnet, vni: b?.segmentation_id, mtu: b?.mtu },
        { type: 'gpe', physnet: null, vni, mtu: 1450 },
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
    if (n1?.gpeRemotes && n2?.gpeRemotes) {
      await converge('each VPP with the other’s port as a remote mapping', async () =>
        JSON.stringify([await n1.gpeRemotes?.(vni), await n2.gpeRemotes?.(vni)]) ===
        JSON.stringify([[`${ports[1].mac_address} 192.0.2.2`], [`${ports[0].mac_address} 192.0.2.1`]])
          ? true
          : undefined,
      );
    }
    // compute2's port goes: compute1 unmaps its MAC.
    await os('port', 'delete', ports[1].id);
    if (n1?.gpeRemotes)
      await converge('compute1 without compute2’s port', async () =>
        (await n1.gpeRemotes?.(vni))?.length === 0 ? true : undefined,
      );
    assert.equal(await suite.stack.etcdGet(keys.overlayPort(net.id as string, ports[1].id)), undefined);
    await os('port', 'delete', ports[0].id);
    await os('network', 'delete', 'e2e-gpe');
  });
});
