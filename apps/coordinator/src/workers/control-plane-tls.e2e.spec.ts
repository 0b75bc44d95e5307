/**
 * The control plane over mutual TLS (CA made by openssl in the test): a worker with a certificate
 * of the cluster CA registers; a plaintext client and one with another CA's certificate never reach
 * the handler (issue 14: the secret crossed the network in clear text).
 */
import * as fs from 'fs';
import type { Server } from 'http';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import request from 'supertest';
import type { App } from 'supertest/types';
import {
  channelCredentials,
  channelOptions,
  coordinatorV1,
  METADATA_KEYS,
  transportSecurityFromEnv,
  type TransportSecurity,
} from '@llm-forge/proto';
import { makeTestPki, tlsEnv, type TestPki } from '@llm-forge/proto/testing';
import type { CoordinatorApp } from '../bootstrap';
import {
  deletePrefix,
  redisAvailable,
  startApp,
  TEST_SECRET,
  TEST_TOKEN,
  testConfig,
  testPrefix,
} from '../test-utils/harness';
import { ControlPlaneServer } from './control-plane.server';

describe('control plane over TLS (e2e, Redis)', () => {
  let up = false;
  let tmp = '';
  let pki: TestPki;
  let built: CoordinatorApp | undefined;
  const prefix = testPrefix();

  beforeAll(async () => {
    up = await redisAvailable();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-cp-tls-'));
    pki = makeTestPki(tmp);
    if (!up) return;
    built = await startApp(
      testConfig(prefix, { grpcTransport: transportSecurityFromEnv(tlsEnv(pki.cluster)) }),
    );
  });
  afterAll(async () => {
    if (built) {
      (built.app.getHttpServer() as Server).closeAllConnections();
      await built.app.close();
      await deletePrefix(prefix);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function register(
    workerId: string,
    security: TransportSecurity,
  ): Promise<string | grpc.ServiceError> {
    const port = (built as CoordinatorApp).app.get(ControlPlaneServer).port;
    const client = new coordinatorV1.CoordinatorServiceClient(
      `127.0.0.1:${port}`,
      channelCredentials(security),
      channelOptions(security),
    );
    const md = new grpc.Metadata();
    md.set(METADATA_KEYS.secret, TEST_SECRET);
    try {
      return await new Promise((resolve) =>
        client.registerWorker(
          { workerId, collectiveAddress: '127.0.0.1:1', pid: 1 },
          md,
          { deadline: Date.now() + 3000 },
          (err, res) => resolve(err ?? res.sessionId),
        ),
      );
    } finally {
      client.close();
    }
  }

  it('registers a worker holding a certificate of the cluster CA, and no other', async () => {
    if (!up) return;
    expect(await register('tls-ok', transportSecurityFromEnv(tlsEnv(pki.cluster)))).toEqual(
      expect.any(String),
    );
    const plain = await register('tls-plain', { allowInsecure: true });
    expect((plain as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    const foreign = await register(
      'tls-foreign',
      transportSecurityFromEnv({ ...tlsEnv(pki.foreign), FORGE_TLS_CA: pki.cluster.ca }),
    );
    expect((foreign as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    const server = built?.app.getHttpServer() as App;
    const workers = (
      await request(server)
        .get('/workers')
        .set({ Authorization: `Bearer ${TEST_TOKEN}` })
    ).body as Array<{ id: string }>;
    expect(workers.map((w) => w.id)).toEqual(['tls-ok']);
  });
});
