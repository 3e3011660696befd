// End to end for trunks (VLAN-aware VMs, docs/trunks.md): the openstack CLI against a real
// neutron-server (Debian's Zed, ML2 + netvpp, Neutron's trunk service plugin with netvpp's trunk
// driver), the controller, etcd and an agent on a simulator. A trunk on a running VM's port: each
// sub-port bound on the parent's host and ACTIVE once its VLAN sub-interface of the parent is in
// place in its own network's bridge; sub-ports added and removed on the live trunk; the trunk's
// status following its ports. Skips, with the reason, where neutron-server is not installed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite, type NeutronPort } from './neutron-suite.ts';

const skip = neutronUnavailableReason();

interface Trunk {
  id: string;
  status: string;
  port_id: string;
  sub_ports: { port_id: string; segmentation_type: string; segmentation_id: number }[];
}

interface FullPort extends NeutronPort {
  device_owner: string;
  'binding:host_id': string;
  'binding:vif_type': string;
}

describe('Neutron end to end: trunks', { skip: skip ?? false }, () => {
  const suite = neutronSuite([{ host: 'compute1', physnets: ['physnet1'] }]);
  const { os, osJson, converge, portStatus } = suite;

  const port = async (id: string): Promise<FullPort> =>
    (await suite.neutron.api<{ port: FullPort }>('GET', `/ports/${id}`)).port;
  const trunkStatus = (id: string, status: string) =>
    converge(`trunk ${id} to be ${status}`, async () => {
      const t = (await suite.neutron.api<{ trunk: Trunk }>('GET', `/trunks/${id}`)).trunk;
      return t.status === status ? t : undefined;
    });

  it('neutron-server loads the trunk plugin with netvpp’s driver', async () => {
    const ext = await osJson<{ Alias: string }[]>('extension', 'list', '--network');
    assert.ok(
      ext.some((e) => e.Alias === 'trunk'),
      'the trunk extension is served',
    );
    assert.ok(
      suite.neutron.serverLogLines().some((l) => /netvpp trunk driver registered/.test(l)),
      'netvpp’s trunk driver registered with the plugin',
    );
  });

  it('trunk create / set --subport / unset --subport: sub-ports ACTIVE on the parent’s host, one VLAN sub-interface each', async () => {
    const nets: Record<string, string> = {};
    for (const [name, cidr] of [
      ['e2e-tr-parent', '10.60.0.0/24'],
      ['e2e-tr-a', '10.61.0.0/24'],
      ['e2e-tr-b', '10.62.0.0/24'],
    ]) {
      nets[name] = (await osJson<{ id: string }>('network', 'create', name)).id;
      await os('subnet', 'create', '--network', name, '--subnet-range', cidr, `${name}-sub`);
    }
    const parent = await osJson<NeutronPort>('port', 'create', '--network', 'e2e-tr-parent', 'e2e-tr-p');
    const sa = await osJson<NeutronPort>('port', 'create', '--network', 'e2e-tr-a', 'e2e-tr-sa');
    const sb = await osJson<NeutronPort>('port', 'create', '--network', 'e2e-tr-b', 'e2e-tr-sb');
    // The VM runs: its port is bound and ACTIVE before the trunk exists (a trunk on a bound port).
    await os('port', 'set', '--host', 'compute1', parent.id);
    await portStatus(parent.id, 'ACTIVE');

    const created = await osJson<Trunk>(
      'network',
      'trunk',
      'create',
      '--parent-port',
      'e2e-tr-p',
      '--subport',
      'port=e2e-tr-sa,segmentation-type=vlan,segmentation-id=10',
      'e2e-trunk',
    );
    await portStatus(sa.id, 'ACTIVE');
    const pa = await port(sa.id);
    assert.deepEqual(
      [pa['binding:host_id'], pa.device_owner, pa['binding:vif_type']],
      ['compute1', 'trunk:subport', 'subport'],
      'the sub-port bound on its parent’s host, as a sub-port',
    );
    const ba = await suite.stack.etcdGet<PortBinding>(keys.portBinding('compute1', sa.id));
    assert.deepEqual(ba?.subport, {
      trunk_id: created.id,
      parent_port_id: parent.id,
      segmentation_type: 'vlan',
      segmentation_id: 10,
    });
    assert.equal(ba?.network_id, nets['e2e-tr-a'], 'in its own network');
    assert.equal(ba?.mac, sa.mac_address);
    await trunkStatus(created.id, 'ACTIVE');

    const node = suite.stack.agents.get('compute1');
    const subifs = async () => (await node?.subInterfaces?.(parent.id)) ?? undefined;
    if (node?.subInterfaces) {
      assert.deepEqual(await subifs(), [
        {
          tag: `netvpp:subport:${sa.id}`,
          vlan: 10,
          pop: true,
          adminUp: true,
          bridge: `netvpp:bd:${nets['e2e-tr-a']}`,
        },
      ]);
    }

    // A sub-port added to the live trunk: one sub-interface more, nothing else made again.
    const vhosts = node?.vppCalls?.('create_vhost_user_if_v2') ?? 0;
    await os(
      'network',
      'trunk',
      'set',
      '--subport',
      'port=e2e-tr-sb,segmentation-type=vlan,segmentation-id=20',
      'e2e-trunk',
    );
    await portStatus(sb.id, 'ACTIVE');
    await trunkStatus(created.id, 'ACTIVE');
    if (node?.subInterfaces) {
      assert.deepEqual(
        (await subifs())?.map((s) => [s.vlan, s.tag, s.bridge]),
        [
          [10, `netvpp:subport:${sa.id}`, `netvpp:bd:${nets['e2e-tr-a']}`],
          [20, `netvpp:subport:${sb.id}`, `netvpp:bd:${nets['e2e-tr-b']}`],
        ],
      );
      // (create_vlan_subif is not counted: the sub-port's network may need its uplink VLAN too)
      assert.equal(node.vppCalls?.('create_vhost_user_if_v2'), vhosts, 'the parent’s interface left alone');
    }
    const shown = await osJson<{ sub_ports: Trunk['sub_ports'] }>('network', 'trunk', 'show', 'e2e-trunk');
    assert.deepEqual(
      shown.sub_ports.map((s) => [s.port_id, s.segmentation_id]).sort((a, b) => Number(a[1]) - Number(b[1])),
      [
        [sa.id, 10],
        [sb.id, 20],
      ],
    );

    // A sub-port removed: unbound, its binding gone from the host, the other one untouched.
    await os('network', 'trunk', 'unset', '--subport', 'e2e-tr-sa', 'e2e-trunk');
    await converge('sub-port a unbound and DOWN', async () => {
      const p = await port(sa.id);
      return p['binding:host_id'] === '' && p.status === 'DOWN' && p.device_owner === '' ? p : undefined;
    });
    await converge('its binding gone from compute1', async () =>
      (await suite.stack.etcdGet(keys.portBinding('compute1', sa.id))) === undefined ? true : undefined,
    );
    if (node?.subInterfaces)
      await converge('only VLAN 20 left on the parent', async () => {
        const s = await subifs();
        return s?.length === 1 && s[0].vlan === 20 && s[0].adminUp ? true : undefined;
      });
    assert.equal((await port(sb.id)).status, 'ACTIVE');
    await trunkStatus(created.id, 'ACTIVE');

    // The trunk deleted: its last sub-port unbound, the parent stays.
    await os('network', 'trunk', 'delete', 'e2e-trunk');
    await converge('sub-port b unbound', async () =>
      (await port(sb.id))['binding:host_id'] === '' ? true : undefined,
    );
    if (node?.subInterfaces)
      await converge('no sub-interface left', async () =>
        (await subifs())?.length === 0 ? true : undefined,
      );
    assert.equal((await port(parent.id)).status, 'ACTIVE');
    for (const id of [sa.id, sb.id, parent.id]) await os('port', 'delete', id);
    for (const name of Object.keys(nets)) await os('network', 'delete', name);
  });
});
