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

test('remote SPAN, service end: the tunnel cross-connected into the service port, no mirror', () => {
  const d = doc('service');
  const out = run(d, '198.51.100.2');
  const tunnel = `vxlan:${VNI}:198.51.100.2`;
  assert.deepEqual(
    out.objects.map((o) => o.key),
    [tunnel, `xconnect:${tunnel}`],
  );
  assert.deepEqual(out.objects[1], {
    kind: 'xconnect',
    key: `xconnect:${tunnel}`,
    rx: tunnel,
    tx: `port:${SVC}`,
  });
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
