/**
 * Run state in Redis, so that a coordinator restart loses nothing. Keys (prefix `forge:` by default):
 *   <prefix>run:<id>          hash: status, spec (JSON), progress fields, checkpointDir, stepJobId, timestamps
 *   <prefix>run:<id>:metrics  list of step-metrics JSON, oldest first
 *   <prefix>run:<id>:evals    list of evaluation JSON (train/validation loss), oldest first
 *   <prefix>run:<id>:samples  list of sample JSON, oldest first
 *   <prefix>runs              sorted set of run ids by creation time
 * Status changes are compare-and-set in one Lua script, so two concurrent actions cannot both win.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';
import { STATUS_TRANSITION_SCRIPT } from '../redis/status-transition';
import type { RunSpec } from '@llm-forge/cluster-protocol';
import { isRunStatus, type RunStatus } from './run-state';
import type { EvalRecord, Run, SampleRecord, StepMetrics } from './run.model';

/** Result of a compare-and-set of a run's status. */
export type TransitionResult =
  { ok: true; previous: RunStatus } | { ok: false; current: RunStatus | undefined };

// KEYS[1] = run hash; ARGV[1] = n, ARGV[2..n+1] = field/value pairs to set, the rest = fields to delete.
// Only an existing run is patched (a run Redis lost must stay absent until it is restored).
const PATCH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[1])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 2, n + 1)) end
if #ARGV > n + 1 then redis.call('HDEL', KEYS[1], unpack(ARGV, n + 2, #ARGV)) end
return 1
`;

/** Fields of a run that {@link RunsRepository.update} may change (`undefined` removes one). */
export type RunPatch = Partial<
  Omit<Run, 'id' | 'status' | 'spec' | 'createdAt' | 'updatedAt' | 'progress'>
> & {
  progress?: Partial<Run['progress']>;
};

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
      STATUS_TRANSITION_SCRIPT,
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

  /**
   * Records a finished step in one round trip: its metrics (kept to the last {@link MAX_METRICS}),
   * an evaluation and a sample when there are.
   */
  async appendStep(
    id: string,
    metrics: StepMetrics,
    evaluation?: EvalRecord,
    sample?: SampleRecord,
  ): Promise<void> {
    const tx = this.redis
      .multi()
      .rpush(this.metricsKey(id), JSON.stringify(metrics))
      .ltrim(this.metricsKey(id), -MAX_METRICS, -1);
    if (evaluation) tx.rpush(`${this.runKey(id)}:evals`, JSON.stringify(evaluation));
    if (sample)
      tx.rpush(`${this.runKey(id)}:samples`, JSON.stringify(sample)).ltrim(
        `${this.runKey(id)}:samples`,
        -200,
        -1,
      );
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

  /** Evaluations, oldest first. */
  async evals(id: string): Promise<EvalRecord[]> {
    const raw = await this.redis.lrange(`${this.runKey(id)}:evals`, 0, -1);
    return raw.map((s) => JSON.parse(s) as EvalRecord);
  }

  /** Samples, oldest first. */
  async samples(id: string): Promise<SampleRecord[]> {
    const raw = await this.redis.lrange(`${this.runKey(id)}:samples`, 0, -1);
    return raw.map((s) => JSON.parse(s) as SampleRecord);
  }

  /**
   * Drops what comes after `step` applied steps (a run rewound to the checkpoint of that step re-runs
   * the rest, and the new values replace the old): the metrics of steps `step` and later (a metric's
   * step is the 0-based index of the step taken), and the evaluations and samples made after more
   * than `step` steps (theirs is the number of steps applied, so the checkpoint's own evaluation stays).
   */
  async truncateHistory(id: string, step: number): Promise<void> {
    for (const [suffix, keep] of [
      ['metrics', (s: number) => s < step],
      ['evals', (s: number) => s <= step],
      ['samples', (s: number) => s <= step],
    ] as const) {
      const key = `${this.runKey(id)}:${suffix}`;
      const kept = (await this.redis.lrange(key, 0, -1)).filter((s) =>
        keep((JSON.parse(s) as { step: number }).step),
      );
      const tx = this.redis.multi().del(key);
      if (kept.length > 0) tx.rpush(key, ...kept);
      await tx.exec();
    }
  }

  /**
   * Writes the given fields of an existing run in one round trip, without reading it first; a field
   * given as `undefined` is removed. Status changes go through {@link transition}.
   */
  async update(id: string, patch: RunPatch): Promise<void> {
    const set: string[] = ['updatedAt', new Date().toISOString()];
    const del: string[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (key === 'progress') {
        for (const [k, v] of Object.entries(value as Partial<Run['progress']>)) set.push(k, String(v));
      } else if (value === undefined) {
        del.push(key);
      } else {
        set.push(key, typeof value === 'string' ? value : JSON.stringify(value));
      }
    }
    await this.redis.eval(PATCH_SCRIPT, 1, this.runKey(id), String(set.length), ...set, ...del);
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
    hash.retries = String(run.retries);
    hash.badCheckpoints = JSON.stringify(run.badCheckpoints);
    hash.tokensSeen = String(run.tokensSeen);
    if (run.name !== undefined) hash.name = run.name;
    if (run.stepJobId !== undefined) hash.stepJobId = run.stepJobId;
    if (run.error !== undefined) hash.error = run.error;
    if (run.members !== undefined) hash.members = JSON.stringify(run.members);
    if (run.resumeFrom !== undefined) hash.resumeFrom = run.resumeFrom;
    if (run.stepStartedAt !== undefined) hash.stepStartedAt = String(run.stepStartedAt);
    if (run.lastCheckpoint !== undefined) hash.lastCheckpoint = run.lastCheckpoint;
    return hash;
  }

  private fromHash(id: string, h: Record<string, string>): Run {
    if (!isRunStatus(h.status))
      throw new Error(`run ${id} has an unknown status ${JSON.stringify(h.status)} in Redis`);
    const run: Run = {
      id,
      status: h.status,
      spec: JSON.parse(h.spec) as RunSpec,
      progress: { step: Number(h.step), totalSteps: Number(h.totalSteps), attempt: Number(h.attempt) },
      checkpointDir: h.checkpointDir,
      retries: Number(h.retries ?? 0),
      badCheckpoints: h.badCheckpoints ? (JSON.parse(h.badCheckpoints) as string[]) : [],
      tokensSeen: Number(h.tokensSeen ?? 0),
      createdAt: h.createdAt,
      updatedAt: h.updatedAt,
    };
    if (h.name !== undefined) run.name = h.name;
    if (h.stepJobId !== undefined) run.stepJobId = h.stepJobId;
    if (h.error !== undefined) run.error = h.error;
    if (h.members !== undefined) run.members = JSON.parse(h.members) as Run['members'];
    if (h.resumeFrom !== undefined) run.resumeFrom = h.resumeFrom;
    if (h.stepStartedAt !== undefined) run.stepStartedAt = Number(h.stepStartedAt);
    if (h.lastCheckpoint !== undefined) run.lastCheckpoint = h.lastCheckpoint;
    return run;
  }
}
