// A misbehaving peer: frames VPP would never send (unknown ids, truncated replies, replies for
// contexts nobody asked, absurd lengths) are logged and dropped; nothing crashes or hangs.
// The peer replays the handshake recorded from a real VPP 26.06.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VppClient } from '../../src/vpp/client.ts';
import { control_ping } from '../../src/vpp/binapi/index.ts';
import { VppDisconnectedError } from '../../src/vpp/errors.ts';
import { FrameReader, frame } from '../../src/vpp/transport/framing.ts';
import { handshakeFrames, tracesAvailable } from '../helpers/traces.ts';

const skip = tracesAvailable() ? false : 'no ../shared/vpp-traces';
const PING_ID = 0x17;
const PING_REPLY_ID = 0x18;

/** A peer that answers the handshake, then runs `onPing` for each control_ping. */
async function peer(
  onPing: (s: Socket, context: number) => void,
): Promise<{ socket: string; close(): void }> {
  const path = join(mkdtempSync(join(tmpdir(), 'netvpp-peer-')), 'api.sock');
  const reply = Buffer.from(handshakeFrames()[1].hex, 'hex');
  const server = createServer((s) => {
    const r = new FrameReader(
      (p) => {
        const id = p.readUInt16BE(0);
        if (id === 15) s.write(frame(reply));
        else if (id === PING_ID) onPing(s, p.readUInt32BE(6));
      },
      () => s.destroy(),
    );
    s.on('data', (d) => r.push(d));
    s.on('error', () => {});
  });
  await new Promise<void>((res) => server.listen(path, res));
  return { socket: path, close: () => server.close() };
}

function pingReply(context: number, pid = 42): Buffer {
  const b = Buffer.alloc(18);
  b.writeUInt16BE(PING_REPLY_ID, 0);
  b.writeUInt32BE(context, 2);
  b.writeUInt32BE(pid, 14);
  return b;
}

test(
  'unknown ids, truncated replies and stray contexts are dropped; the real reply still lands',
  { skip },
  async () => {
    const p = await peer((s, ctx) => {
      s.write(frame(Buffer.from([0xff, 0xee, 1, 2, 3]))); // an id not in the table
      s.write(frame(Buffer.from([0, PING_REPLY_ID, 0]))); // truncated
      s.write(frame(pingReply(ctx + 1000))); // nobody asked
      s.write(frame(pingReply(ctx)));
    });
    const c = await VppClient.connect({ socket: p.socket });
    try {
      const r = await c.request(control_ping, {});
      assert.equal(r.vpe_pid, 42);
      assert.ok(c.stats.dropped >= 3, `dropped ${c.stats.dropped}`);
    } finally {
      await c.close();
      p.close();
    }
  },
);

test('a corrupt frame length tears the connection down and rejects what is pending', { skip }, async () => {
  let calls = 0;
  const p = await peer((s, ctx) => {
    if (calls++ === 0) s.write(frame(pingReply(ctx)));
    else {
      const bad = Buffer.alloc(16);
      bad.writeUInt32BE(0xfffffff0, 8);
      s.write(bad);
    }
  });
  const c = await VppClient.connect({ socket: p.socket });
  const disconnected = new Promise((res) => c.once('disconnected', res));
  try {
    await assert.rejects(c.request(control_ping, {}), VppDisconnectedError);
    await disconnected;
    assert.equal(c.connected, false);
  } finally {
    await c.close();
    p.close();
  }
});

test('a peer that vanishes during the handshake fails the connect instead of hanging', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'netvpp-peer-')), 'api.sock');
  const server = createServer((s) => s.destroy());
  await new Promise<void>((res) => server.listen(path, res));
  try {
    await assert.rejects(VppClient.connect({ socket: path }), VppDisconnectedError);
  } finally {
    server.close();
  }
});
