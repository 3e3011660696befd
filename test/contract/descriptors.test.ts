// The contract every kind descriptor gets, the same code on the simulator and on a real VPP
// (NETVPP_TEST_VPP_SOCKET): create → read back → equivalent; update in place where the kind has one;
// a second engine reading VPP afresh finds nothing to write (an agent restart); delete → read back
// finds nothing. On the simulator also: every write of a multi-call create cut off in turn (the
// agent dies after it), and the create's first call answered too late, both converge on one object.
//
// SAMPLES is typed over every kind: a kind added to the registry without a sample here does not
// compile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Compiled } from '../../src/agent/compile.ts';
import { readActual, type ActualState } from '../../src/agent/engine/actual.ts';
import { Reconciler } from '../../src/agent/engine/reconciler.ts';
import { RecordingHostNet } from '../../src/agent/host-net.ts';
import {
  ACTION,
  ALL_KINDS,
  compare,
  descriptorOf,
  spansinkMac,
  type ObjKind,
  type VppObject,
} from '../../src/agent/kinds/index.ts';
import { compileBaseAcls } from '../../src/agent/secgroups/index.ts';
import type { BondConfig } from '../../src/agent/bond-config.ts';
import { bondObject } from '../../src/agent/kinds/bond.ts';
import { CountingVpp } from '../../src/agent/vpp-api.ts';
import {
  acl_dump,
  bridge_domain_dump,
  create_loopback_instance,
  delete_loopback,
  macip_acl_dump,
  sw_interface_dump,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { contractHarness } from './helpers.ts';

type Of<K extends ObjKind> = Extract<VppObject, { kind: K }>;

interface World {
  /** The uplink interface the test made (operator-owned) and its physnet. */
  uplinkName: string;
  physnet: string;
  vhostDir: string;
  /** The VXLAN underlay interface the test made (operator-owned). */
  underlayName: string;
  /** An interface the test made to be a bond member (operator-owned). */
  memberName: string;
}

/** The bond of the bond samples, as [agent] bonds would name it. */
const BOND: BondConfig = {
  name: 'BondEthernet901',
  id: 901,
  members: [],
  mode: 'xor',
  lb: 'l34',
  passive: false,
  longTimeout: false,
};

const VTEP = '198.51.100.1';
const PEER = '198.51.100.2';

interface Sample<K extends ObjKind> {
  /** What must exist first (created by the same engine, deleted after). */
  deps: (w: World, id: string) => VppObject[];
  obj: (w: World, id: string) => Of<K>;
  /** A changed value the kind updates in place (kinds with an update only). */
  changed?: (o: Of<K>, w: World, id: string) => Of<K>;
  /** Extra prerequisites the changed value needs. */
  changedDeps?: (w: World, id: string) => VppObject[];
  /**
   * The vhost-user socket a guest must be connected to before the object can be made (the simulator
   * attaches one; a real VPP has no guest here, so the sample is skipped there).
   */
  guest?: (w: World, id: string) => string;
}

const [base, related] = [compileBaseAcls(), compileBaseAcls()];
const sgId = (id: string) => `sg:${id}:ingress`;
const portOf = (w: World, id: string): Of<'port'> => ({
  kind: 'port',
  key: `port:${id}`,
  portId: id,
  vif: { type: 'vhostuser', socket: join(w.vhostDir, `${id.slice(0, 8)}.sock`), server: true, gso: false },
  mac: '02:fe:aa:00:00:01',
  mtu: 1500,
});
const uplinkOf = (w: World): Of<'uplink'> => ({
  kind: 'uplink',
  key: `uplink:${w.physnet}`,
  physnet: w.physnet,
  name: w.uplinkName,
  adminUp: true,
});
const bdOf = (id: string, preferredId: number): Of<'bd'> => ({
  kind: 'bd',
  key: `bd:${id}`,
  preferredId,
  flood: true,
  uuFlood: true,
  forward: true,
  learn: true,
  arpTerm: false,
});
const underlayOf = (w: World): Of<'underlay'> => ({
  kind: 'underlay',
  key: 'underlay',
  name: w.underlayName,
  adminUp: true,
});
const vxlanOf = (dst = PEER, vni = 9001): Of<'vxlan'> => ({
  kind: 'vxlan',
  key: `vxlan:${vni}:${dst}`,
  src: VTEP,
  dst,
  vni,
  after: [],
  adminUp: true,
});
const tunnelIn = (id: string, t: Of<'vxlan'>): Of<'l2'> => ({
  kind: 'l2',
  key: `l2:${t.key}`,
  iface: t.key,
  bd: `bd:${id}`,
  after: [],
  shg: 1,
});
const vrfOf = (id: string): Of<'vrf'> => ({ kind: 'vrf', key: `vrf:${id}`, preferredId: 7001 });
const rifOf = (id: string): Of<'rif'> => ({
  kind: 'rif',
  key: `rif:${id}`,
  portId: id,
  mac: 'fa:16:3e:00:00:0a',
  mtu: 1500,
  adminUp: true,
});
const pipeOf = (id: string): Of<'pipe'> => ({ kind: 'pipe', key: `pipe:${id}`, portId: id });
const natOf = (): Of<'natenable'> => ({ kind: 'natenable', key: 'nat44', sessions: 0 });
const lispOf = (): Of<'lisp'> => ({ kind: 'lisp', key: 'lisp' });
const locsetOf = (iface = 'underlay'): Of<'locset'> => ({ kind: 'locset', key: 'locset:netvpp', iface });
const eidmapOf = (id: string, vni: number): Of<'eidmap'> => ({
  kind: 'eidmap',
  key: `eidmap:${id}`,
  vni,
  bd: `bd:${id}`,
});
const leidOf = (id: string, vni: number, mac: string): Of<'leid'> => ({
  kind: 'leid',
  key: `leid:${id}:${mac}`,
  network: id,
  vni,
  mac,
});
const vtepaddrOf = (): Of<'vtepaddr'> => ({
  kind: 'vtepaddr',
  key: `vtepaddr:${VTEP}/24`,
  iface: 'underlay',
  prefix: `${VTEP}/24`,
});
/** A gpe network's LISP plumbing on this host, with one local EID. */
const gpeNet = (w: World, id: string, bdId: number, vni: number): VppObject[] => [
  lispOf(),
  underlayOf(w),
  vtepaddrOf(),
  locsetOf(),
  bdOf(id, bdId),
  eidmapOf(id, vni),
  leidOf(id, vni, 'fa:16:3e:00:01:01'),
];
const aclOf = (key: string, rules = base.ingress): Of<'acl'> => ({ kind: 'acl', key, rules });
const macipOf = (id: string, ip = '10.9.0.5/32'): Of<'macip'> => ({
  kind: 'macip',
  key: `macip:${id}`,
  rules: [{ is_permit: 1, src_mac: 'fa:16:3e:00:00:05', src_mac_mask: 'ff:ff:ff:ff:ff:ff', src_prefix: ip }],
});
const other = (id: string) => id.replace(/^.{8}/, 'ffffffff');

const SAMPLES: { [K in ObjKind]: Sample<K> } = {
  uplink: { deps: () => [], obj: (w) => uplinkOf(w) },
  bond: { deps: () => [], obj: () => bondObject(BOND), changed: (o) => ({ ...o, adminUp: false }) },
  bondmember: {
    deps: () => [bondObject(BOND)],
    obj: (w) => ({
      kind: 'bondmember',
      key: `bondmember:${w.memberName}`,
      name: w.memberName,
      bond: `bond:${BOND.name}`,
      passive: false,
      longTimeout: false,
      adminUp: true,
    }),
    changed: (o) => ({ ...o, adminUp: false }),
  },
  vlan: {
    deps: (w) => [uplinkOf(w)],
    obj: (w) => ({
      kind: 'vlan',
      key: `vlan:${w.physnet}:3001`,
      uplink: `uplink:${w.physnet}`,
      vlan: 3001,
      pop: true,
      adminUp: true,
    }),
    changed: (o) => ({ ...o, pop: false, adminUp: false }),
  },
  bd: {
    deps: () => [],
    obj: (_w, id) => bdOf(id, 4001),
    changed: (o) => ({ ...o, learn: false, arpTerm: true }),
  },
  port: { deps: () => [], obj: portOf, changed: (o) => ({ ...o, mtu: 1400 }) },
  l2: {
    deps: (w, id) => [portOf(w, id), bdOf(id, 4002)],
    obj: (_w, id) => ({
      kind: 'l2',
      key: `l2:port:${id}`,
      iface: `port:${id}`,
      bd: `bd:${id}`,
      after: [],
      shg: 0,
    }),
    changedDeps: (_w, id) => [bdOf(other(id), 4003)],
    changed: (o, _w, id) => ({ ...o, bd: `bd:${other(id)}` }),
  },
  acl: {
    deps: () => [],
    obj: (_w, id) => aclOf(sgId(id)),
    changed: (o) => ({ ...o, rules: related.egress }),
  },
  macip: {
    deps: () => [],
    obj: (_w, id) => macipOf(id),
    changed: (o, _w, id) => macipOf(id, '10.9.0.6/32') ?? o,
  },
  aclbind: {
    deps: (w, id) => [portOf(w, id), aclOf(sgId(id)), aclOf(`sg:${other(id)}:egress`, base.egress)],
    obj: (_w, id) => ({
      kind: 'aclbind',
      key: `aclbind:${id}`,
      iface: `port:${id}`,
      input: [sgId(id)],
      output: [`sg:${other(id)}:egress`],
    }),
    changed: (o) => ({ ...o, input: o.output, output: o.input }),
  },
  macipbind: {
    deps: (w, id) => [portOf(w, id), macipOf(id)],
    obj: (_w, id) => ({ kind: 'macipbind', key: `macipbind:${id}`, iface: `port:${id}`, acl: `macip:${id}` }),
    changedDeps: (_w, id) => [macipOf(other(id), '10.9.0.7/32')],
    changed: (o, _w, id) => ({ ...o, acl: `macip:${other(id)}` }),
  },
  etype: {
    deps: (w, id) => [portOf(w, id)],
    obj: (_w, id) => ({
      kind: 'etype',
      key: `etype:${id}`,
      iface: `port:${id}`,
      input: [0x0800, 0x86dd, 0x0806],
      output: [0x0800, 0x0806],
    }),
    changed: (o) => ({ ...o, output: [0x0800, 0x86dd, 0x0806] }),
  },
  up: {
    deps: (w, id) => [portOf(w, id)],
    obj: (_w, id) => ({ kind: 'up', key: `up:port:${id}`, iface: `port:${id}`, after: [] }),
  },
  rxmode: {
    // An admin-up vhost-user port with a guest: its link is up, so VPP takes a mode other than polling.
    deps: (w, id) => [portOf(w, id), { kind: 'up', key: `up:port:${id}`, iface: `port:${id}`, after: [] }],
    obj: (_w, id) => ({ kind: 'rxmode', key: `rxmode:${id}`, iface: `port:${id}`, mode: 3, guest: true }),
    changed: (o) => ({ ...o, mode: 2 }),
    guest: (w, id) => (portOf(w, id).vif as { socket: string }).socket,
  },
  tagdrop: {
    deps: (w, id) => [portOf(w, id)],
    obj: (_w, id) => ({ kind: 'tagdrop', key: `tagdrop:${id}`, iface: `port:${id}`, adminUp: false }),
  },
  subport: {
    deps: (w, id) => [portOf(w, id)],
    obj: (_w, id) => ({
      kind: 'subport',
      key: `subport:${id}`,
      portId: id,
      parent: `port:${id}`,
      vlan: 101,
      pop: true,
    }),
    changed: (o) => ({ ...o, pop: false }),
  },
  underlay: { deps: () => [], obj: (w) => underlayOf(w) },
  vtepaddr: { deps: (w) => [underlayOf(w)], obj: vtepaddrOf },
  vxlan: { deps: () => [], obj: () => vxlanOf(), changed: (o) => ({ ...o, adminUp: false }) },
  // A tap flow's mirror: one port's copies to another's interface, then into an ERSPAN tunnel.
  span: {
    deps: (w, id) => [portOf(w, id), portOf(w, other(id))],
    obj: (_w, id) => ({
      kind: 'span',
      key: `span:port:${id}>port:${other(id)}`,
      src: `port:${id}`,
      dst: `port:${other(id)}`,
      state: 3,
    }),
    changed: (o) => ({ ...o, state: 1 }),
  },
  erspan: {
    deps: () => [],
    obj: () => ({
      kind: 'erspan',
      key: `erspan:${VTEP}:192.0.2.50:7`,
      src: VTEP,
      collector: '192.0.2.50',
      sessionId: 7,
      adminUp: true,
    }),
    changed: (o) => ({ ...o, adminUp: false }),
  },
  // Remote SPAN's service end: a tap service's tunnel cross-connected into the service port.
  xconnect: {
    deps: (w, id) => [vxlanOf(PEER, 0xf00001), portOf(w, id)],
    obj: (_w, id) => ({
      kind: 'xconnect',
      key: `xconnect:${vxlanOf(PEER, 0xf00001).key}`,
      rx: vxlanOf(PEER, 0xf00001).key,
      tx: `port:${id}`,
    }),
    changedDeps: (w, id) => [portOf(w, other(id))],
    changed: (o) => ({ ...o, tx: o.tx.replace(/^port:(.*)$/, (_m, id: string) => `port:${other(id)}`) }),
  },
  // Remote SPAN's sink: the loopback the tunnels are cross-connected into, mirrored into the port.
  spansink: {
    deps: () => [],
    obj: (_w, id) => ({
      kind: 'spansink',
      key: `spansink:${id}`,
      portId: id,
      mac: spansinkMac(id),
      adminUp: true,
    }),
    changed: (o) => ({ ...o, adminUp: false }),
  },
  l2fib: {
    deps: (_w, id) => [bdOf(id, 4010), vxlanOf(PEER, 9002), tunnelIn(id, vxlanOf(PEER, 9002))],
    obj: (_w, id) => ({
      kind: 'l2fib',
      key: `l2fib:${id}:fa:16:3e:00:00:09`,
      bd: `bd:${id}`,
      mac: 'fa:16:3e:00:00:09',
      iface: vxlanOf(PEER, 9002).key,
    }),
    changedDeps: (_w, id) => [vxlanOf('198.51.100.3', 9002), tunnelIn(id, vxlanOf('198.51.100.3', 9002))],
    changed: (o) => ({ ...o, iface: vxlanOf('198.51.100.3', 9002).key }),
  },
  vrf: { deps: () => [], obj: (_w, id) => vrfOf(id) },
  rif: {
    deps: () => [],
    obj: (_w, id) => rifOf(id),
    changed: (o) => ({ ...o, mtu: 1400, adminUp: false }),
  },
  riftable: {
    deps: (_w, id) => [rifOf(id), vrfOf(id)],
    obj: (_w, id) => ({ kind: 'riftable', key: `riftable:${id}`, iface: `rif:${id}`, vrf: `vrf:${id}` }),
  },
  rifaddr: {
    deps: (_w, id) => [
      rifOf(id),
      vrfOf(id),
      { kind: 'riftable', key: `riftable:${id}`, iface: `rif:${id}`, vrf: `vrf:${id}` },
    ],
    obj: (_w, id) => ({
      kind: 'rifaddr',
      key: `rifaddr:${id}:10.91.0.1/24`,
      iface: `rif:${id}`,
      prefix: '10.91.0.1/24',
    }),
  },
  route: {
    deps: (_w, id) => [vrfOf(id)],
    obj: (_w, id) => ({
      kind: 'route',
      key: `route:${id}:172.31.0.0/16`,
      vrf: `vrf:${id}`,
      prefix: '172.31.0.0/16',
      nexthops: ['10.91.0.5', '10.91.0.6'],
    }),
    changed: (o) => ({ ...o, nexthops: ['10.91.0.7'] }),
  },
  pipe: { deps: () => [], obj: (_w, id) => pipeOf(id) },
  pipel2: {
    deps: (_w, id) => [pipeOf(id), bdOf(id, 4021)],
    obj: (_w, id) => ({ kind: 'pipel2', key: `pipel2:1:${id}`, pipe: `pipe:${id}`, end: 1, bd: `bd:${id}` }),
    changedDeps: (_w, id) => [bdOf(other(id), 4022)],
    changed: (o, _w, id) => ({ ...o, bd: `bd:${other(id)}` }),
  },
  l2flags: {
    deps: (_w, id) => [
      pipeOf(id),
      bdOf(id, 4023),
      { kind: 'pipel2', key: `pipel2:1:${id}`, pipe: `pipe:${id}`, end: 1, bd: `bd:${id}` },
    ],
    obj: (_w, id) => ({
      kind: 'l2flags',
      key: `l2flags:1:${id}`,
      pipe: `pipe:${id}`,
      end: 1,
      member: `pipel2:1:${id}`,
      flood: false,
      learn: false,
      arpTerm: true,
    }),
    changed: (o) => ({ ...o, learn: true, arpTerm: false }),
  },
  natenable: { deps: () => [], obj: natOf },
  natif: {
    deps: (_w, id) => [
      rifOf(id),
      vrfOf(id),
      { kind: 'riftable', key: `riftable:${id}`, iface: `rif:${id}`, vrf: `vrf:${id}` },
      natOf(),
    ],
    obj: (_w, id) => ({
      kind: 'natif',
      key: `natif:in:rif:${id}`,
      iface: `rif:${id}`,
      inside: true,
      after: [`riftable:${id}`],
    }),
  },
  natout: {
    deps: (_w, id) => [
      rifOf(id),
      vrfOf(id),
      { kind: 'riftable', key: `riftable:${id}`, iface: `rif:${id}`, vrf: `vrf:${id}` },
      natOf(),
    ],
    obj: (_w, id) => ({
      kind: 'natout',
      key: `natout:rif:${id}`,
      iface: `rif:${id}`,
      after: [`riftable:${id}`],
    }),
  },
  ra: {
    deps: (_w, id) => [
      rifOf(id),
      vrfOf(id),
      { kind: 'riftable', key: `riftable:${id}`, iface: `rif:${id}`, vrf: `vrf:${id}` },
      {
        kind: 'rifaddr',
        key: `rifaddr:${id}:2001:db8:91::1/64`,
        iface: `rif:${id}`,
        prefix: '2001:db8:91::1/64',
      },
    ],
    obj: (_w, id) => ({
      kind: 'ra',
      key: `ra:rif:${id}`,
      iface: `rif:${id}`,
      managed: false,
      other: false,
      prefixes: [{ prefix: '2001:db8:91::/64', autonomous: true }],
      after: [`rifaddr:${id}:2001:db8:91::1/64`],
    }),
    changed: (o) => ({ ...o, managed: true, prefixes: [{ prefix: '2001:db8:91::/64', autonomous: false }] }),
  },
  natpool: {
    deps: (_w, id) => [vrfOf(id), natOf()],
    obj: (_w, id) => ({ kind: 'natpool', key: `natpool:${id}`, addr: '198.51.100.77', vrf: `vrf:${id}` }),
  },
  natsm: {
    deps: (_w, id) => [vrfOf(id), natOf()],
    obj: (_w, id) => ({
      kind: 'natsm',
      key: `natsm:${id}`,
      local: '10.91.0.20',
      external: '198.51.100.78',
      vrf: `vrf:${id}`,
    }),
  },
  lisp: { deps: () => [], obj: lispOf },
  locset: {
    deps: (w) => [lispOf(), underlayOf(w)],
    obj: () => locsetOf(),
    changedDeps: (w) => [uplinkOf(w)],
    changed: (o, w) => ({ ...o, iface: `uplink:${w.physnet}` }),
  },
  eidmap: {
    deps: (_w, id) => [lispOf(), bdOf(id, 4012)],
    obj: (_w, id) => eidmapOf(id, 9101),
  },
  leid: {
    deps: (w, id) => [lispOf(), underlayOf(w), locsetOf(), bdOf(id, 4013), eidmapOf(id, 9102)],
    obj: (_w, id) => leidOf(id, 9102, 'fa:16:3e:00:00:0a'),
  },
  rmap: {
    deps: (w, id) => gpeNet(w, id, 4014, 9103),
    obj: (_w, id) => ({
      kind: 'rmap',
      key: `rmap:${id}:fa:16:3e:00:02:01`,
      network: id,
      vni: 9103,
      mac: 'fa:16:3e:00:02:01',
      rloc: PEER,
      local: 'fa:16:3e:00:01:01',
      after: [`vtepaddr:${VTEP}/24`, 'locset:netvpp'],
    }),
    changedDeps: (_w, id) => [leidOf(id, 9103, 'fa:16:3e:00:01:02')],
    // The peer moved to another VTEP, and the local end to another port.
    changed: (o) => ({ ...o, rloc: '198.51.100.3', local: 'fa:16:3e:00:01:02' }),
  },
  policer: {
    deps: (w, id) => [portOf(w, id)],
    obj: (_w, id) => ({
      kind: 'policer',
      key: `policer-in:${id}`,
      iface: `port:${id}`,
      dir: 'in',
      cir: 10_000,
      cb: 12_500,
      conform: ACTION.transmit,
      exceed: ACTION.drop,
    }),
    // A new rate and DSCP marking: policer_update in place, the binding untouched.
    changed: (o) => ({ ...o, cir: 20_000, cb: 25_000, conform: ACTION.mark(46) }),
  },
  arpterm: {
    deps: (_w, id) => [bdOf(id, 4011)],
    obj: (_w, id) => ({
      kind: 'arpterm',
      key: `arp:${id}:10.9.0.9`,
      bd: `bd:${id}`,
      ip: '10.9.0.9',
      mac: 'fa:16:3e:00:00:09',
    }),
  },
};

function compiled(objects: VppObject[]): Compiled {
  return {
    objects: new Map(objects.map((o) => [o.key, o])),
    frozenKeys: new Set(),
    frozenPorts: new Set(),
    frozenPrefixes: new Set(),
    ports: new Map(),
    l3: new Map(),
    taas: new Map(),
    warnings: new Map(),
  };
}

describe('every kind descriptor keeps the engine contract', () => {
  const h = contractHarness();
  const w: World = { uplinkName: '', physnet: 'contract', vhostDir: '', underlayName: '', memberName: '' };
  let uplinkIdx = -1;
  before(async () => {
    w.vhostDir = mkdtempSync(join(tmpdir(), 'netvpp-contract-vhost-'));
    const r = await h.c.request(create_loopback_instance, {
      mac_address: '02:fe:aa:00:00:02',
      is_specified: false,
      user_instance: 0,
    });
    uplinkIdx = r.sw_if_index;
    h.cleanup.add(() => h.c.request(delete_loopback, { sw_if_index: uplinkIdx }));
    const [d] = await h.c.dump(sw_interface_dump, { sw_if_index: uplinkIdx });
    w.uplinkName = d.interface_name;
    const u = await h.c.request(create_loopback_instance, {
      mac_address: '02:fe:aa:00:00:03',
      is_specified: false,
      user_instance: 0,
    });
    h.cleanup.add(() => h.c.request(delete_loopback, { sw_if_index: u.sw_if_index }));
    const [ud] = await h.c.dump(sw_interface_dump, { sw_if_index: u.sw_if_index });
    w.underlayName = ud.interface_name;
    const m = await h.c.request(create_loopback_instance, {
      mac_address: '02:fe:aa:00:00:04',
      is_specified: false,
      user_instance: 0,
    });
    h.cleanup.add(() => h.c.request(delete_loopback, { sw_if_index: m.sw_if_index }));
    const [md] = await h.c.dump(sw_interface_dump, { sw_if_index: m.sw_if_index });
    w.memberName = md.interface_name;
  });
  after(() => rmSync(w.vhostDir, { recursive: true, force: true }));

  /** An engine as the agent has one: VPP read back, then passes over the keys the test owns. */
  async function engine(client: VppClient, keys: Set<string>) {
    const vpp = new CountingVpp(client);
    const actual: ActualState = await readActual(vpp, {
      physnets: new Map([[w.physnet, w.uplinkName]]),
      vtep: VTEP,
      underlay: w.underlayName,
      bonds: new Map([[BOND.name, BOND]]),
    });
    actual.takeTouched();
    const rec = new Reconciler({ minMs: 1, maxMs: 1 });
    const ctx = { vpp, actual, hostNet: new RecordingHostNet() };
    return {
      vpp,
      actual,
      /** Converges the owned keys on `objects`; returns the ops and writes of that. */
      async apply(objects: VppObject[], tolerate = false) {
        for (const o of objects) keys.add(o.key);
        let ops = 0;
        let failed = 0;
        vpp.take();
        for (let i = 0; i < 5; i++) {
          const s = await rec.pass(compiled(objects), ctx, new Set(keys), Date.now() + 10_000);
          ops += s.ops;
          failed = s.failed;
          if (s.aborted || (tolerate && s.failed > 0)) break;
          if (s.ops === 0 || (s.failed === 0 && s.blocked === 0)) break;
        }
        if (!tolerate) assert.equal(failed, 0, `failures: ${JSON.stringify([...rec.failures])}`);
        return { ops, writes: vpp.take().writes };
      },
    };
  }

  /** The test's keys as VPP has them now, read by a fresh engine (what a restarted agent sees). */
  async function readBack(
    keys: Set<string>,
  ): Promise<Map<string, VppObject> & { handles: Map<string, number> }> {
    const a = await readActual(h.c, {
      physnets: new Map([[w.physnet, w.uplinkName]]),
      vtep: VTEP,
      underlay: w.underlayName,
      bonds: new Map([[BOND.name, BOND]]),
    });
    const out = Object.assign(new Map<string, VppObject>(), { handles: new Map<string, number>() });
    for (const [k, o] of a.objects) {
      if (!keys.has(k.replace(/#\d+$/, ''))) continue;
      out.set(k, o);
      const hd = a.handle(k);
      if (hd !== undefined) out.handles.set(k, hd);
    }
    return out;
  }

  /**
   * The engine a sample starts with: for a sample that needs a guest, its prerequisites are made and
   * the simulator's guest attached first, so the engine reads the link up (null: no guest possible).
   */
  async function first(s: Sample<ObjKind>, id: string, keys: Set<string>) {
    if (!s.guest) return engine(h.c, keys);
    const sim = h.target.sim;
    if (!sim) return null;
    await (await engine(h.c, keys)).apply(s.deps(w, id));
    assert.ok(sim.connectGuest(s.guest(w, id)), 'the guest attached');
    return engine(h.c, keys);
  }

  for (const kind of ALL_KINDS) {
    it(`${kind}: create, read back, restart, update${SAMPLES[kind].changed ? '' : ' (none)'}, delete`, async (t) => {
      const s = SAMPLES[kind] as unknown as Sample<ObjKind>;
      const id = randomUUID();
      const keys = new Set<string>();
      const deps = s.deps(w, id);
      const obj = s.obj(w, id);
      const e = await first(s, id, keys);
      if (!e) return t.skip('needs a vhost-user guest (the simulator attaches one)');
      await e.apply([...deps, obj]);

      let back = await readBack(keys);
      assert.ok(back.has(obj.key), `${obj.key} is read back`);
      assert.equal(compare(obj, back.get(obj.key) as VppObject), 'same', 'read back as created');
      assert.deepEqual(
        [...back.keys()].filter((k) => k.includes('#')),
        [],
        'no duplicate',
      );

      // A restarted agent: a fresh read, the same desired state, nothing to write.
      const restarted = await engine(h.c, new Set(keys));
      assert.deepEqual(await restarted.apply([...deps, obj]), { ops: 0, writes: 0 });

      if (s.changed) {
        assert.ok(descriptorOf(obj).update, `${kind} has changed values but no update`);
        const extra = s.changedDeps?.(w, id) ?? [];
        const changed = s.changed(obj, w, id);
        await e.apply([...deps, ...extra, obj]);
        const before = (await readBack(keys)).handles.get(obj.key);
        const r = await e.apply([...deps, ...extra, changed]);
        assert.ok(r.writes > 0, 'the change was written');
        back = await readBack(keys);
        assert.equal(compare(changed, back.get(obj.key) as VppObject), 'same', 'read back as changed');
        if (descriptorOf(obj).handle)
          assert.equal(back.handles.get(obj.key), before, 'updated in place, same handle');
        await e.apply([...deps, ...extra, obj]);
      }

      await e.apply(deps);
      back = await readBack(keys);
      assert.equal(
        back.has(obj.key),
        descriptorOf(obj).ownership === 'operator',
        "deleted (an operator's object stays)",
      );
      await e.apply([]);
      back = await readBack(keys);
      assert.deepEqual(
        // The operator's interfaces stay.
        [...back.keys()].filter((k) => descriptorOf(back.get(k) as VppObject).ownership !== 'operator'),
        [],
        'nothing of the test left',
      );
    });
  }

  /** How many of each VPP object there are, ours or not (a leak or a duplicate changes a count). */
  async function census(): Promise<Record<string, number>> {
    const [ifs, bds, acls, macips] = await Promise.all([
      h.c.dump(sw_interface_dump, { sw_if_index: 0xffffffff }),
      h.c.dump(bridge_domain_dump, { bd_id: 0xffffffff, sw_if_index: 0xffffffff }),
      h.c.dump(acl_dump, { acl_index: 0xffffffff }),
      h.c.dump(macip_acl_dump, { acl_index: 0xffffffff }),
    ]);
    return { interfaces: ifs.length, bridges: bds.length, acls: acls.length, macips: macips.length };
  }

  const connect = (timeoutMs?: number) =>
    VppClient.connect({
      socket: h.target.socket,
      name: 'netvpp-contract-engine',
      ...(timeoutMs ? { timeoutMs } : {}),
    });

  for (const kind of ALL_KINDS) {
    it(`${kind}: a create cut off after any of its writes, or answered too late, converges on one object`, async (t) => {
      const sim = h.target.sim;
      if (!sim) return t.skip('needs the simulator (faults)');
      const s = SAMPLES[kind] as unknown as Sample<ObjKind>;
      const id = randomUUID();
      const keys = new Set<string>();
      const deps = s.deps(w, id);
      const obj = s.obj(w, id);
      const e = (await first(s, id, keys)) as Awaited<ReturnType<typeof engine>>;
      await e.apply(deps);
      const clean = await census();
      // The writes a create of this kind makes, in order.
      const writes: string[] = [];
      sim.onWrite((x) => void writes.push(x.message));
      await e.apply([...deps, obj]);
      sim.onWrite(null);
      const created = await census();
      await e.apply(deps);
      assert.deepEqual(await census(), clean);

      const converge = async (what: string) => {
        const again = await engine(h.c, new Set(keys));
        await again.apply([...deps, obj]);
        const back = await readBack(keys);
        assert.equal(compare(obj, back.get(obj.key) as VppObject), 'same', `${what}: converged`);
        assert.deepEqual(
          [...back.keys()].filter((k) => k.includes('#')),
          [],
          `${what}: no duplicate`,
        );
        assert.deepEqual(await census(), created, `${what}: nothing leaked or duplicated in VPP`);
        await again.apply(deps);
        assert.deepEqual(await census(), clean, `${what}: deleted cleanly`);
      };

      for (let i = 1; i <= writes.length; i++) {
        const c = await connect();
        const dying = await engine(c, new Set(keys));
        const start = sim.writes();
        sim.onWrite((x) => (x.n === start + i ? 'cut' : undefined));
        await dying.apply([...deps, obj], true);
        sim.onWrite(null);
        await c.close().catch(() => undefined);
        await converge(`cut after write ${i} (${writes[i - 1]})`);
      }

      if (writes.length > 0) {
        const c = await connect(100);
        const late = await engine(c, new Set(keys));
        sim.delayNext(writes[0], 400);
        await late.apply([...deps, obj], true);
        await new Promise((r) => setTimeout(r, 450));
        await c.close();
        await converge(`${writes[0]} answered after the timeout`);
      }
      await e.apply([]);
    });
  }
});
