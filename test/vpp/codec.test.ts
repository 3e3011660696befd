// Golden bytes for every field kind, worked out by hand from VPP's encoding rules: network byte
// order, packed structs, NUL-padded fixed strings, u32-length-prefixed variable strings, arrays
// counted by an earlier field, address = u8 family + 16-byte union, prefix = address + u8 length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  messageCodec,
  CodecError,
  type FieldDef,
  type MessageDef,
  type TypeRef,
} from '../../src/vpp/codec/index.ts';

const u = (t: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f64' | 'bool'): TypeRef => ({
  kind: 'scalar',
  t,
});
const msg = (fields: FieldDef[]): MessageDef => ({ name: 'm', crc: '0x0', role: 'request', fields });
const hex = (b: Buffer): string => b.toString('hex');

function roundTrip(fields: FieldDef[], value: Record<string, unknown>, expectHex: string): void {
  const c = messageCodec(msg(fields));
  const b = c.encode(0x1234, value);
  assert.equal(hex(b), `1234${expectHex}`);
  assert.deepEqual(c.decode(b), value);
}

test('integers are big-endian and two-complement; u64 is a bigint', () => {
  roundTrip(
    [
      { name: 'a', type: u('u8') },
      { name: 'b', type: u('i8') },
      { name: 'c', type: u('u16') },
      { name: 'd', type: u('i16') },
      { name: 'e', type: u('u32') },
      { name: 'f', type: u('i32') },
      { name: 'g', type: u('u64') },
      { name: 'h', type: u('i64') },
    ],
    { a: 0xfe, b: -2, c: 0x0102, d: -3, e: 0xdeadbeef, f: -143, g: 0x0102030405060708n, h: -1n },
    'fe' + 'fe' + '0102' + 'fffd' + 'deadbeef' + 'ffffff71' + '0102030405060708' + 'ffffffffffffffff',
  );
});

// VPP 26.06 sends f64 in host order (clib_host_to_net_f64 is the identity): an RA state's 200 s
// max interval arrives as 0000000000006940 (test/sim/recorded/l3-ipv6/ra.json).
test('f64 is an IEEE double in little-endian (host) order; bool is one byte', () => {
  roundTrip(
    [
      { name: 'x', type: u('f64') },
      { name: 'y', type: u('bool') },
      { name: 'z', type: u('bool') },
    ],
    { x: 1.5, y: true, z: false },
    '000000000000f83f' + '01' + '00',
  );
});

test('fixed strings are NUL padded; variable strings carry a u32 length', () => {
  roundTrip(
    [
      { name: 'tag', type: { kind: 'string', len: 8 } },
      { name: 'name', type: { kind: 'string', len: 0 } },
    ],
    { tag: 'ab', name: 'loop0' },
    '6162000000000000' + '00000005' + '6c6f6f7030',
  );
  const c = messageCodec(msg([{ name: 'tag', type: { kind: 'string', len: 4 } }]));
  assert.throws(
    () => c.encode(1, { tag: 'abcd' }),
    (e: Error) => e instanceof CodecError && /tag/.test(e.message),
  );
});

test('fixed arrays, u8 arrays as bytes, and arrays counted by an earlier field', () => {
  roundTrip(
    [
      { name: 'k', type: u('u16'), array: { fixed: 2 } },
      { name: 'raw', type: u('u8'), array: { fixed: 3 } },
      { name: 'n', type: u('u8') },
      { name: 'acls', type: u('u32'), array: { count: 'n' } },
    ],
    { k: [1, 2], raw: Buffer.from([9, 8, 7]), n: 2, acls: [5, 6] },
    '00010002' + '090807' + '02' + '0000000500000006',
  );
  // The count is taken from the array, whatever the caller put in the count field.
  const c = messageCodec(
    msg([
      { name: 'n', type: u('u32') },
      { name: 'xs', type: u('u8'), array: { count: 'n' } },
    ]),
  );
  assert.equal(hex(c.encode(1, { n: 99, xs: Buffer.from([1, 2]) })), '0001' + '00000002' + '0102');
});

test('enums use their declared width; structs nest; defaults fill fields left out', () => {
  const inner: TypeRef = {
    kind: 'struct',
    name: 's',
    fields: [
      { name: 'e', type: { kind: 'enum', name: 'e8', t: 'u8' } },
      { name: 'v', type: u('u32'), default: 7 },
    ],
  };
  const c = messageCodec(msg([{ name: 's', type: inner, array: { fixed: 2 } }]));
  assert.equal(hex(c.encode(1, { s: [{ e: 3, v: 1 }, { e: 4 }] })), '0001' + '0300000001' + '0400000007');
});

test('addresses: family byte + 16-byte union; prefixes add a length; MACs are 6 bytes', () => {
  roundTrip(
    [
      { name: 'a4', type: { kind: 'address' } },
      { name: 'a6', type: { kind: 'address' } },
      { name: 'p', type: { kind: 'prefix' } },
      { name: 'p4', type: { kind: 'ip4_prefix' } },
      { name: 'i6', type: { kind: 'ip6' } },
      { name: 'mac', type: { kind: 'mac' } },
    ],
    {
      a4: '10.0.0.1',
      a6: '2001:db8::1',
      p: 'fe80::/64',
      p4: '192.168.1.0/24',
      i6: '::ffff:102:304',
      mac: 'fa:16:3e:00:00:01',
    },
    '00' +
      '0a000001' +
      '00'.repeat(12) +
      '01' +
      '20010db8000000000000000000000001' +
      '01' +
      'fe800000000000000000000000000000' +
      '40' +
      'c0a80100' +
      '18' +
      '00000000000000000000ffff01020304' +
      'fa163e000001',
  );
});

test('IPv6 text forms: embedded IPv4 and zero runs parse to the same bytes', () => {
  const c = messageCodec(msg([{ name: 'a', type: { kind: 'ip6' } }]));
  assert.deepEqual(c.encode(1, { a: '::ffff:1.2.3.4' }), c.encode(1, { a: '0:0:0:0:0:ffff:102:304' }));
  assert.equal(
    (c.decode(c.encode(1, { a: '2001:0db8:0:0:1:0:0:1' })) as { a: string }).a,
    '2001:db8::1:0:0:1',
  );
});

test('unions take the size of their largest member', () => {
  const un: TypeRef = {
    kind: 'union',
    name: 'u',
    members: [
      { name: 'ip4', type: { kind: 'ip4' } },
      { name: 'ip6', type: { kind: 'ip6' } },
    ],
  };
  const c = messageCodec(msg([{ name: 'x', type: un }]));
  const b = c.encode(1, { x: { ip4: '1.2.3.4' } });
  assert.equal(hex(b), '0001' + '01020304' + '00'.repeat(12));
  const back = c.decode(b) as { x: { ip4: string; ip6: string } };
  assert.equal(back.x.ip4, '1.2.3.4');
});

test('truncated input and bad values give a CodecError naming the message and field', () => {
  const c = messageCodec(
    msg([
      { name: 'n', type: u('u32') },
      { name: 'xs', type: u('u32'), array: { count: 'n' } },
    ]),
  );
  const b = c.encode(1, { xs: [1, 2, 3] });
  assert.throws(() => c.decode(b.subarray(0, b.length - 2)), CodecError);
  assert.throws(() => c.decode(b.subarray(0, 3)), CodecError);
  const a = messageCodec(msg([{ name: 'addr', type: { kind: 'address' } }]));
  assert.throws(() => a.encode(1, { addr: '300.1.1.1' }), /m: addr: not an IPv4 address/);
  const s = messageCodec(msg([{ name: 'v', type: u('u16') }]));
  assert.throws(() => s.encode(1, { v: 70000 }), /v: value 70000 is out of range/);
});
