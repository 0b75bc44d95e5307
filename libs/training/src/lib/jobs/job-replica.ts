/**
 * What a rank holds of one training job between the job's steps, whatever the kind of job: a
 * pretraining run ({@link PretrainingReplica}) or a finetune (libs/finetune's `FinetuneReplica`). A
 * worker takes every kind through the same steps with it — ensure the replica is at the step, take
 * the step through the {@link TrainingLoop}, then let the job do what its cadence asks after that
 * step (evaluate, save a checkpoint, finish) — so the worker and the coordinator know one model.
 */
import type { RankStepReport } from '@llm-forge/cluster-protocol';
import type { Trainer } from '@llm-forge/gpt';
import type { LocalShare } from '../loop/local-share';
import type { StepMetrics, TrainingLoop, TrainingLoopOptions } from '../loop/training-loop';

/** What rank 0 reports besides the step's metrics: evaluations, a checkpoint, a finetune's progress. */
export type StepReport = Pick<RankStepReport, 'eval' | 'sample' | 'checkpoint' | 'finetune'>;

/** What a job may need after a step besides the loop. */
export interface AfterStepContext {
  /** A reason when the job was cancelled or superseded (checked during long final evaluations). */
  abortReason?(): string | undefined;
  log?(message: string, fields?: Record<string, unknown>): void;
}

/** One rank's replica of a training job. */
export interface JobReplica {
  /** The run's or the finetune's id. */
  readonly jobId: string;
  /** The trainer of the job's trainable parameters (its `stepsDone` is the replica's position). */
  readonly trainer: Trainer;
  /** How the job's loop runs (replica checks, wire encoding, DiLoCo); absent: the defaults. */
  readonly loopOptions?: TrainingLoopOptions;
  /**
   * Places the replica at rank `rank` of `worldSize` (a new ring generation), before the first
   * step it takes there; every rank of the ring calls it, so it may all-reduce through `loop`
   * (a fresh instruction finetune measures its losses before training here).
   */
  join(loop: TrainingLoop, rank: number, worldSize: number): Promise<void>;
  /** This rank's share of optimizer step `step` (0-based; the replica has applied `step` steps). */
  share(step: number): LocalShare;
  /**
   * After the step the replica just applied: what the job's spec asks at this step — evaluations
   * (every rank takes part when they are sharded), checkpoints (rank 0 writes), the end of the job.
   */
  afterStep(loop: TrainingLoop, metrics: StepMetrics, context: AfterStepContext): Promise<StepReport>;
  /** Frees the model's tensors. */
  dispose(): void;
}
