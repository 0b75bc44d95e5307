import type { BufferPool } from '../codec/buffer-pool';
import { GRPC_FRAME_HEADER_BYTES } from './in-place-framing';

/** Messages from this size on are assembled in pooled buffers; smaller ones are not worth it. */
const POOLED_FROM_BYTES = 64 * 1024;

/**
 * Splits the bytes of an incoming gRPC stream into framed messages (header and message, as
 * grpc-js' `StreamDecoder` returns them), assembling each large message straight into a buffer
 * from `pool` as its pieces arrive. grpc-js' own decoder keeps the pieces and concatenates them
 * into a fresh buffer per message; for 4 MiB gradient chunks that fresh buffer is page faults and
 * garbage collections on the receiving rank. Whoever consumes a message gives its buffer back to
 * the pool (the ring does, once it has reduced the chunk).
 */
export class PooledMessageDecoder {
  private readonly header = Buffer.alloc(GRPC_FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private message?: Buffer;
  private messageFilled = 0;

  /**
   * @param maxMessageBytes - the largest message accepted (-1: no limit); a larger one throws, as
   *   grpc-js' decoder does (the call then fails with RESOURCE_EXHAUSTED).
   * @param pool - where large messages are assembled.
   */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly pool: BufferPool,
  ) {}

  /** Consumes `data` (the next bytes of the stream) and returns the messages it completes. */
  write(data: Buffer): Buffer[] {
    const complete: Buffer[] = [];
    let at = 0;
    while (at < data.length) {
      if (!this.message) {
        const take = Math.min(GRPC_FRAME_HEADER_BYTES - this.headerFilled, data.length - at);
        data.copy(this.header, this.headerFilled, at, at + take);
        this.headerFilled += take;
        at += take;
        if (this.headerFilled === GRPC_FRAME_HEADER_BYTES) this.startMessage();
      } else {
        const take = Math.min(this.message.length - this.messageFilled, data.length - at);
        data.copy(this.message, this.messageFilled, at, at + take);
        this.messageFilled += take;
        at += take;
      }
      if (this.message && this.messageFilled === this.message.length) {
        complete.push(this.message);
        this.message = undefined;
        this.headerFilled = 0;
      }
    }
    return complete;
  }

  private startMessage(): void {
    const length = this.header.readUInt32BE(1);
    if (this.maxMessageBytes !== -1 && length > this.maxMessageBytes) {
      throw new Error(`Received message larger than max (${length} vs ${this.maxMessageBytes})`);
    }
    const framedLength = GRPC_FRAME_HEADER_BYTES + length;
    this.message =
      length >= POOLED_FROM_BYTES ? this.pool.acquire(framedLength) : Buffer.allocUnsafe(framedLength);
    this.header.copy(this.message, 0);
    this.messageFilled = GRPC_FRAME_HEADER_BYTES;
  }
}

/** The part of a grpc-js 1.14 server call that decodes its request stream. */
interface DecodingCall {
  decoder?: { write?: unknown; readState?: unknown; maxReadMessageLength?: unknown };
}

/**
 * Has the server call under `call` (a grpc-js 1.14 server stream) assemble its incoming messages
 * with a {@link PooledMessageDecoder} from now on. Only between messages (grpc-js' decoder idle),
 * and only where grpc-js' internals have the expected shape; otherwise nothing changes and grpc-js
 * decodes as usual. Returns whether the decoder was replaced.
 */
export function adoptPooledDecoder(call: object, pool: BufferPool): boolean {
  const inner = (call as { call?: DecodingCall }).call;
  const decoder = inner?.decoder;
  const idle = decoder?.readState === 0; // StreamDecoder's ReadState.NO_DATA: between messages
  if (!inner || !decoder || typeof decoder.write !== 'function' || !idle) return false;
  const max = typeof decoder.maxReadMessageLength === 'number' ? decoder.maxReadMessageLength : -1;
  inner.decoder = new PooledMessageDecoder(max, pool);
  return true;
}
