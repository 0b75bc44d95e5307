import * as grpc from '@grpc/grpc-js';
import { collectiveV1, coordinatorV1, METADATA_KEYS } from '../../index';

describe('collective messages', () => {
  it('round-trips a gradient chunk with a Buffer payload', () => {
    const payload = Buffer.from(new Float32Array([1.5, -2, 3.25]).buffer);
    const chunk: collectiveV1.GradientChunk = {
      jobId: 'run-1',
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

describe('coordinator messages', () => {
  it('decodes a heartbeat answer of an older coordinator, skipping its removed fields 1 and 2', () => {
    // assignment_generation = 7 (field 1, varint), drain = true (field 2, varint), then field 3.
    const reason = Buffer.from('cancelled');
    const old = Buffer.concat([Buffer.from([0x08, 7, 0x10, 1, 0x1a, reason.length]), reason]);
    expect(coordinatorV1.HeartbeatResponse.decode(old)).toEqual({ abortReason: 'cancelled' });
  });

  it('has no ReportStepMetrics or GetAssignment RPC any more', () => {
    expect(Object.keys(coordinatorV1.CoordinatorServiceService).sort()).toEqual([
      'heartbeat',
      'registerWorker',
    ]);
  });
});

describe('coordinator service over grpc-js', () => {
  let server: grpc.Server;
  const heartbeats: coordinatorV1.HeartbeatRequest[] = [];
  let client: coordinatorV1.CoordinatorServiceClient;

  beforeAll(async () => {
    server = new grpc.Server();
    const impl: coordinatorV1.CoordinatorServiceServer = {
      registerWorker: (call, cb) => {
        const ok = call.metadata.get(METADATA_KEYS.secret)[0] === 's3cret';
        if (!ok) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'wrong secret' });
        cb(null, { sessionId: `session-${call.request.workerId}`, heartbeatIntervalMs: 1000 });
      },
      heartbeat: (call, cb) => {
        heartbeats.push(call.request);
        cb(null, {
          abortReason: call.request.runningJob ? `${call.request.runningJob} was cancelled` : '',
        });
      },
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

  it('registers a worker, then heartbeats what it holds and runs', async () => {
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
    const answer = await new Promise<coordinatorV1.HeartbeatResponse>((resolve, reject) =>
      client.heartbeat(
        {
          workerId: 'w0',
          sessionId: registered.sessionId,
          lastCompletedStep: 3,
          heldJobId: 'run-1',
          appliedSteps: 4,
          runningJob: 'ft-1.a0',
          leaving: false,
          cpuPercent: 97.5,
          rssBytes: 734_003_200,
          logLines: ['{"msg":"step done"}'],
        },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(answer).toEqual({ abortReason: 'ft-1.a0 was cancelled' });
    // The worker's CPU, memory and log lines arrive as sent.
    expect(heartbeats.at(-1)).toMatchObject({
      cpuPercent: 97.5,
      rssBytes: 734_003_200,
      logLines: ['{"msg":"step done"}'],
    });
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
