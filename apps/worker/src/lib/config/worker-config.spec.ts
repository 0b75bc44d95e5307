import { loadWorkerConfig } from './worker-config';

describe('loadWorkerConfig', () => {
  const local = { FORGE_LOCAL_MODE: 'true' };

  it('takes the Redis prefix of its cluster (as forge cluster up passes it)', () => {
    expect(loadWorkerConfig({ ...local, FORGE_REDIS_PREFIX: 'forge:0123abcd:' }).redisPrefix).toBe(
      'forge:0123abcd:',
    );
    expect(loadWorkerConfig(local).redisPrefix).toBe('forge:');
  });

  it('refuses a prefix the coordinator would refuse, naming the variable', () => {
    expect(() => loadWorkerConfig({ ...local, FORGE_REDIS_PREFIX: 'forge' })).toThrow(
      /FORGE_REDIS_PREFIX: must end with ":"/,
    );
    expect(() => loadWorkerConfig({ ...local, FORGE_REDIS_PREFIX: 'a b:' })).toThrow(/FORGE_REDIS_PREFIX/);
  });

  it('requires the cluster secret outside local mode', () => {
    expect(() => loadWorkerConfig({})).toThrow(/FORGE_CLUSTER_SECRET is required outside local mode/);
  });

  it('refuses to start when the secret would cross the network in clear text', () => {
    const cluster = { FORGE_CLUSTER_SECRET: 'a-cluster-secret', FORGE_COORDINATOR_URL: 'coordinator:50051' };
    expect(() => loadWorkerConfig(cluster)).toThrow(
      /invalid worker environment: refusing to send the cluster secret in clear text: FORGE_COORDINATOR_URL is coordinator:50051.*FORGE_TLS_CA/,
    );
    expect(() => loadWorkerConfig({ ...cluster, FORGE_COORDINATOR_URL: '127.0.0.1:50051' })).toThrow(
      /FORGE_COLLECTIVE_HOST .* is 0\.0\.0\.0:50052/,
    );
    expect(loadWorkerConfig({ ...cluster, FORGE_ALLOW_INSECURE_GRPC: 'true' }).bindHost).toBe('0.0.0.0');
    expect(() => loadWorkerConfig({ ...cluster, FORGE_TLS_CA: '/nonexistent/ca.pem' })).toThrow(
      /FORGE_TLS_CERT and FORGE_TLS_KEY are not set/,
    );
    // Local mode is loopback throughout: plaintext is fine.
    expect(loadWorkerConfig(local).bindHost).toBe('127.0.0.1');
  });
});
