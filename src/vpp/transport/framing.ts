/**
 * VPP socket-API framing: every message is preceded by a 16-byte header
 * (u64 unused, u32 big-endian payload length, u32 unused); the payload starts with the
 * big-endian u16 message id.
 */
export const HEADER_SIZE = 16;
/** Refuse frames larger than this: a corrupted length must not make us buffer gigabytes. */
export const MAX_FRAME = 64 * 1024 * 1024;

/** Writes the header into the first HEADER_SIZE bytes of a buffer built with that headroom. */
export function sealFrame(buf: Buffer): Buffer {
  buf.fill(0, 0, HEADER_SIZE);
  buf.writeUInt32BE(buf.length - HEADER_SIZE, 8);
  return buf;
}

/** Wraps a bare payload (message id first) in a frame. */
export function frame(payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  payload.copy(b, HEADER_SIZE);
  return sealFrame(b);
}

/**
 * Splits a byte stream into payloads. Feed it chunks; it calls `onFrame` for each complete
 * payload and `onError` (once, then stops) for a length that cannot be right.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed = false;

  constructor(
    private readonly onFrame: (payload: Buffer) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= HEADER_SIZE) {
      const head = this.peek(HEADER_SIZE);
      const len = head.readUInt32BE(8);
      if (len < 2 || len > MAX_FRAME) {
        this.failed = true;
        this.onError(new Error(`bad frame length ${len} from VPP socket`));
        return;
      }
      if (this.buffered < HEADER_SIZE + len) return;
      const all = this.take(HEADER_SIZE + len);
      this.onFrame(all.subarray(HEADER_SIZE));
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0];
    const b = Buffer.concat(this.chunks);
    this.chunks = [b];
    return b;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const out = first.subarray(0, n);
    const rest = first.subarray(n);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= n;
    return out;
  }
}
