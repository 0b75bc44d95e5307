import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeTestPki, tlsEnv } from '@llm-forge/proto/testing';
import { ConfigError, loadConfig } from './config.schema';

const token = 'a-token-of-sixteen+';
/** A cluster config on a private network whose operator accepts plaintext gRPC. */
const plaintextCluster = {
  FORGE_API_TOKEN: token,
  FORGE_CLUSTER_SECRET: 'a-cluster-secret',
  FORGE_ALLOW_INSECURE_GRPC: 'true',
};

describe('loadConfig', () => {
  it('applies the defaults', () => {
    expect(loadConfig(plaintextCluster)).toEqual({
      port: 3000,
      httpHost: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6379',
      apiToken: token,
      localMode: false,
      authEnabled: true,
      redisPrefix: 'forge:',
      runsDir: 'runs',
      logLevel: 'info',
      grpcHost: '0.0.0.0',
      grpcPort: 50051,
      clusterSecret: 'a-cluster-secret',
      grpcTransport: { allowInsecure: true },
      heartbeatMs: 1000,
      workerTimeoutMs: 5000,
      workerRetentionMs: 3_600_000,
      stepTimeoutMs: 600_000,
      maxStepRetries: 5,
      maxJobRetries: 50,
      dashboardDir: undefined,
      judgeAllowList: [],
      maxBodyBytes: 1_048_576,
      maxQueuedJobs: 20,
      outputRoots: [],
      dataRoots: [],
    });
    expect(() => loadConfig({ FORGE_API_TOKEN: token })).toThrow(
      /FORGE_CLUSTER_SECRET is required outside local mode/,
    );
  });

  it('requires a token unless local mode disables auth explicitly', () => {
    expect(() => loadConfig({})).toThrow(/FORGE_API_TOKEN is required/);
    expect(() => loadConfig({ FORGE_LOCAL_MODE: 'true' })).toThrow(/FORGE_API_TOKEN is required/);
    expect(() => loadConfig({ FORGE_AUTH_DISABLED: 'true' })).toThrow(/only allowed with FORGE_LOCAL_MODE/);
    const local = loadConfig({ FORGE_LOCAL_MODE: 'true', FORGE_AUTH_DISABLED: 'true' });
    expect(local).toMatchObject({
      localMode: true,
      authEnabled: false,
      apiToken: undefined,
      grpcHost: '127.0.0.1',
      httpHost: '127.0.0.1',
      grpcTransport: { allowInsecure: false },
    });
  });

  it('refuses a plaintext control plane beyond loopback unless TLS is set or plaintext is opted into', () => {
    const cluster = { FORGE_API_TOKEN: token, FORGE_CLUSTER_SECRET: 'a-cluster-secret' };
    expect(() => loadConfig(cluster)).toThrow(
      /refusing to send the cluster secret in clear text: FORGE_GRPC_HOST .* is 0\.0\.0\.0:50051.*FORGE_TLS_CA/,
    );
    expect(loadConfig({ ...cluster, FORGE_GRPC_HOST: '127.0.0.1' }).grpcTransport.tls).toBeUndefined();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-config-tls-'));
    try {
      const pki = makeTestPki(tmp);
      const config = loadConfig({ ...cluster, ...tlsEnv(pki.cluster) });
      expect(config.grpcTransport.tls?.serverName).toBe('llm-forge');
      expect(config.grpcTransport.tls?.ca.toString()).toContain('-----BEGIN CERTIFICATE-----');
      expect(() => loadConfig({ ...cluster, FORGE_TLS_CERT: pki.cluster.cert })).toThrow(ConfigError);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('binds the HTTP API to loopback in local mode, to FORGE_HTTP_HOST or all interfaces otherwise', () => {
    expect(loadConfig({ FORGE_LOCAL_MODE: 'true', FORGE_API_TOKEN: token }).httpHost).toBe('127.0.0.1');
    expect(loadConfig(plaintextCluster).httpHost).toBe('0.0.0.0');
    expect(loadConfig({ ...plaintextCluster, FORGE_HTTP_HOST: '10.0.0.2' }).httpHost).toBe('10.0.0.2');
  });

  it('takes output and data roots as absolute directories', () => {
    const config = loadConfig({
      ...plaintextCluster,
      FORGE_OUTPUT_ROOTS: '/models, /scratch/out',
      FORGE_DATA_ROOTS: '/data',
    });
    expect(config.outputRoots).toEqual(['/models', '/scratch/out']);
    expect(config.dataRoots).toEqual(['/data']);
    expect(() => loadConfig({ ...plaintextCluster, FORGE_DATA_ROOTS: 'data' })).toThrow(
      /FORGE_DATA_ROOTS: "data" is not an absolute path/,
    );
  });

  it('allows no judge endpoint by default, Ollama on localhost in local mode, or the operator list', () => {
    const env = plaintextCluster;
    expect(loadConfig(env).judgeAllowList).toEqual([]);
    expect(loadConfig({ FORGE_LOCAL_MODE: 'true', FORGE_AUTH_DISABLED: 'true' }).judgeAllowList).toEqual([
      { scheme: 'http', host: 'localhost', port: 11434 },
    ]);
    expect(
      loadConfig({ ...env, FORGE_JUDGE_ALLOWLIST: 'http://Ollama:11434, https://api.openai.com' })
        .judgeAllowList,
    ).toEqual([
      { scheme: 'http', host: 'ollama', port: 11434 },
      { scheme: 'https', host: 'api.openai.com', port: 443 },
    ]);
    expect(() => loadConfig({ ...env, FORGE_JUDGE_ALLOWLIST: 'file:///etc' })).toThrow(
      /FORGE_JUDGE_ALLOWLIST: "file:\/\/\/etc" is not an http:\/\/ or https:\/\/ URL/,
    );
    expect(() => loadConfig({ ...env, FORGE_JUDGE_ALLOWLIST: 'http://h:1/v1' })).toThrow(
      /must be only scheme:\/\/host\[:port\]/,
    );
  });

  it('names each invalid variable', () => {
    const bad = () => loadConfig({ PORT: 'eighty', REDIS_URL: 'nope', FORGE_API_TOKEN: 'short' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(
      /PORT: .*REDIS_URL: .*FORGE_API_TOKEN: FORGE_API_TOKEN must have at least 16 characters/,
    );
    expect(() => loadConfig({ FORGE_API_TOKEN: token, FORGE_REDIS_PREFIX: 'forge' })).toThrow(
      /FORGE_REDIS_PREFIX must end with ":"/,
    );
  });

  it('keeps lost workers for FORGE_WORKER_RETENTION_MS, never shorter than the worker timeout', () => {
    const env = plaintextCluster;
    expect(loadConfig({ ...env, FORGE_WORKER_RETENTION_MS: '60000' }).workerRetentionMs).toBe(60_000);
    expect(() =>
      loadConfig({ ...env, FORGE_WORKER_TIMEOUT_MS: '10000', FORGE_WORKER_RETENTION_MS: '5000' }),
    ).toThrow(/FORGE_WORKER_RETENTION_MS \(5000\) must be at least FORGE_WORKER_TIMEOUT_MS \(10000\)/);
    expect(() => loadConfig({ ...env, FORGE_WORKER_RETENTION_MS: 'an hour' })).toThrow(
      /FORGE_WORKER_RETENTION_MS: /,
    );
  });
});
