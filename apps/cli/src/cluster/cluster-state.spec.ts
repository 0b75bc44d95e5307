import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  clusterRedisPrefix,
  isGeneratedPrefix,
  readClusterState,
  writeClusterState,
  type ClusterState,
} from './cluster-state';

/** The coordinator's rule for FORGE_REDIS_PREFIX (apps/coordinator/src/config/config.schema.ts). */
const COORDINATOR_PREFIX_RULE = /^[A-Za-z0-9_.:-]+:$/;

function state(redisPrefix: string): ClusterState {
  const proc = { id: 'coordinator', pid: 1, log: 'coordinator.log' };
  return {
    apiUrl: 'http://127.0.0.1:3000',
    dashboardUrl: 'http://127.0.0.1:3000/',
    token: 't',
    secret: 's',
    grpcAddress: '127.0.0.1:50051',
    redisUrl: 'redis://127.0.0.1:6379',
    redisPrefix,
    runsDir: '/runs',
    coordinator: proc,
    workers: [],
    startedAt: new Date(0).toISOString(),
  };
}

describe('clusterRedisPrefix', () => {
  it('gives the clusters of every FORGE_HOME a prefix of their own that the coordinator accepts', () => {
    const a = clusterRedisPrefix(undefined, '/checkouts/a/.forge');
    const b = clusterRedisPrefix(undefined, '/checkouts/b/.forge');
    expect(a).toMatch(/^forge:[0-9a-f]{8}:$/);
    expect(a).toMatch(COORDINATOR_PREFIX_RULE);
    expect(b).not.toBe(a);
    expect(isGeneratedPrefix(a)).toBe(true);
    // The same home after `down` and `up` (also named relatively): the same keys, so the runs are still listed.
    expect(clusterRedisPrefix(undefined, '/checkouts/a/x/../.forge')).toBe(a);
  });

  it('keeps the prefix of a saved cluster that is brought back', () => {
    expect(clusterRedisPrefix(state('forge:0123abcd:'))).toBe('forge:0123abcd:');
  });

  it('replaces the shared prefix of a state saved before prefixes were generated', () => {
    const fresh = clusterRedisPrefix(state('forge:'), '/checkouts/a/.forge');
    expect(fresh).not.toBe('forge:');
    expect(isGeneratedPrefix(fresh)).toBe(true);
    expect(isGeneratedPrefix('forge:')).toBe(false);
    expect(isGeneratedPrefix('forge:0123abcd:x:')).toBe(false);
  });
});

describe('cluster state file', () => {
  const saved = process.env.FORGE_HOME;
  let home = '';

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-home-'));
    process.env.FORGE_HOME = home;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.FORGE_HOME;
    else process.env.FORGE_HOME = saved;
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('keeps the prefix across a write and a read, in a file only its owner can read', () => {
    const prefix = clusterRedisPrefix();
    writeClusterState(state(prefix));
    expect(readClusterState()?.redisPrefix).toBe(prefix);
    expect(clusterRedisPrefix(readClusterState())).toBe(prefix);
    expect(fs.statSync(path.join(home, 'cluster.json')).mode & 0o777).toBe(0o600);
  });
});
