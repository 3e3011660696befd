// The agent's decoding of etcd values, fuzzed: for every key kind an agent watches (its port
// bindings, routers and floating IPs, security groups, remote-group members, overlay ports, peers'
// alive keys, the sync marker), generated malformed values — not JSON, cut short, wrong-typed fields of
// a valid value, huge, deeply nested, unicode — are fed to the decoders the watchers call
// (DesiredState, OverlayState, SyncGate). Each must become an error on that one object, never an
// exception, and leave the valid neighbours put before it exactly as they were.
import fc from 'fast-check';
import { DesiredState } from '../../src/agent/desired.ts';
import { SyncGate } from '../../src/agent/sync-gate.ts';
import { decodeValue, keys, type KeyKind } from '../../src/model/keyspace.ts';
import type { PutEvent } from '../../src/store/index.ts';
import { rule, secGroup, vmPort, vxlanNet } from '../agent/helpers/fixtures.ts';

export const HOST = 'compute1';
const SG = 'c0ffee00-1111-4222-8333-444455556666';
const ROUTER = '7a000000-0000-4000-8000-000000000001';
const FIP = '7f000000-0000-4000-8000-000000000001';
const NET = vxlanNet(5001);

/** A valid value of each watched kind, and the key a bad one is put at. */
export const TEMPLATES: Record<string, { kind: KeyKind; key: string; value: Record<string, unknown> }> = {
  portBinding: {
    kind: 'portBinding',
    key: keys.portBinding(HOST, '6f1c0a52-1b5e-4bd4-9a8e-0000000000aa'),
    value: { ...vmPort(NET, { port_id: '6f1c0a52-1b5e-4bd4-9a8e-0000000000aa', security_groups: [SG] }) },
  },
  router: {
    kind: 'router',
    key: keys.router(HOST, ROUTER),
    value: {
      router_id: ROUTER,
      admin_state_up: true,
      gateway: {
        port_id: '7a000000-0000-4000-8000-000000000002',
        network_id: NET.id,
        next_hops: ['203.0.113.1'],
        snat: true,
        addresses: ['203.0.113.5/24'],
      },
      routes: [{ destination: '10.9.0.0/16', nexthops: ['10.0.0.254'] }],
      revision: 3,
    },
  },
  floatingIp: {
    kind: 'floatingIp',
    key: keys.floatingIp(HOST, FIP),
    value: {
      id: FIP,
      router_id: ROUTER,
      floating_ip: '203.0.113.9',
      fixed_ip: '10.0.0.9',
      port_id: '6f1c0a52-1b5e-4bd4-9a8e-0000000000aa',
      revision: 2,
    },
  },
  secGroup: { kind: 'secGroup', key: keys.secGroup(SG), value: { ...secGroup([rule()], { id: SG }) } },
  remoteGroupMember: {
    kind: 'remoteGroupMember',
    key: keys.remoteGroupMember(SG, '6f1c0a52-1b5e-4bd4-9a8e-0000000000bb'),
    value: { ips: ['10.0.0.7'], revision: 4 },
  },
  overlayPort: {
    kind: 'overlayPort',
    key: keys.overlayPort(NET.id, '6f1c0a52-1b5e-4bd4-9a8e-0000000000cc'),
    value: { host: 'compute2', mac: 'fa:16:3e:00:00:0c', ips: ['10.0.0.12'], revision: 1 },
  },
  hostAlive: {
    kind: 'hostAlive',
    key: keys.hostAlive('compute2'),
    value: {
      host: 'compute2',
      physnets: ['physnet1'],
      network_types: ['vlan', 'vxlan'],
      vif_types: ['vhostuser'],
      vtep: '192.0.2.2',
      agent_version: 'fuzz',
      vpp: { connected: true, version: '26.06' },
      started_at: '2026-12-03T00:00:00.000Z',
    },
  },
  syncMarker: {
    kind: 'syncMarker',
    key: keys.syncMarker,
    value: { at: '2026-12-03T00:00:00.000Z', neutron_rows: 3, controller_id: 'fuzz' },
  },
};

const KINDS = Object.keys(TEMPLATES);

/** A JSON value unlike `like` in type (null included: a required field set to null). */
function wrongType(like: unknown): fc.Arbitrary<unknown> {
  const all: [string, fc.Arbitrary<unknown>][] = [
    ['string', fc.string({ unit: 'grapheme', maxLength: 30 })],
    ['number', fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-1, 2 ** 53, 1e308))],
    ['boolean', fc.boolean()],
    ['array', fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 })],
    ['object', fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })],
    ['null', fc.constant(null)],
  ];
  const kind = like === null ? 'null' : Array.isArray(like) ? 'array' : typeof like;
  return fc.oneof(...all.filter(([k]) => k !== kind).map(([, a]) => a));
}

/** A field path into `v` (nested objects and arrays included). */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return [prefix, ...entries.flatMap(([k, x]) => paths(x, [...prefix, k]))];
}

function setAt(v: unknown, path: (string | number)[], x: unknown): unknown {
  if (path.length === 0) return x;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) }) as Record<string, unknown>;
  copy[path[0]] = setAt(copy[path[0]], path.slice(1), x);
  return copy;
}

function getAt(v: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], v);
}

export interface BadValue {
  kind: string;
  value: string;
  how: string;
}

/** A malformed value for one watched kind. */
export function badValueArb(): fc.Arbitrary<BadValue> {
  return fc.constantFrom(...KINDS).chain((kind) => {
    const t = TEMPLATES[kind].value;
    const text = JSON.stringify(t);
    const mutatedField = fc
      .constantFrom(...paths(t).filter((p) => p.length > 0))
      .chain((p) =>
        wrongType(getAt(t, p)).map((x) => ({ how: `${p.join('.')} wrong-typed`, v: setAt(t, p, x) })),
      )
      .map(({ how, v }) => ({ how, value: JSON.stringify(v) }));
    const dropped = fc.constantFrom(...Object.keys(t)).map((k) => {
      const v: Record<string, unknown> = { ...t };
      delete v[k];
      return { how: `${k} missing`, value: JSON.stringify(v) };
    });
    return fc
      .oneof(
        { weight: 6, arbitrary: mutatedField },
        { weight: 2, arbitrary: dropped },
        {
          weight: 1,
          arbitrary: fc.nat(text.length - 1).map((n) => ({ how: 'cut short', value: text.slice(0, n) })),
        },
        {
          weight: 2,
          arbitrary: fc
            .jsonValue({ maxDepth: 4 })
            .map((v) => ({ how: 'any JSON', value: JSON.stringify(v) ?? 'null' })),
        },
        {
          weight: 1,
          arbitrary: fc
            .string({ unit: 'binary', maxLength: 100 })
            .map((s) => ({ how: 'any text', value: s })),
        },
        {
          weight: 1,
          arbitrary: fc
            .integer({ min: 1000, max: 100_000 })
            .map((n) => ({ how: `nested ${n} deep`, value: '['.repeat(n) + ']'.repeat(n) })),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom(...Object.keys(t)).map((k) => ({
            how: `${k} huge`,
            value: JSON.stringify({
              ...t,
              [k]: typeof t[k] === 'string' ? 'x'.repeat(70_000) : Array(5000).fill(t[k]),
            }),
          })),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) => ({
            how: `${k} key`,
            value: `{"${k}": {"polluted": true}, ${text.slice(1)}`,
          })),
        },
      )
      .map((b) => ({ kind, ...b }));
  });
}

const put = (key: string, value: string, rev: number): PutEvent =>
  ({
    type: 'put',
    key,
    value,
    prefix: '',
    revision: rev,
    modRevision: rev,
  }) as unknown as PutEvent;

/** The decoders' state with one valid neighbour of every kind put in. */
export class Decoders {
  readonly desired = new DesiredState(HOST);
  readonly gate = new SyncGate(() => undefined);
  private rev = 1;

  constructor() {
    for (const kind of KINDS) this.feed(kind, TEMPLATES[kind].key, JSON.stringify(TEMPLATES[kind].value));
  }

  /** Puts `value` at `key` through the decoder of `kind`'s watcher. */
  feed(kind: string, key: string, value: string): void {
    const ev = put(key, value, ++this.rev);
    if (kind === 'portBinding' || kind === 'router' || kind === 'floatingIp') this.desired.hostEvent(ev);
    else if (kind === 'secGroup' || kind === 'remoteGroupMember') this.desired.groupEvent(SG, ev);
    else if (kind === 'overlayPort') this.desired.overlay.networkEvent(NET.id, ev);
    else if (kind === 'hostAlive') this.desired.overlay.peerEvent('compute2', ev);
    else this.gate.set(value, 'fuzz');
  }

  /** What the decoders hold for each kind's object, as comparable JSON. */
  view(): Record<string, string> {
    const d = this.desired;
    const id = (k: string) => k.slice(k.lastIndexOf('/') + 1);
    return {
      portBinding: JSON.stringify(d.bindings.get(id(TEMPLATES.portBinding.key))),
      router: JSON.stringify(d.routers.get(ROUTER)),
      floatingIp: JSON.stringify(d.fips.get(FIP)),
      secGroup: JSON.stringify(d.groups.get(SG)),
      remoteGroupMember: JSON.stringify(d.memberAddresses(SG)),
      overlayPort: JSON.stringify([...(d.overlay.ports.get(NET.id)?.entries() ?? [])]),
      hostAlive: JSON.stringify(d.overlay.vteps.get('compute2') ?? null),
      syncMarker: JSON.stringify(this.gate.describe()),
    };
  }

  /** The error the decoders now show for `kind`'s object at `key`, or null when they took it as valid. */
  errorFor(kind: string, key: string): string | null {
    const d = this.desired;
    const id = key.slice(key.lastIndexOf('/') + 1);
    const entry =
      kind === 'portBinding'
        ? d.bindings.get(id)
        : kind === 'router'
          ? d.routers.get(id)
          : kind === 'floatingIp'
            ? d.fips.get(id)
            : kind === 'secGroup'
              ? d.groups.get(id)
              : undefined;
    if (entry) return entry.ok ? null : entry.error;
    if (kind === 'remoteGroupMember') return d.memberErrors.get(key) ?? null;
    if (kind === 'overlayPort' || kind === 'hostAlive') return d.overlay.errors.get(key) ?? null;
    if (kind === 'syncMarker') return this.gate.describe().error ?? null;
    return 'no entry at all';
  }
}

export interface DecodeReport {
  runs: number;
  /** Bad values per kind, and how many of them the schema still took as valid. */
  perKind: Record<string, { fed: number; accepted: number }>;
  failures: string[];
  ms: number;
}

/**
 * Feeds `runs` bad values; each goes to a fresh key of its kind (its neighbours must not move) and
 * then to the valid neighbour's own key (which must turn into an error, and back when rewritten).
 */
export function fuzzDecode(runs: number, seed?: number): DecodeReport {
  const perKind: DecodeReport['perKind'] = {};
  const failures: string[] = [];
  const started = Date.now();
  const d = new Decoders();
  const baseline = d.view();
  const details = fc.check(
    fc.property(badValueArb(), (b) => {
      const t = TEMPLATES[b.kind];
      const stat = (perKind[b.kind] ??= { fed: 0, accepted: 0 });
      stat.fed++;
      // The value at its neighbour's key: the neighbour becomes an error, or (a value the schema
      // takes) a valid object; either way the other kinds are untouched.
      d.feed(b.kind, t.key, b.value);
      const schemaOk = decodeValue(t.kind, b.value).ok;
      const error = d.errorFor(b.kind, t.key);
      if (schemaOk) stat.accepted++;
      if (!schemaOk && (error === null || error === ''))
        throw new Error(`${b.kind} (${b.how}) was taken without an error: ${b.value.slice(0, 200)}`);
      const now = d.view();
      for (const k of KINDS)
        if (k !== b.kind && now[k] !== baseline[k])
          throw new Error(`${b.kind} (${b.how}) changed the ${k} beside it: ${now[k].slice(0, 200)}`);
      // Rewritten valid, it is valid again (nothing stuck from the bad value).
      d.feed(b.kind, t.key, JSON.stringify(t.value));
      if (d.errorFor(b.kind, t.key) !== null || d.view()[b.kind] !== baseline[b.kind])
        throw new Error(`${b.kind} (${b.how}) left its object broken after a valid rewrite`);
    }),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }), endOnFailure: true },
  );
  if (details.failed) {
    const err =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    failures.push(`${err} (seed ${details.seed}, path ${details.counterexamplePath})`);
  }
  if (({} as Record<string, unknown>).polluted !== undefined) failures.push('Object.prototype was polluted');
  return { runs, perKind, failures, ms: Date.now() - started };
}
