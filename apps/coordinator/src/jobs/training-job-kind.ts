/**
 * What the one {@link JobDriver} needs from a kind of training job (a pretraining run, a finetune):
 * its records, the rank-job fields that carry its spec, where its checkpoints lie, how many steps a
 * flow covers, and what it records of the steps its ranks took. Everything else — rings from the
 * worker pool, one BullMQ flow at a time, retries, rewinds to the replicas in memory or to a
 * checkpoint, lost workers, timeouts, completion — the driver does once for every kind.
 */
import type { JobKind, RankJobData, RankSuccess } from '@llm-forge/cluster-protocol';
import type { CheckpointInfo } from '@llm-forge/cluster-protocol';
import type { RingMember } from '../workers/worker-pool';
import type { JobRepository } from './job-repository';
import type { JobRecord } from './job-store';

/** Where a job stands in its steps. */
export interface JobProgress {
  /** Optimizer steps completed. */
  step: number;
  /** Steps the job will take (a finetune learns it from rank 0's first report: 0 until then). */
  totalSteps: number;
  /** Attempt counter: grows with every (re)formation of the ring (start, retry, resume); never reset. */
  attempt: number;
}

/** The fields every training job's record has, which the driver reads and writes. */
export interface DrivenJob extends JobRecord {
  spec: { workers: number };
  progress: JobProgress;
  /** The ring of the current attempt, in rank order. */
  members?: RingMember[];
  /** BullMQ id of the step job now pending, if any. */
  stepJobId?: string;
  /** Checkpoint the next step attempt loads first (after a rewind or a resume from a checkpoint). */
  resumeFrom?: string;
  /** Epoch milliseconds when the pending step was enqueued. */
  stepStartedAt?: number;
  /** Failed attempts of the current step. */
  retries: number;
  /** Failed attempts over the whole job (never reset; absent in records written before: 0). */
  failedAttempts?: number;
  /** Checkpoints found unusable; never resumed from again. */
  badCheckpoints: string[];
  /** Why the job failed. */
  error?: string;
}

/** The driver's changes to a job's record (`undefined` removes a field). */
export type DrivenPatch = Partial<
  Pick<
    DrivenJob,
    | 'progress'
    | 'members'
    | 'stepJobId'
    | 'resumeFrom'
    | 'stepStartedAt'
    | 'retries'
    | 'failedAttempts'
    | 'badCheckpoints'
    | 'error'
  >
>;

/** The fields of a rank job every kind shares, which the scheduler fills in. */
type CommonRankFields =
  'jobId' | 'step' | 'endStep' | 'attempt' | 'worldSize' | 'rank' | 'peers' | 'resumeFrom';
/** The fields of a rank job that one kind supplies: its `kind`, its spec and where its files go. */
export type RankJobKindFields = RankJobData extends infer R
  ? R extends RankJobData
    ? Omit<R, CommonRankFields>
    : never
  : never;

/** One kind of training job, as the driver sees it. */
export interface TrainingJobKind<J extends DrivenJob = DrivenJob> {
  readonly kind: JobKind;
  /** The kind's records (the driver creates one again when Redis lost it). */
  readonly repository: JobRepository<J>;
  /** Whether a job in its status holds its ring members (a paused run holds none). */
  holdsMembers(job: J): boolean;
  /** The rank-job fields of this kind for the job's steps. */
  rankJob(job: J): RankJobKindFields;
  /**
   * End (exclusive) of the steps one flow of the job covers from `step`, [step, end): where its ranks
   * next have to meet (a run in DiLoCo mode: its next outer step). Absent: step + 1.
   */
  jobEnd?(job: J, step: number): number;
  /** The job's checkpoints (or resumable states), by step, to rewind to. */
  checkpoints(job: J): Promise<CheckpointInfo[]>;
  /** Drops what the job recorded after `step` applied steps (a rewind re-runs them). */
  truncateHistory(id: string, step: number): Promise<void>;
  /**
   * Records the steps of a flow every rank took (results in rank order, each with one report per
   * step): metrics, evaluations, the kind's own fields; called after the job's new position is stored
   * and its next flow enqueued. `flowMs` is the flow's wall time, from enqueueing to the last rank.
   */
  recordSteps(job: J, ranked: RankSuccess[], flowMs: number): Promise<void>;
  /** Whether step `step` of the job may run past the step timeout (a finetune's final evaluation). */
  untimed?(job: J, step: number): boolean;
  /** Tells clients about the job's record as stored now (`GET /events`). */
  publish(job: J): void | Promise<void>;
}
