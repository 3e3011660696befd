// pipe:<port id> — a router's gateway patch: a VPP pipe whose end 0 is a member of the external
// network's bridge and end 1 of the router's own gateway bridge (bd:gw-<port>), where the gateway
// port's loopback (rif:<port>) is the BVI. A pipe's L3 side can't be the gateway itself: its ends
// are point-to-point sub-interfaces with an all-zero Ethernet rewrite and no MAC check (pipe.c), so
// both ends stay L2 and the BVI brings the MAC, ARP and the address (docs/l3.md).
//
// The parent is tagged and kept admin up with both ends. It asks for an instance hashed from the
// port (the next free one when taken): a crash between create and tag leaves an untagged pipe at
// that instance with its ends in no bridge, which the next create adopts.
// pipel2:<end>:<port id> — an end's membership of its bridge (a setting of the pipe).
import {
  bridge_domain_dump,
  L2PortType,
  pipe_create,
  pipe_delete,
  pipe_dump,
  sw_interface_dump,
  sw_interface_set_flags,
  sw_interface_set_l2_bridge,
  sw_interface_tag_add_del,
} from '../../vpp/binapi/index.ts';
import { VppApiError } from '../../vpp/errors.ts';
import { ADMIN_UP, keyFromTag, need, NO_INDEX, tagOf } from './common.ts';
import { ObjectError, type KindDescriptor, type OpContext } from './types.ts';

export interface PipeObj {
  kind: 'pipe';
  key: string;
  portId: string;
  /** Only on an object read back or being made: its ends' sw_if_indexes. */
  ends?: [number, number];
  /** Only on an object read back or being made: the parent and both ends admin up. */
  up?: boolean;
  /** Only on an object being made: created, its tag call never came. */
  untagged?: true;
}

export interface PipeL2Obj {
  kind: 'pipel2';
  key: string;
  pipe: string;
  end: 0 | 1;
  bd: string;
}

export const pipeKey = (portId: string): string => `pipe:${portId}`;
export const pipeL2Key = (portId: string, end: 0 | 1): string => `pipel2:${end}:${portId}`;

const PIPE_MAX_INSTANCE = 16 * 1024;
/** VNET_API_ERROR_INVALID_REGISTRATION: the instance asked for is taken. */
const INSTANCE_TAKEN = -31;

function preferredInstance(portId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < portId.length; i++) h = Math.imul(h ^ portId.charCodeAt(i), 0x01000193) >>> 0;
  return h % PIPE_MAX_INSTANCE;
}

async function finish(o: PipeObj, ctx: OpContext): Promise<void> {
  const idx = need(ctx, o.key);
  let cur = ctx.actual.get(o.key) as PipeObj;
  const ends = cur.ends as [number, number];
  if (cur.untagged) {
    await ctx.vpp.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: idx, tag: tagOf(o.key) });
    ctx.actual.set((cur = { kind: 'pipe', key: o.key, portId: o.portId, ends, up: cur.up === true }), idx);
  }
  if (!cur.up) {
    // The parent first: VPP keeps a sub-interface down under a down parent.
    for (const i of [idx, ...ends])
      await ctx.vpp.request(sw_interface_set_flags, { sw_if_index: i, flags: ADMIN_UP });
    ctx.actual.set({ ...cur, up: true }, idx);
  }
}

export const pipe: KindDescriptor<PipeObj> = {
  kind: 'pipe',
  ownership: 'tag',
  handle: 'sw_if_index',
  portKeyPrefixes: ['pipe:'],
  needs: ['ip'],
  deps: () => [],
  compare: (_d, a) => (a.up === false || a.untagged ? 'update' : 'same'),
  async create(o, ctx) {
    const [pipes, ifs, bds] = await Promise.all([
      ctx.vpp.dump(pipe_dump, {}),
      ctx.vpp.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
      ctx.vpp.dump(bridge_domain_dump, { bd_id: NO_INDEX, sw_if_index: NO_INDEX }),
    ]);
    const tagged = new Set(ifs.filter((d) => d.tag !== '').map((d) => d.sw_if_index));
    const bridged = new Set(bds.flatMap((b) => b.sw_if_details.map((m) => m.sw_if_index)));
    const preferred = preferredInstance(o.portId);
    const left = pipes.find(
      (p) =>
        p.instance === preferred &&
        ![p.sw_if_index, ...p.pipe_sw_if_index].some((i) => tagged.has(i) || bridged.has(i)),
    );
    let made: { parent: number; ends: [number, number] } | undefined = left && {
      parent: left.sw_if_index,
      ends: [left.pipe_sw_if_index[0], left.pipe_sw_if_index[1]],
    };
    const taken = new Set(pipes.map((p) => p.instance));
    for (
      let i = 0, inst = preferred;
      !made && i < PIPE_MAX_INSTANCE;
      i++, inst = (inst + 1) % PIPE_MAX_INSTANCE
    ) {
      if (taken.has(inst)) continue;
      try {
        const r = await ctx.vpp.request(pipe_create, { is_specified: true, user_instance: inst });
        made = { parent: r.sw_if_index, ends: [r.pipe_sw_if_index[0], r.pipe_sw_if_index[1]] };
      } catch (e) {
        if (!(e instanceof VppApiError && e.retval === INSTANCE_TAKEN)) throw e;
      }
    }
    if (!made) throw new ObjectError('no free pipe instance');
    // Recorded before the tag and admin calls: a failure part-way leaves an accurate picture.
    ctx.actual.set({ ...o, ends: made.ends, up: false, untagged: true }, made.parent);
    await finish(o, ctx);
  },
  update: (d, _a, ctx) => finish(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(pipe_delete, { sw_if_index: need(ctx, o.key) });
  },
  async read(src) {
    const [pipes, ifs] = await Promise.all([
      src.dump(pipe_dump, {}),
      src.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
    ]);
    const byIndex = new Map(ifs.map((d) => [d.sw_if_index, d]));
    return (sink) => {
      for (const p of pipes) {
        const key = keyFromTag(byIndex.get(p.sw_if_index)?.tag ?? '');
        if (key === null || !key.startsWith('pipe:')) continue;
        const ends: [number, number] = [p.pipe_sw_if_index[0], p.pipe_sw_if_index[1]];
        const up = [p.sw_if_index, ...ends].every((i) => ((byIndex.get(i)?.flags ?? 0) & ADMIN_UP) !== 0);
        sink.add({ kind: 'pipe', key, portId: key.slice(5), ends, up } satisfies PipeObj, p.sw_if_index);
      }
    };
  },
};

function endIndex(ctx: OpContext, o: PipeL2Obj): number {
  const p = ctx.actual.get(o.pipe);
  if (p?.kind !== 'pipe' || !p.ends) throw new ObjectError(`${o.pipe} is not in VPP`);
  return p.ends[o.end];
}

export const pipel2: KindDescriptor<PipeL2Obj> = {
  kind: 'pipel2',
  ownership: 'setting',
  portKeyPrefixes: ['pipel2:0:', 'pipel2:1:'],
  needs: ['ip'],
  deps: (o) => [o.pipe, o.bd],
  parentOf: (o) => o.pipe,
  // Deleting the pipe takes its ends out of their bridges.
  goesWithParent: true,
  compare: (d, a) => (d.bd === a.bd ? 'same' : 'update'),
  async create(o, ctx) {
    await ctx.vpp.request(sw_interface_set_l2_bridge, {
      rx_sw_if_index: endIndex(ctx, o),
      bd_id: need(ctx, o.bd),
      port_type: L2PortType.L2_API_PORT_TYPE_NORMAL,
      shg: 0,
      enable: true,
    });
    ctx.actual.set({ ...o });
  },
  update: (d, _a, ctx) => pipel2.create(d, ctx),
  async delete(o, ctx) {
    await ctx.vpp.request(sw_interface_set_l2_bridge, {
      rx_sw_if_index: endIndex(ctx, o),
      bd_id: 0,
      port_type: L2PortType.L2_API_PORT_TYPE_NORMAL,
      shg: 0,
      enable: false,
    });
  },
  readAfter: ['pipe', 'bd'],
  async read(src) {
    const bds = await src.dump(bridge_domain_dump, { bd_id: NO_INDEX, sw_if_index: NO_INDEX });
    return (sink) => {
      const a = sink.actual;
      const ends = new Map<number, { pipe: string; portId: string; end: 0 | 1 }>();
      for (const o of a.objects.values())
        if (o.kind === 'pipe' && o.ends)
          o.ends.forEach((i, end) => ends.set(i, { pipe: o.key, portId: o.portId, end: end as 0 | 1 }));
      for (const bd of bds)
        for (const m of bd.sw_if_details) {
          const e = ends.get(m.sw_if_index);
          if (!e) continue;
          sink.add({
            kind: 'pipel2',
            key: pipeL2Key(e.portId, e.end),
            pipe: e.pipe,
            end: e.end,
            bd: a.keyOfHandle('bd_id', bd.bd_id) ?? `bd-id:${bd.bd_id}`,
          } satisfies PipeL2Obj);
        }
    };
  },
};
