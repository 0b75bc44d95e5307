/**
 * One LoRA adapter (appendix E of the book; Hu et al. 2021): a linear layer's output gains
 * `(alpha / rank) · x @ A @ B` with A [in, r] and B [r, out]. B starts at zero, so a fresh adapter
 * leaves the model unchanged; only A and B train. Legend: N rows, r rank.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type LinearAdapter, type Rng } from '@llm-forge/gpt';

/** Rank and alpha of a set of adapters. */
export interface LoraSettings {
  /** Rank r of A [in, r] and B [r, out]. */
  rank: number;
  /** Scale numerator: the update is multiplied by alpha / rank. */
  alpha: number;
}

/** Checks rank (a positive integer) and alpha (a positive number), naming the bad one. */
export function validateLoraSettings(settings: LoraSettings): LoraSettings {
  if (!Number.isInteger(settings.rank) || settings.rank < 1) {
    throw new ConfigError('lora rank', settings.rank, 'a positive integer');
  }
  if (!(settings.alpha > 0)) throw new ConfigError('lora alpha', settings.alpha, 'a positive number');
  return settings;
}

/**
 * A Kaiming-uniform A as the book's `torch.nn.init.kaiming_uniform_(A, a=math.sqrt(5))`: PyTorch
 * takes fan_in = A.size(1) = rank, so the bound is gain·sqrt(3/fan_in) = 1/sqrt(rank).
 */
function kaimingUniform(rows: number, rank: number, rng: Rng): Float32Array {
  const bound = 1 / Math.sqrt(rank);
  const values = new Float32Array(rows * rank);
  for (let i = 0; i < values.length; i++) values[i] = (2 * rng.nextFloat() - 1) * bound;
  return values;
}

/** The A and B of one adapted layer, as tfjs variables. */
export class LoraLayer implements LinearAdapter {
  readonly a: tf.Variable; // (in, r)
  readonly b: tf.Variable; // (r, out)
  readonly scale: number;

  constructor(
    /** The adapted layer's parameter prefix, e.g. `h.0.attn.c_attn` or `score`. */
    readonly layer: string,
    readonly inDim: number,
    readonly outDim: number,
    settings: LoraSettings,
    init: Rng | { a: Float32Array; b: Float32Array },
  ) {
    const { rank, alpha } = validateLoraSettings(settings);
    this.scale = alpha / rank;
    const a = 'a' in init ? init.a : kaimingUniform(inDim, rank, init);
    const b = 'b' in init ? init.b : new Float32Array(rank * outDim);
    if (a.length !== inDim * rank || b.length !== rank * outDim) {
      throw new ConfigError(
        `${layer} adapter shape`,
        [a.length, b.length],
        `A ${inDim}x${rank} and B ${rank}x${outDim}`,
      );
    }
    this.a = tf.variable(tf.tensor2d(a, [inDim, rank]), true);
    this.b = tf.variable(tf.tensor2d(b, [rank, outDim]), true);
  }

  /** (alpha / r) · x @ A @ B: [N, out] for x [N, in]. */
  delta(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() =>
      tf.mul(tf.matMul(tf.matMul(x, this.a as tf.Tensor2D), this.b as tf.Tensor2D), this.scale),
    );
  }

  /** The dense update (alpha / r) · A @ B [in, out] that merging adds to the base weight. */
  update(): Float32Array {
    const product = tf.tidy(() =>
      tf.mul(tf.matMul(this.a as tf.Tensor2D, this.b as tf.Tensor2D), this.scale),
    );
    const values = product.dataSync() as Float32Array;
    product.dispose();
    return values;
  }

  /** Number of trainable values (A and B). */
  get parameterCount(): number {
    return this.a.size + this.b.size;
  }

  dispose(): void {
    this.a.dispose();
    this.b.dispose();
  }
}
