// Live migration on a VXLAN network (each host its own simulated VPP, one etcd), with the bindings and
// overlay entries the controller writes in Nova's order: a port on compute1 moves to compute2 while
// compute3 has a port of its own on the network. The overlay entry follows the ACTIVE binding: while
// the destination's binding is inactive, the other hosts keep flooding to and reaching the port at the
// source; at activation every other host's flood list and its static MAC of the port point at the
// destination, the destination drops the static MAC it had of its own port, the source (still
// plumbed, inactive) sends the port's traffic to the destination, and deleting the source's binding
// takes the source out of the network. On real VPPs test/dataplane/migration.test.ts migrates a real
// guest on a flat network.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentConfig } from '../../src/agent/config.ts';
import { encodeValue, keys, type OverlayPort, type PortBinding } from '../../src/model/keyspace.ts';
import { create_loopback_instance } from '../../src/vpp/binapi/index.ts';
import type { VppClient } from '../../src/vpp/client.ts';
import { vmPort, vxlanNet } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';
import { overlayOf, type Overlay } from './helpers/overlay.ts';

const HOSTS = ['compute1', 'compute2', 'compute3'];
const VTEP: Record<string, string> = { compute1: '192.0.2.1', compute2: '192.0.2.2', compute3: '192.0.2.3' };
const VNI = 5002;

const vxlanConfig = (host: string): Partial<AgentConfig> => ({
  vxlan: { localIp: VTEP[host], underlay: { name: 'loop1', prefixLen: 24 } },
});

describe(
  'VXLAN overlay: a live-migrated port’s flood lists and static MACs follow it at activation',
  { skip: SIM_ONLY },
  () => {
    let w: World;
    const vpp = new Map<string, VppClient>();
    const net = vxlanNet(VNI);
    /** The migrating VM's port, and compute3's VM. */
    const vm = vmPort(net);
    const other = vmPort(net);

    before(async () => {
      w = await startWorld();
      for (const h of HOSTS) {
        const n = await w.node(h);
        await n.operator.request(create_loopback_instance, {
          mac_address: '02:fe:00:00:02:0' + (HOSTS.indexOf(h) + 1),
          is_specified: true,
          user_instance: 1,
        });
        vpp.set(h, n.operator);
        w.startAgent(h, vxlanConfig(h));
      }
    });
    after(() => w?.stop());

    const ips = (p: PortBinding): string[] => p.fixed_ips.map((f) => f.ip_address);
    const both = (): Record<string, string> =>
      Object.fromEntries([vm, other].flatMap((p) => ips(p).map((ip) => [ip, p.mac])));
    /** Waits until `host`'s VPP has exactly these tunnels (by peer host) and static MACs (MAC → host). */
    const expectOverlay = (host: string, peers: string[], fib: [PortBinding, string][]) =>
      waitFor(
        `${host}: flood list ${peers.join(', ')}, static MACs ${fib.map(([, h]) => h).join(', ')}`,
        async () => {
          const o = await overlayOf(vpp.get(host) as VppClient, net.id, VNI);
          const want: Overlay = {
            tunnels: peers.map((p) => VTEP[p]).sort(),
            shg: peers.map(() => 1),
            arpTerm: true,
            fib: Object.fromEntries(fib.map(([p, h]) => [p.mac, VTEP[h]])),
            arp: both(),
          };
          try {
            assert.deepEqual(o, want);
            return o;
          } catch {
            return undefined;
          }
        },
      );
    const binding = (p: PortBinding, status?: 'inactive'): PortBinding =>
      status ? { ...p, binding_status: status } : { ...p };
    const entry = (host: string, p: PortBinding): OverlayPort => ({
      host,
      mac: p.mac,
      ips: ips(p),
      revision: p.revision,
    });
    const put = (key: string, value: unknown) => ({
      op: 'put' as const,
      key,
      value: encodeValue(key, value as never),
    });

    it('before activation: the destination is plumbed, the others still flood to and reach the source', async () => {
      await w.bindOverlay('compute1', vm);
      await w.connectGuest(vm, 'compute1');
      await w.waitReady('compute1', vm.port_id);
      await w.bindOverlay('compute3', other);
      await w.connectGuest(other, 'compute3');
      await w.waitReady('compute3', other.port_id);
      await expectOverlay('compute3', ['compute1'], [[vm, 'compute1']]);

      // Nova's inactive binding on compute2: the binding alone (the overlay entry stays the source's).
      await w.bind('compute2', binding(vm, 'inactive'));
      await w.connectGuest(vm, 'compute2');
      await w.waitReady('compute2', vm.port_id);
      // The destination reaches the network's hosts; until activation the port is the source's.
      await expectOverlay(
        'compute2',
        ['compute1', 'compute3'],
        [
          [vm, 'compute1'],
          [other, 'compute3'],
        ],
      );
      await expectOverlay('compute3', ['compute1'], [[vm, 'compute1']]);
      await expectOverlay('compute1', ['compute3'], [[other, 'compute3']]);
    });

    it('activation: every other host’s flood list and static MAC point at the destination', async () => {
      // What the controller writes at PUT .../bindings/compute2/activate, in one transaction.
      const moved = { ...vm, revision: vm.revision + 1 };
      await w.store.txnBatch([
        put(keys.portBinding('compute2', vm.port_id), binding(moved)),
        put(keys.portBinding('compute1', vm.port_id), binding(moved, 'inactive')),
        put(keys.overlayPort(net.id, vm.port_id), entry('compute2', moved)),
      ]);
      await expectOverlay('compute3', ['compute2'], [[vm, 'compute2']]);
      // The destination no longer sends its own port's MAC anywhere; the source sends it there.
      await expectOverlay('compute2', ['compute3'], [[other, 'compute3']]);
      await expectOverlay(
        'compute1',
        ['compute2', 'compute3'],
        [
          [vm, 'compute2'],
          [other, 'compute3'],
        ],
      );
      await w.waitReady('compute2', vm.port_id, moved.revision);
    });

    it('the source’s binding deleted: the source leaves the network, the others keep the destination', async () => {
      await w.store.delete(keys.portBinding('compute1', vm.port_id));
      await waitFor('compute1 out of the network', async () => {
        const o = await overlayOf(vpp.get('compute1') as VppClient, net.id, VNI);
        return o.tunnels.length === 0 && !o.arpTerm ? o : undefined;
      });
      await expectOverlay('compute3', ['compute2'], [[vm, 'compute2']]);
      await expectOverlay('compute2', ['compute3'], [[other, 'compute3']]);
    });
  },
);
