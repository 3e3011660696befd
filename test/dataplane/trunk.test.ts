// Real dataplane, real packets: a trunk (docs/trunks.md). A "VM" (a network namespace holding its
// parent port's tap end, veth-backed) sends ARP requests from a raw socket: 802.1Q VLAN 10 (its
// sub-port's VLAN) from the sub-port's MAC and address for a VM on the sub-port's network, and the
// same with VLAN 30 (no sub-port), with 802.1Q 10 + 5 (two tags), and untagged from the parent for a
// VM on the parent's network. Each VM (a namespace on a tap port) counts what arrives; the VM behind
// the trunk counts the answers, which must come back tagged with VLAN 10. Unmatched tags must reach
// neither network.
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the acl and af_packet plugins, on this
// host), as root, with `ip` and `python3`; skips saying why otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { keys, type PortBinding } from '../../src/model/keyspace.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { flatNet, secGroup, uuid, vlanNet, vmPort } from '../agent/helpers/fixtures.ts';
import { rule as anyRule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, sh } from './shell.ts';
import { listen as listenIn, vethLab, type Lab } from './veth-lab.ts';

const HOST = 'dataplane-trunk';
const NS = { wire: 'nvt-trk-wire', vm: 'nvt-trk-vm', sub: 'nvt-trk-q', par: 'nvt-trk-r' };
const UPLINK = 'nvttw0';
const N = 5;

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, veth pairs, raw sockets)'
    : !has('ip') || !has('python3')
      ? 'needs ip and python3'
      : false;

// argv: ifname, then per kind "mac,ip,target,tpid/vid+tpid/vid" (tags may be empty); N frames each.
// The ARP target's last octet is the frame's number, its third octet the kind's.
const SEND = `
import socket, struct, sys
ifname, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((ifname, 0))
for ki, spec in enumerate(sys.argv[3:]):
    mac, ip, target, tags = spec.split(',')
    mac = bytes.fromhex(mac.replace(':', ''))
    tags = [tuple(int(x, 0) for x in t.split('/')) for t in tags.split('+') if t]
    for k in range(n):
        arp = struct.pack('>HHBBH', 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(ip) + b'\\0' * 6 + socket.inet_aton(target)
        fr = b'\\xff' * 6 + mac + b''.join(struct.pack('>HH', t, v) for t, v in tags) + b'\\x08\\x06' + arp
        s.send(fr.ljust(60, b'\\0'))
`;

// Counts ARP frames (requests and replies) by [op, target or sender IP, tags] for SECS seconds.
const RECV = `
import socket, struct, sys, json, time
ifname, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind((ifname, 0))
s.setsockopt(263, 8, 1); s.settimeout(0.1)
print('ready', flush=True)
out, end = {}, time.time() + secs
while time.time() < end:
    try:
        data, anc, _, addr = s.recvmsg(4096, socket.CMSG_SPACE(20))
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    tags = []
    for level, kind, aux in anc:
        if level == 263 and kind == 8:
            status, _, _, _, _, tci, tpid = struct.unpack('IIIHHHH', aux[:20])
            if status & (1 << 4):
                tags.append(tci & 0xfff)
    off, et = 12, struct.unpack('>H', data[12:14])[0]
    while et in (0x8100, 0x88a8):
        tags.append(struct.unpack('>H', data[off + 2:off + 4])[0] & 0xfff); off += 4
        et = struct.unpack('>H', data[off:off + 2])[0]
    arp = data[off + 2:]
    if et != 0x0806 or len(arp) < 28:
        continue
    op = struct.unpack('>H', arp[6:8])[0]
    ip = socket.inet_ntoa(arp[24:28] if op == 1 else arp[14:18])
    key = '%s %s %s' % ('request' if op == 1 else 'reply', ip, '.'.join(map(str, tags)) or '-')
    out[key] = out.get(key, 0) + 1
print(json.dumps(out), flush=True)
`;

describe('real dataplane: a trunk’s sub-port carries its VLAN, unmatched tags go nowhere', { skip }, () => {
  let lab: Lab;
  const sg = secGroup([
    anyRule({ direction: 'egress' }),
    anyRule({ direction: 'ingress', protocol: null, port_range_min: null, port_range_max: null }),
  ]);
  const netP = flatNet('physnet1');
  const netS = vlanNet(602, 'physnet1');
  const tapOf = (id: string) => ({
    vif_type: 'tap' as const,
    vhostuser: null,
    tap: { host_ifname: `tap${id.slice(0, 11)}` },
  });
  const pid = uuid();
  const parent = vmPort(netP, {
    port_id: pid,
    ...tapOf(pid),
    security_groups: [sg.id],
    fixed_ips: [{ subnet_id: uuid(), ip_address: '10.98.1.1' }],
  });
  const sid = uuid();
  const sub = vmPort(netS, {
    port_id: sid,
    vif_type: 'subport',
    vhostuser: null,
    tap: null,
    device_owner: 'trunk:subport',
    security_groups: [sg.id],
    fixed_ips: [{ subnet_id: uuid(), ip_address: '10.98.2.1' }],
    subport: { trunk_id: uuid(), parent_port_id: pid, segmentation_type: 'vlan', segmentation_id: 10 },
  });
  const qid = uuid();
  const q = vmPort(netS, {
    port_id: qid,
    ...tapOf(qid),
    port_security_enabled: false,
    fixed_ips: [{ subnet_id: uuid(), ip_address: '10.98.2.2' }],
  });
  const rid = uuid();
  const r = vmPort(netP, {
    port_id: rid,
    ...tapOf(rid),
    port_security_enabled: false,
    fixed_ips: [{ subnet_id: uuid(), ip_address: '10.98.1.2' }],
  });
  const ifOf = (p: PortBinding): string => p.tap?.host_ifname ?? '';

  /** Starts a counter in `ns` on `ifname`; resolves to its counts when it is done. */
  const listen = (ns: string, ifname: string) =>
    listenIn<Record<string, number>>(ns, join(lab.dir, 'recv.py'), [ifname, '10']);

  before(async () => {
    lab = await vethLab({
      host: HOST,
      client: 'trunk-test',
      namespaces: Object.values(NS),
      wire: { ns: NS.wire, peer: 'nvttw1' },
      uplink: UPLINK,
      files: { 'send.py': SEND, 'recv.py': RECV },
    });
    await lab.put(keys.secGroup(sg.id), sg);
    lab.startAgent();
  });

  after(async () => {
    await lab?.close();
  });

  it('VLAN 10 reaches the sub-port’s network and is answered tagged; VLAN 30 and double tags reach no network', async (t) => {
    for (const p of [parent, sub, q, r]) await lab.bind(p);
    for (const [p, ns] of [
      [parent, NS.vm],
      [q, NS.sub],
      [r, NS.par],
    ] as const) {
      const ifname = ifOf(p);
      await waitFor(`${ifname} made`, () => sh(`ip link show ${ifname}`, true) !== '', 30_000);
      sh(`ip link set ${ifname} netns ${ns} && ip netns exec ${ns} ip link set ${ifname} up`);
      if (p !== parent) sh(`ip netns exec ${ns} ip addr add ${p.fixed_ips[0].ip_address}/24 dev ${ifname}`);
    }
    for (const p of [parent, sub, q, r]) await lab.ready(p);

    const [atVm, atQ, atR] = await Promise.all([
      listen(NS.vm, ifOf(parent)),
      listen(NS.sub, ifOf(q)),
      listen(NS.par, ifOf(r)),
    ]);
    const s = sub.mac;
    const pm = parent.mac;
    sh(
      `ip netns exec ${NS.vm} python3 ${join(lab.dir, 'send.py')} ${ifOf(parent)} ${N} ` +
        `${s},10.98.2.1,10.98.2.2,0x8100/10 ${s},10.98.2.1,10.98.2.3,0x8100/30 ` +
        `${s},10.98.2.1,10.98.2.4,0x8100/10+0x8100/5 ${pm},10.98.1.1,10.98.1.2,`,
    );
    const [vm, qs, rs] = await Promise.all([atVm(), atQ(), atR()]);
    t.diagnostic(`VM behind the trunk: ${JSON.stringify(vm)}`);
    t.diagnostic(`VM on the sub-port's network: ${JSON.stringify(qs)}`);
    t.diagnostic(`VM on the parent's network: ${JSON.stringify(rs)}`);
    assert.equal(qs['request 10.98.2.2 -'], N, 'VLAN 10 arrives untagged on the sub-port’s network');
    assert.equal(vm['reply 10.98.2.2 10'], N, 'and is answered, back on VLAN 10');
    assert.equal(rs['request 10.98.1.2 -'], N, 'untagged frames reach the parent’s network');
    assert.equal(vm['reply 10.98.1.2 -'], N, 'and are answered untagged');
    for (const seen of [qs, rs]) {
      for (const k of Object.keys(seen)) {
        assert.doesNotMatch(k, /10\.98\.2\.3|10\.98\.2\.4/, `an unmatched tag reached a network: ${k}`);
      }
    }
  });
});
