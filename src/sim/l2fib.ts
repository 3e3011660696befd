/**
 * The L2 FIB (vnet/l2/l2_fib.c) and the bridge domains' IP-to-MAC tables for ARP termination
 * (l2_bd.c bd_add_del_ip_mac), with their API handlers (l2_api.c).
 *
 * L2 FIB entries are keyed by (MAC, bd_index), not bd_id. Entries added through the API never age
 * and no flush removes them (flushes only touch learned MACs), so they outlive the interface they
 * point at and the bridge domain they belong to: after a domain is deleted its entries dump with
 * bd_id ~0, and a domain created later on the same bd_index inherits them. A BVI's own MAC is an
 * entry too, added when it joins and removed when it leaves.
 *
 * The dump walks VPP's bihash (256K buckets, 4 entries per page): the simulator keeps entries in
 * the same buckets (CRC32C of the 8-byte key, as VPP on x86 hashes it) and pages, so details
 * come in VPP's order.
 *
 * IP-to-MAC tables belong to the domain: deleting it drops them. Their dump order within a family
 * is vppinfra hash order in VPP, which the simulator does not reproduce (it keeps insertion order).
 */
import { HashSize, ip4AsU32 } from './vpphash.ts';
import type { BdIpMacAddDel, BdIpMacDump, L2FibTableDump, L2fibAddDel } from '../vpp/binapi/index.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX, ZERO_MAC } from './interfaces.ts';
import { RV } from './retval.ts';

export interface FibFlags {
  static: boolean;
  filter: boolean;
  bvi: boolean;
}

export interface FibEntry extends FibFlags {
  mac: string;
  bdIndex: number;
  swIfIndex: number;
}

const LOG2_BUCKETS = 18;
const KVP_PER_PAGE = 4;

/** An entry with its key's hash: the low bits pick the bucket, the next ones the page. */
interface Stored extends FibEntry {
  hash: number;
}

/** One bihash bucket: 2^log2Pages pages of KVP_PER_PAGE slots, walked in slot order. */
interface Bucket {
  log2Pages: number;
  slots: (Stored | null)[];
}

const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** clib_bihash_hash_8_8 with SSE4.2: the crc32 instruction over the key, seed 0, no final xor. */
function keyHash(mac: string, bdIndex: number): number {
  const bytes = [bdIndex & 0xff, (bdIndex >> 8) & 0xff, ...mac.split(':').map((x) => parseInt(x, 16))];
  let c = 0;
  for (const b of bytes) c = (CRC32C[(c ^ b) & 0xff] ^ (c >>> 8)) >>> 0;
  return c;
}

export class L2Fib {
  private readonly buckets = new Map<number, Bucket>();
  private readonly byKey = new Map<string, Stored>();
  /** bd_index -> the domain's ARP-termination entries, IPv4 and IPv6 (IP text -> MAC). */
  /** Per bd_index: its IPv4 and IPv6 entries, and the size of VPP's IPv4 hash (mac_by_ip4). */
  private readonly ipMac = new Map<number, [Map<string, string>, Map<string, string>, HashSize]>();

  /** l2fib_add_entry: a new entry, or the existing one overwritten in place. */
  add(mac: string, bdIndex: number, swIfIndex: number, flags: FibFlags): void {
    const key = `${bdIndex}/${mac}`;
    const old = this.byKey.get(key);
    if (old) {
      Object.assign(old, flags, { swIfIndex });
      return;
    }
    const e: Stored = { mac, bdIndex, swIfIndex, ...flags, hash: keyHash(mac, bdIndex) };
    this.byKey.set(key, e);
    const b = e.hash & ((1 << LOG2_BUCKETS) - 1);
    let bucket = this.buckets.get(b);
    if (!bucket) this.buckets.set(b, (bucket = { log2Pages: 0, slots: new Array(KVP_PER_PAGE).fill(null) }));
    while (!place(bucket, e)) split(bucket);
  }

  /** l2fib_del_entry: false when absent, or when `swIfIndex` is not 0 and not the entry's. */
  del(mac: string, bdIndex: number, swIfIndex: number): boolean {
    const key = `${bdIndex}/${mac}`;
    const e = this.byKey.get(key);
    if (!e || (swIfIndex !== 0 && swIfIndex !== e.swIfIndex)) return false;
    this.byKey.delete(key);
    const b = e.hash & ((1 << LOG2_BUCKETS) - 1);
    const bucket = this.buckets.get(b) as Bucket;
    bucket.slots[bucket.slots.indexOf(e)] = null;
    // An emptied bucket is freed: the next entry starts it over with one page.
    if (bucket.slots.every((x) => x === null)) this.buckets.delete(b);
    return true;
  }

  /** l2fib_table_dump: every entry of one bd_index (or all, for ~0) in bihash walk order. */
  entries(bdIndex: number): FibEntry[] {
    const out: FibEntry[] = [];
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y))
      for (const e of (this.buckets.get(b) as Bucket).slots)
        if (e && (bdIndex === NO_INDEX || e.bdIndex === bdIndex)) {
          const { hash: _, ...entry } = e;
          out.push(entry);
        }
    return out;
  }

  /** bd_add_del_ip_mac: false (VPP's 1) when deleting an entry that is absent or has another MAC. */
  ipMacAddDel(bdIndex: number, ip: string, mac: string, isAdd: boolean): boolean {
    let t = this.ipMac.get(bdIndex);
    if (!t) this.ipMac.set(bdIndex, (t = [new Map(), new Map(), new HashSize()]));
    const v6 = ip.includes(':');
    const table = v6 ? t[1] : t[0];
    // Adding an IP that is there already replaces its MAC.
    if (isAdd) {
      const fresh = !table.has(ip);
      table.set(ip, mac);
      if (fresh && !v6) t[2].inserted();
    } else if (table.get(ip) === mac) {
      table.delete(ip);
      if (!v6) t[2].deleted();
    } else return false;
    return true;
  }

  /**
   * A domain's ARP-termination entries, IPv4 first, in VPP's hash_foreach order (vpphash.ts; the
   * IPv6 ones, a memory-keyed hash, in insertion order).
   */
  ipMacs(bdIndex: number): { ip: string; mac: string }[] {
    const t = this.ipMac.get(bdIndex);
    if (!t) return [];
    const v4 = t[2].order([...t[0]], ([ip]) => ip4AsU32(ip));
    return [...v4, ...t[1]].map(([ip, mac]) => ({ ip, mac }));
  }

  /** bd_delete frees the domain's IP-to-MAC tables; its L2 FIB entries stay (see above). */
  bdDeleted(bdIndex: number): void {
    this.ipMac.delete(bdIndex);
  }
}

function place(bucket: Bucket, e: Stored): boolean {
  const page = (e.hash >>> LOG2_BUCKETS) & ((1 << bucket.log2Pages) - 1);
  for (let i = page * KVP_PER_PAGE; i < (page + 1) * KVP_PER_PAGE; i++) {
    if (bucket.slots[i] === null) {
      bucket.slots[i] = e;
      return true;
    }
  }
  return false;
}

/**
 * A full page: the bucket doubles its pages and rehashes its entries in walk order (VPP's
 * split_and_rehash; its linear-search fallback for keys that still collide is not modelled).
 */
function split(bucket: Bucket): void {
  const old = bucket.slots.filter((x): x is Stored => x !== null);
  bucket.log2Pages++;
  bucket.slots = new Array(KVP_PER_PAGE << bucket.log2Pages).fill(null);
  for (const e of old) if (!place(bucket, e)) throw new Error('l2fib: bihash split did not separate keys');
}

export const L2FIB_HANDLERS: Record<string, Handler> = {
  l2fib_add_del(vpp, msg) {
    const m = msg as unknown as L2fibAddDel;
    const bd = vpp.l2.find(m.bd_id);
    if (!bd) return RV.NO_SUCH_ENTRY;
    if (!m.is_add) return vpp.l2fib.del(m.mac, bd.index, m.sw_if_index) ? RV.OK : RV.NO_SUCH_ENTRY;
    // A filter entry drops the MAC; it names no interface.
    if (m.filter_mac) {
      vpp.l2fib.add(m.mac, bd.index, NO_INDEX, { static: true, filter: true, bvi: false });
      return RV.OK;
    }
    // The interface must be bridged, in any domain: VPP does not check it is this one.
    if (!vpp.ifs.get(m.sw_if_index) || !vpp.l2.bridged(m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    vpp.l2fib.add(m.mac, bd.index, m.sw_if_index, { static: m.static_mac, filter: false, bvi: m.bvi_mac });
    return RV.OK;
  },

  l2_fib_table_dump(vpp, msg) {
    const m = msg as unknown as L2FibTableDump;
    let bdIndex = NO_INDEX;
    if (m.bd_id !== NO_INDEX) {
      const bd = vpp.l2.find(m.bd_id);
      if (!bd) return [];
      bdIndex = bd.index;
    }
    return vpp.l2fib.entries(bdIndex).map((e): Fields => ({
      // The bd_id of whatever domain holds the index now: ~0 once it is deleted.
      bd_id: vpp.l2.bds[e.bdIndex]?.bdId ?? NO_INDEX,
      mac: e.mac,
      sw_if_index: e.swIfIndex,
      static_mac: e.static,
      filter_mac: e.filter,
      bvi_mac: e.bvi,
    }));
  },

  bd_ip_mac_add_del(vpp, msg) {
    const m = msg as unknown as BdIpMacAddDel;
    if (m.entry.bd_id === 0) return RV.BD_NOT_MODIFIABLE;
    const bd = vpp.l2.find(m.entry.bd_id);
    if (!bd) return RV.NO_SUCH_ENTRY;
    return vpp.l2fib.ipMacAddDel(bd.index, m.entry.ip, m.entry.mac, m.is_add) ? RV.OK : RV.UNSPECIFIED;
  },

  bd_ip_mac_dump(vpp, msg) {
    const m = msg as unknown as BdIpMacDump;
    let domains;
    if (m.bd_id === NO_INDEX) domains = [...vpp.l2.live()];
    else {
      const bd = vpp.l2.find(m.bd_id);
      domains = bd && bd.features !== 0 ? [bd] : [];
    }
    return domains.flatMap((bd) =>
      vpp.l2fib.ipMacs(bd.index).map((e): Fields => ({ entry: { bd_id: bd.bdId, ip: e.ip, mac: e.mac } })),
    );
  },
};

/** The MAC a BVI's L2 FIB entry is keyed by: its hardware address (none: zeros). */
export function bviMac(hwMac: string): string {
  return hwMac === '' ? ZERO_MAC : hwMac;
}
