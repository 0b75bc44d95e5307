/**
 * AdamW on a chosen subset of parameters: gradients are computed for the trainable tensors only
 * (autodiff never walks into frozen branches it does not need), flattened into one buffer like
 * the pretraining Trainer's, clipped by global norm and applied with the same AdamW.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  AdamW,
  DEFAULT_ADAMW,
  learningRate,
  ConfigError,
  type AdamWOptions,
  type AdamWState,
  type LrSchedule,
} from '@llm-forge/gpt';
import { addInto, scale, sumOfSquares } from '@llm-forge/tfjs-backend-native';
import { countTrainable, type TrainableTensor } from './trainable';

/** Options of a {@link SelectiveTrainer}. */
export interface SelectiveTrainerOptions {
  /** Learning-rate schedule (warmup, constant or cosine). */
  schedule: LrSchedule;
  /** AdamW settings. @defaultValue DEFAULT_ADAMW (weight decay 0.1, as the book's finetuning) */
  adamw?: Partial<AdamWOptions>;
  /** Clip the global gradient norm to this value; 0 disables clipping. @defaultValue 1 */
  gradClip?: number;
}

/** What one step did. */
export interface SelectiveStep {
  /** Mean loss over the micro-batches, before the update. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Trains only the given tensors; everything else the loss touches stays frozen. */
export class SelectiveTrainer {
  readonly optimizer: AdamW;
  /** The trainable values, flat, in the order of the trainables. */
  readonly params: Float32Array;
  readonly grads: Float32Array;
  private readonly offsets: number[] = [];

  constructor(
    readonly trainables: readonly TrainableTensor[],
    private readonly options: SelectiveTrainerOptions,
  ) {
    if (trainables.length === 0) throw new ConfigError('trainable parameters', 0, 'at least one tensor');
    const size = countTrainable(trainables);
    this.params = new Float32Array(size);
    this.grads = new Float32Array(size);
    let offset = 0;
    for (const t of trainables) {
      this.offsets.push(offset);
      this.params.set(t.variable.dataSync() as Float32Array, offset);
      offset += t.variable.size;
    }
    this.optimizer = new AdamW(size, { ...DEFAULT_ADAMW, ...options.adamw });
  }

  /** Number of optimizer steps taken. */
  get stepsDone(): number {
    return this.optimizer.state.step;
  }

  /**
   * One optimizer step: `loss(micro)` builds the scalar loss of micro-batch `micro` (called inside
   * the gradient tape); gradients are averaged over `microBatches` calls.
   */
  step(loss: (micro: number) => tf.Scalar, microBatches = 1): SelectiveStep {
    const meanLoss = this.computeGradients(loss, microBatches);
    const { gradNorm, lr } = this.applyGradients();
    return { loss: meanLoss, lr, gradNorm };
  }

  /**
   * Fills {@link grads} with the gradients of the mean loss over `microBatches` calls of `loss`
   * and returns that mean loss; the parameters are not touched. Split from
   * {@link applyGradients} so a data-parallel job can scale and all-reduce {@link grads} between.
   */
  computeGradients(loss: (micro: number) => tf.Scalar, microBatches = 1): number {
    const variables = this.trainables.map((t) => t.variable);
    let lossSum = 0;
    for (let micro = 0; micro < microBatches; micro++) {
      const { value, grads } = tf.tidy(() => tf.variableGrads(() => loss(micro), variables));
      this.trainables.forEach((t, i) => {
        const grad = grads[t.variable.name];
        if (!grad) throw new ConfigError('trainable parameter', t.name, 'a parameter the loss depends on');
        const target = this.grads.subarray(this.offsets[i], this.offsets[i] + t.variable.size);
        if (micro === 0) target.set(grad.dataSync() as Float32Array);
        else addInto(target, grad.dataSync() as Float32Array);
      });
      lossSum += value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
    }
    if (microBatches > 1) scale(this.grads, 1 / microBatches);
    return lossSum / microBatches;
  }

  /**
   * Clips {@link grads} to the global norm (when `gradClip` > 0), applies AdamW to the flat values
   * and writes each tensor back. Returns the norm before clipping and the learning rate used.
   */
  applyGradients(): { gradNorm: number; lr: number } {
    return this.apply();
  }

  /**
   * Restores saved values and optimizer state (a resumed job): `values` in the order of the
   * trainables, written back to every tensor; the moments and the step count replace the
   * optimizer's. Throws a ConfigError when a length does not match.
   */
  restore(values: Float32Array, state: AdamWState): void {
    const size = this.params.length;
    for (const [field, array] of [
      ['values', values],
      ['m', state.m],
      ['v', state.v],
    ] as const) {
      if (array.length !== size) throw new ConfigError(`restored ${field}`, array.length, `${size} values`);
    }
    this.params.set(values);
    this.optimizer.state.m.set(state.m);
    this.optimizer.state.v.set(state.v);
    this.optimizer.state.step = state.step;
    this.trainables.forEach((t, i) =>
      t.write(this.params.subarray(this.offsets[i], this.offsets[i] + t.variable.size)),
    );
  }

  /** Clips, applies AdamW to the flat values and writes each tensor back. */
  private apply(): { gradNorm: number; lr: number } {
    const gradNorm = Math.sqrt(sumOfSquares(this.grads));
    const clip = this.options.gradClip ?? 1;
    // PyTorch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) only when that is below 1.
    if (clip > 0 && clip / (gradNorm + 1e-6) < 1) scale(this.grads, clip / (gradNorm + 1e-6));
    const lr = learningRate(this.stepsDone, this.options.schedule);
    this.optimizer.update(this.params, this.grads, lr);
    this.trainables.forEach((t, i) =>
      t.write(this.params.subarray(this.offsets[i], this.offsets[i] + t.variable.size)),
    );
    return { gradNorm, lr };
  }
}
