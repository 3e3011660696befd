// Who wants interface events (want_interface_events), as VPP's registration pool keeps them: one per
// client, refused when doubled or when a client not registered asks to stop; gone with the client.
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';
import type { Fields } from './handlers.ts';

export interface EventReg {
  clientIndex: number;
  pid: number;
}

export class EventRegistrations {
  private regs: (EventReg | undefined)[] = [];
  private pool = new IndexPool();

  /** want_interface_events: its retval. */
  want(msg: Fields): number {
    const clientIndex = msg.client_index as number;
    const i = this.regs.findIndex((r) => r?.clientIndex === clientIndex);
    if (i >= 0) {
      if (msg.enable_disable) return RV.INVALID_REGISTRATION;
      this.remove(i);
      return RV.OK;
    }
    if (!msg.enable_disable) return RV.INVALID_REGISTRATION;
    const slot = this.pool.alloc();
    this.regs[slot] = { clientIndex, pid: msg.pid as number };
    return RV.OK;
  }

  /** The want_* reaper: a client's registrations die with it. */
  dropClient(clientIndex: number): void {
    this.regs.forEach((r, i) => {
      if (r && r.clientIndex === clientIndex) this.remove(i);
    });
  }

  *[Symbol.iterator](): IterableIterator<EventReg> {
    for (const r of this.regs) if (r) yield r;
  }

  private remove(i: number): void {
    this.regs[i] = undefined;
    this.pool.release(i);
  }
}
