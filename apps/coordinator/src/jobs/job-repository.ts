/**
 * The records of one kind of training job in Redis: the operations every kind shares, over its
 * {@link JobStore} (create, read, list, status compare-and-set); each kind's repository adds how its
 * fields are patched and what it keeps beside the record (a run's metrics, a finetune's history).
 */
import type { Redis } from 'ioredis';
import type { RunStatus } from '../runs/run-state';
import { JobStore, type JobCodec, type JobRecord, type TransitionResult } from './job-store';
import type { DrivenPatch } from './training-job-kind';

/** Reads and writes the jobs of one kind. */
export abstract class JobRepository<J extends JobRecord> {
  protected readonly store: JobStore<J>;

  protected constructor(
    protected readonly redis: Redis,
    prefix: string,
    codec: JobCodec<J>,
  ) {
    this.store = new JobStore(redis, prefix, codec);
  }

  /** Stores a new job and indexes it. */
  create(job: J): Promise<void> {
    return this.store.create(job);
  }

  /** The job, or undefined. */
  get(id: string): Promise<J | undefined> {
    return this.store.get(id);
  }

  /** Every job, newest first. */
  list(): Promise<J[]> {
    return this.store.list();
  }

  /** Sets the status to `to` if it is one of `from` (atomically). */
  transition(id: string, from: readonly RunStatus[], to: RunStatus): Promise<TransitionResult> {
    return this.store.transition(id, from, to);
  }

  /** Changes fields of an existing job (`undefined` removes one); a job Redis lost stays absent. */
  abstract update(id: string, patch: DrivenPatch): Promise<void>;
}
