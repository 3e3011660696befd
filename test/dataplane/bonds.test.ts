// A bonded uplink between two real VPPs (NETVPP_TEST_VPP_SOCKET, NETVPP_TEST_VPP2_SOCKET; root):
// two veth pairs join them, each VPP opens its ends as af_packet interfaces (the operator's NICs),
// and each side's agent makes an LACP bond of them ([agent] bonds) that carries physnet1. A VLAN
// network crosses it with a VM (a namespace on a tap port) on each node. LACP converges (both
// partners seen by each member), pings pass; one veth is taken down and pings go on (counted); its
// return brings the member back to collecting/distributing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { parseBonds } from '../../src/agent/bond-config.ts';
import { encodeValue, keys, PREFIX, type BondState, type PortBinding } from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import {
  AfPacketFlags,
  af_packet_create_v3,
  af_packet_delete,
  bond_delete,
  delete_subif,
  sw_interface_dump,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP2_SOCKET, REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { vlanNet, vmPort } from '../agent/helpers/fixtures.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { vethAgent } from './agent.ts';
import { ping, sh, twoVppSkip } from './two-nodes.ts';

const skip = twoVppSkip('veth pairs and network namespaces');
const N = 20;
const net = vlanNet(177);
/** Per node: host, its veth ends (VPP opens them), the VM namespace and address. */
const NODES = [
  { host: 'bond-node1', veths: ['bndA0', 'bndA1'], ns: 'bndvm1', ip: '10.77.0.1' },
  { host: 'bond-node2', veths: ['bndB0', 'bndB1'], ns: 'bndvm2', ip: '10.77.0.2' },
] as const;
const BOND = 'BondEthernet0';

function cleanNet(): void {
  for (const n of NODES) sh(`ip netns del ${n.ns}`, true);
  for (const v of NODES[0].veths) sh(`ip link del ${v}`, true);
}

describe('an LACP bond between two real VPPs', { skip }, () => {
  let etcd: EtcdProcess;
  let store: Store;
  let dir = '';
  const ops: VppClient[] = [];
  const agents: Agent[] = [];
  const ports: PortBinding[] = [];

  const put = (key: string, value: unknown) => store.put(key, encodeValue(key, value as never));
  const bondsOf = async (i: number): Promise<BondState> => {
    const s = await agents[i].pollBonds();
    assert.ok(s?.[0], 'bond state read');
    return s[0];
  };
  const allActive = async (i: number) => {
    const b = await bondsOf(i);
    return b.up && b.members.every((m) => m.state === 'active' && m.partner) ? b : undefined;
  };

  before(async () => {
    cleanNet();
    dir = mkdtempSync(join(tmpdir(), 'netvpp-bonds-'));
    for (const [i, a] of NODES[0].veths.entries()) {
      const b = NODES[1].veths[i];
      sh(`ip link add ${a} type veth peer name ${b}`);
      for (const v of [a, b]) {
        sh(`sysctl -qw net.ipv4.conf.${v}.arp_ignore=8 net.ipv6.conf.${v}.disable_ipv6=1`);
        sh(`ip link set ${v} up`);
      }
    }
    for (const n of NODES) sh(`ip netns add ${n.ns} && ip -n ${n.ns} link set lo up`);
    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    await put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' });
    for (const [i, socket] of [REAL_VPP_SOCKET, REAL_VPP2_SOCKET].entries()) {
      const op = await VppClient.connect({ socket, name: `bonds-test-${i + 1}` });
      ops.push(op);
      // The operator's NICs: af_packet on each veth end.
      for (const v of NODES[i].veths)
        await op.request(af_packet_create_v3, {
          mode: 1,
          flags: AfPacketFlags.AF_PACKET_API_FLAG_QDISC_BYPASS,
          host_if_name: v,
          use_random_hw_addr: true,
        });
      const problems: string[] = [];
      const bonds = parseBonds(
        `${BOND}:${NODES[i].veths.map((v) => `host-${v}`).join('+')}:lacp:l34`,
        problems,
      );
      assert.deepEqual(problems, []);
      const a = vethAgent({
        host: NODES[i].host,
        endpoints: etcd.endpoints,
        vppSocket: socket,
        physnets: new Map([['physnet1', BOND]]),
        bonds,
        vhostUserDir: dir,
      });
      agents.push(a);
      a.start();
      const p = vmPort(net, {
        vif_type: 'tap',
        vhostuser: null,
        fixed_ips: [{ subnet_id: '6f0f5b0c-0000-4000-8000-000000000177', ip_address: NODES[i].ip }],
        port_security_enabled: false,
        security_groups: [],
      });
      p.tap = { host_ifname: `tap${p.port_id.slice(0, 11)}` };
      ports.push(p);
      await put(keys.portBinding(NODES[i].host, p.port_id), p);
    }
    for (const [i, n] of NODES.entries()) {
      await waitFor(
        `port ready on ${n.host}`,
        async () => {
          const { kv } = await store.get(keys.portState(n.host, ports[i].port_id));
          return !!kv && (JSON.parse(kv.value) as { ready: boolean }).ready;
        },
        60_000,
      );
      const tap = (ports[i].tap as { host_ifname: string }).host_ifname;
      sh(`ip link set ${tap} netns ${n.ns}`);
      sh(`ip -n ${n.ns} addr add ${n.ip}/24 dev ${tap} && ip -n ${n.ns} link set ${tap} up`);
    }
  });

  after(async () => {
    try {
      for (const [i, n] of NODES.entries())
        if (ports[i]) await store.delete(keys.portBinding(n.host, ports[i].port_id)).catch(() => undefined);
      for (const op of ops)
        await waitFor(
          'ports gone',
          async () => (await op.dump(sw_interface_dump, {})).every((d) => !d.tag.startsWith('netvpp:port:')),
          20_000,
        ).catch(() => undefined);
    } finally {
      for (const a of agents) await a.stop().catch(() => undefined);
      // The bond is the agent's (it stays, as after any agent stop); the test removes it with the NICs.
      for (const [i, op] of ops.entries()) {
        const ifs = await op.dump(sw_interface_dump, {}).catch(() => []);
        for (const d of ifs
          .filter((x) => x.tag.startsWith('netvpp:'))
          .sort((a, b) => b.sw_if_index - a.sw_if_index))
          await (
            d.interface_name.startsWith('Bond') && d.sw_if_index === d.sup_sw_if_index
              ? op.request(bond_delete, { sw_if_index: d.sw_if_index })
              : op.request(delete_subif, { sw_if_index: d.sw_if_index })
          ).catch(() => undefined);
        for (const v of NODES[i].veths)
          await op.request(af_packet_delete, { host_if_name: v }).catch(() => undefined);
        await op.close();
      }
      cleanNet();
      for (const p of ports) sh(`ip link del ${(p.tap as { host_ifname: string }).host_ifname}`, true);
      store?.close();
      await etcd?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('LACP converges, pings pass, survive a member going down, and the member rejoins', async (t) => {
    for (const i of [0, 1]) {
      const b = await waitFor(
        `${NODES[i].host}: both members collecting/distributing`,
        () => allActive(i),
        60_000,
      );
      const other = await bondsOf(1 - i);
      t.diagnostic(
        `${NODES[i].host}: ${b.members.map((m) => `${m.name} ${m.state} partner ${m.partner?.system} port ${m.partner?.port} state ${m.partner?.state}`).join('; ')}`,
      );
      // Each member's partner is the other VPP's bond (its LACP system id is that bond's MAC).
      assert.equal(new Set(b.members.map((m) => m.partner?.system)).size, 1, 'one partner system');
      assert.notEqual(b.members[0].partner?.system, other.members[0].partner?.system);
    }
    await waitFor('a first reply', () => ping(NODES[0].ns, NODES[1].ip, 1).received === 1, 30_000);
    const before = ping(NODES[0].ns, NODES[1].ip, N);
    t.diagnostic(`both members: ${before.received}/${before.sent} replies`);
    assert.deepEqual(before, { sent: N, received: N });

    sh(`ip link set ${NODES[0].veths[1]} down`);
    const degraded = await waitFor(
      'the member seen out of the bond',
      async () => {
        const b = await bondsOf(0);
        return b.members[1].state !== 'active' ? b : undefined;
      },
      60_000,
    );
    t.diagnostic(
      `member down: ${degraded.members.map((m) => `${m.name} ${m.state}`).join(', ')}; bond up ${degraded.up}`,
    );
    assert.equal(degraded.up, true, 'the bond stays up on its other member');
    assert.equal(degraded.members[0].state, 'active');
    const during = ping(NODES[0].ns, NODES[1].ip, N);
    t.diagnostic(
      `one member down: ${during.received}/${during.sent} replies, ${during.sent - during.received} lost`,
    );
    assert.deepEqual(during, { sent: N, received: N }, 'traffic flows on the remaining member');

    sh(`ip link set ${NODES[0].veths[1]} up`);
    const back = await waitFor(
      'the member back in the bond on both sides',
      async () => {
        const [a, b] = [await allActive(0), await allActive(1)];
        return a && b ? a : undefined;
      },
      60_000,
    );
    t.diagnostic(
      `member back: ${back.members.map((m) => `${m.name} ${m.state} actor ${m.actor_state}`).join(', ')}`,
    );
    const afterwards = ping(NODES[0].ns, NODES[1].ip, N);
    t.diagnostic(`member back: ${afterwards.received}/${afterwards.sent} replies`);
    assert.deepEqual(afterwards, { sent: N, received: N });
  });
});
