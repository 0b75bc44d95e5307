/**
 * LoRA for a plain language model (instruction finetuning's `--lora-rank`): adapters on every
 * block linear layer, trained on next-token cross-entropy with the base weights frozen. Steps
 * have the pretraining Trainer's shape (`step(microBatches) → StepResult`), so a loop written for
 * it can take this instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ParameterSet,
  batchTensors,
  crossEntropy,
  deriveSeed,
  IGNORE_INDEX,
  type Batch,
  type GPTModel,
  type StepResult,
  Trainer,
} from '@llm-forge/gpt';
import { LoraAdapters } from './lora-adapters';

/** Options of a {@link LoraLmTrainer}. */
export interface LoraLmTrainerOptions {
  rank: number;
  /** @defaultValue rank (scale 1) */
  alpha?: number;
  /** Constant AdamW learning rate. */
  lr: number;
  /** @defaultValue 0.1 */
  weightDecay?: number;
  /** Global-norm clip; 0 disables. @defaultValue 0 */
  gradClip?: number;
  /** Seed of the A initialisation and the dropout masks. @defaultValue 0 */
  seed?: number;
}

/** Attaches LoRA adapters to a GPT and trains only them. */
export class LoraLmTrainer {
  readonly adapters: LoraAdapters;
  private readonly trainer: Trainer;

  constructor(
    readonly model: GPTModel,
    private readonly options: LoraLmTrainerOptions,
  ) {
    this.adapters = LoraAdapters.attach(model, {
      rank: options.rank,
      alpha: options.alpha ?? options.rank,
      seed: options.seed ?? 0,
    });
    this.trainer = new Trainer(ParameterSet.of(this.adapters.trainables()), {
      schedule: { lr: options.lr, minLr: options.lr, warmupSteps: 0, totalSteps: 1, schedule: 'constant' },
      adamw: { weightDecay: options.weightDecay ?? 0.1 },
      gradClip: options.gradClip ?? 0,
    });
  }

  /** Number of trainable values (every A and B). */
  get trainableParameters(): number {
    return this.adapters.parameterCount;
  }

  /** One AdamW step on the adapters over the micro-batches (targets equal to -100 carry no loss). */
  step(microBatches: Batch[]): StepResult {
    const step = this.trainer.stepsDone;
    const { loss, lr, gradNorm } = this.trainer.step((micro) => {
      const { inputs, targets } = batchTensors(microBatches[micro]);
      const dropoutSeed = deriveSeed(this.options.seed ?? 0, step, micro);
      const logits = this.model.forward(inputs, { training: true, dropoutSeed });
      return crossEntropy(logits, targets, IGNORE_INDEX) as tf.Scalar;
    }, microBatches.length);
    const tokens = microBatches.reduce((n, b) => n + b.batchSize * b.contextLength, 0);
    return { step, loss, lr, gradNorm, tokens };
  }
}
