// PLACEHOLDER for the netvpp agent in end-to-end tests, used only until the real agent on the VPP
// simulator can be started by test/e2e/netvpp-stack.ts (see "AGENT STEP" there). It does the two
// things the Neutron side can observe of an agent, through the real etcd keyspace (src/model):
// keeps `state/<host>/alive` on a lease, and for every binding under `nodes/<host>/ports/` (and
// every router and floating IP document under `nodes/<host>/routers/`, `nodes/<host>/floatingips/`)
// reports its state under `state/<host>/` ready at the document's revision (and removes it when the
// document goes).
// It programs nothing: tests of the dataplane (ACLs in VPP) need the real agent.
import { hostCapabilities } from '../../src/agent/capabilities.ts';
import { GROUPS, type GroupAvailability, type GroupName } from '../../src/vpp/groups.ts';
import {
  keys,
  decodeValue,
  PREFIX,
  type HostState,
  type KeyKind,
  type PortState,
} from '../../src/model/keyspace.ts';
import {
  keepLeaseKey,
  openStore,
  watchPrefixes,
  type LeaseKey,
  type PrefixWatcher,
  type Store,
} from '../../src/store/index.ts';

export interface AgentStandInOptions {
  etcdEndpoints: string[];
  host: string;
  physnets: string[];
  vtep?: string;
  /** Message groups its (imagined) VPP lacks: it offers what the real agent would without them. */
  withoutGroups?: GroupName[];
}

export class AgentStandIn {
  private alive: LeaseKey | undefined;
  private watcher: PrefixWatcher | undefined;
  /** Its own etcd client, as a separate agent process would have. */
  private readonly store: Store;
  private stopped = false;

  constructor(private readonly o: AgentStandInOptions) {
    this.store = openStore({ endpoints: o.etcdEndpoints, namespace: PREFIX });
  }

  get host(): string {
    return this.o.host;
  }

  async start(): Promise<void> {
    const caps = hostCapabilities(
      Object.fromEntries(
        GROUPS.map((g) => [
          g.name,
          { available: !(this.o.withoutGroups ?? []).includes(g.name as GroupName), required: g.required },
        ]),
      ) as GroupAvailability,
      'tap',
    );
    const state: HostState = {
      host: this.o.host,
      physnets: this.o.physnets,
      network_types: this.o.vtep ? ['flat', 'vlan', 'vxlan'] : ['flat', 'vlan'],
      ...(this.o.vtep ? { vtep: this.o.vtep } : {}),
      vif_types: caps.vif_types,
      features: caps.features,
      agent_version: 'e2e-standin',
      vpp: { connected: true, version: null },
      started_at: new Date().toISOString(),
    };
    this.alive = keepLeaseKey(this.store, {
      key: keys.hostAlive(this.o.host),
      value: JSON.stringify(state),
      ttlSec: 5,
    });
    await this.alive.ready;
    // desired-state prefix → [its value's kind, where the state goes]
    const kinds: [string, KeyKind, (id: string) => string][] = [
      [keys.hostPortBindings(this.o.host), 'portBinding', (id) => keys.portState(this.o.host, id)],
      [keys.hostRouters(this.o.host), 'router', (id) => keys.routerState(this.o.host, id)],
      [keys.hostFloatingIps(this.o.host), 'floatingIp', (id) => keys.floatingIpState(this.o.host, id)],
    ];
    const route = (key: string) => {
      const k = kinds.find(([prefix]) => key.startsWith(prefix));
      return k ? { kind: k[1], stateKey: k[2](key.slice(k[0].length)) } : undefined;
    };
    this.watcher = watchPrefixes(this.store, {
      prefixes: kinds.map(([prefix]) => prefix),
      onEvent: async (ev) => {
        if (ev.type === 'put') await this.report(route(ev.key), ev.value);
        else if (ev.type === 'delete') await this.forget(route(ev.key));
        else if (ev.type === 'resync') {
          for (const kv of ev.changed) await this.report(route(kv.key), kv.value);
          for (const key of ev.removed) await this.forget(route(key));
        }
      },
    });
    await this.watcher.ready;
  }

  private async report(to: { kind: KeyKind; stateKey: string } | undefined, raw: string): Promise<void> {
    if (!to) return;
    const b = decodeValue(to.kind, raw);
    const revision = b.ok ? (b.value as { revision?: unknown }).revision : undefined;
    const value: PortState =
      b.ok && typeof revision === 'number'
        ? { revision, ready: true, error: null, updated_at: new Date().toISOString() }
        : {
            revision: null,
            ready: false,
            error: b.ok ? 'no revision' : (b.errors[0]?.message ?? 'bad value'),
            updated_at: new Date().toISOString(),
          };
    await this.store.put(to.stateKey, JSON.stringify(value));
  }

  private async forget(to: { stateKey: string } | undefined): Promise<void> {
    if (to) await this.store.delete(to.stateKey);
  }

  /** Like an agent that dies: its liveness key goes away with its lease. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.watcher?.close();
    await this.alive?.close();
    this.store.close();
  }
}
