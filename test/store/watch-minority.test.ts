// A watch served by an etcd member that gets cut off from the other two (a minority of one) must
// not stay open and silent: etcd ends it for want of a leader (the watch asks for `hasleader`), and
// the watcher resumes on a member of the majority, missing nothing. Found by the chaos harness
// (`etcd member isolated`, docs/chaos.md); without the requirement the watcher heard nothing more.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, watchPrefixes, type Store, type WatchEvent } from '../../src/store/index.ts';
import { EtcdCluster } from '../chaos/etcd-cluster.ts';
import { TcpProxy } from '../chaos/proxy.ts';
import { waitFor } from './helpers/wait.ts';

let cluster: EtcdCluster;
const proxies: TcpProxy[] = [];
const stores: Store[] = [];

before(async () => {
  cluster = await EtcdCluster.start(3);
});

after(async () => {
  for (const s of stores) s.close();
  for (const p of proxies) await p.close();
  await cluster?.stop();
});

test('a watch on a member cut off from the quorum moves to the majority and misses nothing', async () => {
  const [m0, m1, m2] = cluster.endpoints;
  // The watcher may use m0 or m1; m1 is out of reach at first, so its watch starts on m0.
  const toM0 = await TcpProxy.start(m0);
  const toM1 = await TcpProxy.start(m1);
  proxies.push(toM0, toM1);
  toM1.cut();
  const store = openStore({ endpoints: [toM0.url, toM1.url], namespace: '/t/', requestTimeoutMs: 2000 });
  const writer = openStore({ endpoints: [m1, m2], namespace: '/t/' });
  stores.push(store, writer);
  const seen = new Map<string, string>();
  const w = watchPrefixes(store, {
    prefixes: ['w/'],
    log: () => {},
    retryMaxMs: 500,
    onEvent: (ev: WatchEvent) => {
      if (ev.type === 'put') seen.set(ev.key, ev.value);
      if (ev.type === 'resync') for (const kv of ev.kvs) seen.set(kv.key, kv.value);
    },
  });
  await w.ready;
  await writer.put('w/before', '1');
  await waitFor('the event before the cut', () => seen.has('w/before'), 20_000);

  toM1.restore();
  cluster.isolate(0);
  try {
    await writer.put('w/during', '2');
    await waitFor('the event written by the majority', () => seen.get('w/during') === '2', 30_000);
  } finally {
    cluster.rejoin(0);
  }
  await writer.put('w/after', '3');
  await waitFor('the event after the cut healed', () => seen.get('w/after') === '3', 30_000);
  assert.deepEqual([...seen.keys()].sort(), ['w/after', 'w/before', 'w/during']);
  await w.close();
});
