import { BufferPool } from '../codec/buffer-pool';
import { startUploadService, type UploadService } from '../test-utils/upload-service';
import { GRPC_FRAME_HEADER_BYTES } from './in-place-framing';
import { PooledMessageDecoder, adoptPooledDecoder } from './pooled-message-decoder';

/** A gRPC frame: flag 0, big-endian length, message. */
function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(GRPC_FRAME_HEADER_BYTES);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** Whether the two lists hold the same bytes (Jest's deep equality is slow on large buffers). */
function sameBuffers(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]));
}

/** `data` cut into pieces of the given sizes, cycling through them. */
function pieces(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length];
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

describe('PooledMessageDecoder', () => {
  const messages = [bytes(0, 1), bytes(3, 2), bytes(200_000, 3), bytes(70_000, 4), bytes(1, 5)];
  const stream = Buffer.concat(messages.map(frame));

  it.each([
    [[1, 1, 1, 2, 9_999]],
    [[2, 7, 4_001]],
    [[4, 5, 6, 20_000]],
    [[16_384]],
    [[65_536, 3]],
    [[stream.length]],
  ])('splits a stream cut into pieces of %j into its framed messages', (sizes) => {
    const decoder = new PooledMessageDecoder(-1, new BufferPool());
    const out = pieces(stream, sizes).flatMap((piece) => decoder.write(piece));
    expect(
      sameBuffers(
        out.map((m) => m.subarray(GRPC_FRAME_HEADER_BYTES)),
        messages,
      ),
    ).toBe(true);
    expect(out.map((m) => m.readUInt32BE(1))).toEqual(messages.map((m) => m.length));
  });

  it('assembles large messages in the pool, reusing a buffer given back', () => {
    const pool = new BufferPool();
    const decoder = new PooledMessageDecoder(-1, pool);
    const [first] = decoder.write(frame(bytes(100_000, 1)));
    expect(pool.owns(first)).toBe(true);
    pool.release(first.subarray(GRPC_FRAME_HEADER_BYTES, 10));
    const [second] = decoder.write(frame(bytes(90_000, 2)));
    expect(second.buffer).toBe(first.buffer);
    expect(second.subarray(GRPC_FRAME_HEADER_BYTES).equals(bytes(90_000, 2))).toBe(true);
    const [small] = decoder.write(frame(bytes(100, 3)));
    expect(pool.owns(small)).toBe(false);
  });

  it('refuses a message over the limit, as grpc-js does', () => {
    const decoder = new PooledMessageDecoder(1000, new BufferPool());
    expect(decoder.write(frame(bytes(1000, 1)))).toHaveLength(1);
    expect(() => decoder.write(frame(bytes(1001, 1)))).toThrow(
      'Received message larger than max (1001 vs 1000)',
    );
  });
});

describe('adoptPooledDecoder', () => {
  let service: UploadService;
  const pool = new BufferPool();
  const adopted: boolean[] = [];
  const received: Buffer[] = [];

  beforeAll(async () => {
    service = await startUploadService((call, respond) => {
      adopted.push(adoptPooledDecoder(call, pool));
      call.on('data', (m: Buffer) => received.push(m));
      call.on('end', () => respond(null, Buffer.alloc(0)));
    });
  });
  afterAll(() => service.close());

  it('has a grpc-js server call assemble large messages in the pool', async () => {
    const sent = [bytes(300_000, 1), bytes(10, 2), bytes(500_000, 3)];
    await service.upload(sent);
    expect(adopted).toEqual([true]);
    expect(sameBuffers(received, sent)).toBe(true);
    expect(received.map((m) => pool.owns(m))).toEqual([true, false, true]);
  });
});
