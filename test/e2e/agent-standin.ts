// PLACEHOLDER for the netvpp agent in end-to-end tests, used only until the real agent on the VPP
// simulator can be started by test/e2e/netvpp-stack.ts (see "AGENT STEP" there). It does the two
// things the Neutron side can observe of an agent, through the real etcd keyspace (src/model):
// keeps `state/<host>/alive` on a lease, and for every binding under `nodes/<host>/ports/` reports
// `state/<host>/ports/<port>` ready at the binding's revision (and removes it when the binding goes).
// It programs nothing: tests of the dataplane (ACLs in VPP) need the real agent.
import { hostCapabilities } from '../../src/agent/capabilities.ts';
import { GROUPS, type GroupAvailability, type GroupName } from '../../src/vpp/groups.ts';
import { keys, decodeValue, PREFIX, type HostState, type PortState } from '../../src/model/keyspace.ts';
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
    const state: HostState = {
      host: this.o.host,
      physnets: this.o.physnets,
      network_types: this.o.vtep ? ['flat', 'vlan', 'vxlan'] : ['flat', 'vlan'],
      ...(this.o.vtep ? { vtep: this.o.vtep } : {}),
      vif_types: hostCapabilities(
        Object.fromEntries(
          GROUPS.map((g) => [
            g.name,
            { available: !(this.o.withoutGroups ?? []).includes(g.name as GroupName), required: g.required },
          ]),
        ) as GroupAvailability,
        'tap',
      ).vif_types,
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
    const prefix = keys.hostPortBindings(this.o.host);
    this.watcher = watchPrefixes(this.store, {
      prefixes: [prefix],
      onEvent: async (ev) => {
        if (ev.type === 'put') await this.report(ev.key.slice(prefix.length), ev.value);
        else if (ev.type === 'delete') await this.forget(ev.key.slice(prefix.length));
        else if (ev.type === 'resync') {
          for (const kv of ev.changed) await this.report(kv.key.slice(prefix.length), kv.value);
          for (const key of ev.removed) await this.forget(key.slice(prefix.length));
        }
      },
    });
    await this.watcher.ready;
  }

  private async report(portId: string, raw: string): Promise<void> {
    const b = decodeValue('portBinding', raw);
    const value: PortState = b.ok
      ? { revision: b.value.revision, ready: true, error: null, updated_at: new Date().toISOString() }
      : {
          revision: null,
          ready: false,
          error: b.errors[0]?.message ?? 'bad binding',
          updated_at: new Date().toISOString(),
        };
    await this.store.put(keys.portState(this.o.host, portId), JSON.stringify(value));
  }

  private async forget(portId: string): Promise<void> {
    await this.store.delete(keys.portState(this.o.host, portId));
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
