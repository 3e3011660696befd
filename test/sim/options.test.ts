// The simulator's host switches: vhostNet (tap creation) and checkHost (host interfaces and
// socket directories looked up the way VPP's first checks would); and its build: withoutGroups (a
// VPP without a plugin) and changedCrcs (a VPP built from other API definitions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type SimOptions } from '../../src/sim/index.ts';
import { VppClient } from '../../src/vpp/client.ts';
import {
  af_packet_create_v3,
  af_packet_delete,
  create_vhost_user_if_v2,
  delete_vhost_user_if,
  sw_interface_dump,
  tap_create_v3,
} from '../../src/vpp/binapi/index.ts';
import { VppApiError } from '../../src/vpp/errors.ts';
import { ALL_MESSAGES } from '../../src/vpp/binapi/index.ts';
import { GROUPS } from '../../src/vpp/groups.ts';
import { RawClient } from './raw-client.ts';

async function withSim(
  t: { after(fn: () => Promise<void>): void },
  opts: Omit<SimOptions, 'socket'>,
): Promise<{ c: VppClient; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  const sim = await startSimulator({ socket: join(dir, 'api.sock'), ...opts });
  const c = await VppClient.connect({ socket: sim.socket });
  t.after(async () => {
    await c.close();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { c, dir };
}

const retval = (rv: number) => (e: unknown) => e instanceof VppApiError && e.retval === rv;

test('vhostNet off: tap_create_v3 fails with -11 and creates nothing', async (t) => {
  const { c } = await withSim(t, { vhostNet: false });
  await assert.rejects(
    c.request(tap_create_v3, { host_if_name_set: true, host_if_name: 'nvt0' }),
    retval(-11),
  );
  assert.equal((await c.dump(sw_interface_dump, {})).length, 1);
});

test('vhostNet on (default): taps are created', async (t) => {
  const { c } = await withSim(t, {});
  const r = await c.request(tap_create_v3, {});
  assert.equal((await c.dump(sw_interface_dump, { sw_if_index: r.sw_if_index }))[0].interface_name, 'tap0');
});

test('checkHost: af_packet needs the host interface, a vhost-user server its directory', async (t) => {
  const { c, dir } = await withSim(t, { checkHost: true });
  await assert.rejects(
    c.request(af_packet_create_v3, { mode: 1, host_if_name: 'nvt-no-such-if' }),
    retval(-71),
  );
  if (existsSync('/sys/class/net/lo')) {
    const r = await c.request(af_packet_create_v3, { mode: 1, host_if_name: 'lo', use_random_hw_addr: true });
    assert.equal(
      (await c.dump(sw_interface_dump, { sw_if_index: r.sw_if_index }))[0].interface_name,
      'host-lo',
    );
    await c.request(af_packet_delete, { host_if_name: 'lo' });
  }
  await assert.rejects(
    c.request(create_vhost_user_if_v2, { is_server: true, sock_filename: join(dir, 'missing', 'vm.sock') }),
    retval(-12),
  );
  const ok = await c.request(create_vhost_user_if_v2, {
    is_server: true,
    sock_filename: join(dir, 'vm.sock'),
  });
  await c.request(delete_vhost_user_if, { sw_if_index: ok.sw_if_index });
});

test('checkHost off (default): any host interface name is accepted', async (t) => {
  const { c } = await withSim(t, {});
  const r = await c.request(af_packet_create_v3, { mode: 1, host_if_name: 'nvt-imaginary' });
  assert.equal(
    (await c.dump(sw_interface_dump, { sw_if_index: r.sw_if_index }))[0].interface_name,
    'host-nvt-imaginary',
  );
});

test('withoutGroups: the plugin is not loaded: no messages in the table, its CLI commands unknown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  const sim = await startSimulator({ socket: join(dir, 'api.sock'), withoutGroups: ['acl', 'tap'] });
  const raw = await RawClient.connect(sim.socket, 'netvpp-raw', { partialTable: true });
  t.after(async () => {
    raw.close();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const left = GROUPS.filter((g) => g.name === 'acl' || g.name === 'tap').flatMap((g) => g.messages);
  assert.ok(left.length > 30);
  for (const m of left) assert.equal(raw.ids.has(m.name), false, m.name);
  for (const m of ALL_MESSAGES.filter((d) => !left.includes(d))) assert.ok(raw.ids.has(m.name), m.name);
  const [shown] = await raw.call('cli_inband', { cmd: 'show acl-plugin sessions' });
  assert.equal(shown.msg.retval, -1);
  assert.match(String(shown.msg.reply), /unknown input/);
  const [set] = await raw.call('cli_inband', { cmd: 'set acl-plugin reclassify-sessions 1' }, 2);
  assert.equal(set.msg.retval, -1);
});

test('changedCrcs: the table names the message with another CRC; bad option values are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netvpp-sim-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'api.sock');
  const sim = await startSimulator({ socket, changedCrcs: ['acl_dump'] });
  const raw = await RawClient.connect(sim.socket, 'netvpp-raw', { partialTable: true });
  t.after(async () => {
    raw.close();
    await sim.stop();
  });
  assert.equal(raw.ids.has('acl_dump'), true, 'the name is there');
  await assert.rejects(RawClient.connect(sim.socket), /table lacks acl_dump_/, 'with another CRC');
  await assert.rejects(
    startSimulator({ socket, withoutGroups: ['core'] }),
    /cannot leave out the core group/,
  );
  await assert.rejects(
    startSimulator({ socket, changedCrcs: ['no_such_message'] }),
    /no message no_such_message/,
  );
});
