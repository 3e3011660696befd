// GET /v1/ports/events cursors against a real etcd: a client that follows the cursor sees every
// change an agent reports, also when one etcd transaction carries several ports (an agent reports all
// the ports one pass made ready in one transaction, so they share one etcd revision).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import { StateView, type EventsReply, type StateEvent } from '../../src/controller/state.ts';
import { logger } from '../../src/util/log.ts';
import { keys, PREFIX } from '../../src/model/keyspace.ts';
import { uid } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let view: StateView;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  view = new StateView(store, logger('state'));
  await view.start();
});

after(async () => {
  await view?.stop();
  store?.close();
  await etcd?.destroy();
});

const state = (revision: number) =>
  JSON.stringify({ revision, ready: true, error: null, updated_at: new Date().toISOString() });

/** Follows the cursor from `first` until a poll finds nothing new; every event seen on the way. */
/** The port an event is about ('' for router and floating IP events). */
const portId = (e: StateEvent): string => (e.kind === 'port' ? e.port_id : '');

async function follow(first: EventsReply): Promise<StateEvent[]> {
  const seen = [...first.events];
  let cursor = first.cursor;
  for (;;) {
    const r = await view.events(Number(cursor), 0);
    assert.equal(r.resync, false);
    if (r.events.length === 0) return seen;
    seen.push(...r.events);
    cursor = r.cursor;
  }
}

test('a waiting poll gets every port of a transaction, none is skipped by the cursor', async () => {
  const start = await view.events(null, 0);
  const ports = [uid(201), uid(202), uid(203)];
  const poll = view.events(Number(start.cursor), 60_000);
  await store.txnBatch(ports.map((p) => ({ op: 'put', key: keys.portState('hv1', p), value: state(3) })));
  const seen = await follow(await poll);
  assert.deepEqual([...new Set(seen.map(portId))].sort(), ports);
});

test('a client that follows the cursor sees every port while transactions keep landing', async () => {
  // Like the driver's follower: a poll, then the next one from the cursor it got, while an agent
  // writes a few ports per transaction.
  const ports = Array.from({ length: 40 }, (_, i) => uid(300 + i));
  let cursor = (await view.events(null, 0)).cursor;
  let writing = true;
  const seen = new Set<string>();
  const client = (async () => {
    for (;;) {
      const done = !writing;
      const r = await view.events(Number(cursor), 200);
      assert.equal(r.resync, false);
      for (const e of r.events) seen.add(portId(e));
      cursor = r.cursor;
      if (done && r.events.length === 0) return;
    }
  })();
  for (let i = 0; i < ports.length; i += 4) {
    await store.txnBatch(
      ports.slice(i, i + 4).map((p) => ({ op: 'put', key: keys.portState('hv2', p), value: state(1) })),
    );
  }
  writing = false;
  await client;
  assert.deepEqual(
    ports.filter((p) => !seen.has(p)),
    [],
  );
});
