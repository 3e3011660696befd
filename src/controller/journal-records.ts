// The records of etcd a journal batch consults (its resources' own, and those they point at: a
// port's network, a floating IP's router, a tap flow's tap service), and whether the batch has rows
// that touch many records (a network's MTU reaches its ports; a router's move takes its floating IPs).
import { keys, type NeutronKind, NEUTRON_KINDS, parseKey } from '../model/keyspace.ts';

export interface WantedRecords {
  wanted: string[];
  networkRows: boolean;
  routerRows: boolean;
}

export function recordsWanted(rows: unknown[]): WantedRecords {
  const wanted: string[] = [];
  let networkRows = false;
  let routerRows = false;
  // The records the rows will consult (ids as translate.ts normalises them: lower case).
  const recordKey = (kind: NeutronKind, id: unknown): string | null => {
    if (typeof id !== 'string') return null;
    const key = `${keys.neutronKind(kind)}${id.toLowerCase()}`;
    return parseKey(key) ? key : null;
  };
  for (const raw of rows) {
    const r = raw as { resource?: unknown; resource_id?: unknown; data?: unknown };
    if (!(NEUTRON_KINDS as string[]).includes(r.resource as string)) continue;
    const kind = r.resource as NeutronKind;
    const own = recordKey(kind, r.resource_id);
    if (own) wanted.push(own);
    if (kind === 'network') networkRows = true;
    if (kind === 'router') routerRows = true;
    const net =
      kind === 'port' && recordKey('network', (r.data as { network_id?: unknown } | null)?.network_id);
    if (net) wanted.push(net);
    // A floating IP goes to the host of its router's record.
    const router =
      kind === 'floatingip' && recordKey('router', (r.data as { router_id?: unknown } | null)?.router_id);
    if (router) wanted.push(router);
    // A tap flow reads its tap service's ERSPAN setting.
    const service =
      kind === 'tap_flow' &&
      recordKey('tap_service', (r.data as { tap_service_id?: unknown } | null)?.tap_service_id);
    if (service) wanted.push(service);
  }
  return { wanted, networkRows, routerRows };
}
