import { startUploadService, type UploadService } from '../test-utils/upload-service';
import { collectiveChannelOptions } from './grpc-options';
import { GRPC_FRAME_HEADER_BYTES, frameInPlace, installInPlaceFraming } from './in-place-framing';

describe('in-place framing', () => {
  let service: UploadService;
  /** How long the server waits before it reads a stream: the client's writes queue up meanwhile. */
  let readDelayMs = 0;
  let received: Buffer[] = [];

  beforeAll(async () => {
    expect(installInPlaceFraming()).toBe(true); // grpc-js 1.14 has the expected shape
    service = await startUploadService(
      (call, respond) => {
        setTimeout(() => {
          call.on('data', (m: Buffer) => received.push(Buffer.from(m)));
          call.on('end', () => respond(null, Buffer.alloc(0)));
        }, readDelayMs);
      },
      collectiveChannelOptions(8 * 2 ** 20),
    );
  });
  afterAll(() => service.close());
  beforeEach(() => (received = []));

  /** A message of `length` bytes of `fill` in a buffer with room for its frame header (set to 0xff). */
  function framable(length: number, fill: number): Buffer {
    const buffer = Buffer.alloc(GRPC_FRAME_HEADER_BYTES + length, fill);
    buffer.fill(0xff, 0, GRPC_FRAME_HEADER_BYTES);
    return frameInPlace(buffer);
  }

  it('frames a message in the room before it: grpc-js sends that very buffer', async () => {
    const message = framable(1000, 7);
    await service.upload([message]);
    const room = Buffer.from(message.buffer, message.byteOffset - GRPC_FRAME_HEADER_BYTES, 5);
    expect([...room]).toEqual([0, 0, 0, 0x03, 0xe8]); // not compressed, length 1000
    expect(received).toEqual([Buffer.alloc(1000, 7)]);
  });

  it('sends other messages as grpc-js always does', async () => {
    await service.upload([Buffer.alloc(10, 1), Buffer.alloc(0)]);
    expect(received).toEqual([Buffer.alloc(10, 1), Buffer.alloc(0)]);
  });

  it('reports a message written only once the connection has taken it, so it can be reused then', async () => {
    // The server reads nothing for a while: most messages wait in the client. Each buffer is
    // scribbled over as soon as it is reported written; the server must still see every original.
    readDelayMs = 300;
    const sizes = [100, 3_000_000, 500, 1_000_000, 20, 4_000_000];
    const messages = sizes.map((n, i) => framable(n, i + 1));
    await service.upload(messages, (m) => m.fill(0xee));
    readDelayMs = 0;
    expect(received.map((m) => m.length)).toEqual(sizes);
    received.forEach((m, i) => expect(m.every((b) => b === i + 1)).toBe(true));
  });
});
