// Random etcd content and changes for property tests of the incremental path: a small universe of
// ports, networks and groups, so that changes collide (ports sharing networks and segments, groups
// naming each other as remote groups, values that fail their schema). Seeded: a failure replays.
import { encodeValue, keys, type PortBinding, type SecurityGroup } from '../../../src/model/keyspace.ts';
import { VHOST_DIR } from './fixtures.ts';

/** mulberry32: a small seeded PRNG (same seed, same sequence). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uuidOf = (kind: number, n: number): string =>
  `00000000-0000-4000-8${kind.toString(16).padStart(3, '0')}-${n.toString(16).padStart(12, '0')}`;

export const PORT_IDS = Array.from({ length: 12 }, (_, i) => uuidOf(1, i + 1));
export const GROUP_IDS = Array.from({ length: 5 }, (_, i) => uuidOf(2, i + 1));
const NETWORK_IDS = Array.from({ length: 4 }, (_, i) => uuidOf(3, i + 1));

/** Segments a binding may name; physnet1 and physnet2 are configured, physnet9 is not. */
const SEGMENTS: Pick<PortBinding, 'network_type' | 'physnet' | 'segmentation_id'>[] = [
  { network_type: 'vlan', physnet: 'physnet1', segmentation_id: 100 },
  { network_type: 'vlan', physnet: 'physnet1', segmentation_id: 101 },
  { network_type: 'flat', physnet: 'physnet1', segmentation_id: null },
  { network_type: 'vlan', physnet: 'physnet2', segmentation_id: 100 },
  { network_type: 'flat', physnet: 'physnet2', segmentation_id: null },
  { network_type: 'vlan', physnet: 'physnet9', segmentation_id: 5 },
  { network_type: 'vxlan', physnet: null, segmentation_id: 5000 },
];

export type Pick1 = <T>(xs: readonly T[]) => T;

export class Universe {
  readonly pick: Pick1;
  private revision = 1;

  constructor(
    readonly host: string,
    readonly random: () => number,
  ) {
    this.pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  binding(portId: string): PortBinding {
    const n = PORT_IDS.indexOf(portId) + 1;
    const net = Math.floor(this.random() * NETWORK_IDS.length);
    // Mostly a network's own segment, sometimes another (a conflict), sometimes a bad one.
    const seg = this.chance(0.8) ? SEGMENTS[net % 5] : this.pick(SEGMENTS);
    const tap = this.chance(0.3);
    const groups = GROUP_IDS.filter(() => this.chance(0.3));
    return {
      port_id: portId,
      network_id: NETWORK_IDS[net],
      ...seg,
      mtu: this.pick([1500, 9000]),
      mac: `fa:16:3e:00:00:${n.toString(16).padStart(2, '0')}`,
      fixed_ips: [{ subnet_id: uuidOf(4, 1), ip_address: `10.0.0.${n}` }],
      vif_type: tap ? 'tap' : 'vhostuser',
      vhostuser: tap
        ? null
        : {
            socket: this.chance(0.9) ? `${VHOST_DIR}/${portId}` : `/tmp/elsewhere/${portId}`,
            mode: this.pick(['server', 'client'] as const),
          },
      tap: tap ? { host_ifname: 'tap' + portId.slice(0, 11) } : null,
      device_owner: this.chance(0.15) ? 'network:dhcp' : 'compute:nova',
      admin_state_up: this.chance(0.9),
      security_groups: groups,
      port_security_enabled: this.chance(0.9),
      allowed_address_pairs: this.chance(0.2)
        ? [{ ip_address: `192.168.0.${n}`, mac_address: 'fa:16:3e:00:01:01' }]
        : [],
      revision: this.revision++,
    };
  }

  group(sgId: string): SecurityGroup {
    const rules = Array.from({ length: 1 + Math.floor(this.random() * 4) }, (_, i) => {
      const remote = this.chance(0.35) ? this.pick(GROUP_IDS) : null;
      const id = uuidOf(5, GROUP_IDS.indexOf(sgId) * 100 + i);
      if (this.chance(0.1)) {
        // SCTP with a port range: a rule VPP can't express (left out, with a warning).
        return {
          id,
          direction: 'ingress' as const,
          ethertype: 'IPv4' as const,
          protocol: 132,
          port_range_min: 100,
          port_range_max: 200,
          remote_ip_prefix: null,
          remote_group_id: null,
        };
      }
      return {
        id,
        direction: this.pick(['ingress', 'egress'] as const),
        ethertype: 'IPv4' as const,
        protocol: this.pick([6, 17, null]),
        port_range_min: null,
        port_range_max: null,
        remote_ip_prefix: remote === null ? this.pick(['10.1.0.0/16', '0.0.0.0/0', null]) : null,
        remote_group_id: remote,
      };
    });
    return { id: sgId, revision: this.revision++, stateful: this.chance(0.8), rules };
  }

  /** A random write to etcd: [key, value] to put, or [key, null] to delete. */
  change(): [string, string | null] {
    const r = this.random();
    if (r < 0.45) {
      const p = this.pick(PORT_IDS);
      const key = keys.portBinding(this.host, p);
      if (this.chance(0.2)) return [key, null];
      if (this.chance(0.05)) return [key, JSON.stringify({ port_id: 42, revision: this.revision++ })];
      return [key, encodeValue(key, this.binding(p))];
    }
    if (r < 0.75) {
      const g = this.pick(GROUP_IDS);
      const key = keys.secGroup(g);
      if (this.chance(0.15)) return [key, null];
      if (this.chance(0.05)) return [key, JSON.stringify({ id: g, rules: 'none' })];
      return [key, encodeValue(key, this.group(g))];
    }
    const g = this.pick(GROUP_IDS);
    const p = this.pick(PORT_IDS);
    const key = keys.remoteGroupMember(g, p);
    if (this.chance(0.3)) return [key, null];
    if (this.chance(0.05)) return [key, JSON.stringify({ ips: ['not an address'], revision: 1 })];
    const n = PORT_IDS.indexOf(p) + 1;
    return [key, encodeValue(key, { ips: [`10.0.0.${n}`, `10.9.${n}.0/24`], revision: 1 })];
  }
}
