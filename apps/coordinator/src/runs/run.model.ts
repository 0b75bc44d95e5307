/** The run record as stored in Redis and returned by the API. */
import type { RunSpec } from '@llm-forge/cluster-protocol';
import type { DrivenJob } from '../jobs/training-job-kind';
import type { RunStatus } from './run-state';

/** One rank's share of a step. */
export interface WorkerStepMetrics {
  workerId: string;
  rank: number;
  /** Mean loss of the rank's slice (its `localLoss`). */
  loss: number;
  computeMs: number;
  commMs: number;
  /**
   * Wall time of the step's training on the rank (batch, forward, backward, communication waits,
   * update, outer step), without evaluation, checkpoint or the job's start; from newer workers.
   */
  wallMs?: number;
  /** Wall time of the rank's job per step it covered (DiLoCo: the job's time over its inner steps). */
  jobMs: number;
  bytesSent: number;
}

/**
 * One step's metrics, as reported by the workers. A BullMQ flow covers one step in DDP and every
 * inner step of an outer step in DiLoCo; each step it covered gets one record.
 */
export interface StepMetrics {
  step: number;
  /**
   * Mean loss over the global batch, before the step's update. DDP: the ranks' all-reduced loss.
   * DiLoCo: computed by the coordinator as the mean of the ranks' own losses (`workers[].loss`, each
   * weighted by its share of the batch's tokens; equal shares: the plain mean), whatever loss the
   * workers report — between outer steps every rank trains parameters of its own, so this is the
   * mean of the ranks' models' losses on their slices, not one model's loss.
   */
  loss: number;
  lr?: number;
  gradNorm?: number;
  /** Tokens of the global batch per second of the step's wall time (scheduling included). */
  tokensPerSecond?: number;
  /** Slowest rank's forward + backward. */
  computeMs?: number;
  /** Slowest rank's all-reduce time. */
  commMs?: number;
  /** Bytes all ranks sent on the ring. */
  bytesSent?: number;
  /**
   * Wall time from enqueueing the step's flow to its last rank finishing, shared by the steps the
   * flow covered (DiLoCo: its inner steps) in proportion to their wall time on the slowest rank
   * (evenly where workers do not report it).
   */
  stepMs?: number;
  workers?: WorkerStepMetrics[];
}

/** Train and validation loss at a step (rank 0's estimate). */
export interface EvalRecord {
  step: number;
  trainLoss: number;
  valLoss?: number;
}

/** A greedy sample of the model at a step. */
export interface SampleRecord {
  step: number;
  text: string;
}

/**
 * A pretraining run: the fields the job driver keeps of every training job (progress, ring members,
 * the pending step, where it resumes, retries, bad checkpoints, the error) and the run's own.
 */
export interface Run extends DrivenJob {
  name?: string;
  status: RunStatus;
  spec: RunSpec;
  /** Directory the workers write checkpoints into. */
  checkpointDir: string;
  /** Tokens trained on so far. */
  tokensSeen: number;
  /** Newest checkpoint rank 0 reported. */
  lastCheckpoint?: string;
  updatedAt: string;
}

/** A run with its latest step metrics, evaluations and samples (GET /runs/:id). */
export interface RunWithMetrics extends Run {
  metrics: StepMetrics[];
  evals: EvalRecord[];
  samples: SampleRecord[];
  /** Estimated seconds to the end, from the recent steps' pace; absent until there is one. */
  etaSeconds?: number;
}
