// The kernel side of tap ports when VPP can't make taps (no /dev/vhost-net): a veth pair whose one end
// carries Neutron's tap name (the DHCP/L3 agent moves it into its namespace) and whose other end VPP
// opens as an af_packet host interface.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { logger } from '../util/log.ts';

const run = promisify(execFile);
const log = logger('host-net');

export interface HostNet {
  /** Makes the pair exist and be up (idempotent; the namespace end may already have moved away). */
  ensureVeth(nsSide: string, vppSide: string, mac: string, mtu: number): Promise<void>;
  /** Removes the pair (deleting one end deletes both); absent is fine. */
  deleteVeth(vppSide: string): Promise<void>;
}

async function ip(args: string[]): Promise<void> {
  await run('ip', args, { timeout: 10_000 });
}

async function exists(name: string): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/**
 * VPP opens the veth as a plain af_packet socket (no virtio-net header), so it can't learn that the
 * kernel left a TCP/UDP checksum for the NIC to fill in: it would forward it unfilled, and the far
 * end drops every segment. So the namespace's end computes its checksums itself (ethtool's
 * `tx off`). Without ethtool that is logged once and ICMP still works; TCP does not.
 */
let warnedNoEthtool = false;
async function checksumsInSoftware(dev: string): Promise<void> {
  try {
    await run('ethtool', ['-K', dev, 'tx', 'off'], { timeout: 10_000 });
  } catch (e) {
    if (warnedNoEthtool) return;
    warnedNoEthtool = true;
    log.warn(
      'could not turn off checksum offload on a tap port veth: TCP through it will fail; install ethtool',
      {
        dev,
        error: (e as Error).message.split('\n')[0],
      },
    );
  }
}

/** The real thing, with iproute2 and ethtool (needs CAP_NET_ADMIN). */
export function linuxHostNet(): HostNet {
  return {
    async ensureVeth(nsSide, vppSide, mac, mtu) {
      if (!(await exists(vppSide))) {
        await ip([
          'link',
          'add',
          'name',
          nsSide,
          'mtu',
          String(mtu),
          'address',
          mac,
          'type',
          'veth',
          'peer',
          'name',
          vppSide,
          'mtu',
          String(mtu),
        ]);
        await ip(['link', 'set', 'dev', nsSide, 'up']);
        await checksumsInSoftware(nsSide);
      }
      await ip(['link', 'set', 'dev', vppSide, 'mtu', String(mtu), 'up']);
    },
    async deleteVeth(vppSide) {
      if (await exists(vppSide)) await ip(['link', 'del', 'dev', vppSide]);
    },
  };
}

/** For tests and the simulator: remembers the pairs it was asked for, touches no kernel. */
export class RecordingHostNet implements HostNet {
  readonly pairs = new Map<string, { nsSide: string; mac: string; mtu: number }>();

  async ensureVeth(nsSide: string, vppSide: string, mac: string, mtu: number): Promise<void> {
    this.pairs.set(vppSide, { nsSide, mac, mtu });
  }

  async deleteVeth(vppSide: string): Promise<void> {
    this.pairs.delete(vppSide);
  }
}
