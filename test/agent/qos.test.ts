// QoS of ports (docs/qos.md): a port using a QoS policy gets a policer per direction bound to its
// interface; a change of the policy reaches every port using it in place (policer_update: the
// interface and its binding untouched); a port's own policy wins over its network's; a port leaving
// its policy loses its policers (unbound before deleted); a missing policy is the port's error.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeValue, keys, type PortBinding, type QosPolicy } from '../../src/model/keyspace.ts';
import { policer_dump, type PolicerDetails } from '../../src/vpp/binapi/index.ts';
import { flatNet, uuid, vmPort } from './helpers/fixtures.ts';
import { waitFor, startWorld, type World } from './helpers/harness.ts';

const H = 'compute1';
const MARK = 2; // SSE2_QOS_ACTION_API_MARK_AND_TRANSMIT
const DROP = 0;
const TRANSMIT = 1;

function policy(over: Partial<QosPolicy> = {}): QosPolicy {
  return {
    id: uuid(),
    revision: 1,
    egress: { max_kbps: 10_000, max_burst_kbps: 800 },
    ingress: { max_kbps: 20_000, max_burst_kbps: 0 },
    dscp_mark: null,
    ...over,
  };
}

describe('QoS policies on ports', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
    await w.markSynced();
  });
  after(() => w?.stop());

  const putPolicy = (p: QosPolicy) => w.store.put(keys.qosPolicy(p.id), encodeValue(keys.qosPolicy(p.id), p));
  const policers = async (): Promise<Map<string, PolicerDetails>> => {
    const all = await w.operator.dump(policer_dump, { match_name_valid: false, match_name: '' });
    return new Map(all.filter((p) => p.name.startsWith('netvpp:')).map((p) => [p.name, p]));
  };
  const nameOf = (portId: string, dir: 'in' | 'out') => `netvpp:policer-${dir}:${portId}`;
  const waitPolicers = (what: string, pred: (m: Map<string, PolicerDetails>) => boolean) =>
    waitFor(what, async () => {
      const m = await policers();
      return pred(m) ? m : undefined;
    });
  const onIface = async (portId: string, dir: 'rx' | 'tx') => {
    const sim = w.vpp.sim;
    if (!sim) return undefined; // a real VPP shows no binding: the dataplane test measures it
    const iface = await w.portInterface(portId);
    return iface ? sim.policerOn(iface.sw_if_index, dir) : undefined;
  };

  it('limits both directions and marks DSCP; a rule change updates every port in place', async () => {
    const net = flatNet();
    const p = policy({ dscp_mark: 26 });
    await putPolicy(p);
    const a = vmPort(net, { qos_policy_id: p.id });
    const b = vmPort(net, { network_qos_policy_id: p.id });
    await w.bind(H, a);
    await w.bind(H, b);
    const agent = w.startAgent(H);
    await w.connectGuest(a);
    await w.connectGuest(b);
    await w.waitReady(H, a.port_id);
    await w.waitReady(H, b.port_id);

    const m = await policers();
    for (const port of [a, b]) {
      const input = m.get(nameOf(port.port_id, 'in'));
      const output = m.get(nameOf(port.port_id, 'out'));
      assert.ok(input && output, 'a policer per direction');
      // VM egress: 10 Mbit/s, a burst of 800 kbit = 100,000 bytes; conforming packets marked AF31.
      assert.equal(input.cir, 10_000);
      assert.equal(input.cb, 100_000n);
      assert.deepEqual(input.conform_action, { type: MARK, dscp: 26 });
      assert.deepEqual(input.exceed_action, { type: DROP, dscp: 0 });
      // VM ingress: 20 Mbit/s, Neutron's unset burst as 80 % of a second: 2,000,000 bytes.
      assert.equal(output.cir, 20_000);
      assert.equal(output.cb, 2_000_000n);
      assert.deepEqual(output.conform_action, { type: TRANSMIT, dscp: 0 });
      const rx = await onIface(port.port_id, 'rx');
      if (rx !== undefined) assert.equal(rx, nameOf(port.port_id, 'in'));
      const tx = await onIface(port.port_id, 'tx');
      if (tx !== undefined) assert.equal(tx, nameOf(port.port_id, 'out'));
    }

    // A rule changes: both ports follow, by policer_update (no delete, no re-bind).
    w.vpp.sim?.resetCounters();
    await putPolicy({ ...p, revision: 2, egress: { max_kbps: 5_000, max_burst_kbps: 400 } });
    await waitPolicers('the new rate on both ports', (now) =>
      [a, b].every((port) => now.get(nameOf(port.port_id, 'in'))?.cir === 5_000),
    );
    if (w.vpp.sim) {
      assert.equal(w.vpp.sim.calls('policer_update'), 2);
      assert.equal(w.vpp.sim.calls('policer_add_del'), 0);
      assert.equal(w.vpp.sim.calls('policer_input'), 0);
    }
    await w.stopAgent(agent);

    // A restart finds everything in place: no write.
    w.vpp.sim?.resetCounters();
    const again = w.startAgent(H);
    await w.waitReady(H, a.port_id);
    if (w.vpp.sim) assert.equal(w.vpp.sim.writes(), 0);

    // Changed again after the restart (the index is unknown now): the policers are made anew.
    await putPolicy({ ...p, revision: 3, egress: null, dscp_mark: 46 });
    const marked = await waitPolicers('marking only', (now) =>
      [a, b].every((port) => now.get(nameOf(port.port_id, 'in'))?.conform_action.dscp === 46),
    );
    const mark = marked.get(nameOf(a.port_id, 'in')) as PolicerDetails;
    assert.deepEqual(mark.exceed_action, { type: MARK, dscp: 46 }, 'every packet is marked, none dropped');
    const rx = await onIface(a.port_id, 'rx');
    if (rx !== undefined) assert.equal(rx, nameOf(a.port_id, 'in'));

    for (const port of [a, b]) await w.unbind(H, port.port_id);
    await waitPolicers('no policer left', (now) => now.size === 0);
    await w.stopAgent(again);
  });

  it("a port's own policy wins over its network's; leaving it unbinds and deletes the policers", async () => {
    const net = flatNet();
    const own = policy({ ingress: null, egress: { max_kbps: 1_000, max_burst_kbps: 100 } });
    const netPolicy = policy({ ingress: { max_kbps: 3_000, max_burst_kbps: 300 }, egress: null });
    await putPolicy(own);
    await putPolicy(netPolicy);
    const port: PortBinding = vmPort(net, { qos_policy_id: own.id, network_qos_policy_id: netPolicy.id });
    await w.bind(H, port);
    const agent = w.startAgent(H);
    await w.connectGuest(port);
    await w.waitReady(H, port.port_id);
    let m = await policers();
    assert.equal(m.get(nameOf(port.port_id, 'in'))?.cir, 1_000);
    assert.equal(m.has(nameOf(port.port_id, 'out')), false, "the network's ingress limit is not used");

    // The port's own policy is removed: the network's applies.
    await w.bind(H, { ...port, qos_policy_id: undefined, revision: 2 });
    m = await waitPolicers(
      "the network's policy",
      (now) => now.get(nameOf(port.port_id, 'out'))?.cir === 3_000 && !now.has(nameOf(port.port_id, 'in')),
    );
    assert.equal(m.size, 1);
    assert.equal(
      await onIface(port.port_id, 'rx'),
      w.vpp.sim ? null : undefined,
      'unbound, not left on a freed policer',
    );

    // A policy that is not in etcd: the port says so.
    const missing = uuid();
    await w.bind(H, { ...port, qos_policy_id: missing, network_qos_policy_id: undefined, revision: 3 });
    const s = await w.waitState(H, port.port_id, 'the missing policy reported', (st) =>
      Boolean(st?.error?.includes(missing)),
    );
    assert.match(s?.error ?? '', /does not exist in etcd/);
    await w.unbind(H, port.port_id);
    await waitPolicers('no policer left', (now) => now.size === 0);
    await w.stopAgent(agent);
  });
});
