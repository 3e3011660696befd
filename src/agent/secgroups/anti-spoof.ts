// MAC-IP anti-spoofing: the (source MAC, source address) pairs a port may send from. VPP's MAC-IP ACL
// sits on the interface's input, checks IPv4, IPv6 and ARP (sender MAC and sender address), and drops
// every frame whose pair matches no rule.
import type { PortBinding } from '../../model/keyspace.ts';
import type { MacipAclRule } from '../../vpp/binapi/types.ts';
import { comparePrefix, formatAddress, formatPrefix, normalize, parsePrefix, type Prefix } from './prefix.ts';
import { PERMIT } from './rules.ts';
import { isFilteredPort } from './port-acls.ts';

const EXACT_MAC = 'ff:ff:ff:ff:ff:ff';

/** The IPv6 link-local address a host derives from its MAC (modified EUI-64, RFC 4291 appendix A). */
export function eui64LinkLocal(mac: string): string {
  const b = mac
    .toLowerCase()
    .split(':')
    .map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`not a MAC address: ${mac}`);
  // Interface id: the MAC split by ff:fe, with the universal/local bit flipped; prefix fe80::/64.
  const iid = [b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]];
  let addr = 0xfe80n << 112n;
  for (const [i, x] of iid.entries()) addr |= BigInt(x) << BigInt(8 * (7 - i));
  return formatAddress(6, addr);
}

/** Host prefix of a plain address, or the (host-bits-cleared) CIDR; null when malformed. */
function prefixOf(text: string): Prefix | null {
  const p = parsePrefix(text);
  return p ? normalize(p) : null;
}

/**
 * The port's MAC-IP rules (all permits; VPP drops whatever matches none):
 *  - its MAC with each fixed IP (/32, /128);
 *  - its MAC with its EUI-64 IPv6 link-local address, which the VM configures on its own and needs for
 *    neighbour discovery, router solicitation and DHCPv6;
 *  - its MAC with 0.0.0.0/32: a DHCP DISCOVER/REQUEST is sent before the VM has an address, from
 *    0.0.0.0, and ARP probes for duplicate-address detection (RFC 5227) carry sender address 0.0.0.0;
 *  - its MAC with ::/128: IPv6 duplicate-address detection and early MLD reports come from the
 *    unspecified address. Nothing can answer to 0.0.0.0 or ::, so these let nothing be impersonated;
 *  - each allowed address pair: its MAC (Neutron's default is the port's MAC; a foreign MAC is allowed
 *    only with the pair's addresses) with its address or CIDR.
 * An unfiltered port (port security off, or a trusted network:* port) gets no rules at all.
 * Sorted (IPv4 first, then by MAC and prefix) and without duplicates, so the output is stable.
 */
export function compileAntiSpoof(binding: PortBinding): MacipAclRule[] {
  if (!isFilteredPort(binding)) return [];
  const mac = binding.mac.toLowerCase();
  const pairs: { mac: string; prefix: Prefix }[] = [];
  const add = (m: string, p: Prefix | null): void => {
    if (p) pairs.push({ mac: m.toLowerCase(), prefix: p });
  };
  for (const f of binding.fixed_ips) add(mac, prefixOf(f.ip_address));
  add(mac, prefixOf(eui64LinkLocal(mac)));
  add(mac, prefixOf('0.0.0.0'));
  add(mac, prefixOf('::'));
  for (const a of binding.allowed_address_pairs) add(a.mac_address || mac, prefixOf(a.ip_address));

  pairs.sort(
    (x, y) =>
      x.prefix.family - y.prefix.family ||
      (x.mac < y.mac ? -1 : x.mac > y.mac ? 1 : 0) ||
      comparePrefix(x.prefix, y.prefix),
  );
  const out: MacipAclRule[] = [];
  let last = '';
  for (const p of pairs) {
    const rule: MacipAclRule = {
      is_permit: PERMIT,
      src_mac: p.mac,
      src_mac_mask: EXACT_MAC,
      src_prefix: formatPrefix(p.prefix),
    };
    const id = `${rule.src_mac} ${rule.src_prefix}`;
    if (id !== last) out.push(rule);
    last = id;
  }
  return out;
}
