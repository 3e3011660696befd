// VPP-wide settings the agent's security groups depend on, checked (and set when needed) each time it
// connects, since a restarted VPP comes back with its startup defaults.
//
// ACL session reclassification: by default VPP keeps a stateful ACL session after the rules that
// opened it change, so removing a security-group rule would not cut the flows it allowed until they
// idle out (10 min for UDP/ICMP, 24 h for established TCP). Neutron cuts them (its firewalls drop
// the matching conntrack entries). With `reclassify-sessions` VPP re-checks such sessions against the
// new rules instead. The setting has no binary API, only the CLI (or `acl-plugin { reclassify
// sessions 1 }` in VPP's startup config, which makes this a read). The commands are fixed: the
// client sends no others (CLI in src/vpp/groups.ts).
import type { Logger } from '../util/log.ts';
import { cli_inband } from '../vpp/binapi/index.ts';
import { VppGroupUnavailableError } from '../vpp/errors.ts';
import { CLI } from '../vpp/groups.ts';
import type { VppApi } from './vpp-api.ts';

type ReclassifyOutcome = 'already' | 'enabled' | 'unknown' | 'no-acl-plugin';

/**
 * Reads VPP's ACL session reclassification setting and turns it on when it is off. A VPP without
 * the acl plugin has nothing to set (port security is off on that host).
 */
export async function ensureAclReclassify(vpp: VppApi, log: Logger): Promise<ReclassifyOutcome> {
  let shown;
  try {
    shown = await vpp.request(cli_inband, { cmd: CLI.showAclSessions });
  } catch (e) {
    if (e instanceof VppGroupUnavailableError) return 'no-acl-plugin';
    throw e;
  }
  const m = /^Reclassify sessions:\s*(\d+)\s*$/m.exec(shown.reply);
  if (!m) {
    log.warn(
      'cannot tell whether VPP reclassifies ACL sessions (no "Reclassify sessions" in `show acl-plugin ' +
        'sessions`): removing a security-group rule may not cut flows it already allowed',
    );
    return 'unknown';
  }
  if (m[1] !== '0') return 'already';
  await vpp.request(cli_inband, { cmd: CLI.enableAclReclassify });
  log.info(
    'turned on ACL session reclassification in VPP: a removed security-group rule now cuts the flows it ' +
      'allowed (put `acl-plugin { reclassify sessions 1 }` in startup.conf to have it from the start)',
  );
  return 'enabled';
}
