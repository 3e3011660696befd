/**
 * The policer plugin as VPP 26.06 keeps it (plugins/policer/policer_op.c, policer_api.c, xlate.c):
 * policers in a pool (a freed index is reused, most recently freed first), each with a unique name
 * and its configuration; per direction, one policer index per sw_if_index (policer_input/_output).
 *
 * What a client sees of it, as VPP does it:
 * - policer_add (and policer_add_del with is_add) fails with VALUE_EXIST for a name in use and with
 *   INVALID_VALUE for a configuration pol_logical_2_physical refuses (checked below as VPP does);
 * - deleting a policer (by name, or policer_del by index) does NOT unbind it: an interface it was
 *   bound to still names the freed index (`boundTo`), which is why a client must unbind first;
 * - policer_input/_output check the interface first (INVALID_SW_IF_INDEX), then the name
 *   (NO_SUCH_ENTRY); with apply 0 the interface's policer is cleared whichever one it was;
 * - policer_update (by index) replaces the configuration in place, the name and bindings kept;
 * - policer_dump gives, in pool order (or the one named), the configuration as given and the
 *   actions, but neither the index nor the binding; the hardware figures it derives from the CPU's
 *   clock (scale, tokens per period, limits, buckets, last update) are not modelled: 0 here.
 */
import type {
  PolicerAdd,
  PolicerAddDel,
  PolicerConfig,
  PolicerDump,
  PolicerInput,
  PolicerUpdate,
  Sse2QosAction,
} from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX } from './interfaces.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';

// sse2_qos_policer_type / sse2_qos_rate_type values.
const T_1R2C = 0;
const T_1R3C = 1;
const T_2R3C_2698 = 2;
const T_2R3C_4115 = 3;
const RATE_KBPS = 0;
const RATE_PPS = 1;

interface Policer {
  name: string;
  cfg: PolicerConfig;
}

export type PolicerDirection = 'rx' | 'tx';

/** x86_pol_compute_hw_params' checks (after PPS → kbps): true when VPP accepts the configuration. */
export function policerConfigValid(c: PolicerConfig): boolean {
  if (c.rate_type !== RATE_KBPS && c.rate_type !== RATE_PPS) return false;
  const { cir, eir } = c;
  const cb = c.cb;
  const eb = c.eb;
  // An unconfigured policer: every packet violates.
  if (cir === 0 && cb === 0n && eb === 0n) return true;
  if (c.type === T_1R2C || c.type === T_1R3C) {
    if (c.type === T_1R2C && eb !== 0n) return false;
    return cir !== 0 && eir === 0 && (cb !== 0n || eb !== 0n);
  }
  if (c.type === T_2R3C_2698 || c.type === T_2R3C_4115)
    return cir !== 0 && eir !== 0 && eir >= cir && cb !== 0n && eb !== 0n;
  return false;
}

export class Policers {
  private readonly pool = new IndexPool();
  private readonly byIndex = new Map<number, Policer>();
  private readonly byName = new Map<string, number>();
  /** Per direction: sw_if_index → policer index (stale after a delete without unbinding). */
  private readonly bound: Record<PolicerDirection, Map<number, number>> = { rx: new Map(), tx: new Map() };

  add(name: string, cfg: PolicerConfig): { rv: number; index: number } {
    if (this.byName.has(name)) return { rv: RV.VALUE_EXIST, index: NO_INDEX };
    if (!policerConfigValid(cfg)) return { rv: RV.INVALID_VALUE, index: NO_INDEX };
    const index = this.pool.alloc();
    this.byIndex.set(index, { name, cfg: structuredClone(cfg) });
    this.byName.set(name, index);
    return { rv: RV.OK, index };
  }

  delByName(name: string): number {
    const i = this.byName.get(name);
    return i === undefined ? RV.NO_SUCH_ENTRY : this.del(i);
  }

  del(index: number): number {
    const p = this.byIndex.get(index);
    if (!p) return RV.NO_SUCH_ENTRY;
    this.byIndex.delete(index);
    this.byName.delete(p.name);
    this.pool.release(index);
    return RV.OK;
  }

  update(index: number, cfg: PolicerConfig): number {
    const p = this.byIndex.get(index);
    if (!p) return RV.NO_SUCH_ENTRY;
    if (!policerConfigValid(cfg)) return RV.INVALID_VALUE;
    p.cfg = structuredClone(cfg);
    return RV.OK;
  }

  /** policer_input (rx) / policer_output (tx) by name, the interface already checked. */
  apply(name: string, swIfIndex: number, dir: PolicerDirection, apply: boolean): number {
    const i = this.byName.get(name);
    if (i === undefined) return RV.NO_SUCH_ENTRY;
    if (apply) this.bound[dir].set(swIfIndex, i);
    else this.bound[dir].delete(swIfIndex);
    return RV.OK;
  }

  /** The policer index an interface names in a direction (maybe a freed one), for tests. */
  boundTo(swIfIndex: number, dir: PolicerDirection): number | undefined {
    return this.bound[dir].get(swIfIndex);
  }

  /** A policer's name and configuration by index, for tests. */
  get(index: number): { name: string; cfg: PolicerConfig } | undefined {
    return this.byIndex.get(index);
  }

  details(name?: string): Fields[] {
    const indexes =
      name === undefined ? this.pool.inUse() : [this.byName.get(name)].filter((i) => i !== undefined);
    return indexes.map((i) => {
      const { name: n, cfg } = this.byIndex.get(i) as Policer;
      const action = (a: Sse2QosAction): Sse2QosAction => ({ type: a.type, dscp: a.dscp });
      return {
        name: n,
        cir: cfg.cir,
        eir: cfg.eir,
        cb: cfg.cb,
        eb: cfg.eb,
        rate_type: cfg.rate_type,
        round_type: cfg.round_type,
        type: cfg.type,
        conform_action: action(cfg.conform_action),
        exceed_action: action(cfg.exceed_action),
        violate_action: action(cfg.violate_action),
        single_rate: cfg.type === T_1R2C || cfg.type === T_1R3C || (cfg.cir === 0 && cfg.cb === 0n),
        color_aware: cfg.color_aware,
        scale: 0,
        cir_tokens_per_period: 0,
        pir_tokens_per_period: 0,
        current_limit: 0,
        current_bucket: 0,
        extended_limit: 0,
        extended_bucket: 0,
        last_update_time: 0n,
      };
    });
  }
}

const configOf = (m: PolicerAddDel): PolicerConfig => ({
  cir: m.cir,
  eir: m.eir,
  cb: m.cb,
  eb: m.eb,
  rate_type: m.rate_type,
  round_type: m.round_type,
  type: m.type,
  color_aware: m.color_aware,
  conform_action: m.conform_action,
  exceed_action: m.exceed_action,
  violate_action: m.violate_action,
});

function bindHandler(dir: PolicerDirection): Handler {
  return (vpp, msg) => {
    const m = msg as unknown as PolicerInput;
    if (!vpp.ifs.get(m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return vpp.policers.apply(m.name, m.sw_if_index, dir, m.apply);
  };
}

export const POLICER_HANDLERS: Record<string, Handler> = {
  policer_add(vpp, msg) {
    const m = msg as unknown as PolicerAdd;
    const r = vpp.policers.add(m.name, m.infos);
    return { retval: r.rv, policer_index: r.index };
  },
  policer_add_del(vpp, msg) {
    const m = msg as unknown as PolicerAddDel;
    if (m.is_add) {
      const r = vpp.policers.add(m.name, configOf(m));
      return { retval: r.rv, policer_index: r.index };
    }
    return { retval: vpp.policers.delByName(m.name), policer_index: NO_INDEX };
  },
  policer_update(vpp, msg) {
    const m = msg as unknown as PolicerUpdate;
    return vpp.policers.update(m.policer_index, m.infos);
  },
  policer_input: bindHandler('rx'),
  policer_output: bindHandler('tx'),
  policer_dump(vpp, msg) {
    const m = msg as unknown as PolicerDump;
    return vpp.policers.details(m.match_name_valid ? m.match_name : undefined);
  },
};
