/**
 * Run state in Redis, so that a coordinator restart loses nothing. Keys (prefix `forge:` by default):
 *   <prefix>run:<id>          hash: status, spec (JSON), progress fields, checkpointDir, stepJobId, timestamps
 *   <prefix>run:<id>:metrics  list of step-metrics JSON, oldest first
 *   <prefix>runs              sorted set of run ids by creation time
 * Status changes are compare-and-set in one Lua script, so two concurrent actions cannot both win.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';
import type { CreateRunDto } from './dto/create-run.dto';
import { isRunStatus, type RunStatus } from './run-state';
import type { Run, StepMetrics } from './run.model';

/** Result of a compare-and-set of a run's status. */
export type TransitionResult =
  { ok: true; previous: RunStatus } | { ok: false; current: RunStatus | undefined };

// KEYS[1] = run hash; ARGV = new status, updatedAt, allowed current statuses...
const TRANSITION_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {0, ''} end
for i = 3, #ARGV do
  if ARGV[i] == cur then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2])
    return {1, cur}
  end
end
return {0, cur}
`;

/** Maximum number of step metrics kept per run. */
export const MAX_METRICS = 10_000;

/** Reads and writes runs in Redis. */
@Injectable()
export class RunsRepository {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: RedisService, @Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    this.redis = redis.client;
    this.prefix = config.redisPrefix;
  }

  private runKey(id: string): string {
    return `${this.prefix}run:${id}`;
  }
  private metricsKey(id: string): string {
    return `${this.prefix}run:${id}:metrics`;
  }
  private indexKey(): string {
    return `${this.prefix}runs`;
  }

  /** Stores a new run and indexes it. */
  async create(run: Run): Promise<void> {
    await this.redis
      .multi()
      .hset(this.runKey(run.id), this.toHash(run))
      .zadd(this.indexKey(), Date.parse(run.createdAt), run.id)
      .exec();
  }

  /** The run, or undefined. */
  async get(id: string): Promise<Run | undefined> {
    const hash = await this.redis.hgetall(this.runKey(id));
    return Object.keys(hash).length === 0 ? undefined : this.fromHash(id, hash);
  }

  /** All runs, newest first. */
  async list(): Promise<Run[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, -1);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.runKey(id));
    const results = (await pipeline.exec()) ?? [];
    const runs: Run[] = [];
    results.forEach(([err, hash], i) => {
      if (err || !hash || typeof hash !== 'object') return;
      const h = hash as Record<string, string>;
      if (Object.keys(h).length > 0) runs.push(this.fromHash(ids[i], h));
    });
    return runs;
  }

  /** Sets the status to `to` if it is one of `from` (atomically). */
  async transition(id: string, from: readonly RunStatus[], to: RunStatus): Promise<TransitionResult> {
    const reply = (await this.redis.eval(
      TRANSITION_SCRIPT,
      1,
      this.runKey(id),
      to,
      new Date().toISOString(),
      ...from,
    )) as [number, string];
    const [ok, cur] = reply;
    if (ok === 1 && isRunStatus(cur)) return { ok: true, previous: cur };
    return { ok: false, current: cur && isRunStatus(cur) ? cur : undefined };
  }

  /** Updates scheduling fields: the pending step job (undefined: none) and the attempt number. */
  async setSchedule(id: string, stepJobId: string | undefined, attempt: number): Promise<void> {
    const key = this.runKey(id);
    const now = new Date().toISOString();
    const tx = this.redis.multi().hset(key, 'attempt', String(attempt), 'updatedAt', now);
    if (stepJobId === undefined) tx.hdel(key, 'stepJobId');
    else tx.hset(key, 'stepJobId', stepJobId);
    await tx.exec();
  }

  /** Appends one step's metrics (kept to the last {@link MAX_METRICS}). */
  async appendMetrics(id: string, metrics: StepMetrics): Promise<void> {
    await this.redis
      .multi()
      .rpush(this.metricsKey(id), JSON.stringify(metrics))
      .ltrim(this.metricsKey(id), -MAX_METRICS, -1)
      .exec();
  }

  /** The last `limit` step metrics, oldest first. */
  async metrics(id: string, limit = 1000): Promise<StepMetrics[]> {
    const raw = await this.redis.lrange(this.metricsKey(id), -limit, -1);
    return raw.map((s) => JSON.parse(s) as StepMetrics);
  }

  private toHash(run: Run): Record<string, string> {
    const hash: Record<string, string> = {
      status: run.status,
      spec: JSON.stringify(run.spec),
      step: String(run.progress.step),
      totalSteps: String(run.progress.totalSteps),
      attempt: String(run.progress.attempt),
      checkpointDir: run.checkpointDir,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
    };
    if (run.name !== undefined) hash.name = run.name;
    if (run.stepJobId !== undefined) hash.stepJobId = run.stepJobId;
    if (run.error !== undefined) hash.error = run.error;
    return hash;
  }

  private fromHash(id: string, h: Record<string, string>): Run {
    if (!isRunStatus(h.status))
      throw new Error(`run ${id} has an unknown status ${JSON.stringify(h.status)} in Redis`);
    const run: Run = {
      id,
      status: h.status,
      spec: JSON.parse(h.spec) as CreateRunDto,
      progress: { step: Number(h.step), totalSteps: Number(h.totalSteps), attempt: Number(h.attempt) },
      checkpointDir: h.checkpointDir,
      createdAt: h.createdAt,
      updatedAt: h.updatedAt,
    };
    if (h.name !== undefined) run.name = h.name;
    if (h.stepJobId !== undefined) run.stepJobId = h.stepJobId;
    if (h.error !== undefined) run.error = h.error;
    return run;
  }
}
