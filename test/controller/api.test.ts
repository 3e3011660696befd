// The controller's REST API against a real etcd: journal intake, hosts, port events, full sync.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, startEtcd, type EtcdProcess, type Store } from '../../src/store/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { StateView } from '../../src/controller/state.ts';
import { Intake } from '../../src/controller/intake.ts';
import { UnavailableError } from '../../src/controller/errors.ts';
import { logger } from '../../src/util/log.ts';
import { keys, PREFIX, type PortBinding, type SecurityGroup } from '../../src/model/keyspace.ts';
import { call, ready, startController, waitFor } from './helpers.ts';
import { neutronPort, portRow, row, SG1, SG2, sgDict, sgRule, uid, NET } from './fixtures.ts';

let etcd: EtcdProcess;
let store: Store;
let ctl: Controller;

before(async () => {
  etcd = await startEtcd();
  store = openStore({ endpoints: etcd.endpoints, namespace: PREFIX });
  // Syncs here delete freely: the safety valve has its own tests (valve.test.ts).
  ctl = await startController(etcd.endpoints, { id: 'api', syncDeleteLimit: 1 });
  await ready(ctl);
});

after(async () => {
  await ctl?.stop();
  store?.close();
  await etcd?.destroy();
});

async function value<T>(key: string): Promise<T | undefined> {
  const { kv } = await store.get(key);
  return kv ? (JSON.parse(kv.value) as T) : undefined;
}

const journal = (rows: unknown[]) => call(ctl.url, 'POST', '/v1/journal', { rows });

test('health reports a connected leader (on a fresh etcd: one that needs a full sync)', async () => {
  const h = await call(ctl.url, 'GET', '/v1/health');
  assert.deepEqual(h, {
    status: 200,
    body: {
      status: 'ok',
      leader: true,
      etcd: 'connected',
      sync_needed: true,
      driver_journal: null,
      full_sync: null,
    },
  });
});

test('journal rows become keys in etcd; the reply lists every row', async () => {
  const port = uid(101);
  const rows = [
    row('security_group', 'create', sgDict(SG1, 1, [sgRule(1), sgRule(2, { remote_group_id: SG1 })])),
    portRow({ id: port, revision_number: 1, allowed_address_pairs: [{ ip_address: '10.1.0.0/16' }] }),
  ];
  const r = await journal(rows);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { done: rows.map((x) => x.id), rejected: [], sync_needed: true });
  const b = await value<PortBinding>(keys.portBinding('compute1', port));
  assert.equal(b?.port_id, port);
  assert.equal(b?.vif_type, 'vhostuser');
  const sg = await value<SecurityGroup>(keys.secGroup(SG1));
  assert.equal(sg?.rules.length, 2);
  assert.deepEqual(await value(keys.remoteGroupMember(SG1, port)), {
    ips: ['10.0.0.5', '10.1.0.0/16'],
    revision: 1,
  });
});

test('replaying rows already applied changes nothing in etcd', async () => {
  const port = uid(102);
  const rows = [
    portRow({ id: port, revision_number: 3 }),
    row('security_group', 'update', sgDict(SG2, 2, [sgRule(3)])),
  ];
  assert.equal((await journal(rows)).status, 200);
  const before = await store.revision();
  const again = await journal(rows);
  assert.equal(again.status, 200);
  assert.deepEqual(
    again.body.done,
    rows.map((x) => x.id),
  );
  assert.equal(await store.revision(), before, 'no write at all for a replay');
});

test('an older revision of a port does not overwrite the newer one', async () => {
  const port = uid(103);
  await journal([portRow({ id: port, revision_number: 5, 'binding:host_id': 'compute2' })]);
  const r = await journal([portRow({ id: port, revision_number: 4, 'binding:host_id': 'compute1' })]);
  assert.equal(r.status, 200);
  assert.equal(r.body.rejected instanceof Array && r.body.rejected.length, 0);
  assert.ok(await value(keys.portBinding('compute2', port)));
  assert.equal(await value(keys.portBinding('compute1', port)), undefined);
});

test('a moved, then deleted port leaves no key behind', async () => {
  const port = uid(104);
  await journal([portRow({ id: port, revision_number: 1 })]);
  await journal([portRow({ id: port, revision_number: 2, 'binding:host_id': 'compute3' })]);
  assert.equal(await value(keys.portBinding('compute1', port)), undefined);
  assert.ok(await value(keys.portBinding('compute3', port)));
  await journal([row('port', 'delete', null, 2, port)]);
  assert.equal(await value(keys.portBinding('compute3', port)), undefined);
  assert.equal(await value(keys.remoteGroupMember(SG1, port)), undefined);
});

test('a bad row is rejected with its reason and the rows around it are applied', async () => {
  const good1 = uid(105);
  const good2 = uid(106);
  const rows = [
    portRow({ id: good1, revision_number: 1 }),
    row('port', 'update', { ...neutronPort({ id: uid(107) }), mac_address: 'not-a-mac' }, 1),
    portRow({ id: good2, revision_number: 1 }),
  ];
  const r = await journal(rows);
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.body.done,
    rows.map((x) => x.id),
  );
  const rejected = r.body.rejected as { id: number; error: string }[];
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].id, rows[1].id);
  assert.match(rejected[0].error, /mac_address: expected a MAC address/);
  assert.ok(await value(keys.portBinding('compute1', good1)));
  assert.ok(await value(keys.portBinding('compute1', good2)));
});

test('malformed requests get 400/404/405 with an error message', async () => {
  const notJson = await call(ctl.url, 'POST', '/v1/journal', '{rows:');
  assert.equal(notJson.status, 400);
  assert.match(notJson.body.error ?? '', /not JSON/);
  const noRows = await call(ctl.url, 'POST', '/v1/journal', { foo: 1 });
  assert.equal(noRows.status, 400);
  assert.match(noRows.body.error ?? '', /\{"rows": \[\.\.\.\]\}/);
  const noId = await call(ctl.url, 'POST', '/v1/journal', { rows: [{ resource: 'port' }] });
  assert.match(noId.body.error ?? '', /rows\[0\] has no numeric "id"/);
  assert.equal((await call(ctl.url, 'GET', '/v1/nothing')).status, 404);
  assert.equal((await call(ctl.url, 'GET', '/v1/journal')).status, 405);
  const badSync = await call(ctl.url, 'POST', '/v1/sync', { ports: [] });
  assert.equal(badSync.status, 400);
  assert.match(badSync.body.error ?? '', /"networks"/);
});

function hostState(host: string, physnets: string[]) {
  return {
    host,
    physnets,
    network_types: ['flat', 'vlan'],
    vif_types: ['vhostuser', 'tap'],
    agent_version: '0.1.0',
    vpp: { connected: true, version: '26.06' },
    started_at: new Date().toISOString(),
  };
}

test('hosts come from the agents’ liveness keys, and go with them', async () => {
  await store.put(keys.hostAlive('hv1'), JSON.stringify(hostState('hv1', ['physnet1'])));
  await store.put(keys.hostAlive('hv2'), '{"host": 3}');
  await waitFor(
    'two hosts',
    async () => ((await call(ctl.url, 'GET', '/v1/hosts')).body as unknown as unknown[]).length === 2,
  );
  const list = (await call(ctl.url, 'GET', '/v1/hosts')).body as unknown as Record<string, unknown>[];
  assert.equal(list[0].host, 'hv1');
  assert.deepEqual(list[0].physnets, ['physnet1']);
  assert.equal(list[0].alive, true);
  assert.equal(list[1].host, 'hv2');
  assert.match(
    list[1].error as string,
    /invalid liveness value: host: expected a string, got number 3; physnets: missing/,
  );
  assert.deepEqual(list[1].physnets, [], 'a host with a bad value offers nothing to bind to');
  const one = await call(ctl.url, 'GET', '/v1/hosts/hv1');
  assert.equal(one.status, 200);
  assert.equal(one.body.host, 'hv1');

  await store.delete(keys.hostAlive('hv1'));
  await store.delete(keys.hostAlive('hv2'));
  await waitFor('hv1 gone', async () => (await call(ctl.url, 'GET', '/v1/hosts/hv1')).status === 404);
  assert.match((await call(ctl.url, 'GET', '/v1/hosts/hv1')).body.error ?? '', /no live agent on host "hv1"/);
});

function portState(revision: number, ready: boolean, error: string | null = null) {
  return JSON.stringify({ revision, ready, error, updated_at: new Date().toISOString() });
}

test('port events: full state first, then a long poll returns what an agent reports', async () => {
  const p1 = uid(110);
  const p2 = uid(111);
  await store.put(keys.portState('hv1', p1), portState(1, true));
  await waitFor('first state seen', async () => {
    const r = await call(ctl.url, 'GET', '/v1/ports/events?timeout=0');
    return (r.body.events as { port_id: string }[]).some((e) => e.port_id === p1);
  });
  const first = await call(ctl.url, 'GET', '/v1/ports/events?timeout=0');
  assert.equal(first.body.resync, true);
  const cursor = first.body.cursor as string;

  // A poll with the cursor waits; the agent's write ends it.
  const poll = call(ctl.url, 'GET', `/v1/ports/events?since=${cursor}&timeout=60`);
  await store.put(keys.portState('hv1', p2), portState(4, false, 'ACL rejected by VPP'));
  const got = await poll;
  assert.equal(got.status, 200);
  assert.equal(got.body.resync, false);
  assert.deepEqual(got.body.events, [
    { kind: 'port', port_id: p2, host: 'hv1', revision: 4, ready: false, error: 'ACL rejected by VPP' },
  ]);
  assert.ok(Number(got.body.cursor) > Number(cursor));

  // Nothing new: an empty answer after the timeout, same cursor.
  const idle = await call(ctl.url, 'GET', `/v1/ports/events?since=${got.body.cursor as string}&timeout=0`);
  assert.deepEqual(idle.body, { cursor: got.body.cursor, events: [], resync: false });

  // Removal (port unbound on that host) is an event too.
  await store.delete(keys.portState('hv1', p1));
  const gone = await call(ctl.url, 'GET', `/v1/ports/events?since=${got.body.cursor as string}&timeout=60`);
  assert.deepEqual(gone.body.events, [
    { kind: 'port', port_id: p1, host: 'hv1', revision: null, ready: false, error: null, deleted: true },
  ]);
});

test('router and floating IP states ride the same stream (/v1/events), each named by its kind', async () => {
  const router = uid(120);
  const fip = uid(121);
  const start = await call(ctl.url, 'GET', '/v1/events?timeout=0');
  const cursor = start.body.cursor as string;
  await store.put(keys.routerState('net1', router), portState(3, true));
  await store.put(keys.floatingIpState('net1', fip), portState(5, false, 'no NAT plugin'));
  // A malformed agent value is an error on that object, not a broken stream.
  await store.put(keys.floatingIpState('net1', uid(122)), '{"ready": "yes"}');
  let seen: Record<string, unknown>[] = [];
  await waitFor('the three states', async () => {
    const r = await call(ctl.url, 'GET', `/v1/events?since=${cursor}&timeout=5`);
    seen = r.body.events as Record<string, unknown>[];
    return seen.length === 3;
  });
  assert.deepEqual(seen.slice(0, 2), [
    { kind: 'router', router_id: router, host: 'net1', revision: 3, ready: true, error: null },
    {
      kind: 'floatingip',
      floatingip_id: fip,
      host: 'net1',
      revision: 5,
      ready: false,
      error: 'no NAT plugin',
    },
  ]);
  assert.equal(seen[2].floatingip_id, uid(122));
  assert.match(seen[2].error as string, /invalid floating IP state value/);
  // The full replay has them too.
  const full = await call(ctl.url, 'GET', '/v1/ports/events?timeout=0');
  const kinds = (full.body.events as Record<string, unknown>[]).filter((e) => e.host === 'net1');
  assert.deepEqual(kinds.map((e) => e.kind).sort(), ['floatingip', 'floatingip', 'router']);
});

test('port events: a cursor older than what an instance knows gets the full state', async () => {
  // Another instance (a follower the driver switched to) started after the cursor was handed out.
  const p = uid(112);
  await store.put(keys.portState('hv2', p), portState(2, true));
  const other = await startController(etcd.endpoints, { id: 'late' });
  try {
    await waitFor(
      'the follower to load agent state',
      async () => (await call(other.url, 'GET', '/v1/health')).status === 200,
    );
    const r = await call(other.url, 'GET', '/v1/ports/events?since=1&timeout=0');
    assert.equal(r.status, 200);
    assert.equal(r.body.resync, true);
    assert.ok((r.body.events as { port_id: string }[]).some((e) => e.port_id === p));
    assert.equal((await call(other.url, 'GET', '/v1/ports/events?since=abc')).status, 400);
  } finally {
    await other.stop();
  }
});

test('port events: when more changes happened than the log keeps, an old cursor gets the full state', async () => {
  const view = new StateView(store, logger('state-small'), 2);
  await view.start();
  try {
    const start = await view.events(null, 0);
    for (let i = 0; i < 4; i++) await store.put(keys.portState('hv3', uid(140 + i)), portState(1, true));
    await waitFor('the four changes', async () => (await view.events(Number(start.cursor), 0)).resync);
    const r = await view.events(Number(start.cursor), 0);
    assert.equal(r.resync, true);
    for (let i = 0; i < 4; i++)
      assert.ok(r.events.some((e) => e.kind === 'port' && e.port_id === uid(140 + i)));
    // A recent cursor still gets just the changes after it.
    await store.put(keys.portState('hv3', uid(150)), portState(1, true));
    const recent = await view.events(Number(r.cursor), 60_000);
    assert.equal(recent.resync, false);
    assert.deepEqual(
      recent.events.map((e) => (e.kind === 'port' ? e.port_id : e.kind)),
      [uid(150)],
    );
  } finally {
    await view.stop();
  }
});

test('full sync makes etcd match Neutron: removes what Neutron lacks, repairs drift', async () => {
  const keep = uid(120);
  const drop = uid(121);
  await journal([
    portRow({ id: keep, revision_number: 1 }),
    portRow({ id: drop, revision_number: 1, 'binding:host_id': 'compute9' }),
    row('security_group', 'create', sgDict(uid(122), 1, [sgRule(9)])),
  ]);
  // Someone damages the keyspace behind the controller's back.
  await store.put(keys.portBinding('ghost', uid(123)), '{"left": "over"}');
  await store.delete(keys.remoteGroupMember(SG1, keep));
  await store.put(keys.portBinding('compute1', keep), '{"tampered": true}');

  const r = await call(ctl.url, 'POST', '/v1/sync', {
    networks: [{ id: NET, mtu: 1500, revision_number: 1 }],
    ports: [neutronPort({ id: keep, revision_number: 1 }), { id: uid(124), mac_address: 'bad' }],
    security_groups: [
      sgDict(SG1, 1, [sgRule(1), sgRule(2, { remote_group_id: SG1 })]),
      sgDict(SG2, 2, [sgRule(3)]),
    ],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rejected = r.body.rejected as { resource: string; id: string; error: string }[];
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].id, uid(124));

  assert.equal((await value<PortBinding>(keys.portBinding('compute1', keep)))?.port_id, keep, 'repaired');
  assert.deepEqual(
    await value(keys.remoteGroupMember(SG1, keep)),
    { ips: ['10.0.0.5'], revision: 1 },
    'restored',
  );
  assert.equal(await value(keys.portBinding('ghost', uid(123))), undefined, 'orphan removed');
  assert.equal(await value(keys.portBinding('compute9', drop)), undefined, 'port Neutron lacks removed');
  assert.equal(await value(keys.secGroup(uid(122))), undefined, 'group Neutron lacks removed');
  // Everything else the earlier tests made and Neutron no longer lists is gone too.
  const { kvs } = await store.getPrefix(keys.nodes);
  assert.deepEqual(
    kvs.map((kv) => kv.key),
    [keys.portBinding('compute1', keep)],
  );

  // A second identical sync has nothing to do.
  const before = await store.revision();
  const again = await call(ctl.url, 'POST', '/v1/sync', {
    networks: [{ id: NET, mtu: 1500, revision_number: 1 }],
    ports: [neutronPort({ id: keep, revision_number: 1 })],
    security_groups: [
      sgDict(SG1, 1, [sgRule(1), sgRule(2, { remote_group_id: SG1 })]),
      sgDict(SG2, 2, [sgRule(3)]),
    ],
  });
  assert.deepEqual(again.body, { rejected: [], written: 0, deleted: 0, kept: 0 });
  assert.equal(await store.revision(), before);
});

test('full sync and routers: a driver without router lists leaves them; a router and floating IP Neutron lacks go', async () => {
  const router = uid(160);
  const fip = uid(161);
  const r = await journal([
    row('router', 'create', {
      id: router,
      admin_state_up: true,
      revision_number: 2,
      external_gateway_info: null,
      routes: [{ destination: '10.9.0.0/16', nexthop: '10.0.0.9' }],
      'netvpp:host': 'net1',
    }),
    row('floatingip', 'create', {
      id: fip,
      floating_ip_address: '203.0.113.7',
      router_id: router,
      port_id: uid(162),
      fixed_ip_address: '10.0.0.5',
      revision_number: 1,
    }),
  ]);
  assert.deepEqual(r.body.rejected, []);
  assert.deepEqual(((await value(keys.router('net1', router))) as { routes: unknown })?.routes, [
    { destination: '10.9.0.0/16', nexthops: ['10.0.0.9'] },
  ]);
  assert.equal((await value<{ fixed_ip: string }>(keys.floatingIp('net1', fip)))?.fixed_ip, '10.0.0.5');
  const base = {
    networks: [{ id: NET, mtu: 1500, revision_number: 1 }],
    ports: [neutronPort({ id: uid(120), revision_number: 1 })],
    security_groups: [
      sgDict(SG1, 1, [sgRule(1), sgRule(2, { remote_group_id: SG1 })]),
      sgDict(SG2, 2, [sgRule(3)]),
    ],
  };
  // An older driver's sync (no router lists) says nothing about routers.
  await call(ctl.url, 'POST', '/v1/sync', base);
  assert.ok(await value(keys.router('net1', router)), 'kept without a router list');
  // Deleted in Neutron while the controller was away: the next sync removes both.
  const gone = await call(ctl.url, 'POST', '/v1/sync', { ...base, routers: [], floatingips: [] });
  assert.equal(gone.status, 200, JSON.stringify(gone.body));
  assert.equal(gone.body.deleted, 2);
  assert.equal(await value(keys.router('net1', router)), undefined);
  assert.equal(await value(keys.floatingIp('net1', fip)), undefined);
  assert.equal((await call(ctl.url, 'POST', '/v1/sync', { ...base, routers: {} })).status, 400);
});

test('a deposed leader cannot write: its stale guard makes the batch fail with 503, nothing lands', async () => {
  const stale = new Intake({
    store,
    guard: () => ({ key: keys.controllerLeader, createRevision: 1 }),
    log: logger('deposed'),
  });
  await assert.rejects(
    stale.journal({ rows: [portRow({ id: uid(131), revision_number: 1 })] }),
    (e: unknown) => e instanceof UnavailableError && /leadership lost/.test(e.message),
  );
  assert.equal(await value(keys.portBinding('compute1', uid(131))), undefined);
});

test('while etcd is down, writes get 503 (the driver retries) and health says so; then it recovers', async () => {
  await etcd.stop();
  try {
    const r = await journal([portRow({ id: uid(130), revision_number: 1 })]);
    assert.equal(r.status, 503);
    assert.match(r.body.error ?? '', /etcd|leader/);
    await waitFor(
      'health to report etcd down',
      async () => (await call(ctl.url, 'GET', '/v1/health')).status === 503,
    );
    assert.equal((await call(ctl.url, 'GET', '/v1/hosts')).status, 503);
  } finally {
    await etcd.restart();
  }
  await ready(ctl);
  const rows = [portRow({ id: uid(130), revision_number: 1 })];
  const ok = await journal(rows);
  assert.equal(ok.status, 200);
  assert.ok(await value(keys.portBinding('compute1', uid(130))));
});
