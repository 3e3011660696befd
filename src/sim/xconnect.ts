/**
 * L2 cross-connects as vnet/l2 keeps them (l2_api.c vl_api_sw_interface_set_l2_xconnect_t_handler,
 * l2_input.c set_int_l2_mode, l2_xconnect_dump), with their API handlers; the state is the L2 input
 * configuration of sim/l2.ts.
 *
 * - The rx interface must exist; with enable, the tx one too: -2 either way (recorded from VPP 26.06:
 *   its VALIDATE_TX_SW_IF_INDEX answers INVALID_SW_IF_INDEX, not _2).
 * - Enable puts rx in MODE_L2_XC towards tx (leaving any bridge domain; tx keeps its own mode: a
 *   cross-connect is one way). Disable puts rx in L3 mode, whatever mode it was in.
 * - The dump lists every cross-connected interface in sw_if_index order with its output.
 */
import type { SwInterfaceSetL2Xconnect } from '../vpp/binapi/index.ts';
import type { Handler } from './handlers.ts';
import { RV } from './retval.ts';

export const XCONNECT_HANDLERS: Record<string, Handler> = {
  sw_interface_set_l2_xconnect(vpp, msg) {
    const m = msg as unknown as SwInterfaceSetL2Xconnect;
    const rx = vpp.ifs.get(m.rx_sw_if_index);
    if (!rx) return RV.INVALID_SW_IF_INDEX;
    if (!m.enable) return vpp.l2.setXconnect(rx, null);
    if (!vpp.ifs.get(m.tx_sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return vpp.l2.setXconnect(rx, m.tx_sw_if_index);
  },
  l2_xconnect_dump(vpp) {
    return vpp.l2.xconnects().map((x) => ({ rx_sw_if_index: x.rx, tx_sw_if_index: x.tx }));
  },
};
