// End to end: what an operator sees of netvpp from the openstack CLI alone. The agents are in
// `openstack network agent list` (alive, host, configuration) and go down when stopped; a port whose
// agent fails it is ERROR in `openstack port show`, with the agent's reason in the driver's log, and
// ACTIVE again once the agent gets it in place. Failures are injected into the node's VPP simulator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_KIND } from './netvpp-stack.ts';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite, type NeutronPort } from './neutron-suite.ts';

interface AgentRow {
  ID: string;
  'Agent Type': string;
  Host: string;
  Alive: boolean | string;
  State: boolean | string;
  Binary: string;
}

interface HostInfo {
  vpp: { version: string | null };
}

const skip =
  neutronUnavailableReason() ??
  (AGENT_KIND === 'real' ? null : 'the agent stand-in has no VPP to inject failures into');

describe(
  'Neutron sees netvpp: agents in the agent table, failed ports ERROR',
  { skip: skip ?? false },
  () => {
    const s = neutronSuite([
      { host: 'compute1', physnets: ['physnet1'] },
      { host: 'compute2', physnets: ['physnet1', 'physnet2'], vtep: '192.0.2.12' },
    ]);
    const agents = async (): Promise<AgentRow[]> =>
      (await s.osJson<AgentRow[]>('network', 'agent', 'list')).filter(
        (a) => a['Agent Type'] === 'netvpp agent',
      );
    const isAlive = (a: AgentRow): boolean => a.Alive === true || a.Alive === ':-)';
    /** The driver's log lines (neutron-server's) that mention `text`. */
    const driverLog = (text: string): string[] =>
      s.neutron.serverLogLines().filter((l) => l.includes('networking_netvpp') && l.includes(text));

    it('lists every netvpp agent alive, with its host, binary and configuration', async () => {
      const rows = await s.converge('both netvpp agents alive in the agent table', async () => {
        const a = await agents();
        return a.length === 2 && a.every(isAlive) ? a : undefined;
      });
      assert.deepEqual(rows.map((a) => [a.Host, a.Binary]).sort(), [
        ['compute1', 'netvpp-agent'],
        ['compute2', 'netvpp-agent'],
      ]);
      const id = rows.find((a) => a.Host === 'compute2')?.ID as string;
      const shown = await s.osJson<{ configuration: Record<string, unknown>; alive: boolean | string }>(
        'network',
        'agent',
        'show',
        id,
      );
      const host = (await (await s.stack.controllerFetch('/v1/hosts/compute2')).json()) as HostInfo;
      assert.ok(host.vpp.version, 'the agent reports its VPP version');
      const c = shown.configuration;
      assert.deepEqual(
        {
          physnets: c.physnets,
          types: c.network_types,
          vpp: c.vpp_version,
          connected: c.vpp_connected,
          vtep: c.vtep,
        },
        {
          physnets: ['physnet1', 'physnet2'],
          types: ['flat', 'gpe', 'vlan', 'vxlan'],
          vpp: host.vpp.version,
          connected: true,
          vtep: '192.0.2.12',
        },
      );
    });

    it('shows a port ERROR while its agent fails it, with the reason in the log, and ACTIVE once it is fixed', async () => {
      await s.os('network', 'create', 'st-net');
      await s.os('subnet', 'create', '--network', 'st-net', '--subnet-range', '10.30.0.0/24', 'st-subnet');
      const node = s.stack.agents.get('compute1');
      assert.ok(node?.failVpp && node.clearVppFaults, 'the node has a VPP simulator');

      // An ACTIVE port whose next change VPP refuses: the network's MTU reaches its interface.
      const p1 = (await s.osJson<NeutronPort>('port', 'create', '--network', 'st-net', 'st-p1')).id;
      await s.os('port', 'set', '--host', 'compute1', p1);
      await s.portStatus(p1, 'ACTIVE');
      // The driver reported its journal with the batches: every row sent, none waiting.
      const ctl = s.stack.controller;
      assert.ok(ctl);
      const health = (await (await ctl.fetch('/v1/health')).json()) as {
        driver_journal: { rows: number; oldest_age_seconds: number } | null;
      };
      assert.deepEqual(
        health.driver_journal && [health.driver_journal.rows, health.driver_journal.oldest_age_seconds],
        [0, 0],
      );
      node.failVpp('sw_interface_set_mtu', -7);
      await s.os('network', 'set', '--mtu', '1400', 'st-net');
      await s.converge(`port ${p1} ERROR in openstack port show`, async () => {
        const p = await s.osJson<NeutronPort>('port', 'show', p1);
        return p.status === 'ERROR' ? p : undefined;
      });
      const reason = driverLog(`port ${p1} ERROR`);
      assert.equal(reason.length, 1, 'one line says why, however often the agent retries');
      assert.match(
        reason[0],
        /agent on compute1 .*sw_interface_set_mtu failed: VPP returned -7 \(INVALID_VALUE\)/,
      );
      node.clearVppFaults();
      await s.converge(`port ${p1} ACTIVE again`, async () => {
        const p = await s.osJson<NeutronPort>('port', 'show', p1);
        return p.status === 'ACTIVE' ? p : undefined;
      });

      // A new port VPP cannot make at all goes ERROR rather than staying DOWN, then ACTIVE.
      node.failVpp('create_vhost_user_if_v2', -12);
      const p2 = (await s.osJson<NeutronPort>('port', 'create', '--network', 'st-net', 'st-p2')).id;
      await s.os('port', 'set', '--host', 'compute1', p2);
      await s.portStatus(p2, 'ERROR');
      assert.match(
        driverLog(`port ${p2} ERROR`)[0] ?? '',
        /create_vhost_user_if_v2 failed: VPP returned -12/,
      );
      node.clearVppFaults();
      await s.portStatus(p2, 'ACTIVE');
      assert.equal(
        (await s.osJson<NeutronPort>('port', 'show', p1)).status,
        'ACTIVE',
        'the other port stayed up',
      );
    });

    it('shows a stopped agent down (XXX), and the others still alive', async () => {
      await s.stack.agents.get('compute2')?.stop();
      const rows = await s.converge('compute2 down in the agent table', async () => {
        const a = await agents();
        return a.some((r) => r.Host === 'compute2' && !isAlive(r)) ? a : undefined;
      });
      assert.ok(isAlive(rows.find((r) => r.Host === 'compute1') as AgentRow), 'compute1 is still alive');
      assert.equal(driverLog('the agent on compute2 is gone').length, 1);
    });
  },
);
