/**
 * The arping plugin's request (plugins/arping/arping_api.c): ARP (IPv4) or neighbour solicitation
 * (IPv6) from an interface, `repeat` times `interval` apart, gratuitous with is_garp. The simulator
 * keeps what would have been sent (tests read it: an HA takeover's announcements) and answers as
 * VPP does: -2 for an interface it lacks, reply_count 0 for a gratuitous one (nothing is awaited).
 */
import type { Arping } from '../vpp/binapi/index.ts';
import type { Handler } from './handlers.ts';
import { RV } from './retval.ts';

export interface SentArp {
  sw_if_index: number;
  address: string;
  garp: boolean;
}

export const ARPING_HANDLERS: Record<string, Handler> = {
  arping(vpp, msg) {
    const m = msg as unknown as Arping;
    if (!vpp.ifs.get(m.sw_if_index)) return { retval: RV.INVALID_SW_IF_INDEX, reply_count: 0 };
    for (let i = 0; i < Math.max(1, m.repeat); i++)
      vpp.arpsSent.push({ sw_if_index: m.sw_if_index, address: m.address, garp: m.is_garp });
    return { retval: RV.OK, reply_count: 0 };
  },
};
