// End to end for Neutron's DHCP agent on netvpp: neutron-server (Debian's Zed) and the real
// neutron-dhcp-agent with dnsmasq, RPC over a throw-away RabbitMQ, the controller, etcd and the
// netvpp agent (on a VPP simulator, tap ports as veth pairs in the kernel). The DHCP agent's
// interface driver is netvpp's: it plugs the qdhcp namespace into the veth the netvpp agent made
// for the DHCP port. No packets here (the simulator forwards none): test/dataplane/guests.test.ts
// gets a real guest a lease through a real VPP. Skips, saying why, without Neutron, the DHCP
// agent, RabbitMQ or root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keys, type PortBinding, type PortState } from '../../src/model/keyspace.ts';
import { AgentNode } from './agent-node.ts';
import { DhcpAgent, dhcpAgentUnavailableReason } from './dhcp-agent.ts';
import { neutronUnavailableReason, waitFor } from './neutron-harness.ts';
import { AGENT_KIND, NetvppStack } from './netvpp-stack.ts';
import { RabbitMq, rabbitmqUnavailableReason } from './rabbitmq.ts';

const HOST = 'netnode1';

const skip =
  neutronUnavailableReason() ??
  dhcpAgentUnavailableReason() ??
  rabbitmqUnavailableReason() ??
  (AGENT_KIND !== 'real'
    ? 'needs the real netvpp agent (NETVPP_E2E_AGENT=standin makes no interfaces)'
    : null);

interface Port {
  id: string;
  status: string;
  mac_address: string;
  device_owner: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  'binding:vif_type': string;
  'binding:host_id': string;
}

interface Link {
  ifindex: number;
  ifname: string;
  address: string;
  mtu: number;
  operstate: string;
  flags: string[];
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** `ip -j addr show dev` in a namespace (or the root one); null when the device is not there. */
function link(dev: string, ns?: string): Link | null {
  const args = [...(ns ? ['netns', 'exec', ns, 'ip'] : []), '-j', 'addr', 'show', 'dev', dev];
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const [l] = JSON.parse(r.stdout) as Link[];
  return l ?? null;
}

const namespaces = (): string[] =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);

const tapName = (portId: string): string => 'tap' + portId.slice(0, 11);
const vppName = (portId: string): string => 'vpp' + portId.slice(0, 11);

describe("Neutron's DHCP agent on netvpp (interface driver, RPC, simulator)", { skip: skip ?? false }, () => {
  let rabbit: RabbitMq | undefined;
  let stack: NetvppStack | undefined;
  let dhcp: DhcpAgent | undefined;
  const api = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    (stack as NetvppStack).neutron?.api<T>(method, path, body) as Promise<T>;
  const converge = async <T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
  ): Promise<T> => {
    try {
      return await waitFor(what, probe, 90_000, 250);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- dhcp-agent.log ---\n${dhcp?.tail(25)}\n--- neutron-server.log ---\n` +
          `${stack?.neutron?.tailServerLog(15)}`,
      );
    }
  };
  let net = '';
  let dhcpPort: Port | undefined;

  before(
    async () => {
      rabbit = new RabbitMq();
      await rabbit.start();
      stack = await NetvppStack.start({
        agents: [{ host: HOST, physnets: ['physnet1'], tapBackend: 'veth' }],
        vhostSocketDir: '/run/netvpp-e2e/vhost',
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
    await dhcp?.destroy();
    await stack?.stop();
    await rabbit?.stop();
  });

  it('a subnet with DHCP: the DHCP port is bound as a tap on the agent host and goes ACTIVE; its interface is in qdhcp-<network> with its MAC, MTU and IP; dnsmasq serves it', async () => {
    const n = await api<{ network: { id: string; mtu: number } }>('POST', '/networks', {
      network: { name: 'e2e-dhcp', 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' },
    });
    net = n.network.id;
    await api('POST', '/subnets', {
      subnet: {
        network_id: net,
        ip_version: 4,
        cidr: '10.61.0.0/24',
        enable_dhcp: true,
        name: 'e2e-dhcp-sub',
      },
    });
    dhcpPort = await converge('the DHCP port to be ACTIVE', async () => {
      const r = await api<{ ports: Port[] }>('GET', `/ports?network_id=${net}&device_owner=network:dhcp`);
      const p = r.ports[0];
      return p?.status === 'ACTIVE' ? p : undefined;
    });
    assert.equal(dhcpPort['binding:vif_type'], 'tap');
    assert.equal(dhcpPort['binding:host_id'], HOST);
    const state = await stack?.etcdGet<PortState>(keys.portState(HOST, dhcpPort.id));
    assert.equal(state?.ready, true, `netvpp reports the DHCP port ready: ${JSON.stringify(state)}`);
    const binding = await stack?.etcdGet<PortBinding>(keys.portBinding(HOST, dhcpPort.id));
    assert.equal(binding?.tap?.host_ifname, tapName(dhcpPort.id));

    const ns = `qdhcp-${net}`;
    const ip = dhcpPort.fixed_ips[0].ip_address;
    const inNs = await converge(`${tapName(dhcpPort.id)} in ${ns} with ${ip}`, () => {
      const l = link(tapName(dhcpPort?.id ?? ''), ns);
      return l?.addr_info?.some((a) => a.family === 'inet' && a.local === ip) ? l : undefined;
    });
    assert.equal(inNs.address, dhcpPort.mac_address, 'the MAC Neutron gave the port');
    assert.equal(inNs.mtu, n.network.mtu, "the network's MTU");
    assert.ok(inNs.flags.includes('UP'), `link up: ${inNs.flags.join(',')}`);
    assert.equal(inNs.addr_info?.find((a) => a.local === ip)?.prefixlen, 24);
    assert.equal(link(tapName(dhcpPort.id)), null, 'no longer in the root namespace');
    assert.ok(link(vppName(dhcpPort.id)), "VPP's end of the pair stays in the root namespace");

    const dns = await converge('dnsmasq to run for the network', () =>
      dhcp?.networks().find((x) => x.network === net && x.pid !== null),
    );
    assert.equal(
      statSync(`/proc/${dns.pid}/ns/net`).ino,
      statSync(`/run/netns/${ns}`).ino,
      `dnsmasq (pid ${dns.pid}) runs in ${ns}`,
    );
    const range = readFileSync(`/proc/${dns.pid}/cmdline`, 'utf8')
      .split('\0')
      .find((a) => a.startsWith('--dhcp-range='));
    assert.match(range ?? '', /10\.61\.0\.0,static,255\.255\.255\.0/);
    // dnsmasq reads its host and option files as `nobody`: unreadable, it offers no address to anyone
    const served = await converge('dnsmasq to have logged its start', () => {
      const l = dhcp?.dnsmasqLog(net) ?? '';
      return /DHCP, static leases only on 10\.61\.0\.0/.test(l) ? l : undefined;
    });
    assert.doesNotMatch(served, /cannot read|failed to load|Permission denied/);
  });

  it("a VM port created later is in dnsmasq's hosts (the agent learns it by RPC notification)", async () => {
    const p = await api<{ port: Port }>('POST', '/ports', { port: { network_id: net, name: 'e2e-dhcp-vm' } });
    const hosts = join(dhcp?.stateDir ?? '', 'dhcp', net, 'host');
    const entry = await converge('the VM port in the dnsmasq host file', () => {
      if (!existsSync(hosts)) return undefined;
      return readFileSync(hosts, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(p.port.mac_address));
    });
    assert.ok(entry.includes(p.port.fixed_ips[0].ip_address), entry);
    await api('DELETE', `/ports/${p.port.id}`);
  });

  it('restarts: the DHCP agent finds its interface in place; the netvpp agent neither recreates nor moves it', async () => {
    const id = (dhcpPort as Port).id;
    const ns = `qdhcp-${net}`;
    const before = link(tapName(id), ns);
    const vppBefore = link(vppName(id));
    assert.ok(before && vppBefore);
    const node = stack?.agents.get(HOST) as AgentNode;
    const creates = node.vppCalls('af_packet_create_v3');
    const configured = (): number =>
      (dhcp?.tail(100_000) ?? '').split(`Finished network ${net} dhcp configuration`).length - 1;
    const configuredBefore = configured();

    await dhcp?.stop();
    dhcp?.start();
    await dhcp?.waitAlive((m, p) => api(m, p));
    await node.restartAgent();
    // Both back: the netvpp agent reports the port ready again, the DHCP agent has resynced.
    await converge('netvpp to report the DHCP port ready after its restart', async () => {
      const s = await stack?.etcdGet<PortState>(keys.portState(HOST, id));
      return s?.ready ? true : undefined;
    });
    await converge('the DHCP agent to have configured the network again', () =>
      configured() > configuredBefore ? true : undefined,
    );
    const after = link(tapName(id), ns);
    assert.equal(after?.ifindex, before.ifindex, 'the same device, not a new one');
    assert.deepEqual(after?.addr_info, before.addr_info);
    assert.equal(link(vppName(id))?.ifindex, vppBefore.ifindex);
    assert.equal(node.vppCalls('af_packet_create_v3'), creates, 'no af_packet interface made again');
    assert.equal(link(tapName(id)), null);
  });

  it('the network deleted: the namespace and both ends of the pair are gone', async () => {
    const id = (dhcpPort as Port).id;
    await api('DELETE', `/networks/${net}`);
    await converge('the namespace and the veth pair to go', () =>
      !namespaces().includes(`qdhcp-${net}`) && link(vppName(id)) === null && link(tapName(id)) === null
        ? true
        : undefined,
    );
  });
});
