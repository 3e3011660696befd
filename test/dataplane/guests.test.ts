// Real guests on a real VPP, driven through the Neutron API: neutron-server with the netvpp driver,
// Neutron's DHCP agent (dnsmasq, over RabbitMQ; its namespace plugged by netvpp's interface driver
// into a veth-backed tap port), the controller, etcd and the netvpp agent on the VPP named by
// NETVPP_TEST_VPP_SOCKET. Two QEMU guests (guest.ts) on vhost-user ports as Nova plugs them (QEMU
// the socket server) get their addresses from the DHCP agent through VPP and ping each other; the
// netvpp agent restarts under a steady ping; VPP is killed and started again (NETVPP_TEST_VPP_RESTART,
// a shell command that does it) and the guests' traffic comes back with nothing done in them.
// Skips, saying why, without a real VPP, root, QEMU and the guest packages, or Neutron's DHCP agent.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { keys, type PortState } from '../../src/model/keyspace.ts';
import { AgentNode } from '../e2e/agent-node.ts';
import { DhcpAgent, dhcpAgentUnavailableReason } from '../e2e/dhcp-agent.ts';
import { neutronUnavailableReason, waitFor } from '../e2e/neutron-harness.ts';
import { NetvppStack } from '../e2e/netvpp-stack.ts';
import { RabbitMq, rabbitmqUnavailableReason } from '../e2e/rabbitmq.ts';
import { REAL_VPP_SOCKET } from '../helpers/vpp.ts';
import { Guest, guestUnavailableReason } from './guest.ts';

const HOST = 'guesthost1';
const SOCKET_DIR = '/run/netvpp-guests/vhost';
const VPP_RESTART = process.env.NETVPP_TEST_VPP_RESTART ?? '';

const skip = !REAL_VPP_SOCKET
  ? 'needs a real VPP (NETVPP_TEST_VPP_SOCKET)'
  : (guestUnavailableReason() ??
    neutronUnavailableReason() ??
    dhcpAgentUnavailableReason() ??
    rabbitmqUnavailableReason() ??
    false);

interface Port {
  id: string;
  status: string;
  mac_address: string;
  fixed_ips: { ip_address: string }[];
  'binding:vif_details': { vhostuser_socket?: string; vhostuser_mode?: string };
}

describe('real guests on a real VPP: DHCP from Neutron, ping, restarts', { skip }, () => {
  let rabbit: RabbitMq | undefined;
  let stack: NetvppStack | undefined;
  let dhcp: DhcpAgent | undefined;
  const guests: Guest[] = [];
  const ports: Port[] = [];
  let net = '';
  const api = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    (stack as NetvppStack).neutron?.api<T>(method, path, body) as Promise<T>;
  const log = (m: string): void => console.log(`[guests] ${m}`);

  before(
    async () => {
      mkdirSync(SOCKET_DIR, { recursive: true });
      rabbit = new RabbitMq();
      await rabbit.start();
      stack = await NetvppStack.start({
        agents: [{ host: HOST, physnets: ['physnet1'], tapBackend: 'veth', vppSocket: REAL_VPP_SOCKET }],
        vhostSocketDir: SOCKET_DIR,
        transportUrl: rabbit.url,
      });
      const neutron = stack.neutron;
      if (!neutron) throw new Error('no neutron');
      dhcp = new DhcpAgent({ host: HOST, transportUrl: rabbit.url, workDir: neutron.workDir });
      dhcp.start();
      await dhcp.waitAlive((m, p) => neutron.api(m, p));
    },
    { timeout: 600_000 },
  );
  after(async () => {
    for (const g of guests) await g.stop();
    if (net) {
      for (const p of ports) await api('DELETE', `/ports/${p.id}`).catch(() => undefined);
      await api('DELETE', `/networks/${net}`).catch(() => undefined);
      await sleepUntilGone(net);
    }
    await dhcp?.destroy();
    await stack?.stop();
    await rabbit?.stop();
    rmSync(SOCKET_DIR, { recursive: true, force: true });
  });
  const sleepUntilGone = async (network: string): Promise<void> => {
    await waitFor(
      'the DHCP namespace to go',
      () =>
        spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(`qdhcp-${network}`)
          ? undefined
          : true,
      30_000,
    ).catch(() => undefined);
  };

  it(
    'two guests on vhost-user ports get their addresses from the DHCP agent through VPP and ping each other',
    { timeout: 900_000 },
    async () => {
      const n = await api<{ network: { id: string } }>('POST', '/networks', {
        network: { name: 'guests', 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' },
      });
      net = n.network.id;
      await api('POST', '/subnets', {
        subnet: {
          network_id: net,
          ip_version: 4,
          cidr: '10.62.0.0/24',
          enable_dhcp: true,
          name: 'guests-sub',
        },
      });
      await waitFor(
        'the DHCP port ACTIVE',
        async () => {
          const r = await api<{ ports: Port[] }>('GET', `/ports?network_id=${net}&device_owner=network:dhcp`);
          return r.ports[0]?.status === 'ACTIVE' ? true : undefined;
        },
        120_000,
      );
      for (const i of [1, 2]) {
        const p = await api<{ port: Port }>('POST', '/ports', {
          port: {
            network_id: net,
            name: `guest${i}`,
            device_owner: 'compute:nova',
            device_id: `guest-${i}`,
            'binding:host_id': HOST,
          },
        });
        const d = p.port['binding:vif_details'];
        assert.equal(d.vhostuser_mode, 'server', 'Nova runs QEMU as the vhost-user server');
        ports.push(p.port);
        const g = new Guest({
          name: `guest${i}`,
          mac: p.port.mac_address,
          nic: { type: 'vhost-user', socket: d.vhostuser_socket as string },
          dir: stack?.neutron?.workDir as string,
        });
        guests.push(g);
        g.start();
      }
      for (const [i, p] of ports.entries()) {
        await waitFor(
          `port ${i + 1} ACTIVE (its guest connected)`,
          async () =>
            (await api<{ port: Port }>('GET', `/ports/${p.id}`)).port.status === 'ACTIVE' ? true : undefined,
          300_000,
          500,
        );
      }
      const t0 = Date.now();
      for (const [i, g] of guests.entries()) {
        await g.ready();
        assert.equal(
          await g.lease(180_000),
          `${ports[i].fixed_ips[0].ip_address}/24`,
          "the port's fixed IP, by DHCP",
        );
      }
      log(
        `both guests booted with their leases ${((Date.now() - t0) / 1000).toFixed(1)} s after their ports were ACTIVE`,
      );
      // Neutron's dnsmasq gave them: its log has the acknowledgement of each lease, on its tap.
      const served = dhcp?.dnsmasqLog(net) ?? '';
      for (const p of ports) {
        const ip = p.fixed_ips[0].ip_address.replace(/\./g, '\\.');
        assert.match(served, new RegExp(`DHCPACK\\(tap[0-9a-f-]{11}\\) ${ip} ${p.mac_address}`));
      }
      const [a, b] = guests;
      assert.equal(await a.ping(ports[1].fixed_ips[0].ip_address, 5), 5);
      assert.equal(await b.ping(ports[0].fixed_ips[0].ip_address, 5), 5);
    },
  );

  it(
    'the netvpp agent restarts under a steady ping between the guests: no packet lost',
    { timeout: 300_000 },
    async () => {
      const [a] = guests;
      assert.ok(a, 'guests booted');
      const node = stack?.agents.get(HOST) as AgentNode;
      const pinging = a.ping(ports[1].fixed_ips[0].ip_address, 60, 0.2);
      await new Promise((r) => setTimeout(r, 2_000));
      await node.restartAgent();
      await waitFor('the agent to report the ports ready again', async () => {
        for (const p of ports) {
          const s = await stack?.etcdGet<PortState>(keys.portState(HOST, p.id));
          if (!s?.ready) return undefined;
        }
        return true;
      });
      assert.equal(await pinging, 60);
    },
  );

  it(
    'VPP killed and started again: both guests reach each other again with nothing done in them',
    {
      timeout: 600_000,
      skip: VPP_RESTART
        ? false
        : 'needs NETVPP_TEST_VPP_RESTART (a shell command that kills and restarts the VPP)',
    },
    async () => {
      const [a, b] = guests;
      assert.ok(a && b, 'guests booted');
      const t0 = Date.now();
      const r = spawnSync('sh', ['-c', VPP_RESTART], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `${VPP_RESTART}: ${r.stderr}`);
      const restarted = Date.now();
      await (stack?.agents.get(HOST) as AgentNode).vppRestarted();
      await waitFor(
        'a ping between the guests to get through',
        async () => ((await a.ping(ports[1].fixed_ips[0].ip_address, 1)) === 1 ? true : undefined),
        300_000,
        100,
      );
      log(
        `VPP restart: traffic between the guests back ${((Date.now() - restarted) / 1000).toFixed(1)} s after VPP was ` +
          `started again (${((Date.now() - t0) / 1000).toFixed(1)} s after the kill)`,
      );
      assert.equal(await b.ping(ports[0].fixed_ips[0].ip_address, 5), 5);
      // the DHCP namespace's veth survived: the guest renews its lease from the same dnsmasq
      const renew = await a.run('kill -USR1 $(pidof udhcpc) && sleep 3 && cat /tmp/udhcpc.log | tail -3');
      assert.match(renew.out, /lease of .* obtained/);
    },
  );
});
