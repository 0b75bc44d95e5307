/**
 * One optimizer step at a time over a {@link ParameterSet}: forward, backward, gradient
 * accumulation, global-norm clipping and AdamW, with parameters and gradients in flat buffers (the
 * unit of all-reduce and of checkpoints). The same trainer serves pretraining (every parameter of a
 * GPT, next-token loss over batches) and finetuning (a subset of tensors, any scalar loss); it is the
 * only writer of its parameters while it runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addInto, readValues, scale, sumOfSquares } from '@llm-forge/tfjs-backend-native';
import type { Batch } from '../data/window-batches';
import { ConfigError, TrainingDivergedError } from '../errors/forge-error';
import { GPTModel } from '../model/gpt-model';
import { deriveSeed } from '../util/rng';
import { crossEntropy, IGNORE_INDEX } from '../ops/cross-entropy';
import { tapAnchor, type GradientTaps } from '../ops/gradient-taps';
import { EmbeddingRows } from './embedding-rows';
import { AdamW, DEFAULT_ADAMW, type AdamWOptions, type AdamWState } from './adamw';
import { learningRate, validateSchedule, type LrSchedule } from './lr-schedule';
import { ParameterSet } from './parameter-set';

/** Options of a {@link Trainer}. */
export interface TrainerOptions {
  schedule: LrSchedule;
  /** AdamW settings. @defaultValue DEFAULT_ADAMW */
  adamw?: Partial<AdamWOptions>;
  /** Clip the global gradient norm to this value; 0 disables clipping. @defaultValue 1 */
  gradClip?: number;
  /** Seed of the dropout masks of batch steps (each step and micro-batch derives its own). @defaultValue 0 */
  seed?: number;
  /** Target value that carries no loss in batch steps. @defaultValue -100 */
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
  /** Tokens processed (inputs of every micro-batch; 0 for a loss function). */
  tokens: number;
}

/** The scalar loss of micro-batch `micro`, built inside the gradient tape. */
export type LossFunction = (micro: number) => tf.Scalar;

/** What a step computes gradients of: next-token batches of the trainer's GPT, or a loss function. */
export type StepWork = readonly Batch[] | LossFunction;

/** Follows a step's gradients as backward produces them (see {@link Trainer.computeGradients}). */
export interface GradientListener {
  /**
   * Parameter `index` (layout order) holds its final gradient of the step in `grads`, averaged over
   * the micro-batches. Called during the last micro-batch's backward, in backward order (the output
   * head and `ln_f` first, the embeddings last). A tied `wte.weight` then holds only its output-head
   * part: its lookup part stays in {@link Trainer.embeddingRows}.
   */
  parameterReady(index: number): void;
}

/** target = values · weight (first) or target += values · weight, weight 1 without a multiply. */
function accumulate(target: Float32Array, values: Float32Array, first: boolean, weight: number): void {
  if (weight !== 1) {
    values = values.slice();
    scale(values, weight);
  }
  if (first) target.set(values);
  else addInto(target, values);
}

/** Builds the int32 [B, T] tensors of a batch. */
export function batchTensors(batch: Batch): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const shape: [number, number] = [batch.batchSize, batch.contextLength];
  return {
    inputs: tf.tensor2d(batch.inputs, shape, 'int32'),
    targets: tf.tensor2d(batch.targets, shape, 'int32'),
  };
}

/** Trains a set of parameters with AdamW on flat parameter and gradient buffers. */
export class Trainer {
  readonly optimizer: AdamW;
  readonly parameters: ParameterSet;
  /** The GPT whose every parameter trains (batch steps); absent for a trainer over a loss function's tensors. */
  readonly model?: GPTModel;
  /** Gradients of the last step, flat (after averaging and clipping). */
  readonly grads: Float32Array;
  /**
   * The token-embedding lookup gradient of the last batch step, when a {@link GradientListener}
   * took it over: not yet added to `grads` (see {@link computeGradients}).
   */
  readonly embeddingRows?: EmbeddingRows;
  private readonly schedule: LrSchedule;
  private anchor?: tf.Variable;

  /**
   * @param target - a GPT (every parameter trains) or the parameter set to train.
   * @param optimizerState - AdamW moments and step count to continue from.
   */
  constructor(
    target: GPTModel | ParameterSet,
    private readonly options: TrainerOptions,
    optimizerState?: AdamWState,
  ) {
    this.schedule = validateSchedule(options.schedule);
    if (target instanceof GPTModel) this.model = target;
    this.parameters = target instanceof GPTModel ? ParameterSet.ofModel(target) : target;
    const n = this.parameters.size;
    this.grads = options.sharedGradients
      ? new Float32Array(new SharedArrayBuffer(4 * n))
      : new Float32Array(n);
    this.optimizer = new AdamW(n, { ...DEFAULT_ADAMW, ...options.adamw }, optimizerState);
    if (this.model) this.embeddingRows = new EmbeddingRows(this.model.config.embDim);
  }

  /** The trained values, flat, kept in sync with the variables. */
  get params(): Float32Array {
    return this.parameters.values;
  }

  /** Number of optimizer steps taken so far (including those before a resume). */
  get stepsDone(): number {
    return this.optimizer.state.step;
  }

  /**
   * Computes the gradients of the mean loss over the micro-batches into {@link grads} and returns
   * that mean loss; the parameters are not touched. `work` is the micro-batches of a next-token step
   * (a trainer of a GPT) or a loss function called for micro-batches 0 … `microBatches` - 1. Split
   * from {@link applyGradients} so a data-parallel step can all-reduce {@link grads} between.
   *
   * Batches are taken through gradient taps: each parameter's gradient is copied into `grads` as
   * backward produces it, and a `listener` hears of each one that is final (to send it while
   * backward goes on). With a listener, the token embedding's lookup gradient is left sparse in
   * {@link embeddingRows} for the caller to add; without one it is added here. Micro-batches of
   * unequal sizes weigh by their rows, so the result is the mean over all rows.
   */
  computeGradients(work: StepWork, microBatches = 1, listener?: GradientListener): number {
    if (typeof work !== 'function') return this.batchGradients(work, listener);
    if (microBatches < 1) throw new ConfigError('micro-batches', microBatches, 'at least one per step');
    const variables = this.parameters.variables();
    let lossSum = 0;
    for (let micro = 0; micro < microBatches; micro++) {
      const { value, grads } = tf.tidy(() => tf.variableGrads(() => work(micro), variables));
      variables.forEach((variable, i) => {
        const grad = grads[variable.name];
        if (!grad) throw this.unusedParameter(variable.name);
        const target = this.parameters.slice(this.grads, i);
        readValues(grad, (values) => (micro === 0 ? target.set(values) : addInto(target, values)));
      });
      lossSum += value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
    }
    if (microBatches > 1) scale(this.grads, 1 / microBatches);
    return lossSum / microBatches;
  }

  /**
   * Clips {@link grads} to the global norm, applies AdamW and updates the variables. Returns the norm
   * and lr. Throws {@link TrainingDivergedError} (and changes nothing) when the norm is not finite.
   */
  applyGradients(): { gradNorm: number; lr: number } {
    const gradNorm = Math.sqrt(sumOfSquares(this.grads));
    if (!Number.isFinite(gradNorm))
      throw new TrainingDivergedError(this.stepsDone, 'gradient norm', gradNorm);
    const clip = this.options.gradClip ?? 1;
    // PyTorch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) only when that is below 1.
    if (clip > 0 && clip / (gradNorm + 1e-6) < 1) scale(this.grads, clip / (gradNorm + 1e-6));
    const lr = learningRate(this.stepsDone, this.schedule);
    this.optimizer.update(this.params, this.grads, lr);
    this.parameters.commit();
    return { gradNorm, lr };
  }

  /** One optimizer step (see {@link computeGradients} for `work`). */
  step(work: StepWork, microBatches = 1): StepResult {
    const loss = this.computeGradients(work, microBatches);
    const step = this.stepsDone;
    const { gradNorm, lr } = this.applyGradients();
    const tokens =
      typeof work === 'function' ? 0 : work.reduce((n, b) => n + b.batchSize * b.contextLength, 0);
    return { step, loss, lr, gradNorm, tokens };
  }

  /**
   * Restores saved values and optimizer state (a resumed job): the values are written back to every
   * variable; the moments and the step count replace the optimizer's. Throws a ConfigError when a
   * length does not match.
   */
  restore(values: Float32Array, state: AdamWState): void {
    for (const [field, array] of [
      ['m', state.m],
      ['v', state.v],
    ] as const) {
      if (array.length !== this.params.length)
        throw new ConfigError(`restored ${field}`, array.length, `${this.params.length} values`);
    }
    this.parameters.restore(values);
    this.optimizer.state.m.set(state.m);
    this.optimizer.state.v.set(state.v);
    this.optimizer.state.step = state.step;
  }

  /** {@link computeGradients} of next-token batches, through gradient taps. */
  private batchGradients(batches: readonly Batch[], listener?: GradientListener): number {
    const { model, embeddingRows } = this;
    if (!model || !embeddingRows)
      throw new ConfigError('step work', 'batches', 'a loss function for a trainer of a parameter subset');
    const count = batches.length;
    if (count < 1) throw new ConfigError('micro-batches', count, 'at least one per step');
    // Each micro-batch's share of the mean over all rows; equal shares are applied once, at the end.
    const rows = batches.reduce((n, b) => n + b.batchSize, 0);
    const equal = batches.every((b) => b.batchSize === batches[0].batchSize);
    const share = (m: number): number => (equal ? 1 : batches[m].batchSize / rows);
    const specs = model.layout.specs;
    const index = new Map(specs.map((spec, i) => [spec.name, i]));
    const tapped = new Uint8Array(specs.length);
    const wte = index.get('wte.weight') as number;
    let micro = 0;
    const taps: GradientTaps = {
      anchor: (this.anchor ??= tapAnchor()),
      parameter: (name, gradient) => {
        const i = index.get(name) as number;
        tapped[i]++;
        const target = this.parameters.slice(this.grads, i);
        readValues(gradient, (values) => accumulate(target, values, micro === 0, share(micro)));
        if (micro < count - 1) return;
        if (equal && count > 1) scale(target, 1 / count);
        listener?.parameterReady(i);
      },
      tokenLookup: (ids, values) => embeddingRows.add(ids, values, share(micro)),
    };
    embeddingRows.clear();
    embeddingRows.scale = equal ? 1 / count : 1;
    // Without an output-head use (an untied head), the embedding's gradient is its lookup part alone.
    if (!model.config.tiedHead) this.parameters.slice(this.grads, wte).fill(0);
    const loss = this.nextTokenLoss(batches, taps);
    let lossSum = 0;
    for (; micro < count; micro++) {
      tapped.fill(0);
      const { value, grads } = tf.tidy(() => tf.variableGrads(() => loss(micro), [taps.anchor]));
      lossSum += value.dataSync()[0] * share(micro);
      tf.dispose([value, ...Object.values(grads)]);
      const missing = specs.findIndex((_, i) => tapped[i] !== 1 && !(i === wte && !model.config.tiedHead));
      if (missing >= 0) throw this.unusedParameter(specs[missing].name);
    }
    if (!listener) {
      embeddingRows.addInto(this.parameters.slice(this.grads, wte));
      embeddingRows.clear();
    }
    return equal ? lossSum / count : lossSum;
  }

  private unusedParameter(name: string): ConfigError {
    return new ConfigError('trainable parameter', name, 'a parameter the loss depends on');
  }

  /** Mean next-token cross-entropy of each micro-batch, with this step's dropout masks. */
  private nextTokenLoss(batches: readonly Batch[], taps: GradientTaps): LossFunction {
    const model = this.model as GPTModel;
    const step = this.stepsDone;
    return (micro) => {
      const { inputs, targets } = batchTensors(batches[micro]);
      const dropoutSeed = deriveSeed(this.options.seed ?? 0, step, micro);
      const logits = model.forward(inputs, { training: true, dropoutSeed, taps });
      return crossEntropy(logits, targets, this.options.ignoreIndex ?? IGNORE_INDEX) as tf.Scalar;
    };
  }
}
