// End to end: the driver's journal forwarder is woken by commits in any neutron-server process, and
// its poll of the journal still delivers when a wake-up is lost. neutron-server runs its API in one
// process and the forwarder in a worker (the first to take the database lock); the tests check that
// this is so, then tell the path a batch took by the controller's
// netvpp_controller_journal_batches_total{trigger} (what woke the forwarder before it sent it).
import assert from 'node:assert/strict';
import { lstatSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { neutronUnavailableReason } from './neutron-harness.ts';
import { neutronSuite } from './neutron-suite.ts';

const skip = neutronUnavailableReason();

describe(
  'the journal forwarder wakes on commit in every neutron-server process',
  { skip: skip ?? false },
  () => {
    // A poll that never comes in a test's lifetime: rows move only when a wake-up moves them.
    const s = neutronSuite([{ host: 'compute1', physnets: ['physnet1'] }], { journal_poll_interval: 3600 });
    let netId = '';
    let sgId = '';

    /** Journal batches the controller received, by trigger. */
    const batches = async (): Promise<Record<string, number>> => {
      const text = await (await s.stack.controllerFetch('/metrics')).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(
        /^netvpp_controller_journal_batches_total\{[^}]*trigger="(\w+)"[^}]*\} (\d+)/gm,
      ))
        out[m[1]] = Number(m[2]);
      return out;
    };
    const delta = (before: Record<string, number>, after: Record<string, number>, t: string): number =>
      (after[t] ?? 0) - (before[t] ?? 0);

    /** Which pid took the forwarder's lock last (neutron-server's log). */
    const forwarderPid = (): number => {
      const line = s.neutron
        .serverLogLines()
        .filter((l) => l.includes('now holds netvpp-forwarder-'))
        .pop();
      assert.ok(line, 'a neutron-server process took the forwarder lock');
      return Number(line.split(/\s+/)[2]);
    };
    const socketPath = (): string => join(s.neutron.workDir, 'state', 'netvpp-journal-wakeup.sock');

    const bindPort = async (name: string): Promise<string> => {
      const { port } = await s.neutron.api<{ port: { id: string } }>('POST', '/ports', {
        port: { network_id: netId, name, security_groups: [sgId], device_owner: 'compute:nova' },
      });
      await s.neutron.api('PUT', `/ports/${port.id}`, { port: { 'binding:host_id': 'compute1' } });
      await s.portStatus(port.id, 'ACTIVE');
      return port.id;
    };

    it('forwards the rows of the API process through the wake-up of the forwarding worker', async () => {
      await s.converge('the wake-up socket to be bound', async () =>
        lstatSync(socketPath(), { throwIfNoEntry: false })?.isSocket() ? true : undefined,
      );
      // The API runs in neutron-server's first process (api_workers = 0): the forwarder elsewhere.
      assert.notEqual(
        forwarderPid(),
        s.neutron.serverPid,
        'the forwarder runs in another process than the API',
      );
      const before = await batches();
      const { network } = await s.neutron.api<{ network: { id: string } }>('POST', '/networks', {
        network: {
          name: 'wake-net',
          'provider:network_type': 'vlan',
          'provider:physical_network': 'physnet1',
          'provider:segmentation_id': 150,
        },
      });
      netId = network.id;
      await s.neutron.api('POST', '/subnets', {
        subnet: { network_id: netId, ip_version: 4, cidr: '10.88.0.0/24', name: 'wake-sub' },
      });
      const { security_group: sg } = await s.neutron.api<{ security_group: { id: string } }>(
        'POST',
        '/security-groups',
        { security_group: { name: 'wake-sg' } },
      );
      sgId = sg.id;
      await bindPort('wake-p1');
      const after = await batches();
      assert.ok(
        delta(before, after, 'wakeup') >= 1,
        `batches woken by another process: ${JSON.stringify(after)}`,
      );
      assert.equal(delta(before, after, 'poll'), 0, 'no batch waited for the poll');
    });

    it('still delivers by its poll when wake-ups are lost, and binds the socket again once it can', async () => {
      // neutron-server again, polling every second, with its socket's path taken by a plain file:
      // the forwarder cannot bind it and every wake-up sent to it is lost.
      await s.neutron.stopServer();
      rmSync(socketPath(), { force: true });
      writeFileSync(socketPath(), 'not a socket\n');
      s.neutron.setDriverOptions({ journal_poll_interval: 1 });
      await s.neutron.startServer();
      await s.converge('the forwarder to give up binding its wake-up socket', async () =>
        s.neutron.serverLogLines().some((l) => l.includes('cannot bind the journal wake-up socket'))
          ? true
          : undefined,
      );
      const before = await batches();
      await bindPort('lost-wakeup-p1');
      const lost = await batches();
      assert.equal(delta(before, lost, 'wakeup'), 0, 'no wake-up reached the forwarder');
      assert.ok(delta(before, lost, 'poll') >= 1, `the poll delivered: ${JSON.stringify(lost)}`);

      // The path is free again: the forwarder binds at its next round, and wake-ups work.
      rmSync(socketPath(), { force: true });
      await s.converge('the wake-up socket to be bound again', async () =>
        lstatSync(socketPath(), { throwIfNoEntry: false })?.isSocket() ? true : undefined,
      );
      await bindPort('wakeup-again-p1');
      const again = await batches();
      assert.ok(delta(lost, again, 'wakeup') >= 1, `woken again: ${JSON.stringify(again)}`);
    });
  },
);
