// l2flags:<end>:<port id> — the L2 input features of a router gateway's pipe end (a setting of the
// pipe): flooding and learning off on end 1, where frames from the external network enter the
// gateway's own bridge (bd:gw-<port>). Broadcast ARP requests entering there are then answered by
// the bridge's ARP termination (arpterm entries for the gateway's addresses and floating IPs) or
// dropped — never flooded to the gateway BVI. NAT44-ED installs every router's pool and
// static-mapping addresses on every outside interface, so without this each gateway BVI on an
// external network would answer ARP for the other routers' addresses (docs/l3.md, "Gateway ARP").
//
// Joining a bridge turns the interface's flags back on (set_int_l2_mode), so this waits for the
// end's membership (pipel2) and goes with it.
import { BdFlags, l2_flags, l2_flags_get, pipe_dump, sw_interface_dump } from '../../vpp/binapi/index.ts';
import { L2_INPUT_FEAT } from '../../vpp/l2-input-features.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { keyFromTag, NO_INDEX } from './common.ts';

const INVALID_SW_IF_INDEX = -2;
import { pipeL2Key } from './pipe.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface L2FlagsObj {
  kind: 'l2flags';
  key: string;
  pipe: string;
  end: 0 | 1;
  /** The end's bridge membership (pipel2), which must come first. */
  member: string;
  flood: boolean;
  learn: boolean;
  /**
   * ARP/ND termination of frames entering here. Off while the router is inactive (an HA standby or
   * admin_state_up false: compile-l3.ts): the bridge's entries would answer for the gateway's
   * addresses even with its interface down, and the active host answers them.
   */
  arpTerm: boolean;
}

export const l2flagsKey = (portId: string, end: 0 | 1): string => `l2flags:${end}:${portId}`;

function endIndex(ctx: OpContext, o: L2FlagsObj): number {
  const p = ctx.actual.get(o.pipe);
  if (p?.kind !== 'pipe' || !p.ends) throw new ObjectError(`${o.pipe} is not in VPP`);
  return p.ends[o.end];
}

/** Sets the flags that differ from `from` (everything when `from` is undefined). */
async function apply(o: L2FlagsObj, from: L2FlagsObj | undefined, ctx: OpContext): Promise<void> {
  const sw_if_index = endIndex(ctx, o);
  const bits: [boolean, boolean | undefined, number][] = [
    [o.flood, from?.flood, BdFlags.BRIDGE_API_FLAG_FLOOD],
    [o.learn, from?.learn, BdFlags.BRIDGE_API_FLAG_LEARN],
    [o.arpTerm, from?.arpTerm, BdFlags.BRIDGE_API_FLAG_ARP_TERM],
  ];
  for (const isSet of [true, false]) {
    const feature_bitmap = bits
      .filter(([want, had]) => want === isSet && want !== had)
      .reduce((f, [, , bit]) => f | bit, 0);
    if (feature_bitmap) await ctx.vpp.request(l2_flags, { sw_if_index, is_set: isSet, feature_bitmap });
  }
  ctx.actual.set({ ...o });
}

export const l2flags: KindDescriptor<L2FlagsObj> = {
  kind: 'l2flags',
  ownership: 'setting',
  portKeyPrefixes: ['l2flags:0:', 'l2flags:1:'],
  needs: ['ip'],
  deps: (o) => [o.pipe, o.member],
  parentOf: (o) => o.pipe,
  // Deleting the pipe deletes its ends and their flags.
  goesWithParent: true,
  compare: (d, a) =>
    d.flood === a.flood && d.learn === a.learn && d.arpTerm === a.arpTerm ? 'same' : 'update',
  create: (o, ctx) => apply(o, undefined, ctx),
  update: (d, a, ctx) => apply(d, a, ctx),
  // Back to what a bridge member has by default.
  delete: (o, ctx) => apply({ ...o, flood: true, learn: true, arpTerm: true }, o, ctx),
  readAfter: ['pipe', 'pipel2'],
  async read(src) {
    const [pipes, ifs] = await Promise.all([
      src.dump(pipe_dump, {}),
      src.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    ]);
    const tags = new Map(ifs.map((d) => [d.sw_if_index, d.tag]));
    // One l2_flags_get per end of netvpp's pipes: VPP has no dump of them.
    const found: { key: string; portId: string; end: 0 | 1; bitmap: number }[] = [];
    await Promise.all(
      pipes.flatMap((p) => {
        const key = keyFromTag(tags.get(p.sw_if_index) ?? '');
        if (key === null || !key.startsWith('pipe:')) return [];
        return ([0, 1] as const).map(async (end) => {
          try {
            const r = await src.request(l2_flags_get, { sw_if_index: p.pipe_sw_if_index[end] });
            found.push({ key, portId: key.slice(5), end, bitmap: r.input_feature_bitmap });
          } catch (e) {
            // Seen on VPP 26.06: pipe_dump names an end l2_flags_get calls invalid (-2). No flags read.
            if (!(e instanceof VppApiError && e.retval === INVALID_SW_IF_INDEX)) throw e;
          }
        });
      }),
    );
    return (sink) => {
      for (const f of found) {
        const member = pipeL2Key(f.portId, f.end);
        // A flag is only ours to report where the end is in a bridge and has one turned off.
        if (!sink.actual.get(member)) continue;
        const flood = (f.bitmap & L2_INPUT_FEAT.FLOOD) !== 0;
        const learn = (f.bitmap & L2_INPUT_FEAT.LEARN) !== 0;
        const arpTerm = (f.bitmap & L2_INPUT_FEAT.ARP_TERM) !== 0;
        if (flood && learn && arpTerm) continue;
        sink.add({
          kind: 'l2flags',
          key: l2flagsKey(f.portId, f.end),
          pipe: f.key,
          end: f.end,
          member,
          flood,
          learn,
          arpTerm,
        } satisfies L2FlagsObj);
      }
    };
  },
};
