/**
 * Mutual TLS of our gRPC channels with a CA made by openssl in the test, and the rule that the
 * cluster secret never crosses a non-loopback address in clear text.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as coordinatorV1 from '../../generated/llmforge/coordinator/v1/coordinator';
import { makeTestPki, tlsEnv, type TestPki } from '../test-utils/test-pki';
import {
  assertSecretStaysPrivate,
  channelCredentials,
  channelOptions,
  hostOf,
  isLoopbackHost,
  serverCredentials,
  transportSecurityFromEnv,
  TransportSecurityError,
  type TransportSecurity,
} from './transport-security';

let tmp: string;
let pki: TestPki;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-tls-'));
  pki = makeTestPki(tmp);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A CoordinatorService on 127.0.0.1 with `security`; registerWorker answers a session id. */
async function startServer(security: TransportSecurity): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(coordinatorV1.CoordinatorServiceService, {
    registerWorker: (call, cb) =>
      cb(null, { sessionId: `s-${call.request.workerId}`, heartbeatIntervalMs: 1 }),
    heartbeat: (_call, cb) => cb(null, { abortReason: '' }),
  } satisfies coordinatorV1.CoordinatorServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(security), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, port };
}

/** Registers through a client with `security`; resolves to the session id or the gRPC error. */
async function register(port: number, security: TransportSecurity): Promise<string | grpc.ServiceError> {
  const client = new coordinatorV1.CoordinatorServiceClient(
    `127.0.0.1:${port}`,
    channelCredentials(security),
    channelOptions(security),
  );
  try {
    return await new Promise((resolve) =>
      client.registerWorker(
        { workerId: 'w1', collectiveAddress: '127.0.0.1:1', pid: 1 },
        new grpc.Metadata(),
        { deadline: Date.now() + 3000 },
        (err, res) => resolve(err ?? res.sessionId),
      ),
    );
  } finally {
    client.close();
  }
}

describe('TLS between machines (openssl-made CA)', () => {
  it('connects a client holding a certificate of the cluster CA, checked against the cluster name', async () => {
    const security = transportSecurityFromEnv(tlsEnv(pki.cluster));
    const { server, port } = await startServer(security);
    try {
      expect(await register(port, security)).toBe('s-w1');
    } finally {
      server.forceShutdown();
    }
  });

  it('refuses a plaintext client and a client with a certificate of another CA', async () => {
    const { server, port } = await startServer(transportSecurityFromEnv(tlsEnv(pki.cluster)));
    try {
      const plain = await register(port, { allowInsecure: false });
      expect((plain as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
      // The intruder trusts our CA (it could read the server's certificate) but holds its own.
      const intruder = transportSecurityFromEnv({ ...tlsEnv(pki.foreign), FORGE_TLS_CA: pki.cluster.ca });
      expect((await register(port, intruder)) as grpc.ServiceError).toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      server.forceShutdown();
    }
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const { server, port } = await startServer(transportSecurityFromEnv(tlsEnv(pki.foreign)));
    try {
      const result = await register(port, transportSecurityFromEnv(tlsEnv(pki.cluster)));
      expect((result as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      server.forceShutdown();
    }
  });
});

describe('transport settings', () => {
  it('is plaintext without FORGE_TLS_*, and names what is missing or unreadable', () => {
    expect(transportSecurityFromEnv({})).toEqual({ allowInsecure: false });
    expect(transportSecurityFromEnv({ FORGE_ALLOW_INSECURE_GRPC: 'true' })).toEqual({ allowInsecure: true });
    expect(() => transportSecurityFromEnv({ FORGE_TLS_CA: pki.cluster.ca })).toThrow(
      'TLS needs FORGE_TLS_CA, FORGE_TLS_CERT and FORGE_TLS_KEY together; FORGE_TLS_CERT and FORGE_TLS_KEY are not set',
    );
    expect(() =>
      transportSecurityFromEnv({ ...tlsEnv(pki.cluster), FORGE_TLS_KEY: '/nonexistent/key.pem' }),
    ).toThrow(/^FORGE_TLS_KEY=\/nonexistent\/key\.pem cannot be used: ENOENT/);
    const notPem = path.join(tmp, 'not.pem');
    fs.writeFileSync(notPem, 'hello');
    expect(() => transportSecurityFromEnv({ ...tlsEnv(pki.cluster), FORGE_TLS_CA: notPem })).toThrow(
      /FORGE_TLS_CA=.*not a PEM file/,
    );
  });

  it('refuses to send the secret in clear text beyond loopback unless opted in', () => {
    const plain: TransportSecurity = { allowInsecure: false };
    for (const address of ['127.0.0.1:50051', 'localhost:1', '[::1]:50051', '127.0.0.2:9']) {
      expect(() => assertSecretStaysPrivate(plain, address, 'x')).not.toThrow();
    }
    for (const address of [
      '0.0.0.0:50051',
      '10.0.0.5:50052',
      'coordinator:50051',
      'dns:///coordinator:50051',
    ]) {
      expect(() => assertSecretStaysPrivate(plain, address, 'the coordinator address')).toThrow(
        TransportSecurityError,
      );
    }
    expect(() => assertSecretStaysPrivate(plain, 'coordinator:50051', 'FORGE_COORDINATOR_URL')).toThrow(
      /refusing to send the cluster secret in clear text: FORGE_COORDINATOR_URL is coordinator:50051.*FORGE_TLS_CA.*FORGE_ALLOW_INSECURE_GRPC=true/,
    );
    expect(() => assertSecretStaysPrivate({ allowInsecure: true }, '10.0.0.5:1', 'x')).not.toThrow();
    expect(() =>
      assertSecretStaysPrivate(transportSecurityFromEnv(tlsEnv(pki.cluster)), '10.0.0.5:1', 'x'),
    ).not.toThrow();
  });

  it('takes the host out of every address form', () => {
    expect(hostOf('10.1.2.3:50051')).toBe('10.1.2.3');
    expect(hostOf('[::1]:50051')).toBe('::1');
    expect(hostOf('dns:///coordinator:50051')).toBe('coordinator');
    expect(hostOf('localhost')).toBe('localhost');
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
  });
});
