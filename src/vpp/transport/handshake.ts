// Opening VPP's API socket and the sockclnt_create handshake, whose reply carries VPP's whole
// message table (every name_crc with the id this VPP gave it).
import { createConnection, type Socket } from 'node:net';
import { sockclnt_create, sockclnt_create_reply } from '../binapi/index.ts';
import { messageCodec } from '../codec/index.ts';
import { VppApiError, VppDisconnectedError } from '../errors.ts';
import { FrameReader, HEADER_SIZE, sealFrame } from './framing.ts';

/** VPP's socket server answers the handshake on these fixed ids, before any table exists. */
const SOCKCLNT_CREATE_ID = 15;
const SOCKCLNT_CREATE_REPLY_ID = 16;
const HANDSHAKE_CONTEXT = 124;

export interface HandshakeReply {
  index: number;
  message_table: { index: number; name: string }[];
}

/** Connects to VPP's API socket at `path`, failing after `timeoutMs`. */
export function openSocket(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = createConnection(path);
    const t = setTimeout(() => {
      s.destroy();
      reject(new VppDisconnectedError(`connect to VPP at ${path} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(new VppDisconnectedError(`cannot connect to VPP at ${path}: ${e.message}`));
    });
  });
}

export function handshake(
  socket: Socket,
  path: string,
  name: string,
  timeoutMs: number,
): Promise<HandshakeReply> {
  const codec = messageCodec(sockclnt_create);
  const replyCodec = messageCodec(sockclnt_create_reply);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      socket.destroy();
      reject(new VppDisconnectedError(`VPP at ${path} did not answer the handshake`));
    }, timeoutMs);
    const done = (e: Error | null, v?: ReturnType<typeof decodeReply>): void => {
      clearTimeout(t);
      socket.removeAllListeners('data');
      socket.removeListener('close', onClose);
      if (e) {
        socket.destroy();
        reject(e);
      } else resolve(v as ReturnType<typeof decodeReply>);
    };
    const decodeReply = (p: Buffer) =>
      replyCodec.decode(p) as unknown as {
        response: number;
        index: number;
        message_table: { index: number; name: string }[];
      };
    const reader = new FrameReader(
      (p) => {
        if (p.readUInt16BE(0) !== SOCKCLNT_CREATE_REPLY_ID) {
          done(new VppDisconnectedError(`unexpected message ${p.readUInt16BE(0)} during the VPP handshake`));
          return;
        }
        try {
          const r = decodeReply(p);
          if (r.response !== 0) done(new VppApiError('sockclnt_create', r.response));
          else done(null, r);
        } catch (e) {
          done(e as Error);
        }
      },
      (e) => done(e),
    );
    const onClose = (): void =>
      done(new VppDisconnectedError('VPP closed the connection during the handshake'));
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.once('close', onClose);
    socket.write(
      sealFrame(codec.encode(SOCKCLNT_CREATE_ID, { context: HANDSHAKE_CONTEXT, name: name }, HEADER_SIZE)),
    );
  });
}
