// A dump from a busy VPP: a long dump that keeps answering, however slowly, succeeds even when it
// takes longer than the timeout in all; a dump VPP stops answering times out. A socket peer plays
// VPP (the handshake recorded from a real VPP 26.06, message ids as that handshake numbers them) and
// paces its sw_interface_details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VppClient } from '../../src/vpp/client.ts';
import { messageCodec } from '../../src/vpp/codec/index.ts';
import { sw_interface_details, sw_interface_dump } from '../../src/vpp/binapi/index.ts';
import { VppTimeoutError } from '../../src/vpp/errors.ts';
import { FrameReader, frame } from '../../src/vpp/transport/framing.ts';
import { VPP_MSG_IDS } from '../../src/sim/msg-ids.ts';
import { handshakeFrames, tracesAvailable } from '../helpers/traces.ts';

const skip = tracesAvailable() ? false : 'no ../shared/vpp-traces';
const idOf = (name: string, crc: string): number => {
  const id = VPP_MSG_IDS.get(`${name}_${crc.replace(/^0x/, '')}`);
  if (id === undefined) throw new Error(`${name} is not in the reference handshake`);
  return id;
};
const DUMP_ID = idOf(sw_interface_dump.name, sw_interface_dump.crc);
const DETAILS_ID = idOf(sw_interface_details.name, sw_interface_details.crc);
const PING_ID = idOf('control_ping', '51077d14');
const PING_REPLY_ID = idOf('control_ping_reply', 'f6b0b8ca');
const HANDSHAKE_ID = 15;

/** The timeout the client is given; the peer's pace is set against it. */
const TIMEOUT_MS = 1500;

/**
 * A peer that answers each sw_interface_dump (closed by the client's control_ping) with `details`
 * interfaces, one every `gapMs`, then — unless `silentAfter` cuts it short — the ping's reply.
 */
async function pacedPeer(opts: {
  details: number;
  gapMs: number;
  silentAfter?: number;
}): Promise<{ socket: string; close(): void }> {
  const path = join(mkdtempSync(join(tmpdir(), 'netvpp-peer-')), 'api.sock');
  const handshake = Buffer.from(handshakeFrames()[1].hex, 'hex');
  const details = messageCodec(sw_interface_details);
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    timers.add(t);
  };
  const pingReply = (s: Socket, context: number): void => {
    const r = Buffer.alloc(18);
    r.writeUInt16BE(PING_REPLY_ID, 0);
    r.writeUInt32BE(context, 2);
    s.write(frame(r));
  };
  const answer = (s: Socket, context: number): void => {
    const sent = opts.silentAfter ?? opts.details;
    let n = 0;
    const next = (): void => {
      if (s.destroyed) return;
      if (n < sent) {
        s.write(frame(details.encode(DETAILS_ID, { context, sw_if_index: n, interface_name: `if${n}` })));
        n++;
        later(opts.gapMs, next);
      } else if (opts.silentAfter === undefined) pingReply(s, context);
    };
    next();
  };
  const server = createServer((s) => {
    const dumps = new Set<number>();
    const r = new FrameReader(
      (p) => {
        const id = p.readUInt16BE(0);
        const context = p.readUInt32BE(6);
        if (id === HANDSHAKE_ID) s.write(frame(handshake));
        else if (id === DUMP_ID) dumps.add(context);
        // The ping that closes a dump carries its context; any other is answered at once.
        else if (id === PING_ID && dumps.delete(context)) answer(s, context);
        else if (id === PING_ID) pingReply(s, context);
        else s.destroy();
      },
      () => s.destroy(),
    );
    s.on('data', (d) => r.push(d));
    s.on('error', () => {});
  });
  await new Promise<void>((res) => server.listen(path, res));
  return {
    socket: path,
    close: () => {
      for (const t of timers) clearTimeout(t);
      server.close();
    },
  };
}

test(
  'a dump that keeps streaming succeeds though it takes longer than the timeout in all',
  { skip },
  async () => {
    // 12 details, one every 250 ms: ~3 s in all, twice the timeout, but never quiet for long.
    const p = await pacedPeer({ details: 12, gapMs: 250 });
    const c = await VppClient.connect({ socket: p.socket, timeoutMs: TIMEOUT_MS });
    try {
      const ifs = await c.dump(sw_interface_dump, { sw_if_index: 0xffffffff });
      assert.deepEqual(
        ifs.map((i) => i.interface_name),
        Array.from({ length: 12 }, (_, i) => `if${i}`),
      );
      assert.equal(c.stats.timeouts, 0);
    } finally {
      await c.close();
      p.close();
    }
  },
);

test('a dump that goes quiet part way times out, its partial details dropped', { skip }, async () => {
  // Three details, then nothing: no end of the dump ever comes.
  const p = await pacedPeer({ details: 12, gapMs: 50, silentAfter: 3 });
  const c = await VppClient.connect({ socket: p.socket, timeoutMs: TIMEOUT_MS });
  try {
    await assert.rejects(c.dump(sw_interface_dump, { sw_if_index: 0xffffffff }), VppTimeoutError);
    assert.equal(c.stats.timeouts, 1);
    assert.equal(c.stats.inFlight, 0, 'nothing left pending');
  } finally {
    await c.close();
    p.close();
  }
});
