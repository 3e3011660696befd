// [agent] enable_gso: tap interfaces get GSO (read back from VPP, so a change of the option re-creates
// them); vhost-user interfaces offer it to the guest from their creation (VPP does not report it back).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sw_interface_tap_v2_dump } from '../../src/vpp/binapi/index.ts';
import { dhcpPort, flatNet } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const TAP_FLAG_GSO = 1;

describe('GSO', { skip: SIM_ONLY }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(() => w?.stop());

  const tapFlags = async (name: string) =>
    (await w.operator.dump(sw_interface_tap_v2_dump, { sw_if_index: 0xffffffff })).find(
      (t) => t.host_if_name === name,
    )?.tap_flags;

  it('is off by default; enable_gso = true re-creates tap interfaces with GSO, and back', async () => {
    const p = dhcpPort(flatNet());
    const name = p.tap?.host_ifname as string;
    await w.bind(H, p);
    let agent = w.startAgent(H);
    await w.waitReady(H, p.port_id);
    assert.equal(((await tapFlags(name)) ?? -1) & TAP_FLAG_GSO, 0);

    await w.stopAgent(agent);
    agent = w.startAgent(H, { gso: true });
    await waitFor('a tap with GSO', async () => (((await tapFlags(name)) ?? 0) & TAP_FLAG_GSO) !== 0);
    await w.waitReady(H, p.port_id);

    await w.stopAgent(agent);
    agent = w.startAgent(H, { gso: false });
    await waitFor('a tap without GSO', async () => ((await tapFlags(name)) ?? -1) === 0);
    await w.waitReady(H, p.port_id);
    await w.unbind(H, p.port_id);
    await w.stopAgent(agent);
  });
});
