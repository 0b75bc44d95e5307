/**
 * The worker pool against a real registry in Redis: which workers are free for a job (alive, in no
 * other job's ring, of any kind), the ring it chooses, the assignments it writes and clears, and
 * that concurrent formations never share a worker.
 */
import IORedis from 'ioredis';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';
import { deletePrefix, REDIS_URL, redisAvailable, testConfig, testPrefix } from '../test-utils/harness';
import {
  WorkerPool,
  type HoldingJob,
  type MembershipSource,
  type Ring,
  type RingMember,
} from './worker-pool';
import { WorkerPoolLock } from './worker-pool-lock';
import { WorkerRegistry, type JobKind } from './worker-registry';

/** The jobs of one kind and their recorded rings, as a repository would hold them. */
class Jobs implements MembershipSource {
  readonly rings = new Map<string, RingMember[]>();
  constructor(readonly kind: JobKind) {}
  async holding(): Promise<HoldingJob[]> {
    return [...this.rings].map(([id, members]) => ({ id, members }));
  }
  /** A `record` callback that stores the ring as the job's members. */
  recorder(id: string): (ring: Ring) => Promise<string[]> {
    return async (ring) => {
      this.rings.set(id, ring.members);
      return ring.members.map((m) => m.workerId);
    };
  }
}

describe('WorkerPool (e2e, Redis)', () => {
  let up = false;
  let prefix = '';
  let config: CoordinatorConfig;
  let redis: RedisService;
  let registry: WorkerRegistry;
  let pool: WorkerPool;
  let runs: Jobs;
  let finetunes: Jobs;

  beforeAll(async () => {
    up = await redisAvailable();
  });
  beforeEach(() => {
    if (!up) return;
    prefix = testPrefix();
    config = testConfig(prefix);
    redis = new RedisService(config);
    registry = new WorkerRegistry(redis, config);
    pool = new WorkerPool(registry, new WorkerPoolLock(), config);
    runs = new Jobs('run');
    finetunes = new Jobs('finetune');
    pool.addSource(runs);
    pool.addSource(finetunes);
  });
  afterEach(async () => {
    if (!up) return;
    await redis.onApplicationShutdown();
    await deletePrefix(prefix);
  });

  async function register(...ids: string[]): Promise<void> {
    for (const id of ids) {
      await registry.register({
        id,
        address: `127.0.0.1:${ids.indexOf(id) + 1}`,
        pid: 1,
        hostname: 'h',
        backend: 'cpu',
      });
    }
  }

  it('gives a run none of the workers in a finetune ring, and a finetune none of a run', async () => {
    if (!up) return;
    await register('w1', 'w2', 'w3', 'w4');
    const ft = { kind: 'finetune' as const, id: 'ft-1', size: 2, minimum: 2, attempt: 0 };
    expect(await pool.form(ft, finetunes.recorder('ft-1'))).toEqual(['w1', 'w2']);
    const run = { kind: 'run' as const, id: 'run-1', size: 3, minimum: 3, attempt: 0 };
    // three asked, two free: the run waits and nothing of it is recorded
    expect(await pool.form(run, runs.recorder('run-1'))).toBeUndefined();
    expect(runs.rings.size).toBe(0);
    expect(await pool.form({ ...run, size: 2, minimum: 2 }, runs.recorder('run-1'))).toEqual(['w3', 'w4']);
    // and back: a second finetune finds every worker taken
    const other = { ...ft, id: 'ft-2', size: 1, minimum: 1 };
    expect(await pool.form(other, finetunes.recorder('ft-2'))).toBeUndefined();
    // a job is never busy for itself: a finetune re-forming keeps its members
    expect((await pool.free({ kind: 'finetune', id: 'ft-1' })).map((w) => w.id)).toEqual(['w1', 'w2']);
    // until the run is no longer active (its source stops reporting it)
    runs.rings.delete('run-1');
    expect(await pool.form(other, finetunes.recorder('ft-2'))).toEqual(['w3']);
  });

  it('skips a worker past the timeout', async () => {
    if (!up) return;
    await register('w1', 'w2');
    const client = new IORedis(REDIS_URL);
    try {
      await client.hset(`${prefix}worker:w1`, 'lastSeen', String(Date.now() - config.workerTimeoutMs - 1));
    } finally {
      client.disconnect();
    }
    expect((await pool.free({ kind: 'run', id: 'run-1' })).map((w) => w.id)).toEqual(['w2']);
  });

  it('assigns members to the attempt, frees members left out, and releases only its own', async () => {
    if (!up) return;
    await register('w1', 'w2', 'w3');
    await registry.heartbeat('w3', (await registry.get('w3'))!.sessionId, {
      jobId: 'run-1',
      appliedSteps: 5,
    });
    const request = {
      kind: 'run' as const,
      id: 'run-1',
      size: 2,
      minimum: 2,
      attempt: 0,
      holds: (w: { held?: { jobId: string; appliedSteps: number } }) => w.held?.jobId === 'run-1',
    };
    // w3 holds the run's state: rank 0
    expect(await pool.form(request, runs.recorder('run-1'))).toEqual(['w3', 'w1']);
    expect((await registry.get('w3'))?.assignment).toEqual({
      kind: 'run',
      jobId: 'run-1',
      rank: 0,
      worldSize: 2,
      attempt: 0,
    });
    // a smaller next attempt keeps the holder; w1, left out, is free again
    const current = runs.rings.get('run-1');
    const smaller = { ...request, size: 1, minimum: 1, attempt: 1, current };
    expect(await pool.form(smaller, runs.recorder('run-1'))).toEqual(['w3']);
    expect((await registry.get('w1'))?.assignment).toBeUndefined();
    expect((await registry.get('w3'))?.assignment).toMatchObject({ rank: 0, worldSize: 1, attempt: 1 });

    // a finetune takes w1; releasing the run with a stale member list must not clear that
    const ft = { kind: 'finetune' as const, id: 'ft-1', size: 1, minimum: 1, attempt: 3 };
    expect(await pool.form(ft, finetunes.recorder('ft-1'))).toEqual(['w1']);
    await pool.release({ kind: 'run', id: 'run-1' }, current);
    expect((await registry.get('w3'))?.assignment).toBeUndefined();
    expect((await registry.get('w1'))?.assignment).toEqual({
      kind: 'finetune',
      jobId: 'ft-1',
      rank: 0,
      worldSize: 1,
      attempt: 3,
    });
  });

  it('never gives one worker to two jobs formed at the same moment', async () => {
    if (!up) return;
    await register('w1', 'w2', 'w3');
    const formed = await Promise.all([
      pool.form({ kind: 'run', id: 'run-1', size: 2, minimum: 1, attempt: 0 }, runs.recorder('run-1')),
      pool.form(
        { kind: 'finetune', id: 'ft-1', size: 2, minimum: 1, attempt: 0 },
        finetunes.recorder('ft-1'),
      ),
      pool.form({ kind: 'run', id: 'run-2', size: 2, minimum: 1, attempt: 0 }, runs.recorder('run-2')),
    ]);
    expect(formed).toEqual([['w1', 'w2'], ['w3'], undefined]);
  });

  it('reports ring members that left, restarted or fell silent as lost', async () => {
    if (!up) return;
    await register('w1', 'w2', 'w3');
    await pool.form({ kind: 'run', id: 'run-1', size: 3, minimum: 3, attempt: 0 }, runs.recorder('run-1'));
    const members = runs.rings.get('run-1')!;
    expect(await pool.lost(members)).toEqual([]);
    await registry.remove('w1');
    await register('w2'); // a new session: it lost what it held
    expect((await pool.lost(members)).map((m) => m.workerId)).toEqual(['w1', 'w2']);
    // past the grace after this coordinator started and the timeout, a silent one is lost too
    const later = Date.now() + 2 * config.workerTimeoutMs;
    expect((await pool.lost(members, later)).map((m) => m.workerId)).toEqual(['w1', 'w2', 'w3']);
  });
});
