export * from './schema.ts';
export { CodecError } from './addresses.ts';
export { typeCodec, structCodec, type Codec, type Cursor } from './compile.ts';
export { messageCodec, type MessageCodec } from './message.ts';
