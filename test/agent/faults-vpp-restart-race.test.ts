// Issue 11: after VPP was killed and started again, the agent went on against the new VPP with what it
// knew of the old one (interfaces "disappeared" and made twice, VRF and ACL bindings refused with
// NO_SUCH_FIB / NO_SUCH_ENTRY). The client reconnects in place, so a pass whose op was waiting on the
// host's network (a veth being made) when VPP went away resumed after the reconnect and sent its
// remaining calls — with the old VPP's indexes — to the restarted one, before anything had read it.
//
// Here VPP crashes and is back, and the agent reconnected, while such an op is held; then the op is let
// go. The restarted VPP must get no write from the agent before the agent has read it back, and end up
// exactly as desired with every port ready. Conditions are polled; no sleep decides anything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Agent } from '../../src/agent/agent.ts';
import { RecordingHostNet } from '../../src/agent/host-net.ts';
import type { PortBinding } from '../../src/model/keyspace.ts';
import type { Sim } from '../../src/sim/index.ts';
import { defaultGroup, dhcpPort, vlanNet, vmPort } from './helpers/fixtures.ts';
import { keepGuestsConnected, synced, waitAllReady, waitExact } from './helpers/faults.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';

/** A host network whose next veth is held until released (a slow `ip link` on a busy host). */
class HeldHostNet extends RecordingHostNet {
  private hold: { entered: () => void; released: Promise<void> } | undefined;

  /** Holds the next ensureVeth; resolves `entered` when it is reached, and gives the release. */
  holdNext(): { entered: Promise<void>; release: () => void } {
    let entered: () => void = () => {};
    let release: () => void = () => {};
    const enteredP = new Promise<void>((r) => (entered = r));
    const released = new Promise<void>((r) => (release = r));
    this.hold = { entered, released };
    return { entered: enteredP, release };
  }

  override async ensureVeth(nsSide: string, vppSide: string, mac: string, mtu: number): Promise<void> {
    const h = this.hold;
    if (h) {
      this.hold = undefined;
      h.entered();
      await h.released;
    }
    await super.ensureVeth(nsSide, vppSide, mac, mtu);
  }
}

describe('faults: VPP restarts while an op of a pass is waiting on the host', { skip: SIM_ONLY }, () => {
  let w: World;
  let sim: Sim;
  let agent: Agent | undefined;
  let guests: { stop(): void };
  const hostNet = new HeldHostNet();
  const def = defaultGroup();
  const net = vlanNet(910);
  const bound = new Set<PortBinding>();

  before(async () => {
    w = await startWorld();
    sim = w.vpp.sim as Sim;
    await w.putGroup(def);
    const vm = vmPort(net, { security_groups: [def.id] });
    await w.bind(H, vm);
    bound.add(vm);
    guests = keepGuestsConnected(sim, bound);
  });
  after(async () => {
    guests?.stop();
    if (agent) await w.stopAgent(agent);
    await w?.stop();
  });

  it('the restarted VPP gets no write before the agent read it back, and ends up as desired', async () => {
    const first = w.startAgent(H, { tapBackend: 'veth' }, { hostNet });
    agent = first;
    await synced(first);
    await waitAllReady(w, H, [...bound]);

    // A DHCP port (veth-backed tap): its create op waits on the held veth.
    const held = hostNet.holdNext();
    const dhcp = dhcpPort(net);
    await w.bind(H, dhcp);
    bound.add(dhcp);
    await held.entered;

    const client = first.vppClient;
    assert.ok(client, 'the agent has a VPP client');
    const lost = once(client, 'disconnected');
    await sim.crash();
    await lost;
    await w.makeUplink();
    await waitFor('the agent to reconnect to the restarted VPP', () => first.health().vpp.connected, 10000);

    // From here on: every write the restarted VPP gets, with how many interface dumps came before it.
    sim.resetCounters();
    const writes: { message: string; dumpsBefore: number }[] = [];
    sim.onWrite((wr) => {
      writes.push({ message: wr.message, dumpsBefore: sim.calls('sw_interface_dump') });
    });
    const resynced = synced(first, 20000);
    held.release();
    await resynced;
    await waitAllReady(w, H, [...bound], 10000);
    await waitExact(w.operator, { ports: [...bound] }, 5000);
    sim.onWrite(null);

    const blind = writes.filter((x) => x.dumpsBefore === 0).map((x) => x.message);
    assert.deepEqual(blind, [], `writes the restarted VPP got before the agent read it: ${blind.join(', ')}`);
    assert.ok(writes.length > 0, 'the agent rebuilt the restarted VPP');
    assert.deepEqual(first.reconciler.failures.size, 0, 'no object left failing');
  });
});
