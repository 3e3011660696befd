/**
 * The VPP a test talks to: a real one when NETVPP_TEST_VPP_SOCKET names its API socket, else an
 * in-process simulator on a fresh socket. Tests that need faults (crash, delays) check `sim`.
 * NETVPP_TEST_VPP2_SOCKET names a second real VPP, a second compute node for tests between two
 * hosts (test/dataplane/vxlan.test.ts); they skip without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Sim, type SimOptions } from '../../src/sim/index.ts';

export interface VppTarget {
  socket: string;
  /** Set when the target is the simulator. */
  sim: Sim | null;
  stop(): Promise<void>;
}

export const REAL_VPP_SOCKET = process.env.NETVPP_TEST_VPP_SOCKET ?? '';
export const REAL_VPP2_SOCKET = process.env.NETVPP_TEST_VPP2_SOCKET ?? '';

/** `simOptions`: how the simulator is built (ignored with a real VPP). */
export async function vppTarget(simOptions: Omit<SimOptions, 'socket'> = {}): Promise<VppTarget> {
  if (REAL_VPP_SOCKET) return { socket: REAL_VPP_SOCKET, sim: null, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  const socket = join(dir, 'api.sock');
  const sim = await startSimulator({ ...simOptions, socket });
  return {
    socket,
    sim,
    stop: async () => {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
