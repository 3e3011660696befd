// End to end for QoS (docs/qos.md): the openstack CLI against a real neutron-server (Debian's Zed,
// with Neutron's QoS service plugin, ML2's qos extension driver and netvpp's QoS driver), the
// controller, etcd and an agent on the VPP simulator. Policies and rules are journaled in Neutron's
// transactions and reach every port using them; a port's policy wins over its network's. Skips,
// with the reason, where neutron-server is not installed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys, type PortBinding, type QosPolicy } from '../../src/model/keyspace.ts';
import type { PolicerDetails } from '../../src/vpp/binapi/index.ts';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite, type NeutronPort } from './neutron-suite.ts';

const skip = neutronUnavailableReason();
const H = 'compute1';
const MARK = 2; // mark-and-transmit
const DROP = 0;

describe('Neutron end to end: QoS policies', { skip: skip ?? false }, () => {
  const suite = neutronSuite([{ host: H, physnets: ['physnet1'] }]);
  const { os, osJson, converge, portStatus } = suite;
  const inName = (id: string) => `netvpp:policer-in:${id}`;
  const outName = (id: string) => `netvpp:policer-out:${id}`;
  const policersWhere = (what: string, pred: (m: Map<string, PolicerDetails>) => boolean) =>
    converge(what, async () => {
      const m = await suite.stack.agents.get(H)?.policers?.();
      if (m === undefined) return true; // a stand-in agent has no VPP
      return pred(m) ? m : undefined;
    });

  it('bandwidth limits and DSCP marking on a port and on its network, changed, removed', async () => {
    await os(
      'network',
      'create',
      '--provider-network-type',
      'flat',
      '--provider-physical-network',
      'physnet1',
      'e2e-qos',
    );
    await os('subnet', 'create', '--network', 'e2e-qos', '--subnet-range', '10.60.0.0/24', 'e2e-qos-sub');
    const pol = await osJson<{ id: string }>('network', 'qos', 'policy', 'create', 'e2e-gold');
    await os(
      'network',
      'qos',
      'rule',
      'create',
      '--type',
      'bandwidth-limit',
      '--max-kbps',
      '10000',
      '--max-burst-kbits',
      '800',
      '--egress',
      'e2e-gold',
    );
    await os(
      'network',
      'qos',
      'rule',
      'create',
      '--type',
      'bandwidth-limit',
      '--max-kbps',
      '20000',
      '--ingress',
      'e2e-gold',
    );
    const dscp = await osJson<{ id: string }>(
      'network',
      'qos',
      'rule',
      'create',
      '--type',
      'dscp-marking',
      '--dscp-mark',
      '26',
      'e2e-gold',
    );
    const doc = await converge('the policy in etcd', async () => {
      const d = await suite.stack.etcdGet<QosPolicy>(keys.qosPolicy(pol.id));
      return d?.dscp_mark === 26 && d.ingress !== null ? d : undefined;
    });
    assert.deepEqual(
      { egress: doc.egress, ingress: doc.ingress, dscp: doc.dscp_mark },
      {
        egress: { max_kbps: 10000, max_burst_kbps: 800 },
        ingress: { max_kbps: 20000, max_burst_kbps: 0 },
        dscp: 26,
      },
    );

    const p = await osJson<NeutronPort>(
      'port',
      'create',
      '--network',
      'e2e-qos',
      '--qos-policy',
      'e2e-gold',
      'e2e-qos-p1',
    );
    await os('port', 'set', '--host', H, p.id);
    await portStatus(p.id, 'ACTIVE');
    const b = await suite.stack.etcdGet<PortBinding>(keys.portBinding(H, p.id));
    assert.equal(b?.qos_policy_id, pol.id);
    let m = await policersWhere(
      'both policers of the port',
      (x) => x.has(inName(p.id)) && x.has(outName(p.id)),
    );
    if (m instanceof Map) {
      const input = m.get(inName(p.id)) as PolicerDetails;
      assert.deepEqual(
        [input.cir, input.cb, input.conform_action, input.exceed_action.type],
        [10000, 100000n, { type: MARK, dscp: 26 }, DROP],
      );
      assert.equal(m.get(outName(p.id))?.cir, 20000);
    }

    // A rule changed: the port's policer follows, through the journal.
    await os('network', 'qos', 'rule', 'set', '--dscp-mark', '46', 'e2e-gold', dscp.id);
    await policersWhere('DSCP 46', (x) => x.get(inName(p.id))?.conform_action.dscp === 46);

    // A policy on the network: a second port without its own uses it; the first keeps its own.
    await osJson('network', 'qos', 'policy', 'create', 'e2e-bronze');
    await os(
      'network',
      'qos',
      'rule',
      'create',
      '--type',
      'bandwidth-limit',
      '--max-kbps',
      '1000',
      '--egress',
      'e2e-bronze',
    );
    await os('network', 'set', '--qos-policy', 'e2e-bronze', 'e2e-qos');
    const q = await osJson<NeutronPort>('port', 'create', '--network', 'e2e-qos', 'e2e-qos-p2');
    await os('port', 'set', '--host', H, q.id);
    await portStatus(q.id, 'ACTIVE');
    m = await policersWhere(
      "the network's policy on the second port",
      (x) => x.get(inName(q.id))?.cir === 1000 && !x.has(outName(q.id)),
    );
    if (m instanceof Map) assert.equal(m.get(inName(p.id))?.cir, 10000, "the port's own policy wins");

    // The first port leaves its policy: the network's applies to it too.
    await os('port', 'unset', '--qos-policy', p.id);
    await policersWhere(
      "the network's policy on the first port",
      (x) => x.get(inName(p.id))?.cir === 1000 && !x.has(outName(p.id)),
    );

    // The network's policy removed: no policer left.
    await os('network', 'set', '--no-qos-policy', 'e2e-qos');
    await policersWhere('no policer', (x) => !x.has(inName(p.id)) && !x.has(inName(q.id)));
    await os('port', 'delete', p.id, q.id);
    await os('network', 'qos', 'policy', 'delete', 'e2e-gold');
    await converge('the policy gone from etcd', async () =>
      (await suite.stack.etcdGet(keys.qosPolicy(pol.id))) === undefined ? true : undefined,
    );
  });
});
