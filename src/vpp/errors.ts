/** Errors the VPP client raises, and the names of VPP's API return codes (vnet/api_errno.h). */

const RETVAL_NAMES: Record<number, string> = {
  [-1]: 'UNSPECIFIED',
  [-2]: 'INVALID_SW_IF_INDEX',
  [-3]: 'NO_SUCH_FIB',
  [-6]: 'NO_SUCH_ENTRY',
  [-7]: 'INVALID_VALUE',
  [-8]: 'INVALID_VALUE_2',
  [-9]: 'UNIMPLEMENTED',
  [-10]: 'INVALID_SW_IF_INDEX_2',
  [-11]: 'SYSCALL_ERROR_1',
  [-12]: 'SYSCALL_ERROR_2',
  [-13]: 'SYSCALL_ERROR_3',
  [-30]: 'FEATURE_DISABLED',
  [-54]: 'NO_MATCHING_INTERFACE',
  [-55]: 'INVALID_VLAN',
  [-56]: 'VLAN_ALREADY_EXISTS',
  [-60]: 'ADDRESS_NOT_FOUND_FOR_INTERFACE',
  [-65]: 'NO_SUCH_TABLE',
  [-68]: 'SUBIF_ALREADY_EXISTS',
  [-69]: 'SUBIF_CREATE_FAILED',
  [-71]: 'INVALID_INTERFACE',
  [-73]: 'INVALID_ARGUMENT',
  [-75]: 'TUNNEL_EXIST',
  [-76]: 'INVALID_DECAP_NEXT',
  [-79]: 'IF_ALREADY_EXISTS',
  [-81]: 'VALUE_EXIST',
  [-82]: 'SAME_SRC_DST',
  [-97]: 'INVALID_ADDRESS_FAMILY',
  [-105]: 'ADDRESS_IN_USE',
  [-116]: 'ENTRY_ALREADY_EXISTS',
  [-119]: 'BD_ALREADY_EXISTS',
  [-120]: 'BD_IN_USE',
  [-121]: 'BD_NOT_MODIFIABLE',
  [-122]: 'BD_ID_EXCEED_MAX',
  [-123]: 'SUBIF_DOESNT_EXIST',
  [-126]: 'UNSUPPORTED',
  [-127]: 'DUPLICATE_IF_ADDRESS',
  [-142]: 'ACL_IN_USE_INBOUND',
  [-143]: 'ACL_IN_USE_OUTBOUND',
  [-147]: 'INSTANCE_IN_USE',
  [-149]: 'ACL_IN_USE_BY_LOOKUP_CONTEXT',
};

export function retvalName(retval: number): string {
  return RETVAL_NAMES[retval] ?? `ERROR_${retval}`;
}

/** VPP answered with a non-zero retval. */
export class VppApiError extends Error {
  override name = 'VppApiError';
  constructor(
    readonly message_name: string,
    readonly retval: number,
  ) {
    super(`${message_name} failed: VPP returned ${retval} (${retvalName(retval)})`);
  }
}

/** The connection to VPP is gone; every pending request gets this. */
export class VppDisconnectedError extends Error {
  override name = 'VppDisconnectedError';
}

export class VppTimeoutError extends Error {
  override name = 'VppTimeoutError';
}

/** Messages of a required group (src/vpp/groups.ts) that this VPP lacks or has with another CRC. */
export class VppVersionError extends Error {
  override name = 'VppVersionError';
  constructor(
    readonly missing: string[],
    readonly changed: { name: string; want: string; have: string }[],
    /** The required groups these messages belong to. */
    readonly groups: string[] = [],
  ) {
    const lines = [
      ...missing.map((m) => `  missing: ${m}`),
      ...changed.map((c) => `  CRC changed: ${c.name} (netvpp built for ${c.want}, VPP has ${c.have})`),
    ];
    const of = groups.length
      ? ` of the required message group${groups.length > 1 ? 's' : ''} ${groups.join(', ')}`
      : '';
    super(
      `VPP's binary API does not match what netvpp was built for (${lines.length} message${lines.length === 1 ? '' : 's'}${of}):\n${lines.join('\n')}`,
    );
  }
}

/** A message outside the whitelist (or a CLI command outside the allow-list) was about to be sent. */
export class VppWhitelistError extends Error {
  override name = 'VppWhitelistError';
}

/** A message (or CLI command) of an optional group this VPP does not offer was about to be sent. */
export class VppGroupUnavailableError extends VppWhitelistError {
  override name = 'VppGroupUnavailableError';
  constructor(
    readonly what: string,
    readonly group: string,
    readonly reason: string,
  ) {
    super(`${what} needs the VPP message group ${group}, which this VPP does not offer (${reason})`);
  }
}
