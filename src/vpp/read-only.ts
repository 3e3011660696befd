// Which requests only read VPP state: one definition for the simulator's write counter and the
// agent's ("a restarted agent sends no write to VPP" is counted by both).

/** Requests that change nothing (dumps and event streams are reads too). */
const READ_ONLY_REQUESTS: ReadonlySet<string> = new Set([
  'sockclnt_create',
  'sockclnt_delete',
  'control_ping',
  'memclnt_keepalive',
  'show_version',
  'show_vpe_system_time',
  'sw_interface_get_mac_address',
  'acl_plugin_get_version',
  'macip_acl_interface_get',
  'want_interface_events',
  'show_one_status',
  'one_adjacencies_get',
  'sw_interface_get_table',
  'nat44_show_running_config',
  'l2_flags_get',
]);

/** Whether a request may change VPP state; a CLI command through the API reads when it is `show ...`. */
export function isWriteRequest(name: string, args: { cmd?: unknown }): boolean {
  if (name === 'cli_inband') return !/^\s*show\b/.test(String(args.cmd ?? ''));
  return !READ_ONLY_REQUESTS.has(name);
}
