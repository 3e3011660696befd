/**
 * A minimal peer that answers the handshake and control_ping as fast as a socket allows. It shows
 * the client's own ceiling (a real VPP answers control_ping in well under a microsecond), separate
 * from the simulator's cost. Run as a child process by bench/vpp-api.ts.
 */
import { createServer } from 'node:net';
import {
  ALL_MESSAGES,
  control_ping,
  control_ping_reply,
  sockclnt_create_reply,
} from '../src/vpp/binapi/index.ts';
import { messageCodec, msgKey } from '../src/vpp/codec/index.ts';
import { HEADER_SIZE, frame } from '../src/vpp/transport/framing.ts';

const socket = process.argv[2];
const table = ALL_MESSAGES.map((m, i) => ({ index: 100 + i, name: msgKey(m) }));
const id = (name: string): number =>
  (table.find((e) => e.name.startsWith(`${name}_`)) as { index: number }).index;
const PING = id(control_ping.name);
const hello = frame(
  messageCodec(sockclnt_create_reply).encode(16, {
    context: 124,
    index: 1,
    message_table: table,
    count: table.length,
  }),
);
const reply = frame(
  messageCodec(control_ping_reply).encode(id(control_ping_reply.name), { vpe_pid: process.pid }),
);

createServer((s) => {
  let buf: Buffer = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    const out: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= HEADER_SIZE) {
      const len = buf.readUInt32BE(off + 8);
      if (buf.length - off < HEADER_SIZE + len) break;
      const msgId = buf.readUInt16BE(off + HEADER_SIZE);
      if (msgId === 15) out.push(hello);
      else if (msgId === PING) {
        const r = Buffer.from(reply);
        buf.copy(r, HEADER_SIZE + 2, off + HEADER_SIZE + 6, off + HEADER_SIZE + 10);
        out.push(r);
      }
      off += HEADER_SIZE + len;
    }
    buf = buf.subarray(off);
    if (out.length) s.write(Buffer.concat(out));
  });
  s.on('error', () => {});
}).listen(socket);
