// Nova's live migration through Neutron's REST API (binding-extended: the `openstack` CLI of Zed has no
// bindings command), in Nova's order, with two agents on simulators: the inactive binding plumbs the
// destination with its filtering, activation switches, deleting the source's binding cleans the source;
// an aborted migration cleans the destination and leaves the source. A destination whose agent is down:
// Neutron refuses the binding there (netvpp binds only on a host with a live agent) and nothing
// changes; an agent that goes down after the destination was plumbed leaves the port ACTIVE on the
// source, and when Nova aborts, the agent back cleans its VPP.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import { AgentNode } from './agent-node.ts';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite } from './neutron-suite.ts';

interface Binding {
  host: string;
  status: string;
  vif_type: string;
}

const skip = neutronUnavailableReason();

describe('Neutron end to end: live migration with multiple port bindings', { skip: skip ?? false }, () => {
  const s = neutronSuite(
    [
      { host: 'compute1', physnets: ['physnet1'] },
      { host: 'compute2', physnets: ['physnet1'] },
      { host: 'compute3', physnets: ['physnet1'] },
    ],
    // bind_port asks the controller each time: a host's liveness is never one read old
    { host_cache_seconds: 0 },
  );
  let netId = '';
  let sgId = '';

  const binding = (host: string, port: string) => s.stack.etcdGet<PortBinding>(keys.portBinding(host, port));
  const bindings = async (port: string): Promise<Binding[]> =>
    (await s.neutron.api<{ bindings: Binding[] }>('GET', `/ports/${port}/bindings`)).bindings;
  /** The port's ACL rules in the VPP of `host` ([] when it has no interface for the port there). */
  const acls = async (host: string, port: string): Promise<number> => {
    const node = s.stack.agents.get(host);
    assert.ok(node?.portAclRules, `the ${host} agent runs on a simulator`);
    return (await node.portAclRules(port)).length;
  };
  /** A VM's port on compute1, ACTIVE, with a security group and an allowed address pair. */
  const vmPort = async (name: string): Promise<string> => {
    const { port } = await s.neutron.api<{ port: { id: string } }>('POST', '/ports', {
      port: {
        name,
        network_id: netId,
        device_owner: 'compute:nova',
        device_id: `vm-${name}`,
        security_groups: [sgId],
        allowed_address_pairs: [{ ip_address: '10.30.0.200' }],
        'binding:host_id': 'compute1',
      },
    });
    await s.portStatus(port.id, 'ACTIVE');
    await s.converge(`VPP on compute1 to filter ${name}`, async () =>
      (await acls('compute1', port.id)) > 0 ? true : undefined,
    );
    return port.id;
  };
  const plumbedInactive = (host: string, port: string) =>
    s.converge(`${host} to have the port plumbed (interface and ACLs), inactive`, async () => {
      const b = await binding(host, port);
      return b?.binding_status === 'inactive' && (await acls(host, port)) > 0 ? b : undefined;
    });
  const cleaned = (host: string, port: string) =>
    s.converge(`${host} to lose the port (binding, agent state, interface)`, async () => {
      const b = await binding(host, port);
      const st = await s.stack.etcdGet(keys.portState(host, port));
      return b === undefined && st === undefined && (await acls(host, port)) === 0 ? true : undefined;
    });

  it('sets up a network and a security group', async () => {
    netId = (await s.osJson('network', 'create', 'lm-net')).id as string;
    await s.os('subnet', 'create', '--network', 'lm-net', '--subnet-range', '10.30.0.0/24', 'lm-subnet');
    sgId = (await s.osJson('security', 'group', 'create', 'lm-sg')).id as string;
  });

  it('migrates in Nova’s order: inactive binding plumbs compute2, activation switches, deleting compute1’s cleans it', async () => {
    const port = await vmPort('lm-vm1');
    const before = await binding('compute1', port);

    await s.neutron.api('POST', `/ports/${port}/bindings`, { binding: { host: 'compute2' } });
    const dest = await plumbedInactive('compute2', port);
    assert.deepEqual(dest.security_groups, [sgId]);
    assert.deepEqual(
      dest.allowed_address_pairs.map((a) => a.ip_address),
      ['10.30.0.200'],
    );
    assert.deepEqual((await bindings(port)).map((b) => [b.host, b.status]).sort(), [
      ['compute1', 'ACTIVE'],
      ['compute2', 'INACTIVE'],
    ]);
    // The source is untouched and the port stays ACTIVE while the destination waits.
    assert.equal((await binding('compute1', port))?.binding_status, undefined);
    assert.deepEqual((await binding('compute1', port))?.vhostuser, before?.vhostuser);
    assert.equal(
      (await s.neutron.api<{ port: { status: string } }>('GET', `/ports/${port}`)).port.status,
      'ACTIVE',
    );

    await s.neutron.api('PUT', `/ports/${port}/bindings/compute2/activate`);
    const p = await s.portStatus(port, 'ACTIVE');
    assert.equal((p as unknown as Record<string, unknown>)['binding:host_id'], 'compute2');
    assert.deepEqual((await bindings(port)).map((b) => [b.host, b.status]).sort(), [
      ['compute1', 'INACTIVE'],
      ['compute2', 'ACTIVE'],
    ]);
    await s.converge('compute2 active in etcd', async () =>
      (await binding('compute2', port))?.binding_status === undefined ? true : undefined,
    );
    // Until Nova deletes the source's binding, the source keeps the port, still filtered.
    assert.equal((await binding('compute1', port))?.binding_status, 'inactive');
    assert.ok((await acls('compute1', port)) > 0);

    await s.neutron.api('DELETE', `/ports/${port}/bindings/compute1`);
    await cleaned('compute1', port);
    assert.ok((await acls('compute2', port)) > 0, 'compute2 keeps the port');
    await s.portStatus(port, 'ACTIVE');
  });

  it('an aborted migration (the inactive binding deleted) cleans compute2 and leaves compute1', async () => {
    const port = await vmPort('lm-vm2');
    await s.neutron.api('POST', `/ports/${port}/bindings`, { binding: { host: 'compute2' } });
    await plumbedInactive('compute2', port);
    await s.neutron.api('DELETE', `/ports/${port}/bindings/compute2`);
    await cleaned('compute2', port);
    assert.equal((await binding('compute1', port))?.binding_status, undefined);
    assert.ok((await acls('compute1', port)) > 0, 'compute1 still filters the port');
    await s.portStatus(port, 'ACTIVE');
  });
  /** Whether the controller (which bind_port asks) knows a live agent on `host`. */
  const alive = async (host: string): Promise<boolean> =>
    (await s.stack.controller?.fetch(`/v1/hosts/${host}`))?.status === 200;
  const node = (host: string): AgentNode => {
    const n = s.stack.agents.get(host);
    assert.ok(n instanceof AgentNode, `${host} runs a netvpp agent`);
    return n;
  };
  const portView = async (port: string) =>
    (await s.neutron.api<{ port: Record<string, unknown> }>('GET', `/ports/${port}`)).port;

  it('the destination’s agent down: Neutron refuses the binding there, the source and the port are untouched', async () => {
    const port = await vmPort('lm-vm3');
    const before = await binding('compute1', port);
    await node('compute3').stopAgent();
    await s.converge('the controller to know compute3 down', async () =>
      (await alive('compute3')) ? undefined : true,
    );
    await assert.rejects(
      s.neutron.api('POST', `/ports/${port}/bindings`, { binding: { host: 'compute3' } }),
      /HTTP 5\d\d.*(PortBindingError|[Bb]inding for port .* failed)/,
      'Nova gets an error and aborts the migration before it starts',
    );
    assert.deepEqual(
      (await bindings(port)).map((b) => [b.host, b.status]),
      [['compute1', 'ACTIVE']],
      'no binding on compute3 is left in Neutron',
    );
    assert.equal(await binding('compute3', port), undefined, 'nothing for compute3 in etcd');
    assert.deepEqual(await binding('compute1', port), before, 'the source binding is unchanged');
    assert.ok((await acls('compute1', port)) > 0, 'compute1 still filters the port');
    const p = await portView(port);
    assert.equal(p.status, 'ACTIVE');
    assert.equal(p['binding:host_id'], 'compute1');
    node('compute3').startAgent();
    await s.converge('compute3 alive again', async () => ((await alive('compute3')) ? true : undefined));
  });

  it('the destination’s agent dies after it plumbed the port: the port stays ACTIVE, and after Nova aborts the agent back cleans its VPP', async () => {
    const port = await vmPort('lm-vm4');
    const before = await binding('compute1', port);
    await s.neutron.api('POST', `/ports/${port}/bindings`, { binding: { host: 'compute3' } });
    await plumbedInactive('compute3', port);
    await node('compute3').stopAgent();
    await s.converge('the controller to know compute3 down', async () =>
      (await alive('compute3')) ? undefined : true,
    );
    // Neutron's port status follows the active binding: the source's, untouched.
    assert.equal((await portView(port)).status, 'ACTIVE');
    assert.deepEqual(await binding('compute1', port), before);
    assert.deepEqual((await bindings(port)).map((b) => [b.host, b.status]).sort(), [
      ['compute1', 'ACTIVE'],
      ['compute3', 'INACTIVE'],
    ]);

    // Nova aborts (the destination never reported ready): the inactive binding goes.
    await s.neutron.api('DELETE', `/ports/${port}/bindings/compute3`);
    await s.converge('compute3’s binding gone from etcd', async () =>
      (await binding('compute3', port)) === undefined ? true : undefined,
    );
    assert.ok((await acls('compute3', port)) > 0, 'with its agent down, compute3’s VPP still has the port');
    node('compute3').startAgent();
    await cleaned('compute3', port);
    assert.deepEqual(await binding('compute1', port), before, 'the source binding is unchanged');
    assert.ok((await acls('compute1', port)) > 0, 'compute1 still filters the port');
    assert.equal((await s.portStatus(port, 'ACTIVE'))['binding:host_id' as never], 'compute1');
  });
});
