// `netvpp resync [--host H] [--no-wait]`.
//   --host H: the agent on H reads VPP back and goes over everything, retrying failed objects at
//     once (nodes/<H>/resync; the agent's summary on its liveness key says when it is done, and
//     meanwhile how far it is: a progress bar on a terminal).
//   no host: a full sync from Neutron. The sync marker (meta/synced) is deleted, which is what an
//     operator did by hand before: the leading controller then asks the driver for a full sync, and
//     agents hold deletions until it has written a new marker.
// Waits for the result unless --no-wait (at most --timeout seconds).
import { hostname } from 'node:os';
import { decodeValue, encodeValue, keys } from '../model/keyspace.ts';
import type { Store } from '../store/index.ts';
import { progressBar } from '../util/progress.ts';
import { type CliIo, defaultIo, type HostArgs } from './inspect-host.ts';
import { withCluster } from './status.ts';

export interface ResyncArgs extends HostArgs {
  wait: boolean;
  timeoutSec: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(deadline: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(200);
  }
  return undefined;
}

async function hostResync(store: Store, host: string, a: ResyncArgs, io: CliIo): Promise<number> {
  const alive = await store.get(keys.hostAlive(host));
  if (!alive.kv) {
    io.err(
      `netvpp resync: no agent is running on ${host} (no state/${host}/alive); it resyncs when it starts`,
    );
    return 1;
  }
  const at = new Date().toISOString();
  const key = keys.resyncRequest(host);
  await store.put(key, encodeValue(key, { at, by: `netvpp-cli@${hostname()}` }));
  if (!a.wait) {
    io.out(`resync of ${host} requested (${key})`);
    return 0;
  }
  const done = await until(Date.now() + a.timeoutSec * 1000, async () => {
    const kv = (await store.get(keys.hostAlive(host))).kv;
    const v = kv ? decodeValue('hostAlive', kv.value) : null;
    const st = v?.ok ? v.value.status : undefined;
    const r = st?.last_resync;
    if (r && r.reason === 'requested' && r.at >= at) return r;
    // The agent's summary carries its resync's progress (a few seconds old at most).
    if (st?.progress && st.progress.started_at >= at) io.progress?.(progressBar(st.progress));
    return undefined;
  });
  io.progress?.(null);
  if (!done) {
    io.err(`netvpp resync: ${host} did not report the resync within ${a.timeoutSec} s (requested at ${at})`);
    return 1;
  }
  io.out(`resync of ${host} done at ${done.at} (${(done.ms / 1000).toFixed(1)} s)`);
  return 0;
}

async function fullSync(store: Store, a: ResyncArgs, io: CliIo): Promise<number> {
  const leader = await store.get(keys.controllerLeader);
  const { revision } = await store.delete(keys.syncMarker);
  const started = new Date().toISOString();
  io.out(
    `full sync from Neutron requested (${keys.syncMarker} deleted at etcd revision ${revision}); ` +
      'agents hold deletions until the driver has synced',
  );
  if (!leader.kv) io.out('no controller leads now: the sync starts when one is elected');
  if (!a.wait) return 0;
  const marker = await until(Date.now() + a.timeoutSec * 1000, async () => {
    const kv = (await store.get(keys.syncMarker)).kv;
    const m = kv ? decodeValue('syncMarker', kv.value) : null;
    return m?.ok && m.value.at >= started ? m.value : undefined;
  });
  if (!marker) {
    io.err(
      `netvpp resync: no full sync within ${a.timeoutSec} s; is neutron-server running with the netvpp driver? (netvpp status shows the marker)`,
    );
    return 1;
  }
  io.out(
    `full sync done at ${marker.at} by ${marker.controller_id} (${marker.neutron_rows} Neutron resources)`,
  );
  return 0;
}

export function runResync(a: ResyncArgs, io: CliIo = defaultIo): Promise<number> {
  return withCluster('resync', a, io, (store) => {
    // Only the flag names a host: [DEFAULT] host in the file is this node, not a request.
    const host = a.args.flags.host;
    return host ? hostResync(store, host, a, io) : fullSync(store, a, io);
  });
}
