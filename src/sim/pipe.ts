/**
 * Pipes as vnet keeps them (vnet/devices/pipe/pipe.c, pipe_api.c): a pipe is an Ethernet hardware
 * interface `pipe<instance>` (device class "Pipe", MAC 00:00:00:00:00:<instance>) with two
 * sub-interfaces of type PIPE, `pipe<instance>.0` and `.1`, created in that order right after it;
 * what one end sends the other receives. The instance is the lowest free one (or the one asked
 * for: -31 when taken or ≥ 16384). Deleting any of its three indexes deletes the pipe (its ends
 * first). Link follows admin state; an end, like any sub-interface, can't go up under a down parent.
 * The dump walks hardware interfaces in hw_if_index order (creation order here).
 */
import type { PipeCreate, PipeDelete } from '../vpp/binapi/index.ts';
import type { Handler } from './handlers.ts';
import { NO_INDEX, type HwIf } from './interfaces.ts';
import { LowestFree } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

const PIPE_MAX_INSTANCE = 16 * 1024;

export class Pipes {
  private readonly instances = new LowestFree(PIPE_MAX_INSTANCE);
  /** Live pipes in creation order. */
  readonly hws: HwIf[] = [];

  constructor(private readonly vpp: VppState) {}

  create(isSpecified: boolean, userInstance: number): { rv: number; parent: number; ends: [number, number] } {
    let instance: number;
    if (isSpecified)
      instance = userInstance < PIPE_MAX_INSTANCE && this.instances.take(userInstance) ? userInstance : -1;
    else instance = this.instances.alloc();
    if (instance < 0) return { rv: RV.INVALID_REGISTRATION, parent: NO_INDEX, ends: [NO_INDEX, NO_INDEX] };
    const ifs = this.vpp.ifs;
    const mac = `00:00:00:00:00:${(instance & 0xff).toString(16).padStart(2, '0')}`;
    const hw = ifs.newHw('pipe', 'Pipe', `pipe${instance}`, mac, instance);
    const parent = ifs.createHw(hw, 'normal');
    const ends = [0, 1].map((id) => {
      const e = ifs.newSw(hw, true);
      e.sup = parent.index;
      e.subId = id;
      e.pipeEnd = true;
      hw.subs.set(id, e.index);
      return e.index;
    }) as [number, number];
    this.hws.push(hw);
    return { rv: RV.OK, parent: parent.index, ends };
  }

  delete(swIfIndex: number): number {
    const s = this.vpp.ifs.get(swIfIndex);
    if (!s || s.hw.kind !== 'pipe') return RV.INVALID_SW_IF_INDEX;
    const hw = s.hw;
    this.instances.release(hw.devInstance);
    this.hws.splice(this.hws.indexOf(hw), 1);
    this.vpp.ifs.deleteHw(hw);
    return RV.OK;
  }
}

export const PIPE_HANDLERS: Record<string, Handler> = {
  pipe_create(vpp, msg) {
    const m = msg as unknown as PipeCreate;
    const c = vpp.pipes.create(m.is_specified, m.user_instance);
    return { retval: c.rv, sw_if_index: c.parent, pipe_sw_if_index: c.ends };
  },
  pipe_delete: (vpp, msg) => vpp.pipes.delete((msg as unknown as PipeDelete).sw_if_index),
  pipe_dump: (vpp) =>
    vpp.pipes.hws.map((hw) => ({
      sw_if_index: hw.swIfIndex,
      pipe_sw_if_index: [hw.subs.get(0) ?? NO_INDEX, hw.subs.get(1) ?? NO_INDEX],
      instance: hw.devInstance,
    })),
};
