// The guest kit (guest.ts) on its own, without VPP: a real Linux guest under QEMU on a Linux tap in a
// bridge, with a network namespace on the same bridge running busybox's udhcpd. The guest gets its
// address by DHCP at boot, answers commands over its console and pings the namespace; switched off
// and booted again it gets the same lease. Needs root and the guest's Debian packages (qemu-system-x86,
// linux-image-amd64, busybox-static, cpio); skips saying why without them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Guest, guestUnavailableReason } from './guest.ts';
import { has, sh } from './shell.ts';

const NS = 'nvgk-dhcp';
const BR = 'nvgk-br';
const TAP = 'nvgk-tap0';
const SERVER_IP = '10.78.0.1';
const MAC = '52:54:00:78:00:10';

const skip =
  process.getuid?.() !== 0
    ? 'needs root (tap, bridge, network namespace)'
    : (guestUnavailableReason() ?? (!has('ip') ? 'needs ip' : false));

describe('guest kit: a real Linux guest under QEMU on a Linux bridge', { skip }, () => {
  let dir = '';
  let guest: Guest | undefined;
  const cleanup = (): void => {
    sh(`ip netns pids ${NS} 2>/dev/null | xargs -r kill`, true);
    sh(`ip netns del ${NS}`, true);
    sh(`ip link del ${BR}`, true);
    sh(`ip link del ${TAP}`, true);
    sh(`ip link del nvgk-v0`, true);
  };

  before(() => {
    cleanup();
    dir = mkdtempSync(join(tmpdir(), 'netvpp-guest-kit-'));
    sh(`ip link add ${BR} type bridge && ip link set ${BR} up`);
    sh(`ip tuntap add dev ${TAP} mode tap && ip link set ${TAP} master ${BR} up`);
    sh(`ip netns add ${NS} && ip link add nvgk-v0 type veth peer name nvgk-v1 netns ${NS}`);
    sh(`ip link set nvgk-v0 master ${BR} up`);
    sh(`ip -n ${NS} link set nvgk-v1 up && ip -n ${NS} addr add ${SERVER_IP}/24 dev nvgk-v1`);
    const conf = join(dir, 'udhcpd.conf');
    writeFileSync(
      conf,
      [
        'start 10.78.0.100',
        'end 10.78.0.110',
        'interface nvgk-v1',
        `lease_file ${join(dir, 'udhcpd.leases')}`,
        `option router ${SERVER_IP}`,
        'option subnet 255.255.255.0',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'udhcpd.leases'), '');
    // -a 200: ARP-check an offer for 200 ms, not busybox's 2 s (the guest retries every second)
    sh(`ip netns exec ${NS} busybox udhcpd -S -a 200 ${conf}`);
  });
  after(async () => {
    await guest?.stop();
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('boots, gets a lease by DHCP, runs commands and pings the namespace', { timeout: 300_000 }, async () => {
    guest = new Guest({ name: 'kit1', mac: MAC, nic: { type: 'tap', ifname: TAP }, dir });
    guest.start();
    await guest.ready();
    const lease = await guest.lease();
    assert.match(lease, /^10\.78\.0\.1\d\d\/24$/);
    const link = await guest.run('cat /sys/class/net/eth0/address');
    assert.deepEqual(link, { rc: 0, out: MAC });
    assert.equal((await guest.run('exit 3')).rc, 3, 'the exit status comes back');
    assert.equal(await guest.ping(SERVER_IP, 3), 3);
    const route = await guest.run('ip route show default');
    assert.match(route.out, new RegExp(`default via ${SERVER_IP}`));

    // switched off and on again: the same address (udhcpd keeps the lease by MAC)
    await guest.stop();
    guest = new Guest({ name: 'kit1', mac: MAC, nic: { type: 'tap', ifname: TAP }, dir });
    guest.start();
    await guest.ready();
    assert.equal(await guest.lease(), lease);
  });
});
