/**
 * SPAN (port mirroring) as vnet keeps it (vnet/span/span.c span_add_delete_entry, span_api.c):
 *
 * - Per source interface and per feature (device or L2, `is_l2`), two bitmaps of destinations:
 *   rx and tx. A call sets the destination's rx bit to `state & 1` and its tx bit to `state & 2`
 *   (state 0 removes it from both); another destination of the same source is untouched.
 * - state > 3 is -9 (UNIMPLEMENTED); source ~0, destination ~0 with state > 0, or source ==
 *   destination is -71 (INVALID_INTERFACE). Nothing checks that the interfaces exist, and nothing
 *   removes a deleted interface's entries.
 * - The dump (one feature) walks sources in index order, and for each the union of its two bitmaps
 *   in index order; state = rx + 2 × tx.
 */
import type { SwInterfaceSpanDump, SwInterfaceSpanEnableDisable } from '../vpp/binapi/index.ts';
import type { Handler } from './handlers.ts';
import { NO_INDEX } from './interfaces.ts';
import { RV } from './retval.ts';

const SPAN_RX = 1;
const SPAN_TX = 2;
const SPAN_BOTH = 3;

interface Mirror {
  rx: Set<number>;
  tx: Set<number>;
}

export class Span {
  /** feature (0 device, 1 L2) → source → its destinations. */
  private readonly feats: [Map<number, Mirror>, Map<number, Mirror>] = [new Map(), new Map()];

  set(src: number, dst: number, state: number, l2: boolean): number {
    if (state > SPAN_BOTH) return RV.UNIMPLEMENTED;
    if (src === NO_INDEX || (dst === NO_INDEX && state > 0) || src === dst) return RV.INVALID_INTERFACE;
    const feat = this.feats[l2 ? 1 : 0];
    let m = feat.get(src);
    if (!m) feat.set(src, (m = { rx: new Set(), tx: new Set() }));
    const setBit = (s: Set<number>, on: boolean) => {
      if (dst === NO_INDEX) s.clear();
      else if (on) s.add(dst);
      else s.delete(dst);
    };
    setBit(m.rx, (state & SPAN_RX) !== 0);
    setBit(m.tx, (state & SPAN_TX) !== 0);
    return RV.OK;
  }

  dump(l2: boolean): { from: number; to: number; state: number }[] {
    const out: { from: number; to: number; state: number }[] = [];
    const feat = this.feats[l2 ? 1 : 0];
    for (const src of [...feat.keys()].sort((a, b) => a - b)) {
      const m = feat.get(src) as Mirror;
      for (const dst of [...new Set([...m.rx, ...m.tx])].sort((a, b) => a - b))
        out.push({ from: src, to: dst, state: (m.rx.has(dst) ? 1 : 0) + (m.tx.has(dst) ? 2 : 0) });
    }
    return out;
  }
}

export const SPAN_HANDLERS: Record<string, Handler> = {
  sw_interface_span_enable_disable(vpp, msg) {
    const m = msg as unknown as SwInterfaceSpanEnableDisable;
    return vpp.span.set(m.sw_if_index_from, m.sw_if_index_to, m.state, m.is_l2);
  },
  sw_interface_span_dump(vpp, msg) {
    const m = msg as unknown as SwInterfaceSpanDump;
    return vpp.span.dump(m.is_l2).map((e) => ({
      sw_if_index_from: e.from,
      sw_if_index_to: e.to,
      state: e.state,
      is_l2: m.is_l2,
    }));
  },
};
