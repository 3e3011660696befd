/**
 * Shared setup of the contract suite: a VppClient against a real VPP (NETVPP_TEST_VPP_SOCKET) or
 * an in-process simulator. Everything a test creates is tagged `netvpp-test:` where VPP keeps a
 * tag, registered for cleanup at once, and removed even when the test fails; tests only look at
 * objects they created, so they can run against a VPP that holds other state.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before } from 'node:test';
import { VppClient } from '../../src/vpp/client.ts';
import {
  bridge_domain_add_del_v2,
  bridge_domain_dump,
  control_ping,
  create_loopback,
  delete_loopback,
  sw_interface_dump,
  sw_interface_set_l2_bridge,
  sw_interface_tag_add_del,
} from '../../src/vpp/binapi/index.ts';
import { VppApiError } from '../../src/vpp/errors.ts';
import { vppTarget, type VppTarget } from '../helpers/vpp.ts';

export const TAG = 'netvpp-test:';
/** An index no VPP has in use (pools are dense; VPP checks "is this pool slot free"). */
export const NO_SUCH_INDEX = 0xfffffffe;
export const NO_INDEX = 0xffffffff;

export interface Harness {
  target: VppTarget;
  c: VppClient;
  /**
   * Undone in the harness's own after hook, before `c` closes: for what a file's before hook
   * creates (a file's after hooks run after the harness's, when `c` is already closed).
   */
  cleanup: Cleanup;
}

/** Registers before/after hooks for one test file; read `h.c` inside tests. */
export function contractHarness(): Harness {
  const h = { cleanup: new Cleanup() } as Harness;
  before(async () => {
    h.target = await vppTarget();
    h.c = await VppClient.connect({ socket: h.target.socket, name: 'netvpp-contract' });
  });
  after(async () => {
    if (h.c?.connected) await h.cleanup.run();
    await h.c?.close();
    await h.target?.stop();
  });
  return h;
}

/** Undo actions run in reverse order of registration; failures are ignored (best effort). */
export class Cleanup {
  private readonly undo: (() => Promise<unknown>)[] = [];

  add(fn: () => Promise<unknown>): void {
    this.undo.push(fn);
  }

  async run(): Promise<void> {
    while (this.undo.length) {
      const fn = this.undo.pop() as () => Promise<unknown>;
      try {
        await fn();
      } catch {
        // Already gone (the test deleted it itself).
      }
    }
  }
}

export async function rejectsWith(p: Promise<unknown>, retval: number, what = ''): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VppApiError, `expected a VPP error, got ${String(e)}`);
    assert.equal(e.retval, retval, `${what} retval`);
    return true;
  });
}

export function uniq(): string {
  return randomInt(0, 0xffffff).toString(16).padStart(6, '0');
}

/** A locally administered MAC unlikely to clash with anything on the host. */
export function testMac(): string {
  const b = [0x02, 0xfe, 0xee, randomInt(0, 256), randomInt(0, 256), randomInt(0, 256)];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A tagged loopback, deleted by `cleanup`. */
export async function loopback(c: VppClient, cleanup: Cleanup, mac = testMac()): Promise<number> {
  const { sw_if_index } = await c.request(create_loopback, { mac_address: mac });
  cleanup.add(() => c.request(delete_loopback, { sw_if_index }));
  await c.request(sw_interface_tag_add_del, { is_add: true, sw_if_index, tag: `${TAG}${uniq()}` });
  return sw_if_index;
}

export async function details(c: VppClient, swIfIndex: number) {
  const d = await c.dump(sw_interface_dump, { sw_if_index: swIfIndex });
  assert.equal(d.length, 1, `one interface with sw_if_index ${swIfIndex}`);
  return d[0];
}

/** A bridge-domain id nobody else is likely to use. */
export function bdId(): number {
  return 0x800000 + Math.floor(Math.random() * 0x7fff00);
}

export const BD_FLAGS = {
  flood: true,
  uu_flood: true,
  forward: true,
  learn: true,
  arp_term: false,
  mac_age: 0,
};

/** A tagged bridge domain, deleted by `cleanup`. */
export async function bridge(
  c: VppClient,
  cleanup: Cleanup,
  id = bdId(),
  flags: Partial<typeof BD_FLAGS> = {},
): Promise<number> {
  const r = await c.request(bridge_domain_add_del_v2, {
    bd_id: id,
    is_add: true,
    ...BD_FLAGS,
    ...flags,
    bd_tag: `${TAG}${uniq()}`,
  });
  cleanup.add(() => c.request(bridge_domain_add_del_v2, { bd_id: r.bd_id, is_add: false }));
  return r.bd_id;
}

/** `sw` joins bridge domain `bd` (port type 0 normal, 1 BVI); `cleanup` takes it back to L3. */
export async function join(
  c: VppClient,
  cleanup: Cleanup,
  sw: number,
  bd: number,
  portType = 0,
  shg = 0,
): Promise<void> {
  await c.request(sw_interface_set_l2_bridge, {
    rx_sw_if_index: sw,
    bd_id: bd,
    port_type: portType,
    shg,
    enable: true,
  });
  cleanup.add(() => c.request(sw_interface_set_l2_bridge, { rx_sw_if_index: sw, bd_id: 0, enable: false }));
}

/** The one bridge domain with this id. */
export async function oneBridge(c: VppClient, bd: number) {
  const d = await c.dump(bridge_domain_dump, { bd_id: bd });
  assert.equal(d.length, 1, `bridge domain ${bd}`);
  return d[0];
}

/** One round trip: whatever VPP sent before this reply has been received. */
export async function roundTrip(c: VppClient): Promise<void> {
  await c.request(control_ping, {});
}

/**
 * A host interface af_packet may take: any free name on the simulator; on a real VPP the one named
 * by NETVPP_TEST_HOST_IF, else (as root, VPP on this host) a veth pair made here and removed by
 * `cleanup`; null when there is none.
 */
export function hostInterface(h: Harness, cleanup: Cleanup): string | null {
  if (h.target.sim) return `nvtveth${uniq()}`;
  const given = process.env.NETVPP_TEST_HOST_IF;
  if (given) return existsSync(`/sys/class/net/${given}`) ? given : null;
  if (process.getuid?.() !== 0) return null;
  const name = `nvtc${uniq()}`;
  const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
  if (ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`).status !== 0) return null;
  cleanup.add(async () => ip('link', 'del', name));
  ip('link', 'set', name, 'up');
  ip('link', 'set', `${name}p`, 'up');
  return name;
}
