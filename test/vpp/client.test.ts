// The VPP client against the simulator (or a real VPP when NETVPP_TEST_VPP_SOCKET is set):
// pipelining, errors, dumps, events, version safety, timeouts and a VPP that dies mid-flight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { VppClient } from '../../src/vpp/client.ts';
import {
  ALL_MESSAGES,
  control_ping,
  create_loopback,
  delete_loopback,
  show_version,
  sw_interface_dump,
  sw_interface_event,
  sw_interface_set_flags,
  sw_interface_tag_add_del,
  want_interface_events,
} from '../../src/vpp/binapi/index.ts';
import type { MessageDef } from '../../src/vpp/codec/index.ts';
import {
  VppApiError,
  VppDisconnectedError,
  VppTimeoutError,
  VppVersionError,
  VppWhitelistError,
} from '../../src/vpp/errors.ts';
import { vppTarget, type VppTarget } from '../helpers/vpp.ts';

let target: VppTarget;
before(async () => {
  target = await vppTarget();
});
after(async () => {
  await target.stop();
});

async function withClient<T>(fn: (c: VppClient) => Promise<T>, opts: { window?: number } = {}): Promise<T> {
  const c = await VppClient.connect({ socket: target.socket, name: 'netvpp-test', ...opts });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

test('connects, checks the API and answers show_version and control_ping', async () => {
  await withClient(async (c) => {
    const v = await c.request(show_version, {});
    assert.equal(v.program, 'vpe');
    assert.match(v.version, /^\d+\.\d+/);
    const p = await c.request(control_ping, {});
    assert.equal(p.retval, 0);
    assert.equal(p.vpe_pid, c.vpePid);
  });
});

test('many requests in flight resolve in any order, never exceeding the window', async () => {
  await withClient(
    async (c) => {
      let maxInFlight = 0;
      const n = 600;
      const made = await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const p = c.request(create_loopback, {
            mac_address: `02:fe:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
          });
          maxInFlight = Math.max(maxInFlight, c.stats.inFlight);
          return p;
        }),
      );
      const idx = new Set(made.map((r) => r.sw_if_index));
      assert.equal(idx.size, n, 'every loopback got its own sw_if_index');
      assert.ok(maxInFlight <= 32, `in flight ${maxInFlight} stayed within the window`);
      assert.ok(c.stats.queued === 0);
      await Promise.all([...idx].map((i) => c.request(delete_loopback, { sw_if_index: i })));
    },
    { window: 32 },
  );
});

test('a non-zero retval rejects with an error naming the message and VPP error', async () => {
  await withClient(async (c) => {
    await assert.rejects(
      c.request(sw_interface_set_flags, { sw_if_index: 987654, flags: 1 }),
      (e: unknown) =>
        e instanceof VppApiError &&
        e.retval === -2 &&
        /sw_interface_set_flags failed: VPP returned -2 \(INVALID_SW_IF_INDEX\)/.test(e.message),
    );
    // The connection is still usable afterwards.
    assert.equal((await c.request(control_ping, {})).retval, 0);
  });
});

test('dump returns every details message; a dump of nothing returns []', async () => {
  await withClient(async (c) => {
    const lo = await c.request(create_loopback, {});
    await c.request(sw_interface_tag_add_del, {
      is_add: true,
      sw_if_index: lo.sw_if_index,
      tag: 'netvpp-test:dump',
    });
    const all = await c.dump(sw_interface_dump, {});
    assert.ok(all.some((d) => d.interface_name === 'local0'));
    const mine = all.find((d) => d.sw_if_index === lo.sw_if_index);
    assert.equal(mine?.tag, 'netvpp-test:dump');
    const one = await c.dump(sw_interface_dump, { sw_if_index: lo.sw_if_index });
    assert.deepEqual(
      one.map((d) => d.sw_if_index),
      [lo.sw_if_index],
    );
    await c.request(delete_loopback, { sw_if_index: lo.sw_if_index });
    assert.deepEqual(await c.dump(sw_interface_dump, { sw_if_index: lo.sw_if_index }), []);
  });
});

test('interface events arrive through a subscription, no later than the next reply', async () => {
  // VPP queues the event behind the reply of the call that caused it; it is on the wire before
  // the reply to the following call.
  await withClient(async (c) => {
    const flags: number[] = [];
    const lo = await c.request(create_loopback, {});
    const unsubscribe = await c.subscribe(
      want_interface_events,
      { pid: process.pid },
      sw_interface_event,
      (ev) => {
        if (ev.sw_if_index === lo.sw_if_index) flags.push(ev.flags);
      },
    );
    await c.request(sw_interface_set_flags, { sw_if_index: lo.sw_if_index, flags: 1 });
    await c.request(control_ping, {});
    assert.ok(flags.includes(3), `admin-up event (flags 3) seen: ${JSON.stringify(flags)}`);
    await unsubscribe();
    await c.request(sw_interface_set_flags, { sw_if_index: lo.sw_if_index, flags: 0 });
    await c.request(control_ping, {});
    assert.ok(!flags.includes(0), 'no events after unsubscribing');
    await c.request(delete_loopback, { sw_if_index: lo.sw_if_index });
  });
});

test('a message outside the whitelist is refused before anything is sent', async () => {
  const outsider: MessageDef = {
    name: 'sw_interface_set_promisc',
    crc: '0xd40860d4',
    role: 'request',
    fields: [],
    reply: 'sw_interface_set_promisc_reply',
  };
  await withClient(async (c) => {
    const sent = c.stats.sent;
    await assert.rejects(c.request(outsider, {}), VppWhitelistError);
    assert.equal(c.stats.sent, sent);
  });
});

test('connect fails listing every message VPP lacks or has with another CRC', async () => {
  const changed: MessageDef = { ...sw_interface_dump, crc: '0xdeadbeef' };
  const missing: MessageDef = {
    name: 'netvpp_no_such_message',
    crc: '0x12345678',
    role: 'request',
    fields: [],
    reply: 'x',
  };
  const messages = [...ALL_MESSAGES.filter((m) => m.name !== 'sw_interface_dump'), changed, missing];
  await assert.rejects(VppClient.connect({ socket: target.socket, messages }), (e: unknown) => {
    assert.ok(e instanceof VppVersionError);
    assert.deepEqual(e.missing, ['netvpp_no_such_message']);
    assert.deepEqual(
      e.changed.map((x) => x.name),
      ['sw_interface_dump'],
    );
    assert.match(
      e.message,
      /CRC changed: sw_interface_dump \(netvpp built for 0xdeadbeef, VPP has 0xaa610c27\)/,
    );
    return true;
  });
});

test('a request VPP does not answer in time times out; the connection stays usable', async (t) => {
  if (!target.sim) return t.skip('needs the simulator to delay replies');
  const sim = target.sim;
  await withClient(async (c) => {
    sim.setDelay('show_version', 400);
    await assert.rejects(c.request(show_version, {}, { timeoutMs: 50 }), VppTimeoutError);
    sim.setDelay('show_version', 0);
    assert.equal((await c.request(control_ping, {})).retval, 0);
    assert.equal(c.stats.inFlight, 0);
  });
});

test('VPP dying rejects every pending request and reconnect reports the restart', async (t) => {
  if (!target.sim) return t.skip('needs the simulator to crash VPP');
  const sim = target.sim;
  const c = await VppClient.connect({ socket: target.socket });
  try {
    const lo = await c.request(create_loopback, {});
    sim.setDelay('control_ping', 1000);
    const disconnected = new Promise<Error>((resolve) => c.once('disconnected', resolve));
    const pending = Array.from({ length: 20 }, () => c.request(control_ping, {}));
    const settled = Promise.allSettled(pending);
    await new Promise((r) => setTimeout(r, 20));
    await sim.crash();
    const results = await settled;
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof VppDisconnectedError));
    assert.ok((await disconnected) instanceof VppDisconnectedError);
    await assert.rejects(c.request(control_ping, {}), VppDisconnectedError);
    const { restarted } = await c.reconnect();
    assert.equal(restarted, true);
    assert.deepEqual(
      await c.dump(sw_interface_dump, { sw_if_index: lo.sw_if_index }),
      [],
      'VPP lost its state',
    );
  } finally {
    await c.close();
  }
});
