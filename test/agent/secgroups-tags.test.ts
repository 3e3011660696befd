// VPP tags of netvpp's ACLs: the only way the agent recognises its ACLs after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type AclKey, aclTag, MAX_TAG_BYTES, parseAclTag } from '../../src/agent/secgroups/index.ts';
import { messageCodec } from '../../src/vpp/codec/index.ts';
import { acl_add_replace } from '../../src/vpp/binapi/acl.ts';

const SG = '0f0f0f0f-aaaa-4bbb-8ccc-dddddddddddd';
const PORT = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

const keys: AclKey[] = [
  { kind: 'sg', sgId: SG, direction: 'ingress' },
  { kind: 'sg', sgId: SG, direction: 'egress' },
  { kind: 'base', direction: 'ingress' },
  { kind: 'base', direction: 'egress' },
  { kind: 'related', direction: 'ingress' },
  { kind: 'related', direction: 'egress' },
  { kind: 'macip', portId: PORT },
];

test('every key makes a tag that parses back to the same key', () => {
  for (const k of keys) assert.deepEqual(parseAclTag(aclTag(k)), k);
  assert.equal(aclTag(keys[0]), `netvpp:sg:${SG}:ingress`);
  assert.equal(aclTag(keys[6]), `netvpp:macip:${PORT}`);
  assert.equal(new Set(keys.map(aclTag)).size, keys.length);
});

test('tags stay under 64 bytes with a 36-character uuid, and fit the VPP tag field', () => {
  const codec = messageCodec(acl_add_replace);
  for (const k of keys) {
    const tag = aclTag(k);
    assert.ok(Buffer.byteLength(tag) <= MAX_TAG_BYTES, tag);
    const wire = codec.encode(1, {
      client_index: 0,
      context: 0,
      acl_index: 0xffffffff,
      tag,
      count: 0,
      r: [],
    });
    assert.equal(codec.decode(wire).tag, tag);
  }
});

test('tags that are not netvpp ACL tags are not ours', () => {
  for (const t of [
    '',
    'net-vpp.secgroup:0f0f0f0f-aaaa-4bbb-8ccc-dddddddddddd.from-vpp', // networking-vpp's
    `netvpp:sg:${SG}:in`,
    `netvpp:sg:${SG.toUpperCase()}:ingress`,
    `netvpp:sg:${SG}:ingress:x`,
    `netvpp:sg:not-a-uuid:ingress`,
    `netvpp:base:sideways`,
    `netvpp:macip:${PORT}:egress`,
    `xnetvpp:base:ingress`,
    `netvpp:port:${PORT}`,
  ])
    assert.equal(parseAclTag(t), null, t);
});

test('an id that is not a lower-case uuid is refused rather than making an unparseable tag', () => {
  assert.throws(() => aclTag({ kind: 'sg', sgId: 'default', direction: 'ingress' }), /lower-case UUID/);
  assert.throws(() => aclTag({ kind: 'macip', portId: PORT.toUpperCase() }), /lower-case UUID/);
});
