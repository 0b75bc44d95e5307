import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

/** A client-streaming test service of raw byte messages (no protobuf). */
const definition = {
  upload: {
    path: '/test.Bytes/Upload',
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** The server side of an upload: the call, and how to answer it. */
export type UploadHandler = (
  call: grpc.ServerReadableStream<Buffer, Buffer>,
  respond: grpc.sendUnaryData<Buffer>,
) => void;

/** A running upload service on loopback and a client of it. */
export interface UploadService {
  /** Streams `messages`, calling `onWritten` with each once grpc-js reports it written; resolves when answered. */
  upload(messages: Buffer[], onWritten?: (message: Buffer) => void): Promise<void>;
  close(): void;
}

interface UploadClient {
  upload(cb: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<Buffer>;
  close(): void;
}

/** Starts an upload service served by `handler`; its client uses `channelOptions`. */
export async function startUploadService(
  handler: UploadHandler,
  channelOptions: grpc.ChannelOptions = {},
): Promise<UploadService> {
  const server = new grpc.Server();
  server.addService(definition, { upload: handler });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const Client = grpc.makeGenericClientConstructor(definition, 'Bytes');
  const client = new Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    channelOptions,
  ) as unknown as UploadClient;
  return {
    upload: (messages, onWritten = () => undefined) =>
      new Promise<void>((resolve, reject) => {
        const call = client.upload((e) => (e ? reject(e) : resolve()));
        for (const m of messages) call.write(m, () => onWritten(m));
        call.end();
      }),
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}
