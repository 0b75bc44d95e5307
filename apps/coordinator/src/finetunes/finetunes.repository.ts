/**
 * Finetune jobs in Redis, so a coordinator restart loses nothing. Keys (prefix `forge:` by default):
 *   <prefix>finetune:<id>   hash: status, record (JSON, without status), history (JSON), evaluation (JSON)
 *   <prefix>finetunes       sorted set of ids by creation time
 * Status changes are compare-and-set in Lua, like runs'; the other fields are written by the driver
 * under its per-job lock.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type {
  ClassificationEvaluation,
  FinetuneMetric,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import { RedisService } from '../redis/redis.service';
import { STATUS_TRANSITION_SCRIPT } from '../redis/status-transition';
import { isRunStatus, type RunStatus } from '../runs/run-state';
import type { Finetune } from './finetune.model';

// Writes fields of a job that exists (one Redis lost must stay absent).
const PATCH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/** Fields of a job the driver may change. */
export type FinetunePatch = Partial<Omit<Finetune, 'id' | 'status' | 'spec' | 'createdAt' | 'updatedAt'>>;

/** Reads and writes finetune jobs. */
@Injectable()
export class FinetunesRepository {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: RedisService, @Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    this.redis = redis.client;
    this.prefix = config.redisPrefix;
  }

  private key(id: string): string {
    return `${this.prefix}finetune:${id}`;
  }
  private indexKey(): string {
    return `${this.prefix}finetunes`;
  }

  /** Stores a new job and indexes it. */
  async create(job: Finetune): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(job.id), {
        status: job.status,
        record: JSON.stringify(withoutStatus(job)),
        updatedAt: job.updatedAt,
      })
      .zadd(this.indexKey(), Date.parse(job.createdAt), job.id)
      .exec();
  }

  /** The job, or undefined. */
  async get(id: string): Promise<Finetune | undefined> {
    const [status, record, updatedAt] = await this.redis.hmget(this.key(id), 'status', 'record', 'updatedAt');
    return fromFields(status, record, updatedAt);
  }

  /** Every job, newest first. */
  async list(): Promise<Finetune[]> {
    const ids = await this.redis.zrevrange(this.indexKey(), 0, -1);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.key(id), 'status', 'record', 'updatedAt');
    const jobs: Finetune[] = [];
    for (const [err, fields] of (await pipeline.exec()) ?? []) {
      if (err || !Array.isArray(fields)) continue;
      const job = fromFields(...(fields as [string | null, string | null, string | null]));
      if (job) jobs.push(job);
    }
    return jobs;
  }

  /** Sets the status to `to` if it is one of `from` (atomically); the status before, or undefined if refused. */
  async transition(
    id: string,
    from: readonly RunStatus[],
    to: RunStatus,
  ): Promise<{ ok: boolean; current?: RunStatus }> {
    const [ok, cur] = (await this.redis.eval(
      STATUS_TRANSITION_SCRIPT,
      1,
      this.key(id),
      to,
      new Date().toISOString(),
      ...from,
    )) as [number, string];
    return { ok: ok === 1, current: isRunStatus(cur) ? cur : undefined };
  }

  /** Changes fields of the record (`undefined` removes one); a job Redis lost stays absent. */
  async update(id: string, patch: FinetunePatch): Promise<void> {
    const current = await this.get(id);
    if (!current) return;
    const updatedAt = new Date().toISOString();
    const record = withoutStatus({ ...current, ...patch, updatedAt });
    await this.redis.eval(
      PATCH_SCRIPT,
      1,
      this.key(id),
      'record',
      JSON.stringify(record),
      'updatedAt',
      updatedAt,
    );
  }

  /** Replaces the logged history (rank 0 reports all of it, bounded). */
  async setHistory(id: string, history: FinetuneMetric[]): Promise<void> {
    await this.redis.eval(PATCH_SCRIPT, 1, this.key(id), 'history', JSON.stringify(history));
  }

  /** The logged history, oldest first. */
  async history(id: string): Promise<FinetuneMetric[]> {
    const raw = await this.redis.hget(this.key(id), 'history');
    return raw ? (JSON.parse(raw) as FinetuneMetric[]) : [];
  }

  /** Stores the final evaluation. */
  async setEvaluation(
    id: string,
    evaluation: ClassificationEvaluation | InstructionEvaluation,
  ): Promise<void> {
    await this.redis.eval(PATCH_SCRIPT, 1, this.key(id), 'evaluation', JSON.stringify(evaluation));
  }

  /** The final evaluation, if the job completed. */
  async evaluation(id: string): Promise<ClassificationEvaluation | InstructionEvaluation | undefined> {
    const raw = await this.redis.hget(this.key(id), 'evaluation');
    return raw ? (JSON.parse(raw) as ClassificationEvaluation | InstructionEvaluation) : undefined;
  }
}

/** The record without its status (stored in its own field, for compare-and-set). */
function withoutStatus(job: Finetune): Omit<Finetune, 'status'> {
  const record: Partial<Finetune> = { ...job };
  delete record.status;
  return record as Omit<Finetune, 'status'>;
}

function fromFields(
  status: string | null,
  record: string | null,
  updatedAt: string | null,
): Finetune | undefined {
  if (!status || !record || !isRunStatus(status)) return undefined;
  const parsed = JSON.parse(record) as Omit<Finetune, 'status'>;
  return { ...parsed, status, updatedAt: updatedAt ?? parsed.updatedAt };
}
