// What VPP holds, read through the operator's own connection and named by tags, so tests can state
// expectations the way an operator reads `netvpp vpp`: "the port is in the network's bridge".
import {
  acl_dump,
  acl_interface_etype_whitelist_dump,
  acl_interface_list_dump,
  bridge_domain_dump,
  macip_acl_dump,
  macip_acl_interface_get,
  sw_interface_dump,
  type AclRule,
  type MacipAclRule,
  type SwInterfaceDetails,
} from '../../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../../src/vpp/client.ts';

export interface VppView {
  /** Interfaces by name (local0 excluded). */
  ifs: Map<string, SwInterfaceDetails>;
  /** tag → interface */
  byTag: Map<string, SwInterfaceDetails>;
  /** bridge tag → member interface names; bd ids by tag. */
  bridges: Map<string, string[]>;
  bdIds: Map<string, number>;
  /** ACL tag (or `#<index>` when untagged) → index and rules. */
  acls: Map<string, { index: number; rules: AclRule[] }>;
  /** interface name → input and output ACL tags. */
  aclLists: Map<string, { input: string[]; output: string[] }>;
  macips: Map<string, { index: number; rules: MacipAclRule[] }>;
  /** interface name → MAC-IP ACL tag. */
  macipOf: Map<string, string>;
  /** interface name → ethertypes passed from (input) and to (output) it, as hex strings. */
  etypes: Map<string, { input: string[]; output: string[] }>;
  adminUp(name: string): boolean;
  linkUp(name: string): boolean;
}

export async function inspect(vpp: VppClient): Promise<VppView> {
  const [ifList, bds, acls, lists, macips, macipIfs, etypes] = await Promise.all([
    vpp.dump(sw_interface_dump, { sw_if_index: 0xffffffff }),
    vpp.dump(bridge_domain_dump, { bd_id: 0xffffffff, sw_if_index: 0xffffffff }),
    vpp.dump(acl_dump, { acl_index: 0xffffffff }),
    vpp.dump(acl_interface_list_dump, { sw_if_index: 0xffffffff }),
    vpp.dump(macip_acl_dump, { acl_index: 0xffffffff }),
    vpp.request(macip_acl_interface_get, {}),
    vpp.dump(acl_interface_etype_whitelist_dump, { sw_if_index: 0xffffffff }),
  ]);
  // Reply contexts differ per call; they are not VPP state.
  for (const d of ifList) d.context = 0;
  const byIndex = new Map(ifList.map((d) => [d.sw_if_index, d]));
  const nameOf = (i: number) => byIndex.get(i)?.interface_name ?? `#${i}`;
  const aclTag = new Map(acls.map((a) => [a.acl_index, a.tag || `#${a.acl_index}`]));
  const macipTag = new Map(macips.map((a) => [a.acl_index, a.tag || `#${a.acl_index}`]));
  const v = {
    ifs: new Map(ifList.filter((d) => d.interface_name !== 'local0').map((d) => [d.interface_name, d])),
    byTag: new Map(ifList.filter((d) => d.tag).map((d) => [d.tag, d])),
    bridges: new Map(
      bds.map((b) => [b.bd_tag || `#${b.bd_id}`, b.sw_if_details.map((m) => nameOf(m.sw_if_index)).sort()]),
    ),
    bdIds: new Map(bds.map((b) => [b.bd_tag || `#${b.bd_id}`, b.bd_id])),
    acls: new Map(acls.map((a) => [a.tag || `#${a.acl_index}`, { index: a.acl_index, rules: a.r }])),
    aclLists: new Map(
      lists
        .filter((l) => l.count > 0)
        .map((l) => [
          nameOf(l.sw_if_index),
          {
            input: l.acls.slice(0, l.n_input).map((i) => aclTag.get(i) ?? `?${i}`),
            output: l.acls.slice(l.n_input).map((i) => aclTag.get(i) ?? `?${i}`),
          },
        ]),
    ),
    macips: new Map(macips.map((a) => [a.tag || `#${a.acl_index}`, { index: a.acl_index, rules: a.r }])),
    macipOf: new Map(
      macipIfs.acls.flatMap((a, i) =>
        a === 0xffffffff ? [] : [[nameOf(i), macipTag.get(a) ?? `?${a}`] as [string, string]],
      ),
    ),
    etypes: new Map(
      etypes.map((w) => {
        const hex = (xs: number[]) => xs.map((x) => `0x${x.toString(16).padStart(4, '0')}`);
        const list = w.whitelist.slice(0, w.count);
        return [
          nameOf(w.sw_if_index),
          { input: hex(list.slice(0, w.n_input)), output: hex(list.slice(w.n_input)) },
        ];
      }),
    ),
  } as VppView;
  // Not enumerable, so two views compare equal with deepStrictEqual when VPP held the same.
  Object.defineProperty(v, 'adminUp', { value: (name: string) => ((v.ifs.get(name)?.flags ?? 0) & 1) !== 0 });
  Object.defineProperty(v, 'linkUp', { value: (name: string) => ((v.ifs.get(name)?.flags ?? 0) & 2) !== 0 });
  return v;
}

/** The VPP name of a port's interface, by its tag. */
export function portIf(v: VppView, portId: string): string | undefined {
  return v.byTag.get(`netvpp:port:${portId}`)?.interface_name;
}
