// End to end for port mirroring (docs/taas.md): the openstack CLI against a real neutron-server
// (Debian's Zed with Debian's python3-neutron-taas and netvpp's TaaS service driver), the
// controller, etcd and two agents on simulators. Tap services and tap flows created and deleted
// with `openstack tap service/flow`: a flow is ACTIVE only once every host carrying it reports its
// part in place, and VPP's SPAN table (and, for a service port on another host, the VXLAN tunnel
// of the tap service on both hosts) follows each change. Skips, with the reason, where
// neutron-server is not installed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys } from '../../src/model/keyspace.ts';
import { taasKeys, type TapFlowDoc } from '../../src/model/keyspace-taas.ts';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite, type NeutronPort } from './neutron-suite.ts';
import type { Mirror } from './netvpp-stack.ts';

const skip = neutronUnavailableReason();

interface TapFlow {
  id: string;
  status: string;
}

/** The TaaS client's JSON names its columns for display (`ID`, `Status`): by lower-cased name. */
async function created(out: Promise<Record<string, unknown>>): Promise<{ id: string; status: string }> {
  const o = Object.fromEntries(Object.entries(await out).map(([k, v]) => [k.toLowerCase(), v]));
  assert.equal(typeof o.id, 'string', `an id in ${JSON.stringify(o)}`);
  return { id: o.id as string, status: String(o.status) };
}

/** VPP's span state for TaaS's direction (seen from the VM): IN = what it receives = the port's tx. */
const SPAN_STATE = { IN: 2, OUT: 1, BOTH: 3 } as const;

describe('Neutron end to end: port mirroring (TaaS)', { skip: skip ?? false }, () => {
  const suite = neutronSuite([
    { host: 'compute1', physnets: ['physnet1'], vtep: '192.0.2.1' },
    { host: 'compute2', physnets: ['physnet1'], vtep: '192.0.2.2' },
  ]);
  const { os, osJson, converge, portStatus } = suite;
  const node = (h: string) => suite.stack.agents.get(h);

  const flowStatus = (id: string, status: string) =>
    converge(`tap flow ${id} to be ${status}`, async () => {
      const f = (await suite.neutron.api<{ tap_flow: TapFlow }>('GET', `/taas/tap_flows/${id}`)).tap_flow;
      return f.status === status ? f : undefined;
    });
  const mirrorsOn = async (h: string): Promise<Mirror[] | undefined> => node(h)?.mirrors?.();
  /** Waits until the host's SPAN table is exactly `want` (when its node has a VPP to read). */
  const mirrorsAre = async (h: string, want: (m: Mirror[]) => boolean, what: string) => {
    if (!node(h)?.mirrors) return;
    await converge(`${h}: ${what}`, async () => {
      const m = await mirrorsOn(h);
      return m && want(m) ? m : undefined;
    });
  };
  const flowDoc = (h: string, id: string) => suite.stack.etcdGet<TapFlowDoc>(taasKeys.tapFlow(h, id));

  let net = '';
  const ports: Record<string, NeutronPort> = {};

  it('neutron-server serves the TaaS API with netvpp’s driver; ports to mirror bound on two hosts', async () => {
    const ext = await osJson<{ Alias: string }[]>('extension', 'list', '--network');
    assert.ok(
      ext.some((e) => e.Alias === 'taas'),
      'the taas extension is served',
    );
    net = (await osJson<{ id: string }>('network', 'create', 'e2e-taas')).id;
    await os('subnet', 'create', '--network', 'e2e-taas', '--subnet-range', '10.70.0.0/24', 'e2e-taas-sub');
    for (const [name, host] of [
      ['src', 'compute1'],
      ['svc', 'compute1'],
      ['far', 'compute2'],
    ]) {
      const p = await osJson<NeutronPort>('port', 'create', '--network', 'e2e-taas', `e2e-taas-${name}`);
      await os('port', 'set', '--host', host, p.id);
      ports[name] = p;
    }
    for (const p of Object.values(ports)) await portStatus(p.id, 'ACTIVE');
  });

  it('a tap flow to a service port on the same host: ACTIVE with one SPAN mirror, per direction; gone on delete', async () => {
    const ts = await created(
      osJson<Record<string, unknown>>(
        'tap',
        'service',
        'create',
        '--port',
        ports.svc.id,
        '--name',
        'e2e-ts-local',
      ),
    );
    assert.equal(ts.status, 'ACTIVE', 'a tap service has nothing of its own in VPP');
    const src = `netvpp:port:${ports.src.id}`;
    const svc = `netvpp:port:${ports.svc.id}`;
    for (const direction of ['IN', 'OUT', 'BOTH'] as const) {
      const f = await created(
        osJson<Record<string, unknown>>(
          'tap',
          'flow',
          'create',
          '--port',
          ports.src.id,
          '--tap-service',
          ts.id,
          '--direction',
          direction,
          '--name',
          `e2e-tf-${direction}`,
        ),
      );
      await flowStatus(f.id, 'ACTIVE');
      const doc = await flowDoc('compute1', f.id);
      assert.deepEqual(
        [doc?.role, doc?.direction, doc?.source_port, doc?.service_port],
        ['local', direction, ports.src.id, ports.svc.id],
      );
      assert.equal(await flowDoc('compute2', f.id), undefined, 'nothing for a host with neither port');
      await mirrorsAre(
        'compute1',
        (m) => m.length === 1 && m[0].from === src && m[0].to === svc && m[0].state === SPAN_STATE[direction],
        `the source port mirrored ${direction} into the service port`,
      );
      await os('tap', 'flow', 'delete', f.id);
      await converge(`tap flow ${direction} gone from etcd`, async () =>
        (await flowDoc('compute1', f.id)) === undefined ? true : undefined,
      );
      await mirrorsAre('compute1', (m) => m.length === 0, 'no mirror left');
    }
    await os('tap', 'service', 'delete', ts.id);
    // The mirrored port kept working throughout.
    assert.equal(
      (await suite.neutron.api<{ port: NeutronPort }>('GET', `/ports/${ports.src.id}`)).port.status,
      'ACTIVE',
    );
  });

  it('a tap flow to a service port on another host: both hosts carry it over the tap service’s VXLAN tunnel', async () => {
    const ts = await created(
      osJson<Record<string, unknown>>(
        'tap',
        'service',
        'create',
        '--port',
        ports.far.id,
        '--name',
        'e2e-ts-far',
      ),
    );
    const f = await created(
      osJson<Record<string, unknown>>(
        'tap',
        'flow',
        'create',
        '--port',
        ports.src.id,
        '--tap-service',
        ts.id,
        '--direction',
        'BOTH',
        '--name',
        'e2e-tf-far',
      ),
    );
    await flowStatus(f.id, 'ACTIVE');
    const source = await flowDoc('compute1', f.id);
    const service = await flowDoc('compute2', f.id);
    assert.deepEqual([source?.role, source?.peer_host], ['source', 'compute2']);
    assert.deepEqual([service?.role, service?.peer_host], ['service', 'compute1']);
    const vni = source?.vni ?? 0;
    assert.ok(vni > 0 && service?.vni === vni, 'one VNI for the tap service on both ends');
    const n1 = node('compute1');
    const n2 = node('compute2');
    if (n1?.vxlanPeers && n2?.vxlanPeers) {
      await converge('the tap service’s tunnel on both hosts', async () =>
        JSON.stringify([await n1.vxlanPeers?.(vni), await n2.vxlanPeers?.(vni)]) ===
        JSON.stringify([['192.0.2.2'], ['192.0.2.1']])
          ? true
          : undefined,
      );
    }
    await mirrorsAre(
      'compute1',
      (m) => m.length === 1 && m[0].from === `netvpp:port:${ports.src.id}` && m[0].state === 3,
      'the source port mirrored into the tunnel',
    );
    // The service side: the tunnel ends in the service port's sink, whose tx is mirrored into the
    // service port (device mode: the port's own ACLs never see the copies).
    await mirrorsAre(
      'compute2',
      (m) =>
        m.length === 1 &&
        m[0].from === `netvpp:spansink:${ports.far.id}` &&
        m[0].to === `netvpp:port:${ports.far.id}` &&
        m[0].state === 2,
      'the service port’s sink mirrored into it',
    );

    await os('tap', 'flow', 'delete', f.id);
    await converge('the flow gone from both hosts', async () =>
      (await flowDoc('compute1', f.id)) === undefined && (await flowDoc('compute2', f.id)) === undefined
        ? true
        : undefined,
    );
    await mirrorsAre('compute1', (m) => m.length === 0, 'no mirror left');
    await mirrorsAre('compute2', (m) => m.length === 0, 'no mirror left on the service side');
    if (n1?.vxlanPeers && n2?.vxlanPeers)
      await converge('the tunnels gone', async () =>
        (await n1.vxlanPeers?.(vni))?.length === 0 && (await n2.vxlanPeers?.(vni))?.length === 0
          ? true
          : undefined,
      );
    await os('tap', 'service', 'delete', ts.id);
    for (const p of Object.values(ports)) await os('port', 'delete', p.id);
    await converge('the ports unbound from etcd', async () =>
      (await suite.stack.etcdGet(keys.portBinding('compute1', ports.src.id))) === undefined
        ? true
        : undefined,
    );
    await os('network', 'delete', net);
  });
});
