/**
 * VPP's link-state process (vnet/interface_api.c): interface changes are signalled as bits per
 * sw_if_index, OR-ed together until the process next runs, then sent as one sw_interface_event
 * per interface (ascending sw_if_index) to every registered client. The process runs in a later
 * main-loop turn than the API call that caused the change, so the event reaches the client after
 * that call's reply and before the reply of its next call (interface_events trace: the admin-up
 * event of a set_flags arrives ahead of the reply to the *following* call).
 */
export const EV = {
  LINK_UP: 1 << 1,
  LINK_DOWN: 1 << 2,
  ADMIN_UP: 1 << 3,
  ADMIN_DOWN: 1 << 4,
  ADD: 1 << 5,
  DEL: 1 << 6,
} as const;

/** if_status_flags in sw_interface_event / sw_interface_details. */
export const IF_STATUS_ADMIN_UP = 1;
export const IF_STATUS_LINK_UP = 2;

export class PendingEvents {
  private readonly bits = new Map<number, number>();
  private scheduled = false;

  /** `schedule` is called once per batch, when the first change of a batch is signalled. */
  constructor(private readonly schedule: () => void) {}

  signal(swIfIndex: number, bits: number): void {
    this.bits.set(swIfIndex, (this.bits.get(swIfIndex) ?? 0) | bits);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule();
    }
  }

  get size(): number {
    return this.bits.size;
  }

  /** Takes the batch: [sw_if_index, event flags, deleted] in ascending sw_if_index. */
  take(): [number, number, boolean][] {
    this.scheduled = false;
    if (this.bits.size === 0) return [];
    const out: [number, number, boolean][] = [];
    for (const [i, b] of [...this.bits].sort((x, y) => x[0] - y[0])) {
      const flags = (b & EV.ADMIN_UP ? IF_STATUS_ADMIN_UP : 0) | (b & EV.LINK_UP ? IF_STATUS_LINK_UP : 0);
      out.push([i, flags, (b & EV.DEL) !== 0]);
    }
    this.bits.clear();
    return out;
  }

  clear(): void {
    this.bits.clear();
    this.scheduled = false;
  }
}
