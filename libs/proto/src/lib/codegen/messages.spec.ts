import * as grpc from '@grpc/grpc-js';
import { collectiveV1, coordinatorV1, METADATA_KEYS } from '../../index';

describe('collective messages', () => {
  it('round-trips a gradient chunk with a Buffer payload', () => {
    const payload = Buffer.from(new Float32Array([1.5, -2, 3.25]).buffer);
    const chunk: collectiveV1.GradientChunk = {
      runId: 'run-1',
      step: 2 ** 40,
      attempt: 3,
      bucketId: 7,
      phase: collectiveV1.Phase.PHASE_ALL_GATHER,
      ringStep: 2,
      segmentIndex: 1,
      offset: 123456,
      dtype: collectiveV1.DType.DTYPE_F32,
      payload,
      alignment: Buffer.alloc(0),
    };
    const decoded = collectiveV1.GradientChunk.decode(collectiveV1.GradientChunk.encode(chunk).finish());
    expect(decoded).toEqual(chunk);
    expect(Buffer.isBuffer(decoded.payload)).toBe(true);
  });
});

describe('coordinator service over grpc-js', () => {
  let server: grpc.Server;
  let client: coordinatorV1.CoordinatorServiceClient;

  beforeAll(async () => {
    server = new grpc.Server();
    const impl: coordinatorV1.CoordinatorServiceServer = {
      registerWorker: (call, cb) => {
        const ok = call.metadata.get(METADATA_KEYS.secret)[0] === 's3cret';
        if (!ok) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'wrong secret' });
        cb(null, { sessionId: `session-${call.request.workerId}`, heartbeatIntervalMs: 1000 });
      },
      heartbeat: (_call, cb) => cb(null, { assignmentGeneration: 1, drain: false, abortFinetuneReason: '' }),
      reportStepMetrics: (_call, cb) => cb(null, {}),
      getAssignment: (call, cb) =>
        cb(null, {
          runId: 'run-1',
          rank: 0,
          worldSize: 1,
          peers: [{ rank: 0, workerId: call.request.workerId, address: 'localhost:1' }],
          assignmentGeneration: 1,
          wireDtype: coordinatorV1.WireDType.WIRE_DTYPE_BF16,
        }),
    };
    server.addService(coordinatorV1.CoordinatorServiceService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    client = new coordinatorV1.CoordinatorServiceClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    );
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('registers a worker and returns its assignment', async () => {
    const md = new grpc.Metadata();
    md.set(METADATA_KEYS.secret, 's3cret');
    const registered = await new Promise<coordinatorV1.RegisterWorkerResponse>((resolve, reject) =>
      client.registerWorker(
        {
          workerId: 'w0',
          collectiveAddress: '127.0.0.1:5000',
          pid: 4242,
          capabilities: {
            hostname: 'h',
            cpuCores: 2,
            memoryBytes: 2 ** 34,
            backends: ['native'],
            wireDtypes: [coordinatorV1.WireDType.WIRE_DTYPE_F32],
            version: '0.1.0',
          },
        },
        md,
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(registered.sessionId).toBe('session-w0');
    const assignment = await new Promise<coordinatorV1.GetAssignmentResponse>((resolve, reject) =>
      client.getAssignment({ workerId: 'w0', sessionId: registered.sessionId }, (e, r) =>
        e ? reject(e) : resolve(r),
      ),
    );
    expect(assignment.peers).toEqual([{ rank: 0, workerId: 'w0', address: 'localhost:1' }]);
  });

  it('answers UNAUTHENTICATED for a wrong secret', async () => {
    const md = new grpc.Metadata();
    md.set(METADATA_KEYS.secret, 'nope');
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.registerWorker({ workerId: 'w1', collectiveAddress: '', pid: 1 }, md, (e) =>
        resolve(e as grpc.ServiceError),
      ),
    );
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
