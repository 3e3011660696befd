// Signed desired state: the envelope around a value the controller writes to etcd, how it is signed
// (Ed25519, node:crypto) and verified, and the PEM key files behind both. docs/keyspace.md
// (Signatures) and docs/security.md (Signed desired state) describe the same for people.
//
// The envelope is one more field, first in the value's JSON object:
//   {"_sig":{"kid":"<key id>","ed25519":"<base64url signature>"},<the value's own fields>}
// Readers that ignore unknown fields (every schema in keyspace.ts does) read it as the plain value.
// The signature covers the exact bytes of the plain value (`{` + what follows the envelope), so no
// canonical re-encoding is needed to verify, and the key it is stored at: a value signed for one key
// is refused at any other (a binding copied to another host, a member moved to another group).
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
  createHash,
} from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PREFIX } from './keyspace.ts';

/** A key id: the name of the key files (`<kid>.key`, `<kid>.pub`), carried in every envelope. */
export const KID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENVELOPE_START = '{"_sig":';
// kid as KID_RE; an Ed25519 signature is 64 bytes, 86 characters of unpadded base64url.
const ENVELOPE_RE =
  /^\{"_sig":\{"kid":"([A-Za-z0-9][A-Za-z0-9._-]{0,63})","ed25519":"([A-Za-z0-9_-]{86})"\}(,|(?=\}$))/;
/** Domain separation: these bytes are signed for nothing else. */
const CONTEXT = 'netvpp-signed-value-v1\n';

function relative(key: string): string {
  return key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key;
}

function message(key: string, payload: string): Buffer {
  return Buffer.from(`${CONTEXT}${relative(key)}\n${payload}`, 'utf8');
}

function text(raw: string | Uint8Array): string {
  return typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
}

/** A stored value taken apart, without checking its signature. */
export type Envelope =
  | { signed: false; payload: string }
  | { signed: true; kid: string; signature: Buffer; payload: string }
  | { signed: 'malformed'; payload: string };

export function openEnvelope(raw: string | Uint8Array): Envelope {
  const s = text(raw);
  if (!s.startsWith(ENVELOPE_START)) return { signed: false, payload: s };
  const m = ENVELOPE_RE.exec(s);
  if (!m) return { signed: 'malformed', payload: s };
  const rest = s.slice(m[0].length);
  return {
    signed: true,
    kid: m[1],
    signature: Buffer.from(m[2], 'base64url'),
    payload: m[3] === ',' ? `{${rest}` : '{}',
  };
}

/** The plain value of a stored one (signed or not), for readers that don't verify. */
export function payloadOf(raw: string | Uint8Array): string {
  return openEnvelope(raw).payload;
}

/** The key id a stored value is signed with; null when it carries no (well-formed) signature. */
export function kidOf(raw: string | Uint8Array): string | null {
  const e = openEnvelope(raw);
  return e.signed === true ? e.kid : null;
}

/** Signs values with one private key (the controller's `[security] signing_key_file`). */
export class Signer {
  constructor(
    readonly kid: string,
    private readonly key: KeyObject,
  ) {
    if (!KID_RE.test(kid)) throw new Error(`key id ${JSON.stringify(kid)} must match ${KID_RE}`);
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519')
      throw new Error(`key ${kid} is not an Ed25519 private key`);
  }

  /** The envelope for `payload` (a JSON object's text, as encodeValue makes it) stored at `key`. */
  seal(key: string, payload: string): string {
    if (!payload.startsWith('{') || !payload.endsWith('}'))
      throw new Error(`only a JSON object can be signed (value for ${key})`);
    if (payload.startsWith(ENVELOPE_START)) throw new Error(`the value for ${key} is signed already`);
    const sig = sign(null, message(key, payload), this.key).toString('base64url');
    const head = `${ENVELOPE_START}{"kid":"${this.kid}","ed25519":"${sig}"}`;
    return payload === '{}' ? `${head}}` : `${head},${payload.slice(1)}`;
  }

  /** The public half, for tests and `netvpp keys generate`. */
  publicKey(): KeyObject {
    return createPublicKey(this.key);
  }
}

export type Opened = { ok: true; payload: string; kid: string } | { ok: false; error: string };

/** Checks envelopes against a set of public keys by key id (an agent's `[security] verify_keys`). */
export class Verifier {
  private readonly keys: ReadonlyMap<string, KeyObject>;

  constructor(keys: ReadonlyMap<string, KeyObject>) {
    for (const [kid, k] of keys) {
      if (k.type !== 'public' || k.asymmetricKeyType !== 'ed25519')
        throw new Error(`key ${kid} is not an Ed25519 public key`);
    }
    if (keys.size === 0) throw new Error('no verify key given');
    this.keys = keys;
  }

  get kids(): string[] {
    return [...this.keys.keys()].sort();
  }

  /** The plain value stored at `key` when its signature is good; why not otherwise. */
  open(key: string, raw: string | Uint8Array): Opened {
    const e = openEnvelope(raw);
    if (e.signed === false) return { ok: false, error: 'not signed (this agent requires signed values)' };
    if (e.signed === 'malformed') return { ok: false, error: 'malformed signature envelope' };
    const pub = this.keys.get(e.kid);
    if (!pub)
      return { ok: false, error: `signed with unknown key ${e.kid} (trusted: ${this.kids.join(', ')})` };
    if (!verify(null, message(key, e.payload), pub, e.signature))
      return { ok: false, error: `signature by key ${e.kid} does not match the value (forged or altered)` };
    return { ok: true, payload: e.payload, kid: e.kid };
  }
}

// ---- key files ------------------------------------------------------------------------------------

const PRIVATE_SUFFIX = '.key';
const PUBLIC_SUFFIX = '.pub';

function kidFromFile(file: string, suffix: string): string {
  const name = basename(file);
  const kid = name.endsWith(suffix) ? name.slice(0, -suffix.length) : '';
  if (!KID_RE.test(kid))
    throw new Error(`${file}: a key file is named <key id>${suffix}, the key id matching ${KID_RE}`);
  return kid;
}

/** Reads `<kid>.key` (PKCS#8 PEM); the key id is the file's name. Throws a message naming the file. */
export function loadSigner(file: string): Signer {
  const kid = kidFromFile(file, PRIVATE_SUFFIX);
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: not a readable PEM private key (${(e as Error).message})`);
  }
  try {
    return new Signer(kid, key);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/**
 * Reads public keys: each path a `<kid>.pub` (SPKI PEM) file, or a directory whose `*.pub` files are
 * all read. Two keys are what a rotation needs (docs/security.md). Throws a message naming the file.
 */
export function loadVerifier(paths: readonly string[]): Verifier {
  const files: string[] = [];
  for (const p of paths) {
    let dir: boolean;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      throw new Error(`${p}: no such file or directory`);
    }
    if (!dir) files.push(p);
    else {
      const found = readdirSync(p).filter((f) => f.endsWith(PUBLIC_SUFFIX));
      if (found.length === 0) throw new Error(`${p}: the directory holds no *${PUBLIC_SUFFIX} key file`);
      files.push(...found.sort().map((f) => join(p, f)));
    }
  }
  const keys = new Map<string, KeyObject>();
  for (const f of files) {
    const kid = kidFromFile(f, PUBLIC_SUFFIX);
    let k: KeyObject;
    try {
      k = createPublicKey(readFileSync(f));
    } catch (e) {
      throw new Error(`${f}: not a readable PEM public key (${(e as Error).message})`);
    }
    if (k.asymmetricKeyType !== 'ed25519') throw new Error(`${f}: not an Ed25519 public key`);
    const seen = keys.get(kid);
    if (seen && !seen.equals(k)) throw new Error(`${f}: key id ${kid} is given twice with different keys`);
    keys.set(kid, k);
  }
  return new Verifier(keys);
}

/** A key id for a new key: the date and the start of the public key's SHA-256, e.g. netvpp-20261203-3fa9c2. */
function defaultKid(pub: KeyObject): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const fp = createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return `netvpp-${day}-${fp.slice(0, 6)}`;
}

/** Writes a new key pair, `<dir>/<kid>.key` (mode 0600) and `<dir>/<kid>.pub`; refuses to overwrite. */
export function generateKeyFiles(
  dir: string,
  kid?: string,
): { kid: string; privateFile: string; publicFile: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const id = kid ?? defaultKid(publicKey);
  if (!KID_RE.test(id)) throw new Error(`key id ${JSON.stringify(id)} must match ${KID_RE}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const privateFile = join(dir, `${id}${PRIVATE_SUFFIX}`);
  const publicFile = join(dir, `${id}${PUBLIC_SUFFIX}`);
  const pem = (k: KeyObject, type: 'pkcs8' | 'spki'): string => k.export({ type, format: 'pem' }).toString();
  for (const f of [privateFile, publicFile])
    if (existsSync(f)) throw new Error(`${f} already exists: a key file is never replaced`);
  // flag 'wx' as well: an existing key is never replaced, even by a race.
  writeFileSync(privateFile, pem(privateKey, 'pkcs8'), { mode: 0o600, flag: 'wx' });
  writeFileSync(publicFile, pem(publicKey, 'spki'), { mode: 0o644, flag: 'wx' });
  return { kid: id, privateFile, publicFile };
}

/** What readers of desired state call on each value: the verifier's check, or (signing off) as is. */
export type Opener = (key: string, raw: string) => Opened;

export function opener(v: Verifier | null | undefined): Opener {
  if (!v) return (_key, raw) => ({ ok: true, payload: raw, kid: '' });
  return (key, raw) => v.open(key, raw);
}
