/**
 * GRE tunnels as the gre plugin keeps them (plugins/gre/interface.c vnet_gre_tunnel_add_del,
 * gre_api.c), for the point-to-point ERSPAN and TEB ones netvpp uses, with their API handlers.
 *
 * - src and dst of different families: -153; equal: -82. outer_table_id must name a table (only
 *   table 0 exists here: -3 otherwise); a session id above 1023: -148; a multipoint tunnel with a
 *   dst: -58.
 * - A tunnel is found by (src, dst, outer table, type, mode, session id): a second one is -79,
 *   deleting one that is not there -6. The session id is kept for ERSPAN tunnels only (0 for the
 *   rest).
 * - Tunnels sit in a pool (reused most recently freed first); the interface is `gre<instance>`,
 *   instance the one asked for or else the pool index (one in use: -147). L2 tunnels (TEB, ERSPAN)
 *   are Ethernet interfaces with MAC d0:0b:ee:d0:<index high>:<index low>; they are created admin
 *   down (their link follows admin state).
 * - Deleting brings it down and deletes the interface. The dump lists the pool in index order.
 */
import type { GreTunnelAddDel, GreTunnelDump } from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX, type SwIf } from './interfaces.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

const TYPE_L3 = 0;
const MODE_MP = 1;
const SESSION_ID_MAX = 1023;

interface Tunnel {
  index: number;
  userInstance: number;
  type: number;
  mode: number;
  flags: number;
  sessionId: number;
  src: string;
  dst: string;
  swIfIndex: number;
  key: string;
}

export class Gre {
  private readonly pool = new IndexPool();
  private readonly tunnels = new Map<number, Tunnel>();
  private readonly instances = new Set<number>();
  private readonly byKey = new Map<string, Tunnel>();

  constructor(private readonly vpp: VppState) {}

  addDel(m: GreTunnelAddDel): { rv: number; swIfIndex: number } {
    const t = m.tunnel;
    const fail = (rv: number) => ({ rv, swIfIndex: NO_INDEX });
    if (t.src.includes(':') !== t.dst.includes(':')) return fail(RV.INVALID_PROTOCOL);
    if (t.src === t.dst) return fail(RV.SAME_SRC_DST);
    if (t.outer_table_id !== 0) return fail(RV.NO_SUCH_FIB);
    if (t.session_id > SESSION_ID_MAX) return fail(RV.INVALID_SESSION_ID);
    const mp = t.mode === MODE_MP;
    if (mp && t.dst !== '0.0.0.0' && t.dst !== '::') return fail(RV.INVALID_DST_ADDRESS);
    const session = t.type === 2 ? t.session_id : 0;
    const key = [t.src, t.dst, t.type, t.mode, session].join('|');
    const found = this.byKey.get(key);
    if (!m.is_add) {
      if (!found) return fail(RV.NO_SUCH_ENTRY);
      return this.remove(found);
    }
    if (found) return fail(RV.IF_ALREADY_EXISTS);
    const index = this.pool.alloc();
    const userInstance = t.instance === NO_INDEX ? index : t.instance;
    if (this.instances.has(userInstance)) {
      this.pool.release(index);
      return fail(RV.INSTANCE_IN_USE);
    }
    this.instances.add(userInstance);
    const ifs = this.vpp.ifs;
    const hex = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
    const mac = t.type === TYPE_L3 ? '' : `d0:0b:ee:d0:${hex(index >> 8)}:${hex(index)}`;
    const hw = ifs.newHw('gre', 'GRE tunnel device', `gre${userInstance}`, mac, index);
    // An ERSPAN tunnel's link MTU as VPP 26.06 reports it (recorded: 8998, its L3 MTU 9000).
    if (t.type === 2) hw.linkMtu = 8998;
    const s = ifs.createHw(hw, 'normal');
    const tun: Tunnel = {
      index,
      userInstance,
      type: t.type,
      mode: t.mode,
      flags: t.flags,
      sessionId: session,
      src: t.src,
      dst: t.dst,
      swIfIndex: s.index,
      key,
    };
    this.tunnels.set(index, tun);
    this.byKey.set(key, tun);
    return { rv: RV.OK, swIfIndex: s.index };
  }

  private remove(t: Tunnel): { rv: number; swIfIndex: number } {
    const ifs = this.vpp.ifs;
    const s = ifs.get(t.swIfIndex) as SwIf;
    ifs.setAdmin(s, false);
    ifs.deleteHw(s.hw);
    this.byKey.delete(t.key);
    this.instances.delete(t.userInstance);
    this.tunnels.delete(t.index);
    this.pool.release(t.index);
    return { rv: RV.OK, swIfIndex: t.swIfIndex };
  }

  dump(swIfIndex: number): Fields[] {
    const list = [...this.tunnels.values()]
      .sort((a, b) => a.index - b.index)
      .filter((t) => swIfIndex === NO_INDEX || t.swIfIndex === swIfIndex);
    return list.map((t) => ({
      tunnel: {
        type: t.type,
        mode: t.mode,
        flags: t.flags,
        session_id: t.sessionId,
        instance: t.userInstance,
        outer_table_id: 0,
        sw_if_index: t.swIfIndex,
        src: t.src,
        dst: t.dst,
      },
    }));
  }
}

export const GRE_HANDLERS: Record<string, Handler> = {
  gre_tunnel_add_del(vpp, msg) {
    const r = vpp.gre.addDel(msg as unknown as GreTunnelAddDel);
    return { retval: r.rv, sw_if_index: r.swIfIndex };
  },
  gre_tunnel_dump(vpp, msg) {
    return vpp.gre.dump((msg as unknown as GreTunnelDump).sw_if_index);
  },
};
