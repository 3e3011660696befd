import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeValue, encodeValue, keys, PREFIX } from '../../src/model/keyspace.ts';
import { generateKeyFiles, kidOf, loadSigner, loadVerifier } from '../../src/model/signing.ts';

const SG = 'c0ffee00-1111-4222-8333-444455556666';
const OTHER = 'c0ffee00-1111-4222-8333-777777777777';
const group = { id: SG, revision: 3, stateful: true, rules: [] };

function keyDir(): string {
  return mkdtempSync(join(tmpdir(), 'netvpp-sign-'));
}

test('a signed value verifies, still decodes for readers that do not verify, and says its key id', () => {
  const dir = keyDir();
  try {
    const k1 = generateKeyFiles(dir, 'k1');
    assert.equal(statSync(k1.privateFile).mode & 0o777, 0o600);
    const signer = loadSigner(k1.privateFile);
    const key = keys.secGroup(SG);
    const plain = encodeValue(key, group);
    const sealed = signer.seal(key, plain);
    assert.match(sealed, /^\{"_sig":\{"kid":"k1","ed25519":"[A-Za-z0-9_-]{86}"\},"id":/);
    assert.equal(kidOf(sealed), 'k1');
    assert.equal(kidOf(plain), null);
    // Readers without keys (CLI, controller bookkeeping) decode it as the plain value.
    const d = decodeValue('secGroup', sealed);
    assert.ok(d.ok && d.value.revision === 3);

    const v = loadVerifier([dir]);
    assert.deepEqual(v.kids, ['k1']);
    const ok = v.open(key, sealed);
    assert.ok(ok.ok);
    assert.equal(ok.payload, plain);
    // The same verdict for the key with the store's prefix, and for bytes.
    assert.ok(v.open(PREFIX + key, Buffer.from(sealed)).ok);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unsigned, altered, moved, malformed and foreign-key values are refused, each saying why', () => {
  const dir = keyDir();
  const other = keyDir();
  try {
    const signer = loadSigner(generateKeyFiles(dir, 'k1').privateFile);
    const mallory = loadSigner(generateKeyFiles(other, 'k1').privateFile);
    const stranger = loadSigner(generateKeyFiles(other, 'k9').privateFile);
    const v = loadVerifier([join(dir, 'k1.pub')]);
    const key = keys.secGroup(SG);
    const plain = encodeValue(key, group);
    const sealed = signer.seal(key, plain);

    const refused = (k: string, raw: string): string => {
      const r = v.open(k, raw);
      assert.ok(!r.ok, `accepted ${raw}`);
      return r.error;
    };
    assert.match(refused(key, plain), /not signed/);
    assert.match(refused(key, sealed.replace('"revision":3', '"revision":4')), /does not match/);
    // A good signature for another key: a group's value moved to another group's key.
    const moved = encodeValue(keys.secGroup(OTHER), { ...group, id: OTHER });
    assert.match(refused(key, signer.seal(keys.secGroup(OTHER), moved)), /does not match/);
    // Same key id, someone else's private key.
    assert.match(refused(key, mallory.seal(key, plain)), /does not match/);
    assert.match(refused(key, stranger.seal(key, plain)), /unknown key k9/);
    assert.match(refused(key, '{"_sig":{"kid":"k1"},"id":1}'), /malformed/);
    // An envelope field that is not first does not make a value signed.
    const env = /^\{"_sig":(\{[^}]*\}),/.exec(sealed)?.[1];
    assert.match(refused(key, `${plain.slice(0, -1)},"_sig":${env}}`), /not signed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});

test('two verify keys during a rollover; key files are checked when loaded', () => {
  const dir = keyDir();
  try {
    const old = loadSigner(generateKeyFiles(dir, 'old').privateFile);
    const next = loadSigner(generateKeyFiles(dir, 'new').privateFile);
    const key = keys.remoteGroupMember(SG, OTHER);
    const plain = encodeValue(key, { ips: ['10.0.0.7'], revision: 1 });
    const both = loadVerifier([dir]);
    assert.deepEqual(both.kids, ['new', 'old']);
    assert.ok(both.open(key, old.seal(key, plain)).ok);
    assert.ok(both.open(key, next.seal(key, plain)).ok);
    const after = loadVerifier([join(dir, 'new.pub')]);
    assert.ok(!after.open(key, old.seal(key, plain)).ok);

    assert.throws(
      () => generateKeyFiles(dir, 'old'),
      /old\.key already exists: a key file is never replaced/,
    );
    assert.throws(() => generateKeyFiles(dir, 'bad/kid'), /key id/);
    writeFileSync(join(dir, 'junk.pub'), 'not a key\n');
    assert.throws(() => loadVerifier([dir]), /junk\.pub: not a readable PEM public key/);
    assert.throws(() => loadVerifier([join(dir, 'missing.pub')]), /no such file/);
    assert.throws(() => loadSigner(join(dir, 'new.pub')), /named <key id>\.key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
