// Message groups at connect: a VPP without a plugin (the simulator leaves its messages out of the
// message table) turns that group off instead of refusing the connection; a required group that
// does not match refuses it. And cli_inband sends only the fixed commands of the allow-list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Sim, type SimOptions } from '../../src/sim/index.ts';
import { VppClient, type VppClientOptions } from '../../src/vpp/client.ts';
import {
  acl_add_replace,
  acl_dump,
  cli_inband,
  create_loopback,
  create_vhost_user_if_v2,
  macip_acl_interface_get,
  sw_interface_details,
  sw_interface_dump,
} from '../../src/vpp/binapi/index.ts';
import {
  VppApiError,
  VppGroupUnavailableError,
  VppVersionError,
  VppWhitelistError,
} from '../../src/vpp/errors.ts';
import { CLI } from '../../src/vpp/groups.ts';
import { CountingVpp } from '../../src/agent/vpp-api.ts';
import { readActual } from '../../src/agent/engine/actual.ts';
import { hostCapabilities } from '../../src/agent/capabilities.ts';
import { pollUntil } from '../../src/util/wait.ts';
import { vppTarget } from '../helpers/vpp.ts';

interface Ctx {
  after(fn: () => Promise<void>): void;
}

const undo = new WeakMap<Ctx, (() => Promise<unknown>)[]>();
/** Runs `fn` after the test, in reverse order of registration (clients close before their VPP stops). */
function defer(t: Ctx, fn: () => Promise<unknown>): void {
  let fns = undo.get(t);
  if (!fns) {
    const list: (() => Promise<unknown>)[] = [];
    undo.set(t, (fns = list));
    t.after(async () => {
      while (list.length) await (list.pop() as () => Promise<unknown>)();
    });
  }
  fns.push(fn);
}

async function sim(t: Ctx, opts: Omit<SimOptions, 'socket'>, dir?: string): Promise<Sim> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  const s = await startSimulator({ socket: join(d, 'api.sock'), ...opts });
  defer(t, async () => {
    await s.stop();
    if (!dir) rmSync(d, { recursive: true, force: true });
  });
  return s;
}

async function client(t: Ctx, s: Sim, opts: Omit<VppClientOptions, 'socket'> = {}): Promise<VppClient> {
  const c = await VppClient.connect({ socket: s.socket, name: 'netvpp-groups-test', ...opts });
  defer(t, () => c.close());
  return c;
}

test('a VPP without the acl plugin: connected, acl off with the reason, its messages refused unsent', async (t) => {
  const s = await sim(t, { withoutGroups: ['acl'] });
  const c = await client(t, s);
  assert.equal(c.groups.acl.available, false);
  assert.match(c.groups.acl.reason ?? '', /none of its \d+ messages: is the acl plugin .* loaded\?/);
  assert.deepEqual(
    Object.entries(c.groups)
      .filter(([, g]) => g.available)
      .map(([n]) => n),
    [
      'core',
      'ip',
      'vhost_user',
      'tap',
      'af_packet',
      'vxlan',
      'lisp',
      'nat',
      'arping',
      'policer',
      'span',
      'gre',
      'bond',
      'lacp',
    ],
  );
  assert.equal(c.offers('acl'), false);
  assert.equal(c.offers('core'), true);
  const sent = c.stats.sent;
  await assert.rejects(
    c.request(acl_add_replace, { acl_index: 0xffffffff, count: 0, r: [] }),
    (e: unknown) => {
      assert.ok(e instanceof VppGroupUnavailableError);
      assert.ok(e instanceof VppWhitelistError, 'a kind of whitelist refusal');
      assert.equal(e.group, 'acl');
      assert.match(
        e.message,
        /acl_add_replace needs the VPP message group acl, which this VPP does not offer/,
      );
      return true;
    },
  );
  await assert.rejects(c.dump(acl_dump, {}), VppGroupUnavailableError);
  // The plugin's CLI commands are refused the same way.
  await assert.rejects(c.request(cli_inband, { cmd: CLI.showAclSessions }), VppGroupUnavailableError);
  assert.equal(c.stats.sent, sent, 'nothing was sent');
  // Everything else works.
  const lo = await c.request(create_loopback, {});
  assert.equal((await c.dump(sw_interface_dump, { sw_if_index: lo.sw_if_index })).length, 1);
  assert.equal(s.calls('acl_add_replace'), 0);
});

test('an optional group with a changed CRC is off, naming the message and both CRCs', async (t) => {
  const s = await sim(t, { changedCrcs: ['create_vhost_user_if_v2'] });
  const c = await client(t, s);
  const g = c.groups.vhost_user;
  assert.equal(g.available, false);
  assert.match(
    g.reason ?? '',
    /CRC changed: create_vhost_user_if_v2 \(netvpp built for 0x[0-9a-f]{8}, VPP has 0x[0-9a-f]{8}\)/,
  );
  assert.equal(c.groups.acl.available, true);
  await assert.rejects(c.request(create_vhost_user_if_v2, {}), VppGroupUnavailableError);
});

test('a required group that does not match refuses the connection, naming the group and messages', async (t) => {
  const s = await sim(t, { changedCrcs: ['sw_interface_dump'] });
  await assert.rejects(VppClient.connect({ socket: s.socket }), (e: unknown) => {
    assert.ok(e instanceof VppVersionError);
    assert.deepEqual(e.groups, ['core']);
    assert.deepEqual(
      e.changed.map((x) => x.name),
      ['sw_interface_dump'],
    );
    assert.match(e.message, /1 message of the required message group core/);
    return true;
  });
  await pollUntil('the refused connection closed', () => (s.clients() === 0 ? true : undefined), 2000, 10);
});

test('the old flat whitelist still works: every listed message must match', async (t) => {
  const s = await sim(t, { withoutGroups: ['acl'] });
  await assert.rejects(
    VppClient.connect({ socket: s.socket, messages: [sw_interface_dump, acl_dump] }),
    (e: unknown) => e instanceof VppVersionError && e.missing.includes('acl_dump'),
  );
  const c = await client(t, s, { messages: [sw_interface_dump, sw_interface_details] });
  assert.equal(c.groups.messages.available, true);
  assert.ok((await c.dump(sw_interface_dump, {})).length >= 1);
  await assert.rejects(c.request(create_loopback, {}), VppWhitelistError);
});

test('groups are checked again at reconnect: a VPP restarted with the plugin offers it again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  defer(t, async () => rmSync(dir, { recursive: true, force: true }));
  const without = await startSimulator({ socket: join(dir, 'api.sock'), withoutGroups: ['acl'] });
  const c = await VppClient.connect({ socket: without.socket });
  defer(t, () => c.close());
  assert.equal(c.offers('acl'), false);
  const gone = new Promise((resolve) => c.once('disconnected', resolve));
  await without.stop();
  await gone;
  assert.equal(c.groups.acl.available, false, 'kept while disconnected');
  const withAcl = await sim(t, {}, dir);
  await c.reconnect();
  assert.equal(c.offers('acl'), true);
  assert.equal((await c.request(macip_acl_interface_get, {})).count, 0);
  assert.ok(withAcl.calls('macip_acl_interface_get') === 1);
});

test("the agent's read-back skips what a VPP without plugins cannot have; the host offers less", async (t) => {
  const s = await sim(t, { withoutGroups: ['acl', 'vhost_user', 'tap'] });
  const c = await client(t, s);
  const vpp = new CountingVpp(c);
  const actual = await readActual(vpp, { physnets: new Map() });
  assert.ok(actual, 'read back without touching the missing groups');
  assert.equal(s.calls('acl_dump') + s.calls('sw_interface_vhost_user_dump'), 0);
  assert.ok(s.calls('af_packet_dump') === 1);
  // Router interfaces need only the ip group, which this VPP has (and NAT the nat44_ed plugin).
  // A trunk sub-port needs a parent the host can make (here a veth-backed tap).
  assert.deepEqual(hostCapabilities(c.groups, 'veth'), {
    vif_types: ['tap', 'router', 'subport'],
    features: ['nat', 'qos'],
  });
  assert.deepEqual(hostCapabilities(c.groups, 'tap'), { vif_types: ['router'], features: ['nat', 'qos'] });
});

test('cli_inband sends only the fixed commands; anything else is refused before it is sent', async (t) => {
  const target = await vppTarget();
  defer(t, () => target.stop());
  const c = await VppClient.connect({ socket: target.socket, name: 'netvpp-cli-test' });
  defer(t, () => c.close());
  const sent = c.stats.sent;
  for (const cmd of [
    'show version',
    'set acl-plugin reclassify-sessions 0',
    ' show acl-plugin sessions',
    'show acl-plugin sessions; exec /tmp/x',
    'exec /tmp/x',
  ]) {
    await assert.rejects(c.request(cli_inband, { cmd }), (e: unknown) => {
      assert.ok(e instanceof VppWhitelistError && !(e instanceof VppGroupUnavailableError), cmd);
      assert.match(e.message, /is not a CLI command netvpp sends \(allowed: "show acl-plugin sessions", /);
      return true;
    });
  }
  await assert.rejects(c.request(cli_inband, {}), VppWhitelistError);
  assert.equal(c.stats.sent, sent, 'nothing was sent');
  const shown = await c.request(cli_inband, { cmd: CLI.showAclSessions });
  assert.match(shown.reply, /^Reclassify sessions: [01]$/m);
  // A caller that probes VPP's CLI (the contract suite) names its extra commands.
  const probe = await VppClient.connect({ socket: target.socket, cliCommands: ['frobnicate the widgets'] });
  defer(t, () => probe.close());
  await assert.rejects(
    probe.request(cli_inband, { cmd: 'frobnicate the widgets' }),
    (e: unknown) => e instanceof VppApiError && e.retval === -1,
    'sent, and VPP says it does not know it',
  );
});
