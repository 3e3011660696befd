/**
 * VPP binary-API client throughput: one-at-a-time vs pipelined requests, dump rate, memory.
 * Against a real VPP when NETVPP_TEST_VPP_SOCKET is set, else against the simulator in a child
 * process. Prints one line per figure. BENCH_CONNECTIONS (default 1,4) also runs the pipelined
 * figures spread over that many connections (src/vpp/pool.ts): VPP reads each client socket once
 * per main-loop turn, 4 KiB at a time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { VppClient } from '../src/vpp/client.ts';
import { VppClientPool } from '../src/vpp/pool.ts';
import {
  control_ping,
  create_loopback,
  delete_loopback,
  sw_interface_dump,
  sw_interface_set_flags,
  sw_interface_tag_add_del,
} from '../src/vpp/binapi/index.ts';
import { startEchoPeer, startSimProcess } from './sim-process.ts';

const N_SEQ = Number(process.env.BENCH_SEQ ?? 20_000);
const N_PIPE = Number(process.env.BENCH_PIPE ?? 200_000);
const N_DUMP = Number(process.env.BENCH_DUMP_IFS ?? 10_000);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const real = process.env.NETVPP_TEST_VPP_SOCKET;
const sim = real ? null : await startSimProcess();
const socket = real ?? (sim?.socket as string);
console.log(`target: ${real ? `VPP at ${real}` : 'simulator (child process)'}`);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1024);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,4').split(',').map(Number);
const c = await VppClient.connect({ socket, window: WINDOW, timeoutMs: 60_000 });

async function sequential(label: string, n: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const rate = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  console.log(`sequential ${label}: ${fmt(rate)} req/s`);
  return rate;
}

async function pipelined(label: string, n: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  // Issue in slices so the promise array itself does not dominate memory.
  const slice = 20_000;
  for (let done = 0; done < n; done += slice) {
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < Math.min(slice, n - done); i++) ps.push(fn());
    await Promise.all(ps);
  }
  const rate = n / (Number(process.hrtime.bigint() - t0) / 1e9);
  console.log(`pipelined ${label}: ${fmt(rate)} req/s`);
  return rate;
}

const rssBefore = process.memoryUsage().rss;
const seqPing = await sequential('control_ping', N_SEQ, () => c.request(control_ping, {}));
const pipePing = await pipelined('control_ping', N_PIPE, () => c.request(control_ping, {}));
console.log(`pipelined/sequential control_ping (window ${WINDOW}): ${(pipePing / seqPing).toFixed(1)}x`);

/** Pipelined figures over N connections (1 is the single client above, already measured). */
const pooled = new Map<number, number>([[1, pipePing]]);
for (const n of CONNECTIONS.filter((k) => k > 1)) {
  const pool = await VppClientPool.connect({ socket, window: WINDOW, timeoutMs: 60_000, connections: n });
  const r = await pipelined(`control_ping over ${n} connections`, N_PIPE, () =>
    pool.request(control_ping, {}),
  );
  pooled.set(n, r);
  await pool.close();
}

const lo = await c.request(create_loopback, {});
await c.request(sw_interface_tag_add_del, { is_add: true, sw_if_index: lo.sw_if_index, tag: 'netvpp-bench' });
let up = 0;
const flags = () => c.request(sw_interface_set_flags, { sw_if_index: lo.sw_if_index, flags: (up ^= 1) });
const seqFlags = await sequential('sw_interface_set_flags', N_SEQ, flags);
const pipeFlags = await pipelined('sw_interface_set_flags', N_PIPE / 2, flags);
console.log(`pipelined/sequential sw_interface_set_flags: ${(pipeFlags / seqFlags).toFixed(1)}x`);

const made = await Promise.all(Array.from({ length: N_DUMP }, () => c.request(create_loopback, {})));
const t0 = process.hrtime.bigint();
const details = await c.dump(sw_interface_dump, {});
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  `dump sw_interface_dump (${fmt(details.length)} interfaces): ${fmt(details.length / secs)} details/s`,
);
await Promise.all([lo, ...made].map((m) => c.request(delete_loopback, { sw_if_index: m.sw_if_index })));

// The baseline: VPP's own Python client against the same target, in this run (when importable).
const apiDir = [process.env.VPP_API_DIR, '/opt/vpp/share/vpp/api', '/usr/share/vpp/api'].find(
  (d) => d !== undefined && existsSync(d),
);
// VPP's papi wants the system Python (BENCH_PAPI_PYTHON overrides; PYTHONPATH finds vpp_papi).
const python =
  process.env.BENCH_PAPI_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const papiOk = spawnSync(python, ['-c', 'import vpp_papi'], { stdio: 'ignore' }).status === 0;
if (!papiOk || !apiDir) {
  console.log(
    `vpp_papi baseline skipped: ${papiOk ? 'no VPP API directory (VPP_API_DIR)' : 'python3 cannot import vpp_papi'}`,
  );
} else {
  const nSeq = Number(process.env.BENCH_PAPI_SEQ ?? 5_000);
  const nAsync = Number(process.env.BENCH_PAPI_ASYNC ?? 50_000);
  const r = spawnSync(
    python,
    [new URL('papi-baseline.py', import.meta.url).pathname, socket, apiDir, String(nSeq), String(nAsync)],
    {
      encoding: 'utf8',
      timeout: 600_000,
    },
  );
  if (r.status !== 0)
    console.log(`vpp_papi baseline failed: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}`);
  else {
    const papi = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      sequential: number;
      async: number;
    };
    console.log(`vpp_papi sequential control_ping: ${fmt(papi.sequential)} req/s`);
    console.log(`vpp_papi async control_ping: ${fmt(papi.async)} req/s`);
    console.log(`netvpp sequential / vpp_papi sequential: ${(seqPing / papi.sequential).toFixed(1)}x`);
    for (const [n, rate] of pooled)
      console.log(
        `netvpp pipelined over ${n} connection${n > 1 ? 's' : ''} / vpp_papi async: ${(rate / papi.async).toFixed(1)}x (goal ≥ 10x)`,
      );
  }
}

if (!real) {
  // The simulator is JavaScript and costs more per call than VPP; an echo peer shows how fast the
  // client itself goes, which is what a real VPP would see.
  const echo = await startEchoPeer();
  const e = await VppClient.connect({ socket: echo.socket, window: 1024 });
  await pipelined('control_ping (echo peer: client ceiling)', N_PIPE, () => e.request(control_ping, {}));
  await e.close();
  await echo.stop();
}

const mem = process.memoryUsage();
console.log(
  `memory: rss ${fmt(mem.rss / 2 ** 20)} MiB (grew ${fmt((mem.rss - rssBefore) / 2 ** 20)} MiB), heap used ${fmt(mem.heapUsed / 2 ** 20)} MiB`,
);
await c.close();
await sim?.stop();
