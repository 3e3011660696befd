/**
 * Receive queues and their rx-mode as VPP 26.06 keeps them (vnet/interface/rx_queue.c,
 * interface_api.c, the drivers' rx_mode_change functions), on a main-thread-only VPP: every queue is
 * on thread 0 (worker_id 0).
 *
 * Which interfaces have queues, and in which mode they start:
 * - tap (plugins/tap): one per rx queue (netvpp asks for 1), in the default mode (polling);
 * - vhost-user (plugins/vhost): queue 0, registered at create, polling — whatever VPP's
 *   `default-rx-mode` says. Interrupt and adaptive need the guest's kick fd: VPP refuses them
 *   ("Driver does not support interrupt", -9) until a guest is connected, and keeps the mode when a
 *   guest leaves and comes back;
 * - af_packet: one, interrupt (af_packet.c forces it); adaptive is refused;
 * - NICs: one, polling;
 * - loopback, local0, VXLAN, pipes and every sub-interface: none (setting a mode is a no-op on an
 *   interface without queues; on a sub-interface it is -7, and its placement dump is empty).
 * Setting the mode a queue already has succeeds at once, before the driver is asked.
 */
import type { SwInterfaceRxPlacementDump, SwInterfaceSetRxMode } from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX, type HwIf, type SwIf } from './interfaces.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

export const RX_POLLING = 1;
export const RX_INTERRUPT = 2;
export const RX_ADAPTIVE = 3;
const RX_DEFAULT = 4;

/** Per hardware interface, each queue's mode (queue id = position). */
const queues = new WeakMap<HwIf, number[]>();

function queuesOf(hw: HwIf): number[] {
  let q = queues.get(hw);
  if (q) return q;
  switch (hw.kind) {
    case 'tap':
    case 'vhost':
    case 'nic':
      q = [RX_POLLING];
      break;
    case 'afpacket':
      q = [RX_INTERRUPT];
      break;
    default:
      q = [];
  }
  queues.set(hw, q);
  return q;
}

/** The driver's answer to a mode change of one queue: 0, or VPP's error (which the API turns into -9). */
function driverRefuses(hw: HwIf, mode: number): boolean {
  if (mode < RX_POLLING || mode > RX_ADAPTIVE) return true;
  if (hw.kind === 'vhost' && mode !== RX_POLLING) return !hw.vhost?.guestConnected;
  if (hw.kind === 'afpacket') return mode === RX_ADAPTIVE;
  return false;
}

function setRxMode(s: SwIf, queueIdValid: boolean, queueId: number, mode: number): number {
  if (s.isSub) return RV.INVALID_VALUE;
  const q = queuesOf(s.hw);
  const wanted = mode === RX_DEFAULT ? RX_POLLING : mode;
  const ids = queueIdValid ? [queueId] : q.map((_, i) => i);
  if (queueIdValid && (queueId >= q.length || queueId < 0)) return RV.UNIMPLEMENTED;
  for (const i of ids) {
    if (q[i] === wanted) continue;
    if (driverRefuses(s.hw, wanted)) return RV.UNIMPLEMENTED;
    q[i] = wanted;
  }
  return RV.OK;
}

function placement(s: SwIf): Fields[] {
  return queuesOf(s.hw).map((mode, queue_id) => ({
    sw_if_index: s.hw.swIfIndex,
    queue_id,
    worker_id: 0,
    mode,
  }));
}

export const RXMODE_HANDLERS: Record<string, Handler> = {
  sw_interface_set_rx_mode(vpp, msg) {
    const m = msg as unknown as SwInterfaceSetRxMode;
    const s = vpp.ifs.get(m.sw_if_index);
    if (!s) return RV.INVALID_SW_IF_INDEX;
    return setRxMode(s, m.queue_id_valid, m.queue_id, m.mode);
  },

  sw_interface_rx_placement_dump(vpp: VppState, msg) {
    const m = msg as unknown as SwInterfaceRxPlacementDump;
    if (m.sw_if_index !== NO_INDEX) {
      const s = vpp.ifs.get(m.sw_if_index);
      return s && !s.isSub ? placement(s) : [];
    }
    // Sorted by thread, input node, hw_if_index and queue: main thread only here, and the input
    // node groups interfaces by driver.
    const out: { node: string; hw: number; d: Fields }[] = [];
    for (const s of vpp.ifs.all()) {
      if (s.isSub) continue;
      for (const d of placement(s)) out.push({ node: s.hw.kind, hw: s.index, d });
    }
    out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.hw - b.hw));
    return out.map((x) => x.d);
  },
};
