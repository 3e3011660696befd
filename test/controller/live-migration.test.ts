// Nova's live migration as the driver journals it (binding-extended), through the controller into a real
// etcd: the destination is plumbed while inactive, activation flips it, the source goes only with its
// binding.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { keys, PREFIX, type PortBinding } from '../../src/model/keyspace.ts';
import { call, ready, startController } from './helpers.ts';
import { portRow, SG1, uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  ctl = await startController(etcd.endpoints, { id: 'lm' });
  await ready(ctl);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

async function binding(host: string, port: string): Promise<PortBinding | undefined> {
  const { kv } = await store.get(keys.portBinding(host, port));
  return kv ? (JSON.parse(kv.value) as PortBinding) : undefined;
}

async function journal(...rows: unknown[]): Promise<void> {
  const r = await call(ctl.url, 'POST', '/v1/journal', { rows });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.rejected, []);
}

const vhost = (port: string) => ({ vhostuser_socket: `/var/run/netvpp/${port}`, vhostuser_mode: 'server' });
const filtered = { security_groups: [SG1], allowed_address_pairs: [{ ip_address: '10.9.0.7' }] };

test('migration in Nova’s order: the destination plumbed inactive, activation flips it, the source goes with its binding', async () => {
  const port = uid(501);
  await journal(portRow({ id: port, revision_number: 1, ...filtered }));
  const onSource = await binding('compute1', port);
  assert.ok(onSource);
  assert.equal(onSource.binding_status, undefined);

  // Nova: POST /v2.0/ports/{id}/bindings {host: compute2} → an inactive binding on compute2.
  await journal(
    portRow({
      id: port,
      revision_number: 2,
      ...filtered,
      'netvpp:inactive_bindings': [{ host: 'compute2', vif_type: 'vhostuser', vif_details: vhost(port) }],
    }),
  );
  const dest = await binding('compute2', port);
  assert.ok(dest, 'the destination has the port before activation');
  assert.equal(dest.binding_status, 'inactive');
  // Filtering is in place on the destination before any traffic can reach it there.
  assert.deepEqual(dest.security_groups, [SG1]);
  assert.equal(dest.port_security_enabled, true);
  assert.deepEqual(dest.allowed_address_pairs, [
    { ip_address: '10.9.0.7', mac_address: 'fa:16:3e:00:00:01' },
  ]);
  assert.deepEqual(dest.vhostuser, { socket: `/var/run/netvpp/${port}`, mode: 'server' });
  assert.equal((await binding('compute1', port))?.binding_status, undefined, 'the source stays active');

  // PUT .../bindings/compute2/activate: compute2 active, compute1 inactive and unbound (Neutron clears it).
  await journal(
    portRow({
      id: port,
      revision_number: 3,
      ...filtered,
      'binding:host_id': 'compute2',
      'netvpp:inactive_bindings': [{ host: 'compute1', vif_type: 'unbound', vif_details: {} }],
    }),
  );
  assert.equal((await binding('compute2', port))?.binding_status, undefined);
  const source = await binding('compute1', port);
  assert.ok(source, 'the source keeps the port until its binding is deleted');
  assert.equal(source.binding_status, 'inactive');
  assert.deepEqual(source.security_groups, [SG1]);
  assert.deepEqual(source.vhostuser, dest.vhostuser);

  // DELETE .../bindings/compute1: only now does the source lose the port.
  await journal(portRow({ id: port, revision_number: 4, ...filtered, 'binding:host_id': 'compute2' }));
  assert.equal(await binding('compute1', port), undefined);
  assert.equal((await binding('compute2', port))?.binding_status, undefined, 'the destination stays, active');
});

test('an aborted migration (inactive binding deleted) cleans the destination and leaves the source', async () => {
  const port = uid(502);
  await journal(portRow({ id: port, revision_number: 1 }));
  await journal(
    portRow({
      id: port,
      revision_number: 2,
      'netvpp:inactive_bindings': [{ host: 'compute2', vif_type: 'vhostuser', vif_details: vhost(port) }],
    }),
  );
  assert.ok(await binding('compute2', port));
  await journal(portRow({ id: port, revision_number: 3 }));
  assert.equal(await binding('compute2', port), undefined);
  const source = await binding('compute1', port);
  assert.ok(source, 'the source keeps its port');
  assert.equal(source.binding_status, undefined);
});

test('an inactive binding netvpp did not bind (failed) or on a bad host name plumbs nothing / is rejected', async () => {
  const port = uid(503);
  await journal(
    portRow({
      id: port,
      revision_number: 1,
      'netvpp:inactive_bindings': [{ host: 'compute2', vif_type: 'binding_failed', vif_details: {} }],
    }),
  );
  assert.equal(await binding('compute2', port), undefined);
  const r = await call(ctl.url, 'POST', '/v1/journal', {
    rows: [
      portRow({
        id: port,
        revision_number: 2,
        'netvpp:inactive_bindings': [{ host: 'a/b', vif_type: 'vhostuser', vif_details: vhost(port) }],
      }),
    ],
  });
  const rejected = r.body.rejected as { error: string }[];
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]?.error ?? '', /inactive_bindings\[0\]\.host "a\/b"/);
  assert.equal((await binding('compute1', port))?.revision, 1, 'the rejected row changed nothing');
});

test('on a VXLAN network the overlay entry names the active host: the source until activation, then the destination', async () => {
  const port = uid(504);
  const net = uid(505);
  const vx = { id: net, network_type: 'vxlan', physical_network: null, segmentation_id: 7005, mtu: 1450 };
  const entryHost = async (): Promise<string | undefined> => {
    const { kv } = await store.get(keys.overlayPort(net, port));
    return kv ? (JSON.parse(kv.value) as { host: string }).host : undefined;
  };
  const inactive = (host: string, vifType = 'vhostuser') => ({
    'netvpp:inactive_bindings': [
      { host, vif_type: vifType, vif_details: vifType === 'unbound' ? {} : vhost(port) },
    ],
  });
  await journal(portRow({ id: port, network_id: net, 'netvpp:network': vx, revision_number: 1 }));
  assert.equal(await entryHost(), 'compute1');
  await journal(
    portRow({ id: port, network_id: net, 'netvpp:network': vx, revision_number: 2, ...inactive('compute2') }),
  );
  assert.equal((await binding('compute2', port))?.binding_status, 'inactive');
  assert.equal(await entryHost(), 'compute1', 'the other hosts keep reaching the port at the source');
  await journal(
    portRow({
      id: port,
      network_id: net,
      'netvpp:network': vx,
      'binding:host_id': 'compute2',
      revision_number: 3,
      ...inactive('compute1', 'unbound'),
    }),
  );
  assert.equal(await entryHost(), 'compute2', 'activation moves the flood lists and static MACs');
  assert.equal((await binding('compute1', port))?.binding_status, 'inactive');
  await journal(
    portRow({
      id: port,
      network_id: net,
      'netvpp:network': vx,
      'binding:host_id': 'compute2',
      revision_number: 4,
    }),
  );
  assert.equal(await binding('compute1', port), undefined);
  assert.equal(await entryHost(), 'compute2');
});
