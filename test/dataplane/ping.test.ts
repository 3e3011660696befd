// Real dataplane, real packets: a VM port the agent plumbs on a real VPP, a "VM" that answers ARP and
// ping (DPDK's testpmd on the port's vhost-user socket, as the guest), and `ping` from a network
// namespace whose veth VPP bridges into the port's network. It checks what no simulator can: that
// the ACLs the agent builds let the allowed traffic through and stop the rest.
//
// Runs only with NETVPP_TEST_VPP_SOCKET (a real VPP with the acl, af_packet and vhost plugins), as
// root, with `dpdk-testpmd` (Debian: dpdk-dev) and `ip`/`ping` installed; skips saying why otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.ts';
import { RecordingHostNet } from '../../src/agent/host-net.ts';
import { encodeValue, keys, PREFIX, type PortBinding, type SecurityGroup } from '../../src/model/keyspace.ts';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import {
  acl_dump,
  af_packet_create_v3,
  af_packet_delete,
  bridge_domain_dump,
  create_loopback_instance,
  delete_loopback,
  sw_interface_set_flags,
  sw_interface_set_l2_bridge,
} from '../../src/vpp/binapi/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { flatNet, secGroup, vmPort } from '../agent/helpers/fixtures.ts';
import { rule as anyRule } from '../agent/helpers/sg-rules.ts';
import { waitFor } from '../agent/helpers/harness.ts';
import { has, sh } from './shell.ts';

const HOST = 'dataplane1';
const NS = 'nvt-ping';
const VETH = 'nvtp0'; // VPP's side; the namespace gets nvtp1
const PINGER_IP = '10.77.0.1';
const VM_IP = '10.77.0.5';

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : process.getuid?.() !== 0
    ? 'needs root (network namespace, veth)'
    : !has('dpdk-testpmd')
      ? 'needs dpdk-testpmd (Debian package dpdk-dev) to play the VM'
      : !has('ip') || !has('ping')
        ? 'needs ip and ping'
        : false;

/** Replies `ping` got from the VM (count requests, 1 s each at most). */
function ping(count: number): number {
  const out = sh(`ip netns exec ${NS} ping -n -c ${count} -i 0.2 -W 1 ${VM_IP}`, true);
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

describe('real dataplane: ping a VM port through VPP, with its security group', { skip }, () => {
  let etcd: EtcdProcess;
  let store: Store;
  let op: VppClient;
  let agent: Agent;
  let vm: ChildProcess | undefined;
  let dir = '';
  let uplink = -1;
  let pinger = -1;
  const net = flatNet();
  // Neutron's default egress (anything, IPv4 and IPv6) and ICMP in from anywhere.
  const icmpIn = anyRule({ protocol: 1, remote_ip_prefix: '0.0.0.0/0' });
  const egress = [anyRule({ direction: 'egress' }), anyRule({ direction: 'egress', ethertype: 'IPv6' })];
  const sg: SecurityGroup = secGroup([...egress, icmpIn]);
  let port: PortBinding;

  const put = async (key: string, value: unknown): Promise<void> => {
    await store.put(key, encodeValue(key, value as never));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netvpp-dataplane-'));
    port = vmPort(net, {
      fixed_ips: [{ subnet_id: net.id, ip_address: VM_IP }],
      security_groups: [sg.id],
    });
    port.vhostuser = { socket: join(dir, port.port_id), mode: 'server' };
    etcd = await startEtcd();
    store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
    op = await VppClient.connect({ socket: REAL_VPP_SOCKET, name: 'dataplane-test' });
    uplink = (await op.request(create_loopback_instance, { is_specified: true, user_instance: 777 }))
      .sw_if_index;
    await put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'test' });
    await put(keys.secGroup(sg.id), sg);
    await put(keys.portBinding(HOST, port.port_id), port);
    agent = new Agent(
      {
        host: HOST,
        etcd: { endpoints: etcd.endpoints },
        vppSocket: REAL_VPP_SOCKET,
        physnets: new Map([['physnet1', 'loop777']]),
        vhostUserDir: dir,
        tapBackend: 'tap',
        tapBackendSetting: 'tap',
        logLevel: 'warn',
        health: null,
        configFile: null,
      },
      { hostNet: new RecordingHostNet() },
    );
    agent.start();
    // The VM: a vhost-user server on the port's socket, answering ARP and ICMP echo as the port.
    vm = spawn(
      'dpdk-testpmd',
      [
        '-l',
        '0-1',
        '--no-huge',
        '-m',
        '1024',
        '--no-pci',
        '--file-prefix',
        'nvt-vm',
        '--single-file-segments',
        '--vdev',
        `net_virtio_user0,path=${port.vhostuser.socket},server=1,queues=1,mac=${port.mac}`,
        '--',
        '--forward-mode=icmpecho',
        '--auto-start',
        '--nb-cores=1',
        '--total-num-mbufs=8192',
      ],
      // testpmd quits at end of input ("Press enter to exit"): stdin stays an open pipe.
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    // The pinger: a namespace on a veth whose other end VPP bridges into the port's network.
    sh(`ip netns del ${NS}`, true);
    sh(`ip link del ${VETH}`, true);
    sh(
      `ip netns add ${NS} && ip link add ${VETH} type veth peer name nvtp1 && ip link set nvtp1 netns ${NS}`,
    );
    sh(
      `ip netns exec ${NS} ip addr add ${PINGER_IP}/24 dev nvtp1 && ip netns exec ${NS} ip link set nvtp1 up`,
    );
    sh(`ip link set ${VETH} up`);
    await waitFor(
      'the port ready (the VM connected)',
      async () => {
        const { kv } = await store.get(keys.portState(HOST, port.port_id));
        return kv !== undefined && (JSON.parse(kv.value) as { ready: boolean }).ready;
      },
      60_000,
    );
    pinger = (
      await op.request(af_packet_create_v3, { host_if_name: VETH, use_random_hw_addr: true, mode: 1 })
    ).sw_if_index;
    await op.request(sw_interface_set_flags, { sw_if_index: pinger, flags: 1 });
    const bd = (await op.dump(bridge_domain_dump, { bd_id: 0xffffffff, sw_if_index: 0xffffffff })).find(
      (b) => b.bd_tag === `netvpp:bd:${net.id}`,
    );
    assert.ok(bd, "the network's bridge domain");
    await op.request(sw_interface_set_l2_bridge, { rx_sw_if_index: pinger, bd_id: bd.bd_id, enable: true });
  });

  after(async () => {
    try {
      if (store && port) {
        await store.delete(keys.portBinding(HOST, port.port_id));
        await waitFor('the port removed', () => agent.health().ports.total === 0, 20_000).catch(
          () => undefined,
        );
        await agent.whenIdle();
      }
    } finally {
      await agent?.stop();
      vm?.kill('SIGTERM');
      if (op?.connected) {
        if (pinger >= 0) await op.request(af_packet_delete, { host_if_name: VETH }).catch(() => undefined);
        if (uplink >= 0) await op.request(delete_loopback, { sw_if_index: uplink }).catch(() => undefined);
        await op.close();
      }
      sh(`ip netns del ${NS}`, true);
      sh(`ip link del ${VETH}`, true);
      store?.close();
      await etcd?.destroy();
      if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the security group allows ICMP in: pings get their replies', () => {
    assert.equal(ping(3), 3);
  });

  it('the ICMP rule removed: pings are dropped, though VPP holds sessions of the earlier ones', async () => {
    const tag = `netvpp:sg:${sg.id}:ingress`;
    await put(keys.secGroup(sg.id), { ...sg, revision: 2, rules: egress });
    await waitFor('the ACL without the rule', async () => {
      const acl = (await op.dump(acl_dump, { acl_index: 0xffffffff })).find((a) => a.tag === tag);
      return acl !== undefined && acl.count === 0;
    });
    assert.equal(ping(3), 0);
  });

  it('port security off: pings pass with no filtering at all', async () => {
    await put(keys.portBinding(HOST, port.port_id), {
      ...port,
      port_security_enabled: false,
      security_groups: [],
      revision: 2,
    });
    await waitFor('the port ready at revision 2', async () => {
      const { kv } = await store.get(keys.portState(HOST, port.port_id));
      const s = kv && (JSON.parse(kv.value) as { ready: boolean; revision: number });
      return !!s && s.ready && s.revision === 2;
    });
    assert.equal(ping(3), 3);
  });
});
