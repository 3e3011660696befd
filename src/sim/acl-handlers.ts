// The ACL plugin's requests (plugins/acl/acl.c, acl_api): ACLs, MAC-IP ACLs, interface lists and
// ethertype whitelists, over the plugin's state in acl.ts.
import type {
  AclAddReplace,
  AclDel,
  AclDump,
  AclInterfaceEtypeWhitelistDump,
  AclInterfaceListDump,
  AclInterfaceSetAclList,
  AclInterfaceSetEtypeWhitelist,
  MacipAclAddReplace,
  MacipAclDel,
  MacipAclDump,
  MacipAclInterfaceAddDel,
  MacipAclInterfaceListDump,
} from '../vpp/binapi/index.ts';
import type { Acl, MacipAcl } from './acl.ts';
import type { Fields, Handler } from './handlers.ts';
import { NO_INDEX } from './interfaces.ts';
import { RV } from './retval.ts';
import type { VppState } from './state.ts';

const ACL_PLUGIN_VERSION = { major: 1, minor: 4 };

const known = (vpp: VppState, i: number): boolean => vpp.ifs.get(i) !== undefined;

function aclDetails(a: Acl): Fields {
  return { acl_index: a.index, tag: a.tag, count: a.rules.length, r: a.rules };
}

function macipDetails(a: MacipAcl): Fields {
  return { acl_index: a.index, tag: a.tag, count: a.rules.length, r: a.rules };
}

export const ACL_HANDLERS: Record<string, Handler> = {
  acl_plugin_get_version: () => ({ ...ACL_PLUGIN_VERSION }),

  acl_add_replace(vpp, msg) {
    const m = msg as unknown as AclAddReplace;
    const [retval, index] = vpp.acl.addReplace(m.acl_index, m.tag, m.r);
    return { retval, acl_index: index };
  },

  acl_del(vpp, msg) {
    return vpp.acl.del((msg as unknown as AclDel).acl_index);
  },

  acl_dump(vpp, msg) {
    const m = msg as unknown as AclDump;
    if (m.acl_index !== NO_INDEX) {
      const a = vpp.acl.acls[m.acl_index];
      return a ? [aclDetails(a)] : [];
    }
    return vpp.acl.acls.filter((a): a is Acl => a !== undefined).map(aclDetails);
  },

  acl_interface_set_acl_list(vpp, msg) {
    const m = msg as unknown as AclInterfaceSetAclList;
    if (!known(vpp, m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return vpp.acl.setInterfaceLists(m.sw_if_index, m.acls, m.n_input);
  },

  acl_interface_list_dump(vpp, msg) {
    const m = msg as unknown as AclInterfaceListDump;
    const details = (i: number): Fields => {
      const input = vpp.acl.inputOf(i);
      const output = vpp.acl.outputOf(i);
      return {
        sw_if_index: i,
        count: input.length + output.length,
        n_input: input.length,
        acls: [...input, ...output],
      };
    };
    if (m.sw_if_index !== NO_INDEX) return known(vpp, m.sw_if_index) ? [details(m.sw_if_index)] : [];
    const out: Fields[] = [];
    for (const s of vpp.ifs.all()) out.push(details(s.index));
    return out;
  },

  acl_interface_set_etype_whitelist(vpp, msg) {
    const m = msg as unknown as AclInterfaceSetEtypeWhitelist;
    if (!known(vpp, m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    // VPP takes the first `count` entries; those past n_input are the output list.
    return vpp.acl.setEtypeWhitelist(m.sw_if_index, m.whitelist.slice(0, m.count), m.n_input);
  },

  acl_interface_etype_whitelist_dump(vpp, msg) {
    const m = msg as unknown as AclInterfaceEtypeWhitelistDump;
    const details = (i: number): Fields[] => {
      const w = vpp.acl.etypeWhitelistOf(i);
      if (!w) return [];
      return [{ sw_if_index: i, count: w.whitelist.length, n_input: w.nInput, whitelist: w.whitelist }];
    };
    if (m.sw_if_index !== NO_INDEX) return known(vpp, m.sw_if_index) ? details(m.sw_if_index) : [];
    return [...vpp.ifs.all()].flatMap((s) => details(s.index));
  },

  macip_acl_add_replace(vpp, msg) {
    const m = msg as unknown as MacipAclAddReplace;
    const [retval, index] = vpp.acl.macipAddReplace(m.acl_index, m.tag, m.r);
    return { retval, acl_index: index };
  },

  macip_acl_del(vpp, msg) {
    return vpp.acl.macipDel((msg as unknown as MacipAclDel).acl_index);
  },

  macip_acl_dump(vpp, msg) {
    const m = msg as unknown as MacipAclDump;
    if (m.acl_index !== NO_INDEX) {
      const a = vpp.acl.macips[m.acl_index];
      return a ? [macipDetails(a)] : [];
    }
    return vpp.acl.macips.filter((a): a is MacipAcl => a !== undefined).map(macipDetails);
  },

  macip_acl_interface_add_del(vpp, msg) {
    const m = msg as unknown as MacipAclInterfaceAddDel;
    if (!known(vpp, m.sw_if_index)) return RV.INVALID_SW_IF_INDEX;
    return vpp.acl.macipBind(m.sw_if_index, m.is_add, m.acl_index);
  },

  macip_acl_interface_get(vpp) {
    const v = vpp.acl.macipBySw;
    return { count: v.length, acls: [...v] };
  },

  macip_acl_interface_list_dump(vpp, msg) {
    const m = msg as unknown as MacipAclInterfaceListDump;
    const v = vpp.acl.macipBySw;
    // A specific interface within the vector is reported even when nothing is bound (~0).
    if (m.sw_if_index !== NO_INDEX)
      return m.sw_if_index < v.length
        ? [{ sw_if_index: m.sw_if_index, count: 1, acls: [v[m.sw_if_index]] }]
        : [];
    const out: Fields[] = [];
    for (let i = 0; i < v.length; i++)
      if (v[i] !== NO_INDEX) out.push({ sw_if_index: i, count: 1, acls: [v[i]] });
    return out;
  },
};
