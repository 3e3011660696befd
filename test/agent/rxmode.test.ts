// [agent] rx_mode: the receive queues of the port interfaces the agent creates. Tap ports take the mode
// at once; a vhost-user port keeps VPP's polling until its guest connects (VPP refuses interrupt and
// adaptive before), then gets the mode with no further change of the port; polling leaves VPP's default
// and costs no call; a restarted agent writes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RxMode, sw_interface_rx_placement_dump } from '../../src/vpp/binapi/index.ts';
import { dhcpPort, flatNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const {
  RX_MODE_API_POLLING: POLLING,
  RX_MODE_API_INTERRUPT: INTERRUPT,
  RX_MODE_API_ADAPTIVE: ADAPTIVE,
} = RxMode;

describe('rx-mode of port interfaces', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(() => w?.stop());

  const modeOf = async (portId: string): Promise<number | undefined> => {
    const i = await w.portInterface(portId);
    if (!i) return undefined;
    return (await w.operator.dump(sw_interface_rx_placement_dump, { sw_if_index: i.sw_if_index }))[0]?.mode;
  };

  it('adaptive: a tap port at once, a vhost-user port once its guest connects', async () => {
    const net = flatNet();
    const tap = dhcpPort(net);
    const vm = vmPort(net);
    await w.bind(H, tap);
    await w.bind(H, vm);
    let agent = w.startAgent(H, { rxMode: 'adaptive' });
    await w.waitReady(H, tap.port_id);
    assert.equal(await modeOf(tap.port_id), ADAPTIVE);
    await waitFor('the VM port interface', async () => (await w.portInterface(vm.port_id)) !== undefined);
    await agent.whenIdle();
    assert.equal(await modeOf(vm.port_id), POLLING, 'no guest yet: VPP keeps polling');
    assert.deepEqual(agent.health().failing, [], 'waiting for the guest is no failure');

    await w.connectGuest(vm);
    await w.waitReady(H, vm.port_id);
    await waitFor('the VM port adaptive', async () => (await modeOf(vm.port_id)) === ADAPTIVE);

    // A restart finds both as desired: no write.
    await w.stopAgent(agent);
    w.vpp.sim?.resetCounters();
    agent = w.startAgent(H, { rxMode: 'adaptive' });
    await w.waitReady(H, vm.port_id);
    await agent.whenIdle();
    assert.equal(w.vpp.sim?.writes(), 0, 'a restarted agent writes nothing');

    // Another mode: changed in place; polling: back to VPP's default.
    await w.stopAgent(agent);
    agent = w.startAgent(H, { rxMode: 'interrupt' });
    await waitFor('both interrupt', async () =>
      (await Promise.all([modeOf(tap.port_id), modeOf(vm.port_id)])).every((m) => m === INTERRUPT),
    );
    await w.stopAgent(agent);
    agent = w.startAgent(H, { rxMode: 'polling' });
    await waitFor('both polling', async () =>
      (await Promise.all([modeOf(tap.port_id), modeOf(vm.port_id)])).every((m) => m === POLLING),
    );
    await w.unbind(H, tap.port_id);
    await w.unbind(H, vm.port_id);
    await w.stopAgent(agent);
  });
});
