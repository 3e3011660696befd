// VPP's interface events, kind-blind. An event carries the changes of a batch, not the state:
// ADMIN_UP / LINK_UP say that the interface went up, but a missing bit may mean "went down" or "did
// not change". So an event the agent's own record explains is taken as is; any other is checked with
// a dump of that interface, and the interface's descriptor takes in what VPP reports.
import { sw_interface_dump } from '../../vpp/binapi/index.ts';
import { ADMIN_UP, descriptorOf, LINK_UP } from '../kinds/index.ts';
import type { VppApi } from '../vpp-api.ts';
import type { ActualState } from './actual.ts';

/** Whether an event's flags disagree with what the agent believes of that interface. */
export function unexplained(a: ActualState, idx: number, flags: number): boolean {
  const key = a.keyByIf.get(idx);
  const o = key ? a.get(key) : undefined;
  const behaviour = o ? descriptorOf(o).iface : undefined;
  if (!o || !behaviour) return false;
  const adminUp = (flags & ADMIN_UP) !== 0;
  const linkUp = (flags & LINK_UP) !== 0;
  return adminUp !== behaviour.adminUp(o, a) || (!linkUp && a.linkUp.get(idx) === true);
}

export interface RefreshNote {
  key: string;
  swIfIndex: number;
  /** 'gone': deleted or replaced behind the agent's back; 'changed': its descriptor's warning. */
  what: 'gone' | 'changed';
  message: string;
}

/**
 * Re-reads the interfaces whose events were not explained (`dirty`: index → flags, -1 for deleted)
 * and updates the actual state; returns what is worth logging.
 */
export async function refreshInterfaces(
  vpp: VppApi,
  a: ActualState,
  dirty: ReadonlyMap<number, number>,
): Promise<RefreshNote[]> {
  const todo = [...dirty].filter(([idx, flags]) => flags < 0 || unexplained(a, idx, flags));
  const notes: RefreshNote[] = [];
  if (todo.length === 0) return notes;
  const details = await Promise.all(todo.map(([idx]) => vpp.dump(sw_interface_dump, { sw_if_index: idx })));
  todo.forEach(([idx], i) => {
    const d = details[i][0];
    const key = a.keyByIf.get(idx);
    const o = key ? a.get(key) : undefined;
    const behaviour = o ? descriptorOf(o).iface : undefined;
    if (!d || (o && behaviour && !behaviour.same(o, d))) {
      if (key) {
        notes.push({
          key,
          swIfIndex: idx,
          what: 'gone',
          message: 'an interface of netvpp disappeared from VPP; re-creating it',
        });
        a.interfaceGone(idx);
      }
      return;
    }
    a.setLink(idx, (d.flags & LINK_UP) !== 0);
    if (!o || !behaviour || !key) return;
    const warning = behaviour.observe(o, (d.flags & ADMIN_UP) !== 0, a);
    if (warning) notes.push({ key, swIfIndex: idx, what: 'changed', message: warning });
  });
  return notes;
}
