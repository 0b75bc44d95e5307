/**
 * What the job loop needs from a kind of finetuning (classification or instruction): the trainable
 * tensors, the global batch of every step and each rank's share of it, the evaluations during
 * training, and the final evaluation and saving on rank 0.
 */
import * as path from 'path';
import { TrainableTensor } from '@llm-forge/gpt';
import type * as tf from '@tensorflow/tfjs-core';
import type {
  ClassificationEvaluation,
  FinetuneMetric,
  InstructionEvaluation,
} from '@llm-forge/cluster-protocol';

/** A rank's part of one optimizer step. */
export interface LocalStep {
  /**
   * The mean loss of the rank's slice (built inside the gradient tape); absent when the slice
   * carries no loss (no rows, or every target ignored): the rank then contributes zeros.
   */
  loss?: () => tf.Scalar;
  /** Share of the global loss this slice's mean stands for (rows or target tokens of the slice / of the batch). */
  weight: number;
  /** Tokens of the whole global batch, padding included (for tokens per second). */
  batchTokens: number;
}

/**
 * An evaluation split over the ranks: each computes `sums` over its share of the examples (or
 * batches), one all-reduce adds them up in place, and `result` turns the totals into metrics. Every
 * rank takes part, so none waits idle in the next step's all-reduce while rank 0 evaluates alone.
 */
export interface ShardedEvaluation<T> {
  sums: Float32Array;
  result(totals: Float32Array): T;
}

/** Evaluates on one process: the totals are the local sums. */
export function evaluateAlone<T>(evaluation: ShardedEvaluation<T>): T {
  return evaluation.result(evaluation.sums);
}

/** Losses before the first step (instruction jobs). */
export interface InitialLosses {
  trainLoss: number;
  valLoss: number;
}

/** What rank 0 produces after training. */
export interface TaskOutputs {
  /** Where the finetuned model was saved. */
  modelDir: string;
  evaluation: ClassificationEvaluation | InstructionEvaluation;
}

/** Settings of the final evaluation. */
export interface FinishOptions {
  /** The job's output directory (instruction: `responses.json`). */
  outDir: string;
  /** Where the model goes. @defaultValue `<outDir>/model` */
  modelDir?: string;
  /** Losses before training (instruction), from this attempt or the saved state. */
  initial?: InitialLosses;
  log?(message: string, fields?: Record<string, unknown>): void;
  /** Throws when the job is asked to stop (checked between generated responses). */
  checkAbort?(): void;
}

/** One kind of finetune job, with its data and model loaded. */
export interface JobTask {
  readonly trainables: TrainableTensor[];
  /** Optimizer steps per epoch. */
  readonly stepsPerEpoch: number;
  /** Every value of the model (frozen or not), adapters and head included. */
  readonly totalParameters: number;
  /** Rank `rank`'s contiguous slice of the global batch of step `step` (0-based). */
  localStep(step: number, rank: number, worldSize: number): LocalStep;
  /**
   * This rank's share of an evaluation during training (the end of an epoch, every `evalEvery`
   * steps): the validation loss and the training-split estimate `trainEvalLoss`, and accuracies.
   */
  evaluate(rank: number, worldSize: number): ShardedEvaluation<Partial<FinetuneMetric>>;
  /** This rank's share of the losses before the first step, when the task reports them (instruction). */
  initialLosses?(rank: number, worldSize: number): ShardedEvaluation<InitialLosses>;
  /** Final evaluation and model saving, rank 0 only. */
  finish(options: FinishOptions): Promise<TaskOutputs>;
  /** Frees the model's tensors. */
  dispose(): void;
}

/** Rows [lo, hi) of `n` that rank `rank` of `worldSize` takes: contiguous, sizes differing by one at most. */
export function rankRows(n: number, rank: number, worldSize: number): [number, number] {
  return [Math.floor((rank * n) / worldSize), Math.floor(((rank + 1) * n) / worldSize)];
}

/** Keeps finite values only (NaN of an empty split would break the JSON schema). */
export function finite(values: Partial<FinetuneMetric>): Partial<FinetuneMetric> {
  return Object.fromEntries(
    Object.entries(values).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)),
  ) as Partial<FinetuneMetric>;
}

/** Where rank 0 saves the model: `options.modelDir`, else `<outDir>/model`. */
export function modelDirOf(options: Pick<FinishOptions, 'outDir' | 'modelDir'>): string {
  return options.modelDir ?? path.join(options.outDir, 'model');
}
