/**
 * The ACL plugin (plugins/acl/acl.c): ACLs and MAC-IP ACLs in pools, per-interface input and
 * output lists with the reverse "who uses this ACL" vectors that make acl_del refuse an applied
 * ACL, and the MAC-IP binding vector indexed by sw_if_index (it only ever grows; unbound slots
 * read ~0, which macip_acl_interface_get shows).
 */
import { isIPv6 } from 'node:net';
import type { AclRule, MacipAclRule } from '../vpp/binapi/index.ts';
import { NO_INDEX } from './interfaces.ts';
import { IndexPool } from './pool.ts';
import { RV } from './retval.ts';

export interface Acl {
  index: number;
  tag: string;
  rules: AclRule[];
}

export interface MacipAcl {
  index: number;
  tag: string;
  rules: MacipAclRule[];
}

/** Tags are char[64] in VPP: a tag filling all 64 bytes has no room for its NUL. */
const TAG_MAX = 64;

/** ip_prefix_validate: length in range and no host bits set. */
export function prefixValid(p: string): boolean {
  const slash = p.lastIndexOf('/');
  const addr = p.slice(0, slash);
  const len = Number(p.slice(slash + 1));
  const v6 = isIPv6(addr);
  const bits = v6 ? 128 : 32;
  if (!(len >= 0 && len <= bits)) return false;
  const words = v6 ? ip6Words(addr) : [ip4Word(addr)];
  for (let w = 0; w < words.length; w++) {
    const keep = Math.max(0, Math.min(32, len - 32 * w));
    const mask = keep === 0 ? 0 : (0xffffffff << (32 - keep)) >>> 0;
    if ((words[w] & ~mask) >>> 0 !== 0) return false;
  }
  return true;
}

function ip4Word(a: string): number {
  const p = a.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** An IPv6 address as four 32-bit words. */
export function ip6Words(a: string): number[] {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4) {
    const w = ip4Word(v4[1]);
    tail = [w >>> 16, w & 0xffff];
    s = s.slice(0, -v4[1].length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const [head, rest] = s.split('::');
  const parse = (x: string | undefined): number[] =>
    x
      ? x
          .split(':')
          .filter((h) => h !== '')
          .map((h) => parseInt(h, 16))
      : [];
  const hw = parse(head);
  const tw = [...parse(rest), ...tail];
  const h16 =
    rest === undefined
      ? [...hw, ...tw]
      : [...hw, ...new Array<number>(8 - hw.length - tw.length).fill(0), ...tw];
  return [0, 1, 2, 3].map((i) => ((h16[2 * i] << 16) | h16[2 * i + 1]) >>> 0);
}

export class AclPlugin {
  readonly acls: (Acl | undefined)[] = [];
  readonly macips: (MacipAcl | undefined)[] = [];
  private readonly aclPool = new IndexPool();
  private readonly macipPool = new IndexPool();
  /** sw_if_index -> applied ACLs, in order. */
  private readonly inputs = new Map<number, number[]>();
  private readonly outputs = new Map<number, number[]>();
  /** ACL index -> interfaces it is applied to (VPP's *_sw_if_index_vec_by_acl). */
  private readonly inputUsers = new Map<number, number[]>();
  private readonly outputUsers = new Map<number, number[]>();
  /** VPP's macip_acl_by_sw_if_index vector. */
  readonly macipBySw: number[] = [];
  /**
   * Ethertype whitelists by sw_if_index (input, output). Like VPP's *_etype_whitelist_by_sw_if_index
   * vectors they are not cleared when the interface is deleted: an interface that reuses the index
   * starts with the old whitelist.
   */
  private readonly etypes = new Map<number, { whitelist: number[]; nInput: number }>();
  /** am->reclassify_sessions: 0 unless `acl-plugin { reclassify sessions 1 }` or the CLI set it. */
  reclassifySessions = false;

  /** acl_add_replace: returns [retval, acl_index]. */
  addReplace(index: number, tag: string, rules: AclRule[]): [number, number] {
    if (Buffer.byteLength(tag) >= TAG_MAX) return [RV.INVALID_VALUE, index];
    for (const r of rules) {
      if (!prefixValid(r.src_prefix)) return [RV.INVALID_SRC_ADDRESS, index];
      if (!prefixValid(r.dst_prefix)) return [RV.INVALID_DST_ADDRESS, index];
      if (isIPv6(r.src_prefix.split('/')[0]) !== isIPv6(r.dst_prefix.split('/')[0]))
        return [RV.INVALID_SRC_ADDRESS, index];
      if (r.srcport_or_icmptype_first > r.srcport_or_icmptype_last) return [RV.INVALID_VALUE_2, index];
      if (r.dstport_or_icmpcode_first > r.dstport_or_icmpcode_last) return [RV.INVALID_VALUE_2, index];
    }
    if (index !== NO_INDEX && !this.acls[index]) return [RV.NO_SUCH_ENTRY, index];
    const copy = rules.map((r) => ({ ...r }));
    if (index === NO_INDEX) {
      index = this.aclPool.alloc();
      this.acls[index] = { index, tag, rules: copy };
    } else {
      const a = this.acls[index] as Acl;
      a.tag = tag;
      a.rules = copy;
    }
    return [RV.OK, index];
  }

  del(index: number): number {
    if (!this.acls[index]) return RV.NO_SUCH_ENTRY;
    if (this.inputUsers.get(index)?.length) return RV.ACL_IN_USE_INBOUND;
    if (this.outputUsers.get(index)?.length) return RV.ACL_IN_USE_OUTBOUND;
    this.acls[index] = undefined;
    this.aclPool.release(index);
    return RV.OK;
  }

  /** acl_interface_set_acl_list (after the sw_if_index check). */
  setInterfaceLists(sw: number, acls: number[], nInput: number): number {
    for (const a of acls) if (!this.acls[a]) return RV.NO_SUCH_ENTRY;
    const input = acls.slice(0, nInput);
    const output = acls.slice(nInput);
    const rv = this.setList(sw, false, output);
    // VPP combines the two results with C's ||, so a failure reads 1, not the error code.
    if (rv !== 0) return 1;
    return this.setList(sw, true, input) !== 0 ? 1 : 0;
  }

  /** acl_interface_set_inout_acl_list */
  private setList(sw: number, isInput: boolean, list: number[]): number {
    const seen = new Set<number>();
    for (const a of list) {
      if (!this.acls[a]) return RV.NO_SUCH_ENTRY;
      if (seen.has(a)) return RV.ENTRY_ALREADY_EXISTS;
      seen.add(a);
    }
    const byIf = isInput ? this.inputs : this.outputs;
    const users = isInput ? this.inputUsers : this.outputUsers;
    const old = new Set(byIf.get(sw) ?? []);
    const changed = [...new Set([...old, ...seen])]
      .filter((a) => old.has(a) !== seen.has(a))
      .sort((x, y) => x - y);
    for (const a of changed) {
      const u = users.get(a) ?? [];
      if (old.has(a)) {
        const i = u.indexOf(sw);
        if (i >= 0) u.splice(i, 1);
      } else u.push(sw);
      users.set(a, u);
    }
    if (list.length) byIf.set(sw, [...list]);
    else byIf.delete(sw);
    return RV.OK;
  }

  inputOf(sw: number): number[] {
    return this.inputs.get(sw) ?? [];
  }

  outputOf(sw: number): number[] {
    return this.outputs.get(sw) ?? [];
  }

  /** macip_acl_add_replace: returns [retval, acl_index]. */
  macipAddReplace(index: number, tag: string, rules: MacipAclRule[]): [number, number] {
    if (Buffer.byteLength(tag) >= TAG_MAX) return [RV.INVALID_VALUE, index];
    if (index !== NO_INDEX && !this.macips[index]) return [RV.NO_SUCH_ENTRY, index];
    const copy = rules.map((r) => ({ ...r }));
    if (index === NO_INDEX) {
      index = this.macipPool.alloc();
      this.macips[index] = { index, tag, rules: copy };
    } else {
      const a = this.macips[index] as MacipAcl;
      a.tag = tag;
      a.rules = copy;
    }
    return [RV.OK, index];
  }

  /** macip_acl_del: unbinds the ACL from every interface first; never "in use". */
  macipDel(index: number): number {
    if (!this.macips[index]) return RV.NO_SUCH_ENTRY;
    for (let i = 0; i < this.macipBySw.length; i++)
      if (this.macipBySw[i] === index) this.macipBySw[i] = NO_INDEX;
    this.macips[index] = undefined;
    this.macipPool.release(index);
    return RV.OK;
  }

  /** macip_acl_interface_add_del (after the sw_if_index check); one MAC-IP ACL per interface. */
  macipBind(sw: number, isAdd: boolean, index: number): number {
    if (isAdd) {
      if (!this.macips[index]) return RV.NO_SUCH_ENTRY;
      while (this.macipBySw.length <= sw) this.macipBySw.push(NO_INDEX);
      this.macipBySw[sw] = index;
      return RV.OK;
    }
    if (sw >= this.macipBySw.length || this.macipBySw[sw] === NO_INDEX) return RV.NO_SUCH_ENTRY;
    this.macipBySw[sw] = NO_INDEX;
    return RV.OK;
  }

  /** acl_interface_set_etype_whitelist (after the sw_if_index check): replaces both lists. */
  setEtypeWhitelist(sw: number, whitelist: number[], nInput: number): number {
    // VPP puts the first n_input entries in the input list (all of them when n_input is larger).
    if (whitelist.length)
      this.etypes.set(sw, { whitelist: [...whitelist], nInput: Math.min(nInput, whitelist.length) });
    else this.etypes.delete(sw);
    return RV.OK;
  }

  /** The interface's whitelists, or undefined when neither is set (VPP then sends no details). */
  etypeWhitelistOf(sw: number): { whitelist: number[]; nInput: number } | undefined {
    return this.etypes.get(sw);
  }

  /** The interface-delete hook: ACLs are taken off an interface that goes away. */
  interfaceDeleted(sw: number): void {
    if (sw < this.macipBySw.length) this.macipBySw[sw] = NO_INDEX;
    this.setList(sw, false, []);
    this.setList(sw, true, []);
  }
}
