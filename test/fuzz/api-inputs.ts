// Generated requests for the controller API fuzz (api-fuzz.ts): raw HTTP requests whose body, path
// and headers are each valid-shaped, wrong-typed, huge, deeply nested or unicode. Rows that name a
// protected resource (written before the fuzz) are always poisoned — a stale revision or a wrong-typed
// field netvpp uses — so no generated request can legitimately change that state.
import fc from 'fast-check';

export interface FuzzRequest {
  method: string;
  /** The request target as sent on the request line (may be anything but CR/LF). */
  target: string;
  /** Header lines as sent (name, value); content-length included when it lies. */
  headers: [string, string][];
  body: Buffer;
  /** Whether the Authorization header carries an accepted token (the only way to a 2xx). */
  authorized: boolean;
}

export interface FuzzIds {
  network: string;
  securityGroup: string;
  ports: string[];
  /** The revision the protected resources are at; poisoned rows use lower ones. */
  revision: number;
  token: string;
}

const ROUTES = [
  '/v1/journal',
  '/v1/sync',
  '/v1/sync/held',
  '/v1/sync/confirm',
  '/v1/hosts',
  '/v1/hosts/compute1',
  '/v1/events',
  '/v1/ports/events',
  '/v1/health',
  '/metrics',
  '/health/live',
  '/health/ready',
];

const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const freshUuid = fc
  .tuple(hex(8), hex(4), hex(3), hex(3), hex(12))
  .map(([a, b, c, d, e]) => `${a}-${b}-4${c}-8${d}-${e}`);

/** Any JSON value of a type other than `like`'s (never null: null often means "absent, default"). */
function wrongType(like: unknown): fc.Arbitrary<unknown> {
  const all: [string, fc.Arbitrary<unknown>][] = [
    ['string', fc.string({ unit: 'grapheme', maxLength: 20 })],
    ['number', fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))],
    ['boolean', fc.boolean()],
    ['array', fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })],
    ['object', fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })],
  ];
  const kind = Array.isArray(like) ? 'array' : typeof like;
  return fc.oneof(...all.filter(([k]) => k !== kind).map(([, a]) => a));
}

/** Fields netvpp reads from each resource dict (a wrong type in any of them must be refused). */
const USED: Record<string, string[]> = {
  port: [
    'id',
    'network_id',
    'mac_address',
    'fixed_ips',
    'device_owner',
    'admin_state_up',
    'security_groups',
    'port_security_enabled',
    'allowed_address_pairs',
    'binding:host_id',
    'binding:vif_type',
    'binding:vif_details',
    'netvpp:network',
  ],
  network: ['id', 'mtu'],
  security_group: ['id', 'stateful', 'security_group_rules'],
};

export function portDict(id: string, network: string, sg: string, revision: number): Record<string, unknown> {
  return {
    id,
    network_id: network,
    mac_address: 'fa:16:3e:12:34:56',
    fixed_ips: [{ subnet_id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', ip_address: '10.0.0.9' }],
    device_owner: 'compute:nova',
    device_id: 'vm',
    admin_state_up: true,
    security_groups: [sg],
    port_security_enabled: true,
    allowed_address_pairs: [],
    'binding:host_id': 'compute1',
    'binding:vif_type': 'vhostuser',
    'binding:vif_details': { vhostuser_socket: `/run/netvpp/${id}`, vhostuser_mode: 'server' },
    'netvpp:network': {
      id: network,
      network_type: 'vlan',
      physical_network: 'physnet1',
      segmentation_id: 7,
      mtu: 1500,
    },
    revision_number: revision,
  };
}

export function sgDict(id: string, revision: number): Record<string, unknown> {
  return {
    id,
    stateful: true,
    revision_number: revision,
    security_group_rules: [
      {
        id: 'c0ffee00-0000-4000-8000-000000000001',
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: 22,
        port_range_max: 22,
        remote_ip_prefix: null,
        remote_group_id: null,
      },
    ],
  };
}

export function networkDict(id: string, revision: number): Record<string, unknown> {
  return { id, mtu: 1500, revision_number: revision };
}

/** A resource dict of `kind` with one of its used fields given a wrong type. */
function mutated(dict: Record<string, unknown>, kind: string): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .constantFrom(...USED[kind])
    .chain((field) => wrongType(dict[field]).map((v) => ({ ...dict, [field]: v })));
}

function journalRows(ids: FuzzIds): fc.Arbitrary<unknown[]> {
  const protectedIds = [ids.network, ids.securityGroup, ...ids.ports];
  // Ids as the driver might send them, odd cases included (netvpp lower-cases UUIDs).
  const anyId = fc.oneof(
    freshUuid,
    fc.constantFrom(...protectedIds).map((id) => id.toUpperCase()),
    fc.constantFrom(...protectedIds),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
  );
  const kind = fc.constantFrom('port', 'network', 'security_group');
  const validDict = (k: string, id: string, rev: number) =>
    k === 'port'
      ? portDict(id, ids.network, ids.securityGroup, rev)
      : k === 'security_group'
        ? sgDict(id, rev)
        : networkDict(id, rev);
  const row = fc
    .record({
      id: fc.oneof(fc.nat(), wrongType(0)),
      kind,
      op: fc.oneof(fc.constantFrom('create', 'update', 'delete'), fc.string({ maxLength: 10 })),
      rid: anyId,
      rev: fc.oneof(fc.integer({ min: 0, max: ids.revision - 1 }), fc.integer(), wrongType(0)),
      shape: fc.constantFrom('valid', 'mutated', 'junk'),
      junk: fc.jsonValue({ maxDepth: 3 }),
    })
    .chain((r) => {
      const isProtected = typeof r.rid === 'string' && protectedIds.includes(r.rid.toLowerCase());
      const rev =
        typeof r.rev === 'number' && isProtected ? Math.min(Math.abs(r.rev), ids.revision - 1) : r.rev;
      const dict = validDict(
        r.kind,
        typeof r.rid === 'string' ? r.rid : '',
        typeof rev === 'number' ? rev : 1,
      );
      // A delete of a protected resource would be honoured whatever its revision: make it malformed.
      const op = isProtected && r.op === 'delete' ? 'delete' : r.op;
      const poisonDelete = isProtected && op === 'delete';
      const data: fc.Arbitrary<unknown> =
        r.shape === 'valid' && !isProtected
          ? fc.constant(dict)
          : r.shape === 'junk' && !isProtected
            ? fc.constant(r.junk)
            : mutated(dict, r.kind);
      return data.map((d) => ({
        id: r.id,
        resource: r.kind,
        op,
        resource_id: r.rid,
        revision: poisonDelete ? `r${JSON.stringify(rev)}` : rev,
        data: d,
      }));
    });
  return fc.array(
    fc.oneof({ weight: 8, arbitrary: row }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }),
    {
      maxLength: 12,
    },
  );
}

function deeplyNested(depth: number): string {
  return '{"rows":' + '['.repeat(depth) + ']'.repeat(depth) + '}';
}

function bodyFor(path: string, ids: FuzzIds): fc.Arbitrary<string> {
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v) ?? 'null');
  const generic = fc.oneof(
    json(fc.jsonValue({ maxDepth: 4 })),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.integer({ min: 1000, max: 200_000 }).map(deeplyNested),
    // Over the fuzz controller's body limit (1 MiB).
    fc.constantFrom(1.5, 3).map((mb) => JSON.stringify({ rows: [], pad: 'x'.repeat(mb * 1024 * 1024) })),
    fc.constant(''),
  );
  if (path.startsWith('/v1/journal'))
    return fc.oneof(
      { weight: 6, arbitrary: json(journalRows(ids).map((rows) => ({ rows }))) },
      { weight: 1, arbitrary: json(fc.record({ rows: wrongType([]) })) },
      { weight: 2, arbitrary: generic },
    );
  if (path.startsWith('/v1/sync/confirm'))
    return fc.oneof(json(fc.record({ id: fc.oneof(hex(16), wrongType('')) })), generic);
  if (path.startsWith('/v1/sync')) {
    // Every list-shaped sync lists the protected resources, so it has nothing of theirs to delete;
    // the garbage beside them must be refused item by item.
    const keep = {
      networks: [networkDict(ids.network, ids.revision)],
      security_groups: [sgDict(ids.securityGroup, ids.revision)],
      ports: ids.ports.map((p) => portDict(p, ids.network, ids.securityGroup, ids.revision)),
    };
    const extra = fc.array(
      fc.oneof(
        mutated(portDict(ids.ports[0], ids.network, ids.securityGroup, ids.revision), 'port'),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      { maxLength: 4 },
    );
    const listed = fc
      .record({ extra, token: fc.oneof(fc.constant(undefined), wrongType(0), fc.string({ maxLength: 20 })) })
      .map(({ extra, token }) => ({ ...keep, ports: [...keep.ports, ...extra], token }));
    const broken = fc.record({
      networks: wrongType([]),
      ports: wrongType([]),
      security_groups: fc.constant([]),
    });
    return fc.oneof(json(listed), json(broken), generic);
  }
  return generic;
}

function pathArb(): fc.Arbitrary<string> {
  const route = fc.constantFrom(...ROUTES);
  return fc.oneof(
    { weight: 5, arbitrary: route },
    { weight: 1, arbitrary: route.map((r) => r + '/') },
    { weight: 1, arbitrary: route.map((r) => r.replace('/v1/', '/v1//')) },
    { weight: 1, arbitrary: route.map((r) => r.replace('/v1/', '/v1/./../v1/')) },
    {
      weight: 1,
      arbitrary: route.chain((r) =>
        fc.constantFrom('%', '%zz', '%e0%a4%a', '%00', '%2f', '%c0%af').map((e) => r + e),
      ),
    },
    {
      weight: 1,
      arbitrary: route.chain((r) => fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => r + '/' + s)),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => '/v1/' + 'a'.repeat(n)) },
    { weight: 1, arbitrary: route.chain((r) => fc.string({ maxLength: 40 }).map((q) => `${r}?${q}`)) },
    { weight: 1, arbitrary: fc.constantFrom('*', 'v1/journal', 'http://x/v1/journal', '', '/') },
  );
}

/** Makes a header value sendable on the wire: no CR, LF or NUL (those would end the request). */
const headerSafe = (s: string) => s.replace(/[\r\n\0]/g, ' ');

export function requestArb(ids: FuzzIds): fc.Arbitrary<FuzzRequest> {
  const auth = fc.oneof(
    { weight: 6, arbitrary: fc.constant<[string | null, boolean]>([`Bearer ${ids.token}`, true]) },
    { weight: 1, arbitrary: fc.constant<[string | null, boolean]>([`bearer   ${ids.token}  `, true]) },
    { weight: 1, arbitrary: fc.constant<[string | null, boolean]>([null, false]) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.string({ unit: 'grapheme', maxLength: 60 }).map((s) => `Bearer ${s}`),
          fc.constantFrom(
            `Basic ${ids.token}`,
            `Bearer ${ids.token}x`,
            `Bearer ${ids.token.slice(1)}`,
            'Bearer',
            `${ids.token}`,
          ),
          fc.integer({ min: 1, max: 20_000 }).map((n) => `Bearer ${'t'.repeat(n)}`),
        )
        .map<[string | null, boolean]>((s) => [headerSafe(s), false]),
    },
  );
  return fc
    .record({
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('GET', 'POST') },
        fc.constantFrom('PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'BREW'),
      ),
      target: pathArb(),
      auth,
      contentType: fc.oneof(
        fc.constant('application/json'),
        fc.constant(null),
        fc.constantFrom('text/plain', 'application/json; charset=latin1', 'multipart/form-data; boundary=x'),
      ),
      lengthLie: fc.oneof(
        { weight: 6, arbitrary: fc.constant(null) },
        fc.constantFrom(-1, 0, 1, 10, 1e12, 'abc', '5, 6'),
      ),
    })
    .chain((r) =>
      bodyFor(r.target, ids).map((text) => {
        const body = Buffer.from(text, 'utf8');
        const headers: [string, string][] = [];
        if (r.auth[0] !== null) headers.push(['authorization', r.auth[0]]);
        if (r.contentType) headers.push(['content-type', r.contentType]);
        const sendBody = r.method !== 'GET' && r.method !== 'HEAD' ? body : Buffer.alloc(0);
        const declared =
          r.lengthLie === null
            ? String(sendBody.length)
            : typeof r.lengthLie === 'number'
              ? String(sendBody.length + r.lengthLie)
              : r.lengthLie;
        if (sendBody.length > 0 || r.lengthLie !== null) headers.push(['content-length', declared]);
        return {
          method: r.method,
          target: headerSafe(r.target).replace(/ /g, '%20'),
          headers,
          body: sendBody,
          authorized: r.auth[1],
        };
      }),
    );
}
