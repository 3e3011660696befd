/**
 * `netvpp vpp`: what a VPP looks like through netvpp's client (version, message groups it lacks,
 * interfaces, bonds with their members' LACP state, bridges, ACLs).
 */
import { VppClient } from '../vpp/client.ts';
import { formatBond, readAllBondStates } from '../agent/lacp-status.ts';
import { acl_dump, bridge_domain_dump, show_version, sw_interface_dump } from '../vpp/binapi/index.ts';

const ADMIN_UP = 1;
const LINK_UP = 2;

export async function showVpp(socket: string, out: (line: string) => void = console.log): Promise<void> {
  const c = await VppClient.connect({ socket, name: 'netvpp-cli' });
  try {
    const [v, ifs, bds, acls] = await Promise.all([
      c.request(show_version, {}),
      c.dump(sw_interface_dump, {}),
      c.dump(bridge_domain_dump, { bd_id: 0xffffffff }),
      c.offers('acl') ? c.dump(acl_dump, { acl_index: 0xffffffff }) : null,
    ]);
    out(`VPP ${v.version} (${v.program}, built ${v.build_date}) at ${socket}, pid ${c.vpePid}`);
    for (const [name, g] of Object.entries(c.groups))
      if (!g.available) out(`message group ${name} unavailable (its feature is off): ${g.reason ?? ''}`);
    out(`interfaces (${ifs.length}):`);
    for (const i of ifs) {
      const state = `${i.flags & ADMIN_UP ? 'up' : 'down'}/${i.flags & LINK_UP ? 'link' : 'no-link'}`;
      out(
        `  ${String(i.sw_if_index).padStart(4)}  ${i.interface_name.padEnd(28)} ${state.padEnd(13)} mtu ${i.mtu[0] || i.link_mtu}  ${i.l2_address}${i.tag ? `  tag=${i.tag}` : ''}`,
      );
    }
    const bonds = await readAllBondStates(c);
    if (bonds.length) {
      out(`bonds (${bonds.length}):`);
      for (const b of bonds) for (const l of formatBond(b)) out(l);
    }
    out(`bridge domains (${bds.length}):`);
    for (const b of bds)
      out(`  ${b.bd_id}: ${b.n_sw_ifs} members [${b.sw_if_details.map((m) => m.sw_if_index).join(', ')}]`);
    if (acls) {
      out(`ACLs (${acls.length}):`);
      for (const a of acls) out(`  ${a.acl_index}: ${a.count} rules  tag=${a.tag}`);
    }
  } finally {
    await c.close();
  }
}
