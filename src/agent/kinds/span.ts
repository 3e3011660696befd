// span:<source interface key>><destination interface key> — a SPAN mirror (a setting of the source
// interface): copies of what the source receives (rx), sends (tx) or both go to the destination.
// Always VPP's device mode (is_l2 = 0): the copies are taken at the source's device input and
// interface output and handed straight to the destination's output node, so none of the
// destination's L2 output features (its ACLs, ethertype whitelist, tag rewrite) touch them; in L2
// mode VPP feeds them through l2-output, where those apply (docs/taas.md). VPP keeps an entry
// past the deletion of either interface, so a mirror is removed before both.
import { sw_interface_span_dump, sw_interface_span_enable_disable } from '../../vpp/binapi/index.ts';
import { need } from './common.ts';
import type { KindDescriptor } from './types.ts';

/** VPP's span_state: rx 1, tx 2, both 3. */
export type SpanState = 1 | 2 | 3;

export interface SpanObj {
  kind: 'span';
  key: string;
  /** Interface keys. */
  src: string;
  dst: string;
  state: SpanState;
}

export const spanKey = (src: string, dst: string): string => `span:${src}>${dst}`;

async function setState(o: SpanObj, state: number, ctx: Parameters<KindDescriptor<SpanObj>['create']>[1]) {
  await ctx.vpp.request(sw_interface_span_enable_disable, {
    sw_if_index_from: need(ctx, o.src),
    sw_if_index_to: need(ctx, o.dst),
    state,
    is_l2: false,
  });
}

export const span: KindDescriptor<SpanObj> = {
  kind: 'span',
  ownership: 'setting',
  needs: ['span'],
  deps: (o) => [o.src, o.dst],
  parentOf: (o) => o.src,
  compare: (d, a) =>
    a.src === d.src && a.dst === d.dst ? (a.state === d.state ? 'same' : 'update') : 'replace',
  async create(o, ctx) {
    await setState(o, o.state, ctx);
    ctx.actual.set({ ...o });
  },
  update: (d, _a, ctx) => span.create(d, ctx),
  async delete(o, ctx) {
    await setState(o, 0, ctx);
  },
  readAfter: ['port', 'vxlan', 'erspan', 'spansink'],
  async read(src) {
    const entries = await src.dump(sw_interface_span_dump, { is_l2: false });
    return (sink) => {
      for (const e of entries) {
        const from = sink.actual.keyOfHandle('sw_if_index', e.sw_if_index_from);
        const to = sink.actual.keyOfHandle('sw_if_index', e.sw_if_index_to);
        if (!from || !to || e.state < 1 || e.state > 3) continue;
        sink.add({ kind: 'span', key: spanKey(from, to), src: from, dst: to, state: e.state as SpanState });
      }
    };
  },
};
