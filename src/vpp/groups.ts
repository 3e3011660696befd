/**
 * VPP API message groups: the messages netvpp uses, grouped by what provides them in a VPP build
 * (VPP's core, or one plugin). The client checks names and CRCs per group at connect: a required
 * group that does not match refuses the connection; an optional one is turned off, its messages are
 * refused like any message outside the whitelist, and the feature that needs it is not offered
 * (src/agent/capabilities.ts says which features need which groups).
 *
 * A group is one or more generated binding modules (src/vpp/binapi/<file>.ts, one per .api.json),
 * so a message added to tools/apigen/messages.ts joins the group of its .api.json file without
 * being named here again; test/vpp/groups.test.ts checks that every generated message is in
 * exactly one group.
 *
 * The CLI commands netvpp may send through `cli_inband` are listed here as well, with the group
 * whose plugin they talk to: nothing else is sent (the client refuses it), and a command of a group
 * this VPP lacks is refused like the group's messages.
 */
import type { MessageDef } from './codec/index.ts';
import * as m_acl from './binapi/acl.ts';
import * as m_af_packet from './binapi/af_packet.ts';
import * as m_arping from './binapi/arping.ts';
import * as m_gre from './binapi/gre.ts';
import * as m_span from './binapi/span.ts';
import * as m_bond from './binapi/bond.ts';
import * as m_interface from './binapi/interface.ts';
import * as m_ip from './binapi/ip.ts';
import * as m_ip6_nd from './binapi/ip6_nd.ts';
import * as m_l2 from './binapi/l2.ts';
import * as m_lacp from './binapi/lacp.ts';
import * as m_memclnt from './binapi/memclnt.ts';
import * as m_nat44_ed from './binapi/nat44_ed.ts';
import * as m_one from './binapi/one.ts';
import * as m_pipe from './binapi/pipe.ts';
import * as m_policer from './binapi/policer.ts';
import * as m_tapv2 from './binapi/tapv2.ts';
import * as m_vhost_user from './binapi/vhost_user.ts';
import * as m_vxlan from './binapi/vxlan.ts';
import * as m_vlib from './binapi/vlib.ts';
import * as m_vpe from './binapi/vpe.ts';

/**
 * The groups netvpp knows. A new one: add the binding module (apigen) and one entry to GROUPS.
 */
export type GroupName =
  | 'core'
  | 'ip'
  | 'vhost_user'
  | 'tap'
  | 'af_packet'
  | 'acl'
  | 'vxlan'
  | 'lisp'
  | 'nat'
  | 'arping'
  | 'policer'
  | 'span'
  | 'gre'
  | 'bond'
  | 'lacp';

export interface MessageGroup {
  readonly name: string;
  /** What the group is for, in a few words (shown when it is unavailable). */
  readonly description: string;
  /** Required: a VPP without it is refused. Optional: a VPP without it runs with the feature off. */
  readonly required: boolean;
  /** What provides it in a VPP build: `VPP core` or `the <name> plugin`, with its .api.json files. */
  readonly provider: string;
  /** Every message of the group: requests, replies, details and events. */
  readonly messages: readonly MessageDef[];
  /** CLI commands (exact text) netvpp may send through cli_inband that need this group. */
  readonly cli?: readonly string[];
  /**
   * VPP sends this group's details with their id within the plugin's .api file (its first message
   * being 0), not the one its message table gives them: the handlers leave out the plugin's base
   * (lisp-cp/one_api.c, VPP 26.06). Names that first message, whose table id is the base.
   */
  readonly unbasedDetails?: string;
}

/** The generated bindings of one .api.json file: every export of a binapi module is a MessageDef. */
const defsOf = (...modules: Record<string, MessageDef>[]): MessageDef[] =>
  modules.flatMap((m) => Object.values(m));

/**
 * The only CLI commands netvpp sends (src/agent/vpp-settings.ts). Settings that have no binary API;
 * the client refuses every other command.
 */
export const CLI = {
  /** Reads the ACL plugin's session counters and its "Reclassify sessions: N" setting. */
  showAclSessions: 'show acl-plugin sessions',
  /** Makes a removed security-group rule cut the flows it allowed. */
  enableAclReclassify: 'set acl-plugin reclassify-sessions 1',
} as const;

interface KnownGroup extends MessageGroup {
  readonly name: GroupName;
}

const core: KnownGroup = {
  name: 'core',
  description: 'connection, interfaces and bridge domains',
  required: true,
  provider: 'VPP core (memclnt, vpe, vlib, interface and l2 .api.json)',
  messages: defsOf(m_memclnt, m_vpe, m_vlib, m_interface, m_l2),
};

const ip: KnownGroup = {
  name: 'ip',
  description: 'IP tables, routes, interface addresses, pipes and router advertisements (routers)',
  required: false,
  provider: 'VPP core (ip.api.json, pipe.api.json, ip6_nd.api.json)',
  messages: defsOf(m_ip, m_pipe, m_ip6_nd),
};

const vhostUser: KnownGroup = {
  name: 'vhost_user',
  description: 'vhost-user interfaces (VM ports)',
  required: false,
  provider: 'the vhost_user plugin (vhost_user.api.json)',
  messages: defsOf(m_vhost_user),
};

const tap: KnownGroup = {
  name: 'tap',
  description: 'tap interfaces (ports of DHCP and router namespaces, tap_backend = tap)',
  required: false,
  provider: 'the tapv2 plugin (tapv2.api.json)',
  messages: defsOf(m_tapv2),
};

const afPacket: KnownGroup = {
  name: 'af_packet',
  description: 'host interfaces on a veth (ports of DHCP and router namespaces, tap_backend = veth)',
  required: false,
  provider: 'the af_packet plugin (af_packet.api.json)',
  messages: defsOf(m_af_packet),
};

const acl: KnownGroup = {
  name: 'acl',
  description: 'ACLs (security groups, anti-spoofing: port security)',
  required: false,
  provider: 'the acl plugin (acl.api.json)',
  messages: defsOf(m_acl),
  cli: [CLI.showAclSessions, CLI.enableAclReclassify],
};

const vxlan: KnownGroup = {
  name: 'vxlan',
  description: 'VXLAN tunnels (vxlan overlay networks)',
  required: false,
  provider: 'the vxlan plugin (vxlan.api.json)',
  messages: defsOf(m_vxlan),
};

const lisp: KnownGroup = {
  name: 'lisp',
  description: 'the LISP control plane and its GPE data plane (gpe overlay networks)',
  required: false,
  provider: 'the lisp plugin (one.api.json)',
  messages: defsOf(m_one),
  unbasedDetails: m_one.one_add_del_locator_set.name,
};

const nat: KnownGroup = {
  name: 'nat',
  description: 'NAT44 endpoint-dependent (SNAT and floating IPs of routers)',
  required: false,
  provider: 'the nat44_ed plugin (nat44_ed.api.json)',
  messages: defsOf(m_nat44_ed),
};

const arping: KnownGroup = {
  name: 'arping',
  description: 'ARP requests from VPP (an HA router taking over announces its addresses)',
  required: false,
  provider: 'the arping plugin (arping.api.json)',
  messages: defsOf(m_arping),
};

const policer: KnownGroup = {
  name: 'policer',
  description: 'policers (QoS: bandwidth limits and DSCP marking of ports)',
  required: false,
  provider: 'the policer plugin (policer.api.json)',
  messages: defsOf(m_policer),
};

const span: KnownGroup = {
  name: 'span',
  description: 'port mirroring (SPAN: tap flows)',
  required: false,
  provider: 'VPP core (span.api.json)',
  messages: defsOf(m_span),
};

const gre: KnownGroup = {
  name: 'gre',
  description: 'GRE tunnels (ERSPAN to a collector)',
  required: false,
  provider: 'the gre plugin (gre.api.json)',
  messages: defsOf(m_gre),
};

const bond: KnownGroup = {
  name: 'bond',
  description: 'bond interfaces and their members (bonded uplinks, [agent] bonds)',
  required: false,
  provider: 'VPP core (bond.api.json)',
  messages: defsOf(m_bond),
};

const lacp: KnownGroup = {
  name: 'lacp',
  description: 'LACP on bond members (mode lacp bonds, their partner state)',
  required: false,
  provider: 'the lacp plugin (lacp.api.json)',
  messages: defsOf(m_lacp),
};

/** Every group, core first. */
export const GROUPS: readonly KnownGroup[] = [
  core,
  ip,
  vhostUser,
  tap,
  afPacket,
  acl,
  vxlan,
  lisp,
  nat,
  arping,
  policer,
  span,
  gre,
  bond,
  lacp,
];

/** Availability of each group on one VPP, as the client found it at its last connect. */
export type GroupAvailability = Readonly<Record<string, GroupStatus>>;

export interface GroupStatus {
  available: boolean;
  required: boolean;
  /** Why it is unavailable: what VPP lacks or has with another CRC. */
  reason?: string;
}

const groupByMessage = new Map<string, GroupName>(
  GROUPS.flatMap((g) => g.messages.map((m) => [m.name, g.name])),
);

/** The group a message belongs to (undefined for a message of no known group). */
export function groupOfMessage(name: string): GroupName | undefined {
  return groupByMessage.get(name);
}
