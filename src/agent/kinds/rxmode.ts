// rxmode:<port id> — the rx-mode of a port interface's receive queues (a setting of it): polling,
// interrupt or adaptive ([agent] rx_mode). VPP polls a queue in polling mode on every turn of its
// loop whether or not packets come, so thousands of idle VM ports cost the thread that owns them
// (the main thread, on a VPP without workers, which also answers the API) a full scan each turn;
// in interrupt or adaptive mode an idle queue costs nothing. Present in VPP's read-back only when a
// port's queue is not polling (VPP's own default for vhost-user and tap), so the default setting
// makes no object and no call.
//
// A vhost-user queue can leave polling only once a guest is connected: VPP needs the guest's kick fd
// and refuses before that (vhost_user_interface_rx_mode_change: "Driver does not support
// interrupt", -9). So for vhost-user the setting waits for the guest: it is recorded as pending, with
// no call, until the interface's link comes up (the engine then forgets the pending record and the
// next pass applies it); VPP keeps the mode when the guest goes and comes back. A guest driver that
// gives no kick fd at all keeps its port polling (pending until the link next comes up).
import { RxMode, sw_interface_rx_placement_dump, sw_interface_set_rx_mode } from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { need, NO_INDEX, portOfIface } from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export type RxModeName = 'polling' | 'interrupt' | 'adaptive';
export const RX_MODES: Readonly<Record<RxModeName, number>> = {
  polling: RxMode.RX_MODE_API_POLLING,
  interrupt: RxMode.RX_MODE_API_INTERRUPT,
  adaptive: RxMode.RX_MODE_API_ADAPTIVE,
};

export interface RxModeObj {
  kind: 'rxmode';
  key: string;
  iface: string;
  /** RX_MODE_API_* of every receive queue. */
  mode: number;
  /** vhost-user: VPP takes a mode other than polling only with a guest connected. */
  guest: boolean;
  /** Only in the actual state: waiting for the guest (no call made); applied when the link comes up. */
  pending?: true;
}

/**
 * [agent] rx_mode when it is not set: adaptive, so an idle VM port costs VPP's polling thread nothing
 * and a busy one is polled (VPP switches a queue between interrupt and polling by its load).
 */
export const DEFAULT_RX_MODE: RxModeName = 'adaptive';

export const rxmodeKey = (portId: string): string => `rxmode:${portId}`;

/** VNET_API_ERROR_UNIMPLEMENTED: the driver refused the mode (a vhost-user queue without a guest). */
const UNIMPLEMENTED = -9;

async function apply(o: RxModeObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.iface);
  if (o.guest && ctx.actual.linkUp.get(idx) !== true) {
    ctx.actual.set({ ...o, pending: true });
    return;
  }
  try {
    await ctx.vpp.request(sw_interface_set_rx_mode, {
      sw_if_index: idx,
      queue_id_valid: false,
      queue_id: 0,
      mode: o.mode,
    });
  } catch (e) {
    if (!(o.guest && e instanceof VppApiError && e.retval === UNIMPLEMENTED)) throw e;
    // The guest is there but gave VPP no kick fd (or not yet): wait for the link to come up again.
    ctx.actual.set({ ...o, pending: true });
    return;
  }
  const { pending: _, ...done } = o;
  ctx.actual.set(done);
}

export const rxmode: KindDescriptor<RxModeObj> = {
  kind: 'rxmode',
  ownership: 'setting',
  portKeyPrefixes: ['rxmode:'],
  deps: (o) => [o.iface],
  parentOf: (o) => o.iface,
  // The interface's queues go with it.
  goesWithParent: true,
  waitsForLink: (o) => o.pending === true,
  compare: (d, a) => (a.pending || a.mode === d.mode ? 'same' : 'update'),
  create: apply,
  update: (d, _a, ctx) => apply(d, ctx),
  // Back to VPP's default for these interfaces.
  async delete(o, ctx) {
    if (o.pending) return;
    await ctx.vpp.request(sw_interface_set_rx_mode, {
      sw_if_index: need(ctx, o.iface),
      queue_id_valid: false,
      queue_id: 0,
      mode: RxMode.RX_MODE_API_POLLING,
    });
  },
  readAfter: ['port'],
  async read(src) {
    const queues = await src.dump(sw_interface_rx_placement_dump, { sw_if_index: NO_INDEX });
    return (sink) => {
      const seen = new Set<string>();
      for (const q of queues) {
        const iface = sink.actual.keyOfHandle('sw_if_index', q.sw_if_index);
        const port = iface === undefined ? undefined : portOfIface(iface);
        if (iface === undefined || port === undefined || seen.has(iface)) continue;
        seen.add(iface);
        // Only the interfaces netvpp sets a mode on: an af_packet (veth-backed) port is in interrupt
        // mode by VPP's own default, which is not a setting of ours to undo.
        const obj = sink.actual.get(iface);
        const vif = obj?.kind === 'port' ? obj.vif.type : undefined;
        if (vif !== 'vhostuser' && vif !== 'tap') continue;
        // One object per interface, as its first queue has it (netvpp gives every queue one mode).
        if (q.mode === RxMode.RX_MODE_API_POLLING) continue;
        sink.add({
          kind: 'rxmode',
          key: rxmodeKey(port),
          iface,
          mode: q.mode,
          guest: false,
        } satisfies RxModeObj);
      }
    };
  },
};
