import * as grpc from '@grpc/grpc-js';
import { collectiveChannelOptions } from './grpc-options';
import { GRPC_FRAME_HEADER_BYTES, frameInPlace, installInPlaceFraming } from './in-place-framing';

const identity = (b: Buffer): Buffer => b;
const definition = {
  upload: {
    path: '/test.Framing/Upload',
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
type UploadClient = grpc.Client & {
  upload(cb: (e: grpc.ServiceError | null, r: Buffer) => void): grpc.ClientWritableStream<Buffer>;
};

describe('in-place framing', () => {
  let server: grpc.Server;
  let client: UploadClient;
  /** How long the server waits before it reads a stream: the client's writes queue up meanwhile. */
  let readDelayMs = 0;
  let received: Buffer[] = [];

  beforeAll(async () => {
    expect(installInPlaceFraming()).toBe(true); // grpc-js 1.14 has the expected shape
    server = new grpc.Server();
    server.addService(definition, {
      upload: (call: grpc.ServerReadableStream<Buffer, Buffer>, respond: grpc.sendUnaryData<Buffer>) => {
        setTimeout(() => {
          call.on('data', (m: Buffer) => received.push(Buffer.from(m)));
          call.on('end', () => respond(null, Buffer.alloc(0)));
        }, readDelayMs);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const Client = grpc.makeGenericClientConstructor(definition, 'Framing');
    client = new Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
      collectiveChannelOptions(8 * 2 ** 20),
    ) as UploadClient;
  });
  afterAll(() => {
    client.close();
    server.forceShutdown();
  });
  beforeEach(() => (received = []));

  /** A message of `length` bytes of `fill` in a buffer with room for its frame header (set to 0xff). */
  function framable(length: number, fill: number): Buffer {
    const buffer = Buffer.alloc(GRPC_FRAME_HEADER_BYTES + length, fill);
    buffer.fill(0xff, 0, GRPC_FRAME_HEADER_BYTES);
    return frameInPlace(buffer);
  }

  function upload(messages: Buffer[], onWritten: (m: Buffer) => void = () => undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const call = client.upload((e) => (e ? reject(e) : resolve()));
      for (const m of messages) call.write(m, () => onWritten(m));
      call.end();
    });
  }

  it('frames a message in the room before it: grpc-js sends that very buffer', async () => {
    const message = framable(1000, 7);
    await upload([message]);
    const room = Buffer.from(message.buffer, message.byteOffset - GRPC_FRAME_HEADER_BYTES, 5);
    expect([...room]).toEqual([0, 0, 0, 0x03, 0xe8]); // not compressed, length 1000
    expect(received).toEqual([Buffer.alloc(1000, 7)]);
  });

  it('sends other messages as grpc-js always does', async () => {
    await upload([Buffer.alloc(10, 1), Buffer.alloc(0)]);
    expect(received).toEqual([Buffer.alloc(10, 1), Buffer.alloc(0)]);
  });

  it('reports a message written only once the connection has taken it, so it can be reused then', async () => {
    // The server reads nothing for a while: most messages wait in the client. Each buffer is
    // scribbled over as soon as it is reported written; the server must still see every original.
    readDelayMs = 300;
    const sizes = [100, 3_000_000, 500, 1_000_000, 20, 4_000_000];
    const messages = sizes.map((n, i) => framable(n, i + 1));
    await upload(messages, (m) => m.fill(0xee));
    readDelayMs = 0;
    expect(received.map((m) => m.length)).toEqual(sizes);
    received.forEach((m, i) => expect(m.every((b) => b === i + 1)).toBe(true));
  });
});
