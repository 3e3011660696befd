// End to end: etcd loses all of its data while Neutron has networks, ports and security groups. The
// controller finds no sync marker and asks for a full sync; the driver (forwarder) reads Neutron's
// state and sends it; etcd's desired state is back, as Neutron has it, including changes made while
// etcd was down; and the journal goes on afterwards. Real neutron-server, controller, etcd, agents.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  keys,
  type PortBinding,
  type RemoteGroupMember,
  type SecurityGroup,
  type SyncMarker,
} from '../../src/model/keyspace.ts';
import { neutronUnavailableReason, waitFor, type NeutronEnv } from './neutron-harness.ts';
import { NetvppStack } from './netvpp-stack.ts';

const SOCKET_DIR = '/run/netvpp-e2e/vhost';
const HOST = 'compute1';

interface Port {
  id: string;
  network_id: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  security_groups: string[];
  allowed_address_pairs: { ip_address: string }[];
  device_owner: string;
  status: string;
  'binding:host_id': string;
  'binding:vif_type': string;
}

interface Network {
  id: string;
  'provider:network_type': string;
  'provider:physical_network': string | null;
  'provider:segmentation_id': number | null;
}

interface Group {
  id: string;
  security_group_rules: { id: string }[];
}

const skip = neutronUnavailableReason();

describe('etcd wiped: the driver re-syncs Neutron’s state into it', { skip: skip ?? false }, () => {
  let stack: NetvppStack;
  let neutron: NeutronEnv;

  const api = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    neutron.api<T>(method, path, body);
  const withLogs = (e: unknown): Error =>
    new Error(
      `${e instanceof Error ? e.message : String(e)}\n--- neutron-server.log ---\n${neutron.tailServerLog(25)}` +
        `\n--- controller.log ---\n${stack.controller?.tail(25)}`,
    );
  const converge = async <T>(
    what: string,
    probe: () => Promise<T | undefined>,
    limitMs = 90_000,
  ): Promise<T> => {
    try {
      return await waitFor(what, probe, limitMs, 250);
    } catch (e) {
      throw withLogs(e);
    }
  };
  const journalDrained = () =>
    converge('the journal to drain', async () => (neutron.journalBacklog() === 0 ? true : undefined));

  const createPort = async (port: Record<string, unknown>): Promise<Port> =>
    (await api<{ port: Port }>('POST', '/ports', { port })).port;

  /**
   * Where etcd's desired state differs from Neutron's (bindings on HOST, groups and their members),
   * as a list of readable differences; empty when they match.
   */
  async function differences(): Promise<string[]> {
    const diffs: string[] = [];
    const ports = (await api<{ ports: Port[] }>('GET', '/ports')).ports;
    const nets = new Map(
      (await api<{ networks: Network[] }>('GET', '/networks')).networks.map((n) => [n.id, n]),
    );
    const groups = (await api<{ security_groups: Group[] }>('GET', '/security-groups')).security_groups;

    const bound = ports.filter(
      (p) => p['binding:host_id'] === HOST && ['vhostuser', 'tap'].includes(p['binding:vif_type']),
    );
    const inEtcd = (await stack.etcdKeys(keys.hostPortBindings(HOST))).map((k) => k.split('/').pop());
    const want = bound.map((p) => p.id).sort();
    if (JSON.stringify(inEtcd.sort()) !== JSON.stringify(want))
      diffs.push(`bindings on ${HOST}: etcd ${JSON.stringify(inEtcd)}, Neutron ${JSON.stringify(want)}`);
    for (const p of bound) {
      const b = await stack.etcdGet<PortBinding>(keys.portBinding(HOST, p.id));
      if (!b) continue;
      const net = nets.get(p.network_id);
      const got = {
        mac: b.mac,
        ips: b.fixed_ips,
        sgs: [...b.security_groups].sort(),
        vif: b.vif_type,
        type: b.network_type,
        physnet: b.physnet,
        seg: b.segmentation_id,
      };
      const expected = {
        mac: p.mac_address,
        ips: p.fixed_ips,
        sgs: [...p.security_groups].sort(),
        vif: p['binding:vif_type'],
        type: net?.['provider:network_type'],
        physnet: net?.['provider:physical_network'],
        seg: net?.['provider:segmentation_id'],
      };
      if (JSON.stringify(got) !== JSON.stringify(expected))
        diffs.push(`binding of ${p.id}: etcd ${JSON.stringify(got)}, Neutron ${JSON.stringify(expected)}`);
    }

    for (const g of groups) {
      const sg = await stack.etcdGet<SecurityGroup>(keys.secGroup(g.id));
      const rules = g.security_group_rules.map((r) => r.id).sort();
      const etcdRules = sg ? sg.rules.map((r) => r.id).sort() : null;
      if (JSON.stringify(etcdRules) !== JSON.stringify(rules))
        diffs.push(
          `rules of group ${g.id}: etcd ${JSON.stringify(etcdRules)}, Neutron ${JSON.stringify(rules)}`,
        );
      const members = ports
        .filter((p) => p.security_groups.includes(g.id))
        .map((p) => p.id)
        .sort();
      const etcdMembers = (await stack.etcdKeys(keys.remoteGroup(g.id)))
        .map((k) => k.split('/').pop())
        .sort();
      if (JSON.stringify(etcdMembers) !== JSON.stringify(members))
        diffs.push(
          `members of group ${g.id}: etcd ${JSON.stringify(etcdMembers)}, Neutron ${JSON.stringify(members)}`,
        );
      for (const p of ports.filter((x) => x.security_groups.includes(g.id))) {
        const m = await stack.etcdGet<RemoteGroupMember>(keys.remoteGroupMember(g.id, p.id));
        // fixed IPs, then allowed-address-pair IPs (docs/keyspace.md, RemoteGroupMember)
        const ips = [
          ...new Set([
            ...p.fixed_ips.map((f) => f.ip_address),
            ...p.allowed_address_pairs.map((a) => a.ip_address),
          ]),
        ];
        if (m && JSON.stringify(m.ips) !== JSON.stringify(ips))
          diffs.push(
            `member ${p.id} of ${g.id}: etcd ${JSON.stringify(m.ips)}, Neutron ${JSON.stringify(ips)}`,
          );
      }
    }
    const sgKeys = (await stack.etcdKeys(keys.secGroups)).map((k) => k.split('/').pop()).sort();
    const sgIds = groups.map((g) => g.id).sort();
    if (JSON.stringify(sgKeys) !== JSON.stringify(sgIds))
      diffs.push(`groups: etcd ${JSON.stringify(sgKeys)}, Neutron ${JSON.stringify(sgIds)}`);
    return diffs;
  }

  const matchesNeutron = (what: string) =>
    converge(what, async () => {
      const d = await differences();
      return d.length === 0 ? true : undefined;
    }).catch(async (e: unknown) => {
      throw new Error(
        `${(e as Error).message}\n--- still different ---\n${(await differences()).join('\n')}`,
      );
    });

  before(
    async () => {
      stack = await NetvppStack.start({
        agents: [{ host: HOST, physnets: ['physnet1'] }],
        vhostSocketDir: SOCKET_DIR,
      });
      neutron = stack.neutron as NeutronEnv;
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await stack?.stop();
  });

  it('the forwarder syncs once it starts: the marker is written', async () => {
    const m = await converge('the sync marker', () => stack.etcdGet<SyncMarker>(keys.syncMarker));
    assert.equal(m.controller_id, 'e2e-controller');
    const health = (await (await stack.controllerFetch('/v1/health')).json()) as Record<string, unknown>;
    assert.equal(health.sync_needed, false);
  });

  it(
    'after etcd loses its data, desired state matching Neutron is back, changes made meanwhile included',
    { timeout: 300_000 },
    async (t) => {
      const net = (await api<{ network: Network }>('POST', '/networks', { network: { name: 'wipe-net' } }))
        .network;
      await api('POST', '/subnets', {
        subnet: { network_id: net.id, ip_version: 4, cidr: '10.40.0.0/24', name: 'wipe-subnet' },
      });
      const sg = (
        await api<{ security_group: Group }>('POST', '/security-groups', {
          security_group: { name: 'wipe-sg' },
        })
      ).security_group;
      await api('POST', '/security-group-rules', {
        security_group_rule: {
          security_group_id: sg.id,
          direction: 'ingress',
          protocol: 'tcp',
          port_range_min: 22,
          port_range_max: 22,
          remote_group_id: sg.id,
        },
      });
      const vm = await createPort({
        network_id: net.id,
        name: 'wipe-vm',
        security_groups: [sg.id],
        'binding:host_id': HOST,
        allowed_address_pairs: [{ ip_address: '10.40.0.200' }],
      });
      const dhcp = await createPort({
        network_id: net.id,
        name: 'wipe-dhcp',
        device_owner: 'network:dhcp',
        'binding:host_id': HOST,
      });
      const idle = await createPort({ network_id: net.id, name: 'wipe-unbound', security_groups: [sg.id] });
      assert.equal(vm['binding:vif_type'], 'vhostuser');
      assert.equal(dhcp['binding:vif_type'], 'tap');
      await journalDrained();
      await matchesNeutron('etcd to match Neutron before the wipe');

      // Port interfaces VPP deleted so far: a rebuilt etcd must not make the agent remove live ports.
      const node = stack.agents.get(HOST);
      const vppCalls = node?.vppCalls?.bind(node);
      const deletes = (): number =>
        vppCalls ? vppCalls('delete_vhost_user_if') + vppCalls('tap_delete_v2') : 0;
      const deletesBefore = deletes();

      // etcd goes away; Neutron goes on taking changes (they wait in the journal) …
      const etcd = stack.etcd as NonNullable<typeof stack.etcd>;
      await etcd.stop();
      const late = await createPort({ network_id: net.id, name: 'wipe-late', security_groups: [sg.id] });
      const udp = (
        await api<{ security_group_rule: { id: string } }>('POST', '/security-group-rules', {
          security_group_rule: { security_group_id: sg.id, direction: 'ingress', protocol: 'udp' },
        })
      ).security_group_rule;
      await api('DELETE', `/ports/${idle.id}`);
      assert.ok(neutron.journalBacklog() > 0, 'changes wait in the journal');
      // … and comes back empty: a rebuilt cluster.
      await etcd.restart({ wipeData: true });

      await journalDrained();
      await matchesNeutron('etcd to match Neutron again after the wipe');
      const group = await stack.etcdGet<SecurityGroup>(keys.secGroup(sg.id));
      assert.ok(
        group?.rules.some((r) => r.id === udp.id),
        'the rule added while etcd was down is there',
      );
      assert.ok(
        await stack.etcdGet(keys.remoteGroupMember(sg.id, late.id)),
        'the port made meanwhile is a member',
      );
      assert.equal(
        await stack.etcdGet(keys.remoteGroupMember(sg.id, idle.id)),
        undefined,
        'the deleted port is not',
      );
      const vmBinding = await stack.etcdGet<PortBinding>(keys.portBinding(HOST, vm.id));
      assert.deepEqual(vmBinding?.allowed_address_pairs, [
        { ip_address: '10.40.0.200', mac_address: vm.mac_address },
      ]);

      const marker = await converge('the sync marker', () => stack.etcdGet<SyncMarker>(keys.syncMarker));
      if (vppCalls) {
        assert.equal(
          deletes(),
          deletesBefore,
          'no port interface was deleted from VPP while etcd was refilled',
        );
      } else {
        t.diagnostic('stand-in agents have no VPP: deletions during the refill not checked');
      }
      const count =
        (await api<{ networks: unknown[] }>('GET', '/networks')).networks.length +
        (await api<{ ports: unknown[] }>('GET', '/ports')).ports.length +
        (await api<{ security_groups: unknown[] }>('GET', '/security-groups')).security_groups.length;
      assert.equal(marker.neutron_rows, count, 'the marker counts what the sync carried');
      const serverLog = existsSync(neutron.serverLog) ? readFileSync(neutron.serverLog, 'utf8') : '';
      assert.match(serverLog, /netvpp full sync applied/, 'the driver logged its full sync');

      // The journal goes on as before: a port bound now reaches etcd and its agent.
      const next = await converge('a port to bind once the agent is back in etcd', async () => {
        const p = await createPort({ network_id: net.id, name: 'wipe-after', 'binding:host_id': HOST });
        if (p['binding:vif_type'] === 'vhostuser') return p;
        await api('DELETE', `/ports/${p.id}`);
        return undefined;
      });
      await converge('its binding in etcd', () =>
        stack.etcdGet<PortBinding>(keys.portBinding(HOST, next.id)),
      );
      await matchesNeutron('etcd to match Neutron with the new port');
    },
  );

  it('an idle cloud is re-synced too: the forwarder asks the controller while it has no rows', async () => {
    await journalDrained();
    await matchesNeutron('etcd to match Neutron');
    const etcd = stack.etcd as NonNullable<typeof stack.etcd>;
    await etcd.restart({ wipeData: true });
    assert.equal(neutron.journalBacklog(), 0, 'no journal row will carry the request');
    await matchesNeutron('etcd to match Neutron after a wipe with nothing in the journal');
    await converge('the sync marker', () => stack.etcdGet<SyncMarker>(keys.syncMarker));
  });

  it('a restarted neutron-server syncs again and finds nothing to change: snapshots match the journal', async () => {
    await journalDrained();
    await matchesNeutron('etcd to match Neutron');
    const desired = async (): Promise<string> => {
      const store = stack.store as NonNullable<typeof stack.store>;
      // meta/synced is left out: it is rewritten whenever the sync moves any record on, and a port's
      // revision can move between the journal's last row and the new server's snapshot (seen in CI
      // as one port record at a later revision with the same desired state; under investigation).
      const { kvs } = await store.getPrefixes([keys.nodes, keys.secGroups, keys.remoteGroups]);
      return JSON.stringify(kvs.map((kv) => [kv.key, kv.modRevision]));
    };
    const before = await desired();
    const syncs = (): number => {
      const log = existsSync(neutron.serverLog) ? readFileSync(neutron.serverLog, 'utf8') : '';
      return log.split('\n').filter((l) => /netvpp full sync applied/.test(l)).length;
    };
    const count = syncs();
    await neutron.stopServer();
    await neutron.startServer();
    await converge('the new forwarder to sync', async () => (syncs() > count ? true : undefined));
    // Ports, networks and groups read from the database translate exactly like their journal rows:
    // not one desired-state key was rewritten.
    assert.equal(await desired(), before);
  });
});
