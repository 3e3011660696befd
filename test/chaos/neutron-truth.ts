// Neutron's side of a chaos run: the truth (networks, security groups with rules and remote groups,
// ports bound to the agents' hosts) changed at random by a seeded generator, every change journaled
// as Neutron's ML2 driver journals it (docs/controller-api.md): one row per change, in order, holding
// a full snapshot of the resource with its new revision.
import type { Prng } from './prng.ts';

export interface Net {
  id: string;
  rev: number;
  mtu: number;
  vlan: number;
}
export interface Rule {
  id: string;
  direction: 'ingress' | 'egress';
  protocol: 'tcp' | 'udp' | null;
  port: number | null;
  remote_group_id: string | null;
  remote_ip_prefix: string | null;
}
export interface Group {
  id: string;
  rev: number;
  rules: Rule[];
}
export interface Port {
  id: string;
  rev: number;
  net: string;
  host: string;
  ip: number;
  mac: number;
  groups: string[];
}

export interface Row {
  id: number;
  resource: 'network' | 'port' | 'security_group';
  op: 'create' | 'update' | 'delete';
  resource_id: string;
  revision: number | null;
  data: Record<string, unknown> | null;
}

export type ChangeKind =
  | 'network create'
  | 'network update'
  | 'network delete'
  | 'group create'
  | 'group update'
  | 'group delete'
  | 'port create'
  | 'port update'
  | 'port delete';

/** A UUID from the run's counter: distinct objects, reproducible from the seed. */
function uuid(n: number): string {
  return `c4a05000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

const MAX = { nets: 3, groups: 4, ports: 12 };

export class NeutronTruth {
  readonly nets = new Map<string, Net>();
  readonly groups = new Map<string, Group>();
  readonly ports = new Map<string, Port>();
  private counter = 0;
  private rowId = 0;
  readonly changes = new Map<ChangeKind, number>();

  constructor(
    private readonly rng: Prng,
    readonly hosts: readonly string[],
  ) {}

  private nextId(): string {
    return uuid(++this.counter);
  }

  netDict(n: Net): Record<string, unknown> {
    return { id: n.id, name: 'chaos', mtu: n.mtu, revision_number: n.rev, 'provider:network_type': 'vlan' };
  }

  groupDict(g: Group): Record<string, unknown> {
    return {
      id: g.id,
      name: 'chaos',
      stateful: true,
      revision_number: g.rev,
      security_group_rules: g.rules.map((r) => ({
        id: r.id,
        direction: r.direction,
        ethertype: 'IPv4',
        protocol: r.protocol,
        port_range_min: r.port,
        port_range_max: r.port,
        remote_ip_prefix: r.remote_ip_prefix,
        remote_group_id: r.remote_group_id,
        remote_address_group_id: null,
      })),
    };
  }

  portDict(p: Port): Record<string, unknown> {
    const net = this.nets.get(p.net);
    if (!net) throw new Error(`port ${p.id} on unknown network ${p.net}`);
    const hex = (p.mac & 0xffff).toString(16).padStart(4, '0');
    return {
      id: p.id,
      name: '',
      network_id: p.net,
      mac_address: `fa:16:3e:00:${hex.slice(0, 2)}:${hex.slice(2)}`,
      fixed_ips: [{ subnet_id: uuid(0), ip_address: `10.${p.ip >> 8}.${p.ip & 0xff}.${(p.ip % 250) + 2}` }],
      device_owner: 'compute:nova',
      device_id: `vm-${p.id.slice(-4)}`,
      admin_state_up: true,
      status: 'DOWN',
      security_groups: [...p.groups],
      port_security_enabled: true,
      allowed_address_pairs: [],
      'binding:host_id': p.host,
      'binding:vif_type': 'tap',
      'binding:vnic_type': 'normal',
      'binding:vif_details': {},
      'netvpp:network': {
        id: net.id,
        network_type: 'vlan',
        physical_network: 'physnet1',
        segmentation_id: net.vlan,
        mtu: net.mtu,
      },
      revision_number: p.rev,
    };
  }

  private row(
    resource: Row['resource'],
    op: Row['op'],
    id: string,
    data: Record<string, unknown> | null,
  ): Row {
    const revision = data ? (data.revision_number as number) : null;
    return { id: ++this.rowId, resource, op, resource_id: id, revision, data };
  }

  private randomRules(self: string): Rule[] {
    const others = [...this.groups.keys()];
    const rules: Rule[] = [];
    for (let i = this.rng.int(0, 3); i > 0; i--) {
      const remote = this.rng.int(0, 2);
      rules.push({
        id: this.nextId(),
        direction: this.rng.pick(['ingress', 'egress'] as const),
        protocol: this.rng.pick(['tcp', 'udp', null] as const),
        port: null,
        remote_group_id:
          remote === 0 ? (others.length ? this.rng.pick(others) : self) : remote === 1 ? self : null,
        remote_ip_prefix: remote === 2 ? `192.168.${this.rng.int(0, 255)}.0/24` : null,
      });
    }
    for (const r of rules) if (r.protocol) r.port = this.rng.int(1, 65535);
    return rules;
  }

  private count(k: ChangeKind): void {
    this.changes.set(k, (this.changes.get(k) ?? 0) + 1);
  }

  /** One random change to the truth, and the row that journals it. */
  change(): Row {
    for (;;) {
      const r = this.tryChange();
      if (r) return r;
    }
  }

  private tryChange(): Row | null {
    const rng = this.rng;
    const nets = [...this.nets.values()];
    const groups = [...this.groups.values()];
    const ports = [...this.ports.values()];
    const what = rng.int(0, 9);
    if (what === 0 || nets.length === 0) {
      if (nets.length >= MAX.nets) return null;
      const n: Net = { id: this.nextId(), rev: 1, mtu: 1500, vlan: 100 + this.counter };
      this.nets.set(n.id, n);
      this.count('network create');
      return this.row('network', 'create', n.id, this.netDict(n));
    }
    if (what === 1) {
      const n = rng.pick(nets);
      if (rng.chance(0.5)) {
        if ([...this.ports.values()].some((p) => p.net === n.id)) return null;
        this.nets.delete(n.id);
        this.count('network delete');
        return this.row('network', 'delete', n.id, null);
      }
      n.rev++;
      n.mtu = rng.pick([1400, 1450, 1500, 9000]);
      this.count('network update');
      return this.row('network', 'update', n.id, this.netDict(n));
    }
    if (what <= 3 || groups.length === 0) {
      if (groups.length === 0 || (rng.chance(0.4) && groups.length < MAX.groups)) {
        const id = this.nextId();
        const g: Group = { id, rev: 1, rules: this.randomRules(id) };
        this.groups.set(id, g);
        this.count('group create');
        return this.row('security_group', 'create', id, this.groupDict(g));
      }
      const g = rng.pick(groups);
      if (rng.chance(0.2)) {
        const used =
          ports.some((p) => p.groups.includes(g.id)) ||
          groups.some((o) => o.id !== g.id && o.rules.some((r) => r.remote_group_id === g.id));
        if (used) return null;
        this.groups.delete(g.id);
        this.count('group delete');
        return this.row('security_group', 'delete', g.id, null);
      }
      g.rev++;
      g.rules = this.randomRules(g.id);
      this.count('group update');
      return this.row('security_group', 'update', g.id, this.groupDict(g));
    }
    if (ports.length === 0 || (rng.chance(0.4) && ports.length < MAX.ports)) {
      const p: Port = {
        id: this.nextId(),
        rev: 1,
        net: rng.pick(nets).id,
        host: rng.pick(this.hosts),
        ip: this.counter,
        mac: this.counter,
        groups: [rng.pick(groups).id],
      };
      this.ports.set(p.id, p);
      this.count('port create');
      return this.row('port', 'create', p.id, this.portDict(p));
    }
    const p = rng.pick(ports);
    if (rng.chance(0.25)) {
      this.ports.delete(p.id);
      this.count('port delete');
      return this.row('port', 'delete', p.id, null);
    }
    p.rev++;
    const how = rng.int(0, 2);
    if (how === 0) p.groups = [...new Set([rng.pick(groups).id, rng.pick(groups).id])];
    else if (how === 1) p.ip = ++this.counter;
    else p.host = rng.pick(this.hosts);
    this.count('port update');
    return this.row('port', 'update', p.id, this.portDict(p));
  }

  /** Neutron's whole state, as a full sync sends it. */
  snapshot(): { networks: unknown[]; ports: unknown[]; security_groups: unknown[] } {
    return {
      networks: [...this.nets.values()].map((n) => this.netDict(n)),
      ports: [...this.ports.values()].map((p) => this.portDict(p)),
      security_groups: [...this.groups.values()].map((g) => this.groupDict(g)),
    };
  }

  get totalChanges(): number {
    let n = 0;
    for (const v of this.changes.values()) n += v;
    return n;
  }
}
