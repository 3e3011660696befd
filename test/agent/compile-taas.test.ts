// compile-taas: remote SPAN's two ends (docs/taas.md) as the pure TaaS step compiles them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTaas } from '../../src/agent/compile-taas.ts';
import type { TapFlowDoc } from '../../src/model/keyspace.ts';
import { uuid } from './helpers/fixtures.ts';

const SRC = uuid();
const SVC = uuid();
const VNI = 0xf00007;

const doc = (role: 'source' | 'service'): TapFlowDoc => ({
  id: uuid(),
  tap_service_id: uuid(),
  source_port: SRC,
  service_port: SVC,
  direction: 'IN',
  role,
  source_host: 'h1',
  service_host: 'h2',
  taas_id: 7,
  peer_host: role === 'source' ? 'h2' : 'h1',
  vni: VNI,
  erspan: null,
  revision: 1,
});

const run = (d: TapFlowDoc, peerVtep: string | undefined, vtep: string | null = '198.51.100.1') =>
  compileTaas({
    flows: new Map([[d.id, { ok: true, value: d }]]),
    hasPort: () => true,
    vtep,
    underlay: ['underlay'],
    vtepOf: () => peerVtep,
  });

test('remote SPAN, source end: the mirror (tx for IN) goes into a VXLAN tunnel of the flow’s VNI to the peer', () => {
  const d = doc('source');
  const out = run(d, '198.51.100.2');
  const tunnel = `vxlan:${VNI}:198.51.100.2`;
  assert.deepEqual(
    out.objects.map((o) => o.key),
    [tunnel, `span:port:${SRC}>${tunnel}`],
  );
  assert.deepEqual(out.objects[0], {
    kind: 'vxlan',
    key: tunnel,
    src: '198.51.100.1',
    dst: '198.51.100.2',
    vni: VNI,
    after: ['underlay'],
    adminUp: true,
  });
  assert.equal((out.objects[1] as { state: number }).state, 2);
  assert.deepEqual(out.plans.get(`tapflow:${d.id}`)?.requires, [
    `port:${SRC}`,
    tunnel,
    `span:port:${SRC}>${tunnel}`,
  ]);
});

test('remote SPAN, service end: the tunnel cross-connected into a sink whose tx is mirrored (device mode) into the service port, never into the port itself', () => {
  const d = doc('service');
  const out = run(d, '198.51.100.2');
  const tunnel = `vxlan:${VNI}:198.51.100.2`;
  const sink = `spansink:${SVC}`;
  const bd = `bd:tap-${SVC}`;
  assert.deepEqual(
    out.objects.map((o) => o.key),
    [tunnel, sink, bd, `l2:${sink}`, `xconnect:${tunnel}`, `span:${sink}>port:${SVC}`],
  );
  const byKey = new Map(out.objects.map((o) => [o.key, o]));
  assert.deepEqual(byKey.get(`xconnect:${tunnel}`), {
    kind: 'xconnect',
    key: `xconnect:${tunnel}`,
    rx: tunnel,
    tx: sink,
  });
  assert.deepEqual(byKey.get(`span:${sink}>port:${SVC}`), {
    kind: 'span',
    key: `span:${sink}>port:${SVC}`,
    src: sink,
    dst: `port:${SVC}`,
    state: 2,
  });
  // The sink's bridge forwards, floods and learns nothing: the frames end there.
  assert.deepEqual(
    (({ flood, uuFlood, forward, learn, arpTerm }) => ({ flood, uuFlood, forward, learn, arpTerm }))(
      byKey.get(bd) as {
        flood: boolean;
        uuFlood: boolean;
        forward: boolean;
        learn: boolean;
        arpTerm: boolean;
      },
    ),
    { flood: false, uuFlood: false, forward: false, learn: false, arpTerm: false },
  );
  assert.deepEqual(byKey.get(`l2:${sink}`), {
    kind: 'l2',
    key: `l2:${sink}`,
    iface: sink,
    bd,
    after: [],
    shg: 0,
  });
  assert.ok(
    !out.objects.some((o) => o.kind === 'xconnect' && o.tx === `port:${SVC}`),
    'nothing is cross-connected into the service port (its L2 output ACLs would filter the copies)',
  );
  assert.deepEqual(
    [...(out.plans.get(`tapflow:${d.id}`)?.requires ?? [])].sort(),
    [tunnel, sink, bd, `l2:${sink}`, `xconnect:${tunnel}`, `span:${sink}>port:${SVC}`, `port:${SVC}`].sort(),
  );
});

test('remote SPAN, service end: flows from two source hosts share the service port’s sink, each tunnel cross-connected into it', () => {
  const a = doc('service');
  const b = { ...doc('service'), peer_host: 'h3', source_host: 'h3' };
  const out = compileTaas({
    flows: new Map([
      [a.id, { ok: true, value: a }],
      [b.id, { ok: true, value: b }],
    ]),
    hasPort: () => true,
    vtep: '198.51.100.1',
    underlay: [],
    vtepOf: (h) => (h === 'h1' ? '198.51.100.2' : '198.51.100.3'),
  });
  const sink = `spansink:${SVC}`;
  assert.equal(out.objects.filter((o) => o.kind === 'spansink').length, 1);
  assert.equal(out.objects.filter((o) => o.kind === 'span').length, 1);
  assert.deepEqual(
    out.objects
      .filter((o) => o.kind === 'xconnect')
      .map((o) => [(o as { rx: string }).rx, (o as { tx: string }).tx])
      .sort(),
    [
      [`vxlan:${VNI}:198.51.100.2`, sink],
      [`vxlan:${VNI}:198.51.100.3`, sink],
    ],
  );
});

test('remote SPAN waits for the peer’s VTEP, and is an error without one of its own', () => {
  const d = doc('source');
  const waiting = run(d, undefined).plans.get(`tapflow:${d.id}`);
  assert.deepEqual(waiting?.errors, []);
  assert.match(waiting?.waiting[0] ?? '', /no VTEP of host h2/);
  const none = run(d, '198.51.100.2', null);
  assert.deepEqual(none.objects, []);
  assert.match(none.plans.get(`tapflow:${d.id}`)?.errors[0] ?? '', /\[vxlan\] local_ip/);
});
