// Real dataplane, real packets: IPv6 router advertisements from a router interface on a real VPP
// (kind `ra`, docs/l3.md "IPv6"). One router, three IPv6 subnets on three VLAN networks: A with
// ipv6_ra_mode slaac, B with dhcpv6-stateful, C with dhcpv6-stateless. VMs are network namespaces on tap ports (veth +
// af_packet) with accept_ra=2 and autoconf on, up before the router's ports are bound.
// - The VM on A takes a SLAAC address from VPP's advert: the port MAC's EUI-64 in A's /64 (what
//   Neutron puts in the port's fixed IP), and a default route through the router's link-local
//   address learned from the advert; it pings the router interface's address.
// - The VM on B sees the advert (a raw ICMPv6 socket in its namespace reads it: M set, O clear,
//   B's prefix without the A bit) and makes no address from it; with the address DHCPv6 would give
//   it (set by hand) and the default route from the advert, A and B ping each other through the
//   router.
// - The VM on C sees O (not M) and C's prefix with the A bit, takes its SLAAC address and reaches A.
// The advert's lifetimes are Neutron's radvd ones (30 and 7 days) and the default route's next hop
// is its sender.
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the af_packet plugin), as root, with `ip`,
// `ping` and `python3`; skips saying why otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { keys, tapName, type PortBinding } from '../../src/model/keyspace.ts';
import type { RouterAdvert } from '../../src/model/keyspace-l3.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { uuid, vlanNet, vmPort, type NetworkSpec } from '../agent/helpers/fixtures.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, sh } from './shell.ts';
import { listen, vethLab, type Lab } from './veth-lab.ts';

const HOST = 'ra-node';
const UPLINK = 'nvra-up0';
const WIRE = 'nvra-wire';
const NS_A = 'nvra-a';
const NS_B = 'nvra-b';
const NS_C = 'nvra-c';
const PREFIX_A = '2001:db8:61:1::';
const PREFIX_B = '2001:db8:61:2::';
const PREFIX_C = '2001:db8:61:3::';
const GW_A = `${PREFIX_A}1`;
const GW_B = `${PREFIX_B}1`;
const GW_C = `${PREFIX_C}1`;
const B_ADDR = `${PREFIX_B}5`;

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, veth)'
    : !has('ip') || !has('ping') || !has('python3')
      ? 'needs ip, ping and python3'
      : false;

// Waits for one router advertisement on an interface and prints what it says (RFC 4861 4.2, 4.6.2).
const RA_PY = `
import json, socket, struct, sys
ifname, limit = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
s.settimeout(limit)
print("ready", flush=True)
while True:
    data, src = s.recvfrom(2048)
    if len(data) < 16 or data[0] != 134:
        continue
    ra = {"from": src[0].split("%")[0], "managed": bool(data[5] & 0x80), "other": bool(data[5] & 0x40),
          "lifetime": struct.unpack("!H", data[6:8])[0], "prefixes": []}
    i = 16
    while i + 8 <= len(data) and data[i + 1] > 0:
        t, n = data[i], data[i + 1] * 8
        if t == 3 and n >= 32:
            o = data[i:i + n]
            ra["prefixes"].append({"prefix": socket.inet_ntop(socket.AF_INET6, o[16:32]) + "/" + str(o[2]),
                                   "onlink": bool(o[3] & 0x80), "autonomous": bool(o[3] & 0x40),
                                   "valid": struct.unpack("!I", o[4:8])[0],
                                   "preferred": struct.unpack("!I", o[8:12])[0]})
        i += n
    print(json.dumps(ra), flush=True)
    break
`;

interface Advert {
  from: string;
  managed: boolean;
  other: boolean;
  lifetime: number;
  prefixes: { prefix: string; onlink: boolean; autonomous: boolean; valid: number; preferred: number }[];
}

/** The modified EUI-64 address of `mac` in `prefix` (a /64 written as `x:x:x:x::`). */
function eui64(prefix: string, mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  b[0] ^= 0x02;
  const g = [b[0] * 256 + b[1], b[2] * 256 + 0xff, 0xfe * 256 + b[3], b[4] * 256 + b[5]];
  return `${prefix.slice(0, -1)}${g.map((x) => x.toString(16)).join(':')}`;
}

/**
 * Global IPv6 addresses of `ifname` in `ns` (those that have passed DAD, unless `tentative`); the
 * entries without an address that iproute2's JSON can hold for what its filter left out are skipped.
 */
function globals(ns: string, ifname: string, tentative = false): { local: string; dynamic: boolean }[] {
  const out = sh(`ip netns exec ${ns} ip -j -6 addr show dev ${ifname} scope global`, true);
  const rows = (JSON.parse(out || '[]') as { addr_info?: Record<string, unknown>[] }[]).flatMap(
    (r) => r.addr_info ?? [],
  );
  return rows
    .filter((a) => typeof a.local === 'string' && (tentative || a.tentative !== true))
    .map((a) => ({ local: String(a.local), dynamic: a.dynamic === true }));
}

/** Replies to `count` pings from `ns` to `to`. */
function ping6(ns: string, to: string, count = 5): number {
  const out = sh(`ip netns exec ${ns} ping -6 -n -c ${count} -i 0.2 -W 1 ${to}`, true);
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

describe(
  'real dataplane: a router interface advertises its IPv6 subnets (SLAAC, DHCPv6 flags)',
  { skip },
  () => {
    let lab: Lab;
    const router = uuid();
    const nets = [vlanNet(311), vlanNet(312), vlanNet(313)];
    const vm = (net: NetworkSpec): PortBinding => {
      const p = vmPort(net, {
        vif_type: 'tap',
        vhostuser: null,
        device_owner: 'compute:nova',
        port_security_enabled: false,
      });
      p.tap = { host_ifname: tapName(p.port_id) };
      return p;
    };
    const a = vm(nets[0]);
    const b = vm(nets[1]);
    const c = vm(nets[2]);
    a.fixed_ips = [{ subnet_id: nets[0].id, ip_address: eui64(PREFIX_A, a.mac) }];
    b.fixed_ips = [{ subnet_id: nets[1].id, ip_address: B_ADDR }];
    c.fixed_ips = [{ subnet_id: nets[2].id, ip_address: eui64(PREFIX_C, c.mac) }];
    const routerPort = (net: NetworkSpec, address: string, mode: RouterAdvert['mode']): PortBinding => ({
      ...vmPort(net, { fixed_ips: [{ subnet_id: net.id, ip_address: address.split('/')[0] }] }),
      vif_type: 'router',
      vhostuser: null,
      tap: null,
      device_owner: 'network:router_interface',
      port_security_enabled: false,
      router: {
        router_id: router,
        addresses: [address],
        ra: [{ prefix: `${address.split('::')[0]}::/64`, mode }],
      },
    });
    const ifA = tapName(a.port_id);
    const ifB = tapName(b.port_id);
    const ifC = tapName(c.port_id);
    let advertA: () => Promise<Advert>;
    let advertB: () => Promise<Advert>;
    let advertC: () => Promise<Advert>;
    /** When the router ports were bound, and when they were ready. */
    let boundAt = 0;
    const bound: PortBinding[] = [];
    const bind = async (p: PortBinding): Promise<void> => {
      bound.push(p);
      await lab.bind(p);
    };
    let up = 0;

    before(async () => {
      lab = await vethLab({
        host: HOST,
        client: 'router-ra-test',
        namespaces: [WIRE, NS_A, NS_B, NS_C],
        wire: { ns: WIRE, peer: 'nvra-up1' },
        uplink: UPLINK,
        files: { 'ra.py': RA_PY },
      });
      lab.startAgent();
      for (const p of [a, b, c]) await bind(p);
      for (const p of [a, b, c]) await lab.ready(p);
      // Neutron's end of each veth goes into its VM, which listens to adverts (accept_ra=2: even if
      // forwarding were on) and makes addresses from them (autoconf).
      for (const [ns, ifname] of [
        [NS_A, ifA],
        [NS_B, ifB],
        [NS_C, ifC],
      ]) {
        sh(`ip link set ${ifname} netns ${ns}`);
        for (const [k, v] of [
          ['accept_ra', 2],
          ['autoconf', 1],
          ['accept_dad', 1],
        ])
          sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.${ifname}.${k}=${v}`);
        sh(`ip netns exec ${ns} ip link set ${ifname} up && ip netns exec ${ns} ip link set lo up`);
      }
      advertA = await listen<Advert>(NS_A, join(lab.dir, 'ra.py'), [ifA, '120']);
      advertB = await listen<Advert>(NS_B, join(lab.dir, 'ra.py'), [ifB, '120']);
      advertC = await listen<Advert>(NS_C, join(lab.dir, 'ra.py'), [ifC, '120']);
      boundAt = Date.now();
      await bind(routerPort(nets[0], `${GW_A}/64`, 'slaac'));
      await bind(routerPort(nets[2], `${GW_C}/64`, 'dhcpv6-stateless'));
      const rb = routerPort(nets[1], `${GW_B}/64`, 'dhcpv6-stateful');
      await bind(rb);
      await lab.ready(rb);
      up = Date.now();
    });

    after(async () => {
      try {
        // Unbound first, so the agent takes its objects (the router's loopbacks among them) out of VPP.
        for (const p of bound) await lab?.store.delete(keys.portBinding(HOST, p.port_id));
        const agent = lab?.agent;
        if (agent) {
          await waitFor('every port removed', () => agent.health().ports.total === 0, 30_000).catch(
            () => undefined,
          );
          await agent.whenIdle();
        }
      } finally {
        await lab?.close();
      }
    });

    it('the VM on the slaac subnet takes its EUI-64 address in the /64 from the advert, and a default route', async () => {
      const want = eui64(PREFIX_A, a.mac);
      await waitFor(
        `a SLAAC address ${want} in ${NS_A}`,
        () => globals(NS_A, ifA).some((g) => g.local === want && g.dynamic),
        120_000,
      );
      const t = Date.now();
      console.log(
        `SLAAC address after ${t - boundAt} ms from the router ports' binding, ${t - up} ms from ready`,
      );
      const route = sh(`ip netns exec ${NS_A} ip -6 route show default dev ${ifA}`);
      assert.match(route, /via fe80::\S+ .*proto ra/, `default route from the advert: ${route}`);
      assert.equal(ping6(NS_A, GW_A), 5, `${NS_A} → ${GW_A}`);
      const ra = await advertA();
      console.log(`advert seen in ${NS_A}: ${JSON.stringify(ra)}`);
      assert.deepEqual([ra.managed, ra.other], [false, false], 'neither M nor O for slaac');
      assert.deepEqual(
        ra.prefixes.map((p) => ({ prefix: p.prefix, onlink: p.onlink, autonomous: p.autonomous })),
        [{ prefix: `${PREFIX_A}/64`, onlink: true, autonomous: true }],
      );
      // Neutron's lifetimes (30 and 7 days), less the seconds VPP counts down since it was set.
      assert.ok(ra.prefixes[0].valid > 2592000 - 600 && ra.prefixes[0].valid <= 2592000, 'valid lifetime');
      assert.ok(ra.prefixes[0].preferred > 604800 - 600 && ra.prefixes[0].preferred <= 604800, 'preferred');
      assert.match(route, new RegExp(`via ${ra.from} `), 'the default route is the advert’s sender');
    });

    it('the VM on the dhcpv6-stateful subnet sees M and no A bit, and makes no address', async () => {
      const ra = await advertB();
      console.log(`advert seen in ${NS_B}: ${JSON.stringify(ra)}`);
      assert.equal(ra.managed, true, 'M (addresses from DHCPv6)');
      assert.equal(ra.other, false, 'O clear');
      assert.ok(ra.lifetime > 0, 'a default router');
      assert.deepEqual(
        ra.prefixes.map((p) => ({ prefix: p.prefix, onlink: p.onlink, autonomous: p.autonomous })),
        [{ prefix: `${PREFIX_B}/64`, onlink: true, autonomous: false }],
      );
      // The advert has been taken in (its default route is there): still no address from it.
      await waitFor(
        `a default route from the advert in ${NS_B}`,
        () => /proto ra/.test(sh(`ip netns exec ${NS_B} ip -6 route show default dev ${ifB}`, true)),
        60_000,
      );
      assert.deepEqual(globals(NS_B, ifB, true), [], 'no SLAAC address on the stateful subnet');
    });

    it('the VM on the dhcpv6-stateless subnet sees O and the A bit, and takes its SLAAC address', async () => {
      const ra = await advertC();
      console.log(`advert seen in ${NS_C}: ${JSON.stringify(ra)}`);
      assert.deepEqual([ra.managed, ra.other], [false, true], 'O only (other configuration from DHCPv6)');
      assert.deepEqual(
        ra.prefixes.map((p) => ({ prefix: p.prefix, onlink: p.onlink, autonomous: p.autonomous })),
        [{ prefix: `${PREFIX_C}/64`, onlink: true, autonomous: true }],
      );
      const want = eui64(PREFIX_C, c.mac);
      await waitFor(
        `a SLAAC address ${want} in ${NS_C}`,
        () => globals(NS_C, ifC).some((g) => g.local === want && g.dynamic),
        120_000,
      );
      assert.equal(ping6(NS_C, GW_C, 3), 3, `${NS_C} → ${GW_C}`);
      assert.equal(ping6(NS_C, eui64(PREFIX_A, a.mac), 3), 3, `${NS_C} → a through the router`);
    });

    it('across the router: the SLAAC VM and the stateful subnet’s VM (its address as DHCPv6 would give it)', async () => {
      sh(`ip netns exec ${NS_B} ip addr add ${B_ADDR}/64 dev ${ifB} nodad`);
      const aAddr = eui64(PREFIX_A, a.mac);
      assert.equal(ping6(NS_B, GW_B, 3), 3, `${NS_B} → ${GW_B}`);
      assert.equal(ping6(NS_A, B_ADDR), 5, `${NS_A} → ${B_ADDR} through the router`);
      assert.equal(ping6(NS_B, aAddr), 5, `${NS_B} → ${aAddr} through the router`);
    });
  },
);
