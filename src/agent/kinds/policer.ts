// policer-in:<port id>, policer-out:<port id> — a port's QoS in one direction (docs/qos.md): a VPP
// policer (the policer plugin) named netvpp:<key>, bound to the port's interface, VPP input (what
// the VM sends: Neutron egress, and DSCP marking) or output (what it receives: Neutron ingress).
//
// VPP 26.06 facts this module is written around (plugins/policer/policer_op.c, policer_api.c):
// - a policer's name is its identity: a second policer_add with the name fails (VALUE_EXIST), and
//   binding and deleting work by name (policer_input/_output, policer_add_del with is_add 0);
// - deleting a policer does not unbind it: the interface would go on pointing at a freed policer,
//   so the binding is removed first;
// - policer_dump carries neither the index nor the binding: read back, a netvpp policer is known by
//   its name (and taken as bound to its port, which create does right after adding it); its index
//   is known only for policers this agent created;
// - policer_update changes one in place by index (the binding and the interface untouched); without
//   the index (read back after a restart) a change unbinds, deletes, adds and binds again.
import {
  policer_add,
  policer_add_del,
  policer_dump,
  policer_input,
  policer_output,
  policer_update,
  type PolicerConfig,
  type Sse2QosAction,
  Sse2QosActionType,
  Sse2QosPolicerType,
  Sse2QosRateType,
  Sse2QosRoundType,
} from '../../vpp/binapi/index.ts';
import { isUuid, keyFromTag, need, tagOf } from './common.ts';
import type { KindDescriptor, OpContext } from './types.ts';

export type PolicerDir = 'in' | 'out';

/** What a policer does with a packet of one colour, as VPP's sse2_qos_action. */
export interface PolicerAction {
  type: number;
  dscp: number;
}

export interface PolicerObj {
  kind: 'policer';
  key: string;
  /** The port's interface key. */
  iface: string;
  dir: PolicerDir;
  /** Committed rate, kbps. */
  cir: number;
  /** Committed burst, bytes. */
  cb: number;
  conform: PolicerAction;
  /** Exceed (and violate, which a single-rate two-colour policer never gives). */
  exceed: PolicerAction;
}

export const policerKey = (portId: string, dir: PolicerDir): string => `policer-${dir}:${portId}`;

export const ACTION = {
  drop: { type: Sse2QosActionType.SSE2_QOS_ACTION_API_DROP, dscp: 0 },
  transmit: { type: Sse2QosActionType.SSE2_QOS_ACTION_API_TRANSMIT, dscp: 0 },
  mark: (dscp: number): PolicerAction => ({
    type: Sse2QosActionType.SSE2_QOS_ACTION_API_MARK_AND_TRANSMIT,
    dscp,
  }),
} as const;

const KEY_RE = /^policer-(in|out):(.+)$/;

/** The port and direction of a policer key, else null. */
export function parsePolicerKey(key: string): { portId: string; dir: PolicerDir } | null {
  const m = KEY_RE.exec(key);
  return m && isUuid(m[2]) ? { portId: m[2], dir: m[1] as PolicerDir } : null;
}

/** The policer's VPP configuration: single rate, two colours, kbps, rounded to the closest. */
export function policerConfig(o: PolicerObj): PolicerConfig {
  const action = (a: PolicerAction): Sse2QosAction => ({ type: a.type, dscp: a.dscp });
  return {
    cir: o.cir,
    eir: 0,
    cb: BigInt(o.cb),
    eb: 0n,
    rate_type: Sse2QosRateType.SSE2_QOS_RATE_API_KBPS,
    round_type: Sse2QosRoundType.SSE2_QOS_ROUND_API_TO_CLOSEST,
    type: Sse2QosPolicerType.SSE2_QOS_POLICER_TYPE_API_1R2C,
    color_aware: false,
    conform_action: action(o.conform),
    exceed_action: action(o.exceed),
    violate_action: action(o.exceed),
  };
}

const sameAction = (a: PolicerAction, b: PolicerAction): boolean => a.type === b.type && a.dscp === b.dscp;

/** Binds (or unbinds) the policer by name to its port's interface in its direction. */
async function bind(o: PolicerObj, ctx: OpContext, apply: boolean): Promise<void> {
  const args = { name: tagOf(o.key), sw_if_index: need(ctx, o.iface), apply };
  if (o.dir === 'in') await ctx.vpp.request(policer_input, args);
  else await ctx.vpp.request(policer_output, args);
}

async function add(o: PolicerObj, ctx: OpContext): Promise<void> {
  const r = await ctx.vpp.request(policer_add, { name: tagOf(o.key), infos: policerConfig(o) });
  ctx.actual.set({ ...o }, r.policer_index);
  await bind(o, ctx, true);
}

async function remove(o: PolicerObj, ctx: OpContext): Promise<void> {
  // Unbind first: VPP's delete leaves the interface pointing at the freed policer. An interface
  // already gone from VPP took its binding with it.
  if (ctx.actual.handle(o.iface) !== undefined) await bind(o, ctx, false);
  await ctx.vpp.request(policer_add_del, {
    is_add: false,
    name: tagOf(o.key),
    cir: 0,
    eir: 0,
    cb: 0n,
    eb: 0n,
    rate_type: 0,
    round_type: 0,
    type: 0,
    color_aware: false,
    conform_action: ACTION.drop,
    exceed_action: ACTION.drop,
    violate_action: ACTION.drop,
  });
}

export const policer: KindDescriptor<PolicerObj> = {
  kind: 'policer',
  ownership: 'identity',
  needs: ['policer'],
  handle: 'policer_index',
  portKeyPrefixes: ['policer-in:', 'policer-out:'],
  deps: (o) => [o.iface],
  compare: (d, a) =>
    d.iface === a.iface &&
    d.dir === a.dir &&
    d.cir === a.cir &&
    d.cb === a.cb &&
    sameAction(d.conform, a.conform) &&
    sameAction(d.exceed, a.exceed)
      ? 'same'
      : d.iface === a.iface && d.dir === a.dir
        ? 'update'
        : 'replace',
  create: add,
  async update(d, a, ctx) {
    const index = ctx.actual.handle(a.key);
    if (index !== undefined) {
      await ctx.vpp.request(policer_update, { policer_index: index, infos: policerConfig(d) });
      ctx.actual.set({ ...d }, index);
      return;
    }
    await remove(a, ctx);
    ctx.actual.remove(a.key);
    await add(d, ctx);
  },
  delete: remove,
  readAfter: ['port'],
  async read(src) {
    const all = await src.dump(policer_dump, { match_name_valid: false, match_name: '' });
    return (sink) => {
      for (const p of all) {
        const key = keyFromTag(p.name);
        const k = key ? parsePolicerKey(key) : null;
        if (!key || !k) continue;
        sink.add({
          kind: 'policer',
          key,
          iface: `port:${k.portId}`,
          dir: k.dir,
          cir: p.cir,
          cb: Number(p.cb),
          conform: { type: p.conform_action.type, dscp: p.conform_action.dscp },
          exceed: { type: p.exceed_action.type, dscp: p.exceed_action.dscp },
        } satisfies PolicerObj);
      }
    };
  },
};
