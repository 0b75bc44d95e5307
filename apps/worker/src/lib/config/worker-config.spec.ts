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
});
