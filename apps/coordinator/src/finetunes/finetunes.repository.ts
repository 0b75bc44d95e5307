/**
 * Finetune jobs in Redis, so a coordinator restart loses nothing. Keys (prefix `forge:` by default):
 *   <prefix>finetune:<id>   hash: status, record (JSON, without status), history (JSON), evaluation (JSON)
 *   <prefix>finetunes       sorted set of ids by creation time
 * The hash, its index and its status changes are the shared {@link JobStore}'s, as runs' are; the
 * other fields are written by the driver under its per-job lock.
 */
import { Inject, Injectable } from '@nestjs/common';
import type {
  ClassificationEvaluation,
  FinetuneMetric,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';
import { FORGE_CONFIG } from '../config/config.constants';
import type { CoordinatorConfig } from '../config/config.schema';
import type { JobCodec } from '../jobs/job-store';
import { JobRepository } from '../jobs/job-repository';
import type { DrivenPatch } from '../jobs/training-job-kind';
import { RedisService } from '../redis/redis.service';
import { isRunStatus } from '../runs/run-state';
import type { Finetune } from './finetune.model';

/** Fields of a job the driver may change. */
export type FinetunePatch = Partial<
  Omit<Finetune, 'id' | 'status' | 'spec' | 'createdAt' | 'updatedAt' | 'progress'>
> & {
  progress?: Finetune['progress'] | DrivenPatch['progress'];
};

/** Reads and writes finetune jobs. */
@Injectable()
export class FinetunesRepository extends JobRepository<Finetune> {
  constructor(redis: RedisService, @Inject(FORGE_CONFIG) config: CoordinatorConfig) {
    super(redis.client, config.redisPrefix, FINETUNE_CODEC);
  }

  /** Changes fields of the record (`undefined` removes one); a job Redis lost stays absent. */
  async update(id: string, patch: FinetunePatch): Promise<void> {
    const current = await this.get(id);
    if (!current) return;
    const updatedAt = new Date().toISOString();
    // The driver's progress has no epoch: keep the one stored.
    const progress = { ...current.progress, ...patch.progress };
    const record = withoutStatus({ ...current, ...patch, progress, updatedAt });
    await this.store.patch(id, { record: JSON.stringify(record), updatedAt });
  }

  /** Replaces the logged history (after a rewind drops the points of the steps re-run). */
  async setHistory(id: string, history: FinetuneMetric[]): Promise<void> {
    await this.store.patch(id, { history: JSON.stringify(history) });
  }

  /**
   * Appends a point rank 0 logged (bounded: rank 0 logs about 250 points per job, see JobHistory);
   * a point of a step already logged (a step re-run after a rewind) replaces the old one.
   */
  async appendHistory(id: string, point: FinetuneMetric): Promise<void> {
    const history = (await this.history(id)).filter((p) => p.step < point.step);
    await this.setHistory(id, [...history, point]);
  }

  /** The logged history, oldest first. */
  async history(id: string): Promise<FinetuneMetric[]> {
    const raw = await this.redis.hget(this.store.key(id), 'history');
    return raw ? (JSON.parse(raw) as FinetuneMetric[]) : [];
  }

  /** Stores the final evaluation. */
  async setEvaluation(
    id: string,
    evaluation: ClassificationEvaluation | InstructionEvaluation,
  ): Promise<void> {
    await this.store.patch(id, { evaluation: JSON.stringify(evaluation) });
  }

  /** The final evaluation, if the job completed. */
  async evaluation(id: string): Promise<ClassificationEvaluation | InstructionEvaluation | undefined> {
    const raw = await this.redis.hget(this.store.key(id), 'evaluation');
    return raw ? (JSON.parse(raw) as ClassificationEvaluation | InstructionEvaluation) : undefined;
  }
}

/** The record without its status (stored in its own field, for compare-and-set). */
function withoutStatus(job: Finetune): Omit<Finetune, 'status'> {
  const record: Partial<Finetune> = { ...job };
  delete record.status;
  return record as Omit<Finetune, 'status'>;
}

/**
 * How a finetune lies in its hash: `status`, the rest of the record as JSON in `record`, and
 * `updatedAt`; rank 0's `history` and the final `evaluation` are fields of their own, read apart.
 */
const FINETUNE_CODEC: JobCodec<Finetune> = {
  kind: 'finetune',
  toHash: (job) => ({
    status: job.status,
    record: JSON.stringify(withoutStatus(job)),
    updatedAt: job.updatedAt,
  }),
  fromHash: (_id, { status, record, updatedAt }) => {
    if (!status || !record || !isRunStatus(status)) return undefined;
    const parsed = JSON.parse(record) as Omit<Finetune, 'status'>;
    // Records from before finetunes were scheduled step by step have no badCheckpoints.
    return {
      ...parsed,
      badCheckpoints: parsed.badCheckpoints ?? [],
      status,
      updatedAt: updatedAt ?? parsed.updatedAt,
    };
  },
};
