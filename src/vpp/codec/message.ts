/** Encoding and decoding of whole messages: a big-endian u16 message id, then the fields. */
import { CodecError } from './addresses.ts';
import { structCodec, type Codec, type Cursor } from './compile.ts';
import type { MessageDef } from './schema.ts';

export interface MessageCodec {
  readonly def: MessageDef;
  /** Encodes into a new buffer, leaving `headroom` bytes in front (for the socket header). */
  encode(id: number, value: object, headroom?: number): Buffer;
  /** Decodes the fields after the message id; `buf` starts with the id. */
  decode(buf: Buffer, start?: number, end?: number): Record<string, unknown>;
}

const compiled = new WeakMap<MessageDef, MessageCodec>();

export function messageCodec(def: MessageDef): MessageCodec {
  let mc = compiled.get(def);
  if (mc) return mc;
  const body: Codec = structCodec(def.fields);
  mc = {
    def,
    encode(id, value, headroom = 0) {
      const n = body.size(value);
      const b = Buffer.alloc(headroom + 2 + n);
      b.writeUInt16BE(id, headroom);
      try {
        body.write(b, headroom + 2, value);
      } catch (e) {
        if (e instanceof CodecError) throw new CodecError(`${def.name}: ${e.message}`);
        throw e;
      }
      return b;
    },
    decode(buf, start = 0, end = buf.length) {
      const c: Cursor = { off: start + 2, end };
      try {
        return body.read(buf, c) as Record<string, unknown>;
      } catch (e) {
        if (e instanceof CodecError) throw new CodecError(`${def.name}: ${e.message}`);
        throw e;
      }
    },
  };
  compiled.set(def, mc);
  return mc;
}
