/**
 * Signing benchmark: what an Ed25519 signature costs per desired-state value, beside the JSON work
 * the same value costs anyway, in the same run. Values as the controller writes them: port bindings,
 * security groups of BENCH_RULES rules (default 10) and remote-group members. Per value (µs, the
 * median of BENCH_ROUNDS rounds, default 5, of BENCH_VALUES values each, default 2000):
 *   baseline  JSON.stringify (controller: encode) and JSON.parse (agent: decode)
 *             encodeValue / decodeValue (the schema-checked encode and decode netvpp really does)
 *   signing   seal (sign: the controller), open (verify: the agent), and their share of the above
 * and the envelope's size. No etcd, no VPP: the cold-resync cost of verification with both is
 * `BENCH_SIGNED=1 npm run bench:agent`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAt, encodeValue, keys, type PortBinding, type SecurityGroup } from '../src/model/keyspace.ts';
import { generateKeyFiles, loadSigner, loadVerifier } from '../src/model/signing.ts';

const N = Number(process.env.BENCH_VALUES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RULES = Number(process.env.BENCH_RULES ?? 10);

const id = (kind: number, i: number): string =>
  `0000000${kind}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

function binding(i: number): PortBinding {
  const portId = id(1, i);
  return {
    port_id: portId,
    network_id: id(2, i % 50),
    network_type: 'vlan',
    physnet: 'physnet1',
    segmentation_id: 100 + (i % 50),
    mtu: 1500,
    mac: `fa:16:3e:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    fixed_ips: [{ subnet_id: id(3, i % 50), ip_address: `10.${(i >> 8) & 255}.${i & 255}.5` }],
    vif_type: 'vhostuser',
    vhostuser: { socket: `/var/run/netvpp/vhost/${portId}`, mode: 'server' },
    tap: null,
    device_owner: 'compute:nova',
    admin_state_up: true,
    security_groups: [id(4, i % 20)],
    port_security_enabled: true,
    allowed_address_pairs: [],
    revision: 3,
  };
}

function group(i: number): SecurityGroup {
  return {
    id: id(4, i),
    revision: 2,
    stateful: true,
    rules: Array.from({ length: RULES }, (_, r) => ({
      id: id(5, i * RULES + r),
      direction: r % 2 ? 'egress' : 'ingress',
      ethertype: 'IPv4',
      protocol: 6,
      port_range_min: 1000 + r,
      port_range_max: 1000 + r,
      remote_ip_prefix: r % 3 ? `10.${r}.0.0/16` : null,
      remote_group_id: r % 3 ? null : id(4, i),
    })),
  };
}

interface Kind {
  name: string;
  values: { key: string; value: unknown }[];
}

const kinds: Kind[] = [
  {
    name: 'port binding',
    values: Array.from({ length: N }, (_, i) => ({
      key: keys.portBinding('compute1', id(1, i)),
      value: binding(i),
    })),
  },
  {
    name: `security group (${RULES} rules)`,
    values: Array.from({ length: N }, (_, i) => ({ key: keys.secGroup(id(4, i)), value: group(i) })),
  },
  {
    name: 'remote-group member',
    values: Array.from({ length: N }, (_, i) => ({
      key: keys.remoteGroupMember(id(4, i % 20), id(1, i)),
      value: { ips: [`10.${(i >> 8) & 255}.${i & 255}.5`], revision: 1 },
    })),
  },
];

/** Median over ROUNDS of the per-value time of `fn` over every index (µs). */
function perValue(fn: (i: number) => unknown): number {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn(i);
    const us = Number(process.hrtime.bigint() - t0) / 1e3 / N;
    if (r > 0) times.push(us); // the first round warms up the JIT
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), 'netvpp-bench-signing-'));
try {
  const files = generateKeyFiles(dir, 'bench');
  const signer = loadSigner(files.privateFile);
  const verifier = loadVerifier([files.publicFile]);
  const fmt = (us: number): string => us.toFixed(1).padStart(7);
  console.log(
    `signing benchmark: ${N} values per kind, median of ${ROUNDS} rounds, µs per value (Node ${process.version})`,
  );
  console.log(
    'kind                          bytes  +env | stringify  parse  encodeValue decodeValue |  sign verify | sign+encode  verify+decode',
  );
  for (const k of kinds) {
    const plain = k.values.map((v) => encodeValue(v.key, v.value));
    const sealed = k.values.map((v, i) => signer.seal(v.key, plain[i]));
    // Checked once: every sealed value opens and decodes (a benchmark of a broken path means nothing).
    for (let i = 0; i < N; i++) {
      const o = verifier.open(k.values[i].key, sealed[i]);
      if (!o.ok || !decodeAt(k.values[i].key, o.payload)?.result.ok)
        throw new Error(`value ${i} does not verify`);
    }
    const stringify = perValue((i) => JSON.stringify(k.values[i].value));
    const parse = perValue((i) => JSON.parse(plain[i]));
    const encode = perValue((i) => encodeValue(k.values[i].key, k.values[i].value));
    const decode = perValue((i) => decodeAt(k.values[i].key, plain[i]));
    const sign = perValue((i) => signer.seal(k.values[i].key, plain[i]));
    const verify = perValue((i) => verifier.open(k.values[i].key, sealed[i]));
    const bytes = plain.reduce((a, s) => a + s.length, 0) / N;
    const env = sealed.reduce((a, s) => a + s.length, 0) / N - bytes;
    console.log(
      `${k.name.padEnd(28)} ${bytes.toFixed(0).padStart(6)} ${env.toFixed(0).padStart(5)} |` +
        `${fmt(stringify)} ${fmt(parse)} ${fmt(encode)}     ${fmt(decode)} |` +
        `${fmt(sign)} ${fmt(verify)} | ${fmt(sign + encode)} (×${((sign + encode) / encode).toFixed(1)})` +
        ` ${fmt(verify + decode)} (×${((verify + decode) / decode).toFixed(1)})`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
