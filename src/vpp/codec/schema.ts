/**
 * Descriptors of VPP binary-API types, as emitted by tools/apigen into src/vpp/binapi/.
 * They mirror what a `.api.json` can express; the codec compiles them into encoders/decoders.
 */

export type Scalar = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f64' | 'bool';

/**
 * A field's element type. Addresses, prefixes and MACs are kept as strings in TypeScript
 * ("10.0.0.1", "2001:db8::/64", "aa:bb:cc:dd:ee:ff"), as VPP's own clients present them.
 */
export type TypeRef =
  | { kind: 'scalar'; t: Scalar }
  /** len > 0: fixed, NUL padded; len 0: vl_api_string_t (u32 length + bytes). */
  | { kind: 'string'; len: number }
  | { kind: 'ip4' }
  | { kind: 'ip6' }
  | { kind: 'mac' }
  /** vl_api_address_t: u8 address family + 16-byte union. */
  | { kind: 'address' }
  /** vl_api_prefix_t: address + u8 length. */
  | { kind: 'prefix' }
  | { kind: 'ip4_prefix' }
  | { kind: 'ip6_prefix' }
  | { kind: 'enum'; name: string; t: Scalar }
  | { kind: 'struct'; name: string; fields: readonly FieldDef[] }
  | { kind: 'union'; name: string; members: readonly FieldDef[] };

/** fixed: T[n]; count: T[0] whose length is carried by an earlier field; rest: T[0] to the end. */
export type ArrayDef = { fixed: number } | { count: string } | { rest: true };

export interface FieldDef {
  readonly name: string;
  readonly type: TypeRef;
  readonly array?: ArrayDef;
  /** Default from the .api file's options, used when the caller leaves the field out. */
  readonly default?: number | boolean | string;
}

export type MessageRole = 'request' | 'reply' | 'details' | 'event';

export interface MessageDef<T = unknown, R = unknown> {
  readonly name: string;
  /** CRC from the .api.json, e.g. "0x51077d14"; the message table key is `${name}_${crc without 0x}`. */
  readonly crc: string;
  readonly role: MessageRole;
  /** Fields after the u16 message id, in wire order (client_index/context included). */
  readonly fields: readonly FieldDef[];
  /** For requests: the reply message; for dumps the details message. */
  readonly reply?: string;
  /** Dumps: the reply is a stream of details closed by control_ping_reply (or `streamEnd`). */
  readonly stream?: boolean;
  /** Cursor-style streams: details of `streamMsg`, closed by `reply`. */
  readonly streamMsg?: string;
  /** Events a want_* registration enables. */
  readonly events?: readonly string[];
  /** Phantom: the decoded value type. */
  readonly _t?: T;
  /** Phantom: for requests, the reply (or details) type. */
  readonly _r?: R;
}

export function msgKey(def: { name: string; crc: string }): string {
  return `${def.name}_${def.crc.replace(/^0x/, '')}`;
}
