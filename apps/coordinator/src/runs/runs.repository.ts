/**
 * Run state in Redis, so that a coordinator restart loses nothing. Keys (prefix `forge:` by default):
 *   <prefix>run:<id>          hash: status, spec (JSON), progress fields, checkpointDir, stepJobId, timestamps
 *   <prefix>run:<id>:metrics  list of step-metrics JSON, oldest first
 *   <prefix>run:<id>:evals    list of evaluation JSON (train/validation loss), oldest first
 *   <prefix>run:<id>:samples  list of sample JSON, oldest first
 *   <prefix>runs              sorted set of run ids by creation time
 * The run hash, its index and its status changes are the shared {@link JobStore}'s (compare-and-set
 * in one Lua script, so two concurrent actions cannot both win).
 */
import { Inject, Injectable } from '@nestjs/common';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';
import type { JobCodec } from '../jobs/job-store';
import { JobRepository } from '../jobs/job-repository';
import type { RunSpec } from '@llm-forge/cluster-protocol';
import { isRunStatus } from './run-state';
import type { EvalRecord, Run, SampleRecord, StepMetrics } from './run.model';

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
export class RunsRepository extends JobRepository<Run> {
  constructor(redis: RedisService, @Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    super(redis.client, config.redisPrefix, RUN_CODEC);
  }

  private runKey(id: string): string {
    return this.store.key(id);
  }
  private metricsKey(id: string): string {
    return `${this.store.key(id)}:metrics`;
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

  /** Deletes a run's record, its metrics, evaluations and samples, and its index entry (one transaction). */
  remove(id: string): Promise<void> {
    const key = this.store.key(id);
    return this.store.remove(id, [`${key}:metrics`, `${key}:evals`, `${key}:samples`]);
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
    const set: Record<string, string> = { updatedAt: new Date().toISOString() };
    const remove: string[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (key === 'progress') {
        for (const [k, v] of Object.entries(value as Partial<Run['progress']>)) set[k] = String(v);
      } else if (value === undefined) {
        remove.push(key);
      } else {
        set[key] = typeof value === 'string' ? value : JSON.stringify(value);
      }
    }
    await this.store.patch(id, set, remove);
  }

  /** The last `limit` step metrics, oldest first. */
  async metrics(id: string, limit = 1000): Promise<StepMetrics[]> {
    const raw = await this.redis.lrange(this.metricsKey(id), -limit, -1);
    return raw.map((s) => JSON.parse(s) as StepMetrics);
  }
}

/** How a run lies in its hash: one field per property, the progress flattened. */
const RUN_CODEC: JobCodec<Run> = { kind: 'run', toHash: runToHash, fromHash: runFromHash };

function runToHash(run: Run): Record<string, string> {
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
  if (run.failedAttempts !== undefined) hash.failedAttempts = String(run.failedAttempts);
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

function runFromHash(id: string, h: Record<string, string>): Run {
  if (!isRunStatus(h.status))
    throw new Error(`run ${id} has an unknown status ${JSON.stringify(h.status)} in Redis`);
  const run: Run = {
    id,
    status: h.status,
    spec: JSON.parse(h.spec) as RunSpec,
    progress: { step: Number(h.step), totalSteps: Number(h.totalSteps), attempt: Number(h.attempt) },
    checkpointDir: h.checkpointDir,
    retries: Number(h.retries ?? 0),
    failedAttempts: Number(h.failedAttempts ?? 0),
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
