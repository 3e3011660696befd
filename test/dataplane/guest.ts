// Real Linux guests for the dataplane tests: QEMU under TCG (KVM does not work on the development
// machines), Debian's own kernel and its virtio modules, and a busybox initramfs built here at test
// time from Debian packages (linux-image-amd64, busybox-static, cpio), cached by kernel version.
// The guest has one virtio-net NIC on a vhost-user socket as Nova configures it (QEMU the server,
// VPP the client) or on a Linux tap; it asks for a DHCP lease at boot and keeps it renewed. Tests
// run commands in it over its serial console (a unix socket): each command's output comes back
// between markers with its exit status.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sleep } from '../../src/util/wait.ts';

const QEMU = '/usr/bin/qemu-system-x86_64';
const BUSYBOX = '/bin/busybox';
const CPIO = '/usr/bin/cpio';
/** Loaded by /init in this order (all modules in Debian's kernel). */
const MODULES = [
  'virtio_ring',
  'virtio',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'failover',
  'net_failover',
  'virtio_net',
];

/** The kernel to boot: the newest /boot/vmlinuz-* with its modules installed. */
function kernelVersion(): string | null {
  if (!existsSync('/boot')) return null;
  const versions = readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(join('/lib/modules', v)))
    .sort();
  return versions.at(-1) ?? null;
}

/** Why a guest cannot boot here, or null. */
export function guestUnavailableReason(): string | null {
  if (!existsSync(QEMU)) return `${QEMU} is missing (Debian package qemu-system-x86)`;
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (Debian package busybox-static)`;
  if (!existsSync(CPIO)) return `${CPIO} is missing (Debian package cpio)`;
  if (!kernelVersion()) return 'no /boot/vmlinuz-* with its /lib/modules (Debian package linux-image-amd64)';
  return null;
}

// ---- the image ------------------------------------------------------------------------------------

const INIT = `#!/bin/sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
dmesg -n 1
for m in ${MODULES.join(' ')}; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
ip link set lo up
ip link set eth0 up
udhcpc -f -i eth0 -s /udhcpc.sh -T 1 -A 1 -t 1000000 >/tmp/udhcpc.log 2>&1 &
exec /cmdloop
`;

const UDHCPC = `#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    echo "$ip/$mask" > /tmp/lease ;;
esac
`;

// One command per line: "<id> <base64 of the command>"; its output comes back as
// "@@BEGIN <id>" ... "@@END <id> <exit status>".
const CMDLOOP = `#!/bin/sh
exec </dev/ttyS0 >/dev/ttyS0 2>&1
stty -echo -onlcr
echo "@@READY"
while read -r id b64; do
  [ -n "$id" ] || continue
  cmd=$(echo "$b64" | base64 -d)
  out=$(sh -c "$cmd" 2>&1 </dev/null); rc=$?
  printf '@@BEGIN %s\\n%s\\n@@END %s %s\\n' "$id" "$out" "$id" "$rc"
done
`;

/** A shell function in the guest: its count of ICMP echo replies received (InEchoReps). */
const ICMP_REPLIES =
  'reps() { awk \'$1 == "Icmp:" { n++; if (n == 1) for (i = 2; i <= NF; i++) if ($i == "InEchoReps") c = i; ' +
  "if (n == 2) print $c }' /proc/net/snmp; }";

export interface GuestImage {
  kernel: string;
  initrd: string;
}

function findModule(version: string, name: string): string {
  const r = spawnSync('find', [join('/lib/modules', version, 'kernel'), '-name', `${name}.ko*`], {
    encoding: 'utf8',
  });
  const path = r.stdout.split('\n').find(Boolean);
  if (!path) throw new Error(`module ${name} not found for kernel ${version}`);
  return path;
}

/** The ELF vmlinux inside a bzImage: the first xz or gzip stream that decompresses to one. */
function extractVmlinux(bzImage: Buffer): Buffer {
  const magics: { magic: Buffer; unpack: (b: Buffer) => Buffer | null }[] = [
    {
      magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
      unpack: (b) => {
        const r = spawnSync('xz', ['-dcq'], { input: b, maxBuffer: 512 * 1024 * 1024 });
        return r.stdout && r.stdout.length > 0 ? r.stdout : null;
      },
    },
    {
      magic: Buffer.from([0x1f, 0x8b, 0x08]),
      unpack: (b) => {
        try {
          return gunzipSync(b);
        } catch {
          return null;
        }
      },
    },
  ];
  for (const { magic, unpack } of magics) {
    for (let at = bzImage.indexOf(magic); at >= 0; at = bzImage.indexOf(magic, at + 1)) {
      const out = unpack(bzImage.subarray(at));
      if (out && out.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return out;
    }
  }
  throw new Error('no compressed ELF kernel found in the bzImage');
}

/**
 * The kernel (uncompressed: QEMU boots it through its PVH note, and TCG skips the in-guest
 * decompression) and the initramfs, built once per kernel version and init scripts into a cache
 * directory (NETVPP_GUEST_CACHE, default <tmpdir>/netvpp-guest-cache).
 */
export function guestImage(): GuestImage {
  const version = kernelVersion();
  if (!version) throw new Error('no kernel to boot');
  const hash = createHash('sha1')
    .update([version, INIT, UDHCPC, CMDLOOP, MODULES.join()].join('\0'))
    .digest('hex')
    .slice(0, 12);
  const cache = join(
    process.env.NETVPP_GUEST_CACHE ?? join(tmpdir(), 'netvpp-guest-cache'),
    `${version}-${hash}`,
  );
  const image = { kernel: join(cache, 'vmlinux'), initrd: join(cache, 'initramfs.cpio') };
  if (existsSync(image.kernel) && existsSync(image.initrd)) return image;

  const work = `${cache}.build-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  const root = join(work, 'root');
  for (const d of ['bin', 'lib/modules', 'proc', 'sys', 'dev', 'tmp'])
    mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  for (const m of MODULES) {
    const src = findModule(version, m);
    const dst = join(root, 'lib', 'modules', `${m}.ko`);
    if (src.endsWith('.ko')) copyFileSync(src, dst);
    else if (src.endsWith('.ko.xz'))
      writeFileSync(dst, spawnSync('xz', ['-dc', src], { maxBuffer: 64 << 20 }).stdout);
    else if (src.endsWith('.ko.zst'))
      writeFileSync(dst, spawnSync('zstd', ['-dc', src], { maxBuffer: 64 << 20 }).stdout);
    else throw new Error(`cannot unpack module ${src}`);
  }
  for (const [name, text] of [
    ['init', INIT],
    ['udhcpc.sh', UDHCPC],
    ['cmdloop', CMDLOOP],
  ] as const) {
    writeFileSync(join(root, name), text, { mode: 0o755 });
  }
  const cpio = spawnSync(
    'sh',
    ['-c', `cd '${root}' && find . | cpio -o -H newc --quiet > ../initramfs.cpio`],
    {
      encoding: 'utf8',
    },
  );
  if (cpio.status !== 0) throw new Error(`cpio failed: ${cpio.stderr}`);
  writeFileSync(join(work, 'vmlinux'), extractVmlinux(readFileSync(join('/boot', `vmlinuz-${version}`))));
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(cache, '..'), { recursive: true });
  try {
    renameSync(work, cache); // atomic: a concurrent build either wins or finds ours
  } catch {
    rmSync(work, { recursive: true, force: true });
  }
  return image;
}

// ---- a running guest ------------------------------------------------------------------------------

export type GuestNic =
  /** Nova's way: QEMU serves the socket, VPP connects (binding vhostuser_mode server). */
  | { type: 'vhost-user'; socket: string }
  /** A Linux tap (made by QEMU), for trying the kit without VPP. */
  | { type: 'tap'; ifname: string };

export interface GuestOptions {
  name: string;
  mac: string;
  nic: GuestNic;
  /** Where the console socket and the log go. */
  dir: string;
  memMiB?: number;
  /** A QMP socket (<dir>/<name>.qmp) for QEMU's own commands, live migration among them. */
  qmp?: boolean;
  /**
   * Started as the destination of a live migration (QEMU's `-incoming`, e.g. `unix:PATH`): the
   * guest does not boot, it arrives. Its options must match the source's.
   */
  incoming?: string;
}

export interface RunResult {
  rc: number;
  out: string;
}

export class Guest {
  private qemu: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private console: Socket | null = null;
  private buffer = '';
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  readonly consoleSocket: string;
  readonly qmpSocket: string;
  readonly logFile: string;

  constructor(readonly o: GuestOptions) {
    this.consoleSocket = join(o.dir, `${o.name}.console`);
    this.qmpSocket = join(o.dir, `${o.name}.qmp`);
    this.logFile = join(o.dir, `${o.name}.qemu.log`);
  }

  /** Starts QEMU (with a vhost-user NIC it waits for VPP to connect before the guest boots). */
  start(): void {
    const image = guestImage();
    const mem = this.o.memMiB ?? 128;
    const nic =
      this.o.nic.type === 'vhost-user'
        ? [
            '-chardev',
            `socket,id=chr0,path=${this.o.nic.socket},server=on`,
            '-netdev',
            'vhost-user,id=net0,chardev=chr0',
          ]
        : ['-netdev', `tap,id=net0,ifname=${this.o.nic.ifname},script=no,downscript=no`];
    rmSync(this.consoleSocket, { force: true });
    rmSync(this.qmpSocket, { force: true });
    const args = [
      '-name',
      this.o.name,
      '-accel',
      'tcg',
      '-m',
      `${mem}M`,
      '-object',
      `memory-backend-memfd,id=mem,size=${mem}M,share=on`,
      '-numa',
      'node,memdev=mem',
      '-kernel',
      image.kernel,
      '-initrd',
      image.initrd,
      '-append',
      'console=ttyS0 quiet loglevel=1 panic=-1',
      '-nodefaults',
      '-no-reboot',
      '-display',
      'none',
      // before the NIC: QEMU waits for VPP on a vhost-user socket it serves, its monitor must not
      ...(this.o.qmp ? ['-qmp', `unix:${this.qmpSocket},server=on,wait=off`] : []),
      '-serial',
      `unix:${this.consoleSocket},server=on,wait=off`,
      ...nic,
      // legacy interrupts: QEMU 7.2 with vhost-user, TCG and MSI-X crashes when the driver starts
      '-device',
      `virtio-net-pci,netdev=net0,mac=${this.o.mac},vectors=0`,
      ...(this.o.incoming ? ['-incoming', this.o.incoming] : []),
    ];
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    const keep = (b: Buffer): void => {
      log.push(b.toString());
      writeFileSync(this.logFile, log.join(''));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.qemu = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.qemu !== null && this.qemu.exitCode === null && this.qemu.signalCode === null;
  }

  get pid(): number | undefined {
    return this.qemu?.pid;
  }

  qemuLog(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  private async attach(limitMs: number): Promise<Socket> {
    if (this.console && !this.console.destroyed) return this.console;
    const until = Date.now() + limitMs;
    for (;;) {
      if (!this.running) throw new Error(`QEMU for ${this.o.name} exited:\n${this.qemuLog()}`);
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = connect(this.consoleSocket);
          c.once('connect', () => resolve(c));
          c.once('error', reject);
        });
        s.on('data', (b: Buffer) => {
          this.buffer += b.toString('latin1').replace(/\r/g, '');
          if (this.buffer.length > 1 << 20) this.buffer = this.buffer.slice(-(1 << 19));
        });
        s.on('error', () => s.destroy());
        this.console = s;
        return s;
      } catch {
        if (Date.now() > until)
          throw new Error(`no console socket for ${this.o.name} at ${this.consoleSocket}`);
        await sleep(200);
      }
    }
  }

  private async once(cmd: string, timeoutMs: number): Promise<RunResult | null> {
    const s = await this.attach(timeoutMs);
    const id = `c${process.pid}x${++this.seq}`;
    s.write(`${id} ${Buffer.from(cmd).toString('base64')}\n`);
    const end = new RegExp(`@@BEGIN ${id}\\n([\\s\\S]*?)\\n?@@END ${id} (\\d+)\\n`);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const m = end.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice((m.index ?? 0) + m[0].length);
        return { rc: Number(m[2]), out: m[1] };
      }
      if (!this.running) throw new Error(`QEMU for ${this.o.name} exited:\n${this.qemuLog()}`);
      await sleep(50);
    }
    return null;
  }

  /** Runs `cmd` with sh in the guest; its output and exit status. One at a time, in order. */
  run(cmd: string, timeoutMs = 60_000): Promise<RunResult> {
    const next = this.queue.then(async () => {
      const r = await this.once(cmd, timeoutMs);
      if (!r) throw new Error(`${this.o.name}: no answer to ${JSON.stringify(cmd)} within ${timeoutMs} ms`);
      return r;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Waits until the guest's command loop answers (the guest has booted). */
  async ready(limitMs = 180_000): Promise<void> {
    const until = Date.now() + limitMs;
    while (Date.now() < until) {
      const r = await this.queue.then(() => this.once('true', 2_000));
      if (r) return;
    }
    throw new Error(`${this.o.name} did not boot within ${limitMs} ms:\n${this.qemuLog()}`);
  }

  /** The guest's DHCP lease (address/prefix) once it has one. */
  async lease(limitMs = 120_000): Promise<string> {
    const until = Date.now() + limitMs;
    while (Date.now() < until) {
      const r = await this.run('cat /tmp/lease 2>/dev/null');
      if (r.rc === 0 && r.out.trim()) return r.out.trim();
      await sleep(500);
    }
    const log = await this.run('cat /tmp/udhcpc.log; ip addr');
    throw new Error(`${this.o.name} got no DHCP lease within ${limitMs} ms:\n${log.out}`);
  }

  /**
   * How many of `count` pings to `ip` were answered (count replies, never time them): the echo
   * replies that reached the guest's ICMP layer (its /proc/net/snmp InEchoReps), waited for up to
   * `waitSec` after the last request is sent. busybox's ping cannot be trusted with that wait: once
   * it has one reply it stops about a second after its last request (its -W applies only while none
   * has come), and a guest starved of CPU under TCG reads late replies later than that.
   */
  async ping(ip: string, count = 5, intervalSec = 0.2, waitSec = 15): Promise<number> {
    const r = await this.run(
      `${ICMP_REPLIES}; b=$(reps); ping -q -c ${count} -i ${intervalSec} -W ${waitSec} ${ip} >/dev/null 2>&1; ` +
        `e=$(( $(date +%s) + ${waitSec} )); ` +
        `while [ $(( $(reps) - b )) -lt ${count} ] && [ $(date +%s) -lt $e ]; do sleep 0.2; done; ` +
        `echo "replies $(( $(reps) - b ))"`,
      60_000 + count * 3_000 + 2 * waitSec * 1_000,
    );
    return Math.min(count, Number(/replies (\d+)/.exec(r.out)?.[1] ?? 0));
  }

  /**
   * The guest's own view of its NIC: its ICMP counters (/proc/net/snmp) and eth0's packet counters
   * (/proc/net/dev), to tell where a missing reply went.
   */
  async netCounters(): Promise<Record<string, number>> {
    const r = await this.run("grep '^Icmp:' /proc/net/snmp; grep 'eth0:' /proc/net/dev");
    const out: Record<string, number> = {};
    const [names, values] = r.out.split('\n').filter((l) => l.startsWith('Icmp:'));
    if (names && values) {
      const v = values.split(/\s+/).slice(1);
      names
        .split(/\s+/)
        .slice(1)
        .forEach((n, i) => (out[n] = Number(v[i])));
    }
    const dev = /eth0:\s*(.*)/.exec(r.out)?.[1].trim().split(/\s+/).map(Number);
    if (dev) Object.assign(out, { rxPackets: dev[1], rxDropped: dev[3], txPackets: dev[9] });
    return out;
  }

  /** SIGTERM to QEMU, SIGKILL if it lingers: a guest switched off. */
  async stop(): Promise<void> {
    this.console?.destroy();
    this.console = null;
    const q = this.qemu;
    if (!q) return;
    this.qemu = null;
    if (q.exitCode === null && q.signalCode === null) {
      q.kill('SIGTERM');
      const done = await Promise.race([this.exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!done) {
        q.kill('SIGKILL');
        await this.exited;
      }
    }
    rmSync(this.consoleSocket, { force: true });
    rmSync(this.qmpSocket, { force: true });
  }
}
