/**
 * The worker's control-plane client over mutual TLS (CA made by openssl in the test), and its
 * refusal to send the cluster secret to a non-loopback address in clear text.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { coordinatorV1, METADATA_KEYS, serverCredentials, transportSecurityFromEnv } from '@llm-forge/proto';
import { makeTestPki, tlsEnv, type TestPki } from '@llm-forge/proto/testing';
import { CoordinatorClient } from './coordinator-client';

let tmp: string;
let pki: TestPki;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-client-tls-'));
  pki = makeTestPki(tmp);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const request: coordinatorV1.RegisterWorkerRequest = {
  workerId: 'w1',
  collectiveAddress: '127.0.0.1:1',
  pid: 1,
};

describe('CoordinatorClient transport', () => {
  it('registers over mutual TLS, the secret inside the encrypted channel', async () => {
    const security = transportSecurityFromEnv(tlsEnv(pki.cluster));
    const secrets: unknown[] = [];
    const server = new grpc.Server();
    server.addService(coordinatorV1.CoordinatorServiceService, {
      registerWorker: (call, cb) => {
        secrets.push(call.metadata.get(METADATA_KEYS.secret)[0]);
        cb(null, { sessionId: 'session-1', heartbeatIntervalMs: 1000 });
      },
      heartbeat: (_call, cb) => cb(null, { abortReason: '' }),
    } satisfies coordinatorV1.CoordinatorServiceServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', serverCredentials(security), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = new CoordinatorClient(`127.0.0.1:${port}`, 'the-secret', security);
    const plain = new CoordinatorClient(`127.0.0.1:${port}`, 'the-secret', { allowInsecure: false });
    try {
      expect((await client.register(request)).sessionId).toBe('session-1');
      expect(secrets).toEqual(['the-secret']);
      await expect(plain.register(request)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(secrets).toHaveLength(1); // the plaintext call never reached the handler
    } finally {
      client.close();
      plain.close();
      server.forceShutdown();
    }
  });

  it('refuses a plaintext channel to another machine unless insecure transport is opted into', () => {
    expect(() => new CoordinatorClient('coordinator:50051', 's', { allowInsecure: false })).toThrow(
      /refusing to send the cluster secret in clear text: FORGE_COORDINATOR_URL is coordinator:50051/,
    );
    new CoordinatorClient('coordinator:50051', 's', { allowInsecure: true }).close();
    new CoordinatorClient('127.0.0.1:50051', 's', { allowInsecure: false }).close();
  });
});
