// A real VPP, a real guest: a VM port plumbed by the agent with its default rx-mode (adaptive) stays
// polling while no guest is connected (VPP refuses the change before), and is adaptive once a QEMU
// guest (guest.ts, QEMU the vhost-user server as Nova runs it) has brought the link up; an agent
// restarted afterwards finds it as desired and writes nothing to VPP.
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the vhost plugin), as root, with QEMU and
// the guest packages; skips saying why otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResyncStats } from '../../src/agent/agent.ts';
import { RxMode, sw_interface_rx_placement_dump } from '../../src/vpp/binapi/index.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { flatNet, VHOST_DIR, vmPort } from '../agent/helpers/fixtures.ts';
import { startWorld, waitFor, type World } from '../agent/helpers/harness.ts';
import { Guest, guestUnavailableReason } from './guest.ts';

const H = 'compute1';
const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (QEMU guest memory, the vhost-user socket directory)'
    : (guestUnavailableReason() ?? false);

describe('rx-mode of a vhost-user port with a real guest on a real VPP', { skip }, () => {
  let w: World;
  let guest: Guest | undefined;
  let dir = '';
  before(async () => {
    mkdirSync(VHOST_DIR, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'netvpp-rxmode-'));
    w = await startWorld();
  });
  after(async () => {
    await guest?.stop();
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('polling without a guest, adaptive once the guest is up; a restart writes nothing', async () => {
    const vm = vmPort(flatNet());
    await w.bind(H, vm);
    let agent = w.startAgent(H);
    const modeOf = async (): Promise<number | undefined> => {
      const i = await w.portInterface(vm.port_id);
      if (!i) return undefined;
      return (await w.operator.dump(sw_interface_rx_placement_dump, { sw_if_index: i.sw_if_index }))[0]?.mode;
    };
    await waitFor('the VM port interface', async () => (await w.portInterface(vm.port_id)) !== undefined);
    await agent.whenIdle();
    assert.equal(await modeOf(), RxMode.RX_MODE_API_POLLING, 'no guest yet: VPP keeps polling');

    guest = new Guest({
      name: 'rxmode-vm',
      mac: vm.mac,
      nic: { type: 'vhost-user', socket: vm.vhostuser?.socket ?? '' },
      dir,
    });
    guest.start();
    await guest.ready();
    // Under TCG on a loaded machine the guest's driver may take minutes to bring the link up.
    await waitFor('the port ready (link up)', () => w.waitReady(H, vm.port_id).then(() => true), 300_000);
    await waitFor(
      'the VM port adaptive',
      async () => (await modeOf()) === RxMode.RX_MODE_API_ADAPTIVE,
      120_000,
    );

    await w.stopAgent(agent);
    agent = w.startAgent(H);
    const stats = await new Promise<ResyncStats>((resolve) => agent.once('synced', resolve));
    assert.equal(stats.writes, 0, `a restarted agent made ${stats.writes} writes`);
    assert.equal(await modeOf(), RxMode.RX_MODE_API_ADAPTIVE);
    await w.unbind(H, vm.port_id);
    await waitFor('the VM port removed', async () => (await w.portInterface(vm.port_id)) === undefined);
    await w.stopAgent(agent);
  });
});
