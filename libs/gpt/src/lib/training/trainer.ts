/**
 * One optimizer step at a time: forward, backward, gradient accumulation, global-norm clipping
 * and AdamW, with parameters and gradients in flat buffers (the unit of all-reduce and of
 * checkpoints). The trainer is the only writer of the model's parameters while it runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addInto, scale, sumOfSquares } from '@llm-forge/tfjs-backend-native';
import type { Batch } from '../data/batch-loader';
import type { GPTModel } from '../model/gpt-model';
import { deriveSeed } from '../util/rng';
import { crossEntropy, IGNORE_INDEX } from '../ops/cross-entropy';
import { AdamW, DEFAULT_ADAMW, type AdamWOptions, type AdamWState } from './adamw';
import { learningRate, validateSchedule, type LrSchedule } from './lr-schedule';

/** Options of a {@link Trainer}. */
export interface TrainerOptions {
  schedule: LrSchedule;
  /** AdamW settings. @defaultValue DEFAULT_ADAMW */
  adamw?: Partial<AdamWOptions>;
  /** Clip the global gradient norm to this value; 0 disables clipping. @defaultValue 1 */
  gradClip?: number;
  /** Seed of the dropout masks (each step and micro-batch derives its own). @defaultValue 0 */
  seed?: number;
  /** Target value that carries no loss. @defaultValue -100 */
  ignoreIndex?: number;
  /**
   * Keep {@link Trainer.grads} in a SharedArrayBuffer, so a collective on another thread can
   * all-reduce it in place (no staging copies). @defaultValue false
   */
  sharedGradients?: boolean;
}

/** What one optimizer step did. */
export interface StepResult {
  /** 0-based index of the step just taken. */
  step: number;
  /** Mean loss over the step's micro-batches (before the update). */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Tokens processed (inputs of every micro-batch). */
  tokens: number;
}

/** Builds the int32 [B, T] tensors of a batch. */
export function batchTensors(batch: Batch): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const shape: [number, number] = [batch.batchSize, batch.contextLength];
  return {
    inputs: tf.tensor2d(batch.inputs, shape, 'int32'),
    targets: tf.tensor2d(batch.targets, shape, 'int32'),
  };
}

/** Trains a {@link GPTModel} with AdamW on flat parameter and gradient buffers. */
export class Trainer {
  readonly optimizer: AdamW;
  /** The model's parameters, flat, kept in sync with its variables. */
  readonly params: Float32Array;
  /** Whether {@link params} is the model's own storage (updated in place, no write-back). */
  private readonly liveParams: boolean;
  /** Gradients of the last step, flat (after averaging and clipping). */
  readonly grads: Float32Array;
  private readonly schedule: LrSchedule;

  constructor(
    readonly model: GPTModel,
    private readonly options: TrainerOptions,
    optimizerState?: AdamWState,
  ) {
    this.schedule = validateSchedule(options.schedule);
    const { buffer, live } = model.parameterBuffer();
    this.params = buffer;
    this.liveParams = live;
    const n = this.params.length;
    this.grads = options.sharedGradients
      ? new Float32Array(new SharedArrayBuffer(4 * n))
      : new Float32Array(n);
    this.optimizer = new AdamW(this.params.length, { ...DEFAULT_ADAMW, ...options.adamw }, optimizerState);
  }

  /** Number of optimizer steps taken so far (including those before a resume). */
  get stepsDone(): number {
    return this.optimizer.state.step;
  }

  /**
   * Computes the gradients of the mean loss over `microBatches` into {@link grads} and returns
   * the mean loss. Exposed on its own so a data-parallel worker can all-reduce between this and
   * {@link applyGradients}.
   */
  computeGradients(microBatches: Batch[]): number {
    const variables = this.model.variables();
    const specs = this.model.layout.specs;
    let lossSum = 0;
    microBatches.forEach((batch, micro) => {
      const dropoutSeed = deriveSeed(this.options.seed ?? 0, this.stepsDone, micro);
      const { value, grads } = tf.tidy(() => {
        const { inputs, targets } = batchTensors(batch);
        return tf.variableGrads(() => {
          const logits = this.model.forward(inputs, { training: true, dropoutSeed });
          return crossEntropy(logits, targets, this.options.ignoreIndex ?? IGNORE_INDEX);
        }, variables);
      });
      specs.forEach((spec, i) => {
        const grad = grads[variables[i].name];
        const target = this.grads.subarray(spec.offset, spec.offset + spec.size);
        if (micro === 0) target.set(grad.dataSync() as Float32Array);
        else addInto(target, grad.dataSync() as Float32Array);
      });
      lossSum += value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
    });
    if (microBatches.length > 1) scale(this.grads, 1 / microBatches.length);
    return lossSum / microBatches.length;
  }

  /** Clips {@link grads} to the global norm, applies AdamW and updates the model. Returns the norm and lr. */
  applyGradients(): { gradNorm: number; lr: number } {
    const gradNorm = Math.sqrt(sumOfSquares(this.grads));
    const clip = this.options.gradClip ?? 1;
    // PyTorch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) only when that is below 1.
    if (clip > 0 && clip / (gradNorm + 1e-6) < 1) scale(this.grads, clip / (gradNorm + 1e-6));
    const lr = learningRate(this.stepsDone, this.schedule);
    this.optimizer.update(this.params, this.grads, lr);
    if (!this.liveParams) this.model.writeParameters(this.params);
    return { gradNorm, lr };
  }

  /** One optimizer step over the micro-batches of a global batch. */
  step(microBatches: Batch[]): StepResult {
    if (microBatches.length === 0) throw new Error('a step needs at least one micro-batch');
    const loss = this.computeGradients(microBatches);
    const step = this.stepsDone;
    const { gradNorm, lr } = this.applyGradients();
    const tokens = microBatches.reduce((n, b) => n + b.batchSize * b.contextLength, 0);
    return { step, loss, lr, gradNorm, tokens };
  }
}
