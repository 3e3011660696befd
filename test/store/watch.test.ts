import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdProcess } from '../../src/store/etcd-process.ts';
import { openStore, type Store } from '../../src/store/client.ts';
import { watchPrefixes, type PrefixWatcher, type WatchEvent } from '../../src/store/watch.ts';
import { startProxy } from './helpers/tcp-proxy.ts';
import { waitFor } from './helpers/wait.ts';

const quiet = () => undefined;

/** Records events, and keeps a mirror map built from them the way a consumer would. */
function recorder() {
  const events: WatchEvent[] = [];
  const mirror = new Map<string, string>();
  const onEvent = (ev: WatchEvent) => {
    events.push(ev);
    if (ev.type === 'put') mirror.set(ev.key, ev.value);
    if (ev.type === 'delete') mirror.delete(ev.key);
    if (ev.type === 'resync') {
      mirror.clear();
      for (const kv of ev.kvs) mirror.set(kv.key, kv.value);
    }
  };
  const of = <T extends WatchEvent['type']>(t: T) =>
    events.filter((e): e is Extract<WatchEvent, { type: T }> => e.type === t);
  return { events, mirror, onEvent, of };
}

describe('watchPrefixes', () => {
  let etcd: EtcdProcess;
  const stores: Store[] = [];
  const watchers: PrefixWatcher[] = [];
  const open = (endpoints = etcd.endpoints, namespace = '/t/') => {
    const s = openStore({ endpoints, namespace, requestTimeoutMs: 2000 });
    stores.push(s);
    return s;
  };
  const watch = (store: Store, prefixes: string[], onEvent: (ev: WatchEvent) => void) => {
    const w = watchPrefixes(store, { prefixes, onEvent, log: quiet, retryMaxMs: 500 });
    watchers.push(w);
    return w;
  };

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    for (const w of watchers) await w.close();
    for (const s of stores) s.close();
    await etcd.destroy();
  });

  it('lists, then delivers puts and deletes in revision order, only for its prefixes', async () => {
    const s = open();
    await s.put('a/1', 'one');
    await s.put('b/1', 'other prefix');
    const r = recorder();
    const w = watch(s, ['a/', 'c/'], r.onEvent);
    await w.ready;
    const [initial] = r.of('resync');
    assert.equal(initial.reason, 'initial');
    assert.deepEqual(
      initial.kvs.map((kv) => [kv.key, kv.value]),
      [['a/1', 'one']],
    );
    for (let i = 0; i < 20; i++) await s.put(`a/${i % 3}`, `v${i}`);
    await s.put('b/2', 'ignored');
    await s.put('c/x', 'cx');
    await s.delete('a/1');
    await waitFor('the delete', () => r.of('delete').length === 1);
    const changes = r.events.filter((e) => e.type === 'put' || e.type === 'delete');
    assert.equal(changes.length, 22);
    // Revision order holds per prefix (etcd runs one watch per prefix; across them, use modRevision).
    for (const prefix of ['a/', 'c/']) {
      const revs = changes.filter((e) => e.prefix === prefix).map((e) => e.modRevision);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
    }
    assert.ok(!changes.some((e) => e.key.startsWith('b/')));
    assert.equal(r.of('put').find((e) => e.key === 'c/x')?.prefix, 'c/');
    assert.deepEqual([...r.mirror.entries()].sort(), [
      ['a/0', 'v18'],
      ['a/2', 'v17'],
      ['c/x', 'cx'],
    ]);
  });

  it('keeps going after a handler throws', async () => {
    const s = open(etcd.endpoints, '/throw/');
    const seen: string[] = [];
    const errors: string[] = [];
    const w = watchPrefixes(s, {
      prefixes: ['k/'],
      log: (msg) => errors.push(msg),
      onEvent: async (ev) => {
        if (ev.type !== 'put') return;
        if (ev.value === 'poison') throw new Error('bad value');
        seen.push(ev.value);
      },
    });
    watchers.push(w);
    await w.ready;
    await s.put('k/1', 'before');
    await s.put('k/2', 'poison');
    await s.put('k/3', 'after');
    await waitFor('event after the poison one', () => seen.includes('after'));
    assert.deepEqual(seen, ['before', 'after']);
    assert.ok(errors.some((m) => m.includes('k/2')));
  });

  it('resumes after an etcd restart without losing or repeating events', async () => {
    const s = open(etcd.endpoints, '/restart/');
    const writer = open(etcd.endpoints, '/restart/');
    const r = recorder();
    const w = watch(s, ['p/'], r.onEvent);
    await w.ready;
    for (let i = 0; i < 5; i++) await writer.put(`p/${i}`, 'before');
    await waitFor('puts before the restart', () => r.of('put').length === 5);
    await etcd.stop();
    await waitFor('disconnected event', () =>
      r.events.some((e) => e.type === 'connection' && e.state === 'disconnected'),
    );
    await etcd.restart();
    // Written while the watcher may still be reconnecting: it must catch up from its last revision.
    for (let i = 0; i < 10; i++) await writer.put(`p/${i}`, 'after');
    await writer.delete('p/0');
    await waitFor('all events after the restart', () => r.of('delete').length === 1);
    assert.equal(r.of('resync').length, 1, 'no re-list was needed');
    const puts = r.of('put');
    assert.equal(puts.length, 15);
    assert.equal(new Set(puts.map((p) => p.modRevision)).size, 15, 'no event delivered twice');
    assert.deepEqual(
      puts.slice(5).map((p) => p.key),
      Array.from({ length: 10 }, (_, i) => `p/${i}`),
    );
    const conn = r.of('connection').map((e) => e.state);
    assert.deepEqual(conn.slice(-2), ['disconnected', 'connected']);
    assert.ok(w.connected);
  });

  it('re-lists with a correct resync after history was compacted while it was cut off', async () => {
    const proxy = await startProxy(etcd.endpoints[0]);
    const s = open([proxy.url], '/compact/');
    const writer = open(etcd.endpoints, '/compact/');
    await writer.put('k/stays', 'same');
    await writer.put('k/goes', 'x');
    await writer.put('k/changes', 'old');
    const r = recorder();
    const w = watch(s, ['k/'], r.onEvent);
    await w.ready;
    proxy.cut();
    await waitFor('disconnected', () => !w.connected);
    await writer.delete('k/goes');
    await writer.put('k/changes', 'new');
    await writer.put('k/new', 'n');
    await writer.compact(await writer.revision());
    proxy.heal();
    await waitFor('second resync', () => r.of('resync').length === 2);
    const resync = r.of('resync')[1];
    assert.equal(resync.reason, 'compacted');
    assert.deepEqual(resync.removed, ['k/goes']);
    assert.deepEqual(resync.changed.map((kv) => kv.key).sort(), ['k/changes', 'k/new']);
    assert.deepEqual([...r.mirror.entries()].sort(), [
      ['k/changes', 'new'],
      ['k/new', 'n'],
      ['k/stays', 'same'],
    ]);
    // And it keeps watching after the re-list.
    await writer.put('k/later', 'l');
    await waitFor('put after resync', () => r.mirror.get('k/later') === 'l');
    await proxy.close();
  });

  it('re-lists when etcd came back without its data', async (t) => {
    const own = await startEtcd();
    const s = openStore({ endpoints: own.endpoints });
    const r = recorder();
    const w = watchPrefixes(s, { prefixes: ['x/'], onEvent: r.onEvent, log: quiet, retryMaxMs: 500 });
    t.after(async () => {
      await w.close();
      s.close();
      await own.destroy();
    });
    await w.ready;
    for (let i = 0; i < 5; i++) await s.put(`x/${i}`, 'v');
    await waitFor('puts', () => r.of('put').length === 5);
    await own.restart({ wipeData: true });
    await waitFor('reset resync', () => r.of('resync').length === 2);
    assert.equal(r.of('resync')[1].reason, 'reset');
    assert.deepEqual(r.of('resync')[1].removed.sort(), ['x/0', 'x/1', 'x/2', 'x/3', 'x/4']);
    assert.equal(r.mirror.size, 0);
    await s.put('x/new', 'n');
    await waitFor('put after reset', () => r.mirror.get('x/new') === 'n');
  });

  it('waits for an etcd that is down at start', async (t) => {
    const own = await startEtcd();
    await own.stop();
    const s = openStore({ endpoints: own.endpoints, requestTimeoutMs: 1000 });
    const r = recorder();
    const w = watchPrefixes(s, { prefixes: ['late/'], onEvent: r.onEvent, log: quiet, retryMaxMs: 300 });
    t.after(async () => {
      await w.close();
      s.close();
      await own.destroy();
    });
    await waitFor('disconnected event', () => r.of('connection').some((e) => e.state === 'disconnected'));
    await own.restart();
    await s.put('late/k', 'v');
    await w.ready;
    await waitFor('the put', () => r.mirror.get('late/k') === 'v');
    assert.equal(r.of('resync').length, 1);
  });

  it('rejects overlapping prefixes', () => {
    assert.throws(() => watchPrefixes(open(), { prefixes: ['a/', 'a/b/'], onEvent: quiet }), /overlap/);
  });
});
