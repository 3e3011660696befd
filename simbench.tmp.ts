import { SimServer } from '/work/main/src/sim/server.ts';
import { messageCodec } from '/work/main/src/vpp/codec/index.ts';
import { control_ping, sw_interface_set_flags, create_loopback } from '/work/main/src/vpp/binapi/index.ts';
import { frame, FrameReader } from '/work/main/src/vpp/transport/framing.ts';
import { createConnection } from 'node:net';
const s = new SimServer({ socket: '/tmp/simbench.sock' });
await s.listen();
const sock = createConnection('/tmp/simbench.sock');
await new Promise(r => sock.once('connect', r));
let got = 0; let want = 0; let done: () => void = () => {};
const reader = new FrameReader(() => { got++; if (got === want) done(); }, () => {});
sock.on('data', (d: Buffer) => reader.push(d));
async function run(label: string, mk: (i: number) => Buffer, n: number) {
  got = 0; want = n;
  const frames = Buffer.concat(Array.from({ length: n }, (_, i) => frame(mk(i))));
  const p = new Promise<void>(r => (done = r));
  const t0 = process.hrtime.bigint();
  sock.write(frames);
  await p;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(label, Math.round(n / s), 'msg/s');
}
const ping = messageCodec(control_ping);
const flags = messageCodec(sw_interface_set_flags);
const cl = messageCodec(create_loopback);
// handshake skipped: client index 0x80000001 is the first registration
await run('ping', (i) => ping.encode(23, { client_index: 0x80000001, context: i }), 200000);
await run('create_loopback', (i) => cl.encode(877, { client_index: 0x80000001, context: i }), 10000);
await run('set_flags', (i) => flags.encode(819, { client_index: 0x80000001, context: i, sw_if_index: 1 + (i % 1000), flags: i & 1 }), 100000);
sock.destroy(); await s.stop(); process.exit(0);
