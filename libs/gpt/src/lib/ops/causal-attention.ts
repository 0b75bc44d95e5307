/**
 * Causal multi-head self-attention core: from the fused q,k,v projection to the merged heads.
 * Legend: B batch, T time (queries), L keys (past + new), C channels, H heads, D head size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeCausalAttention } from '@llm-forge/tfjs-backend-native';
import { hasFusedKernel, registerFusedGradients, runKernel } from './fused-kernels';

/** Options of {@link causalAttention}. */
export interface AttentionOptions {
  /** Dropout on the attention weights (only while training). @defaultValue 0 */
  dropRate?: number;
  /**
   * Seed of the dropout mask (a safe integer). The fused kernel draws its mask from it by the
   * counter-based hash of `ForgeDropout`; the fallback by tfjs's generator (another mask).
   */
  seed?: number;
}

/**
 * Attention of each position to itself and the positions before it.
 * `qkv` is [B, T, 3C] laid out [q | k | v]; returns y [B, T, C].
 */
export function causalAttention(
  qkv: tf.Tensor3D,
  numHeads: number,
  options: AttentionOptions = {},
): tf.Tensor3D {
  const dropRate = options.dropRate ?? 0;
  // The kernel's dropout needs a seed (its mask is drawn again in backward); without one, tf.dropout.
  const fusedDropout = dropRate === 0 || options.seed !== undefined;
  if (fusedDropout && hasFusedKernel(ForgeCausalAttention)) {
    registerFusedGradients();
    const attrs: tf.NamedAttrMap =
      dropRate === 0 ? { numHeads } : { numHeads, dropRate, seed: options.seed as number };
    return runKernel(ForgeCausalAttention, { qkv }, attrs)[0] as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const { q, k, v } = splitHeads(qkv, numHeads);
    return attendHeads(q, k, v, 0, dropRate, options.seed);
  });
}

/** Splits [B, T, 3C] into q, k, v of shape [B, H, T, D] each. */
export function splitHeads(
  qkv: tf.Tensor3D,
  numHeads: number,
): { q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D } {
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const D = C / numHeads;
  const toHeads = (t: tf.Tensor) =>
    tf.transpose(tf.reshape(t, [B, T, numHeads, D]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, H, T, D)
  const [q, k, v] = tf.split(qkv, 3, 2);
  return { q: toHeads(q), k: toHeads(k), v: toHeads(v) };
}

/**
 * Scaled dot-product attention of queries at absolute positions offset .. offset+T-1 over keys
 * at positions 0 .. L-1, masking keys after each query. q [B, H, T, D], k and v [B, H, L, D];
 * returns merged heads [B, T, C].
 */
export function attendHeads(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  offset: number,
  dropRate = 0,
  seed?: number,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, H, T, D] = q.shape;
    const L = k.shape[2];
    let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)); // (B, H, T, L)
    if (T > 1 || offset + T < L) scores = tf.add(scores, causalMask(T, L, offset));
    let probs = tf.softmax(scores, -1);
    if (dropRate > 0) probs = tf.dropout(probs, dropRate, undefined, seed);
    const y = tf.matMul(probs, v); // (B, H, T, D)
    return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B, T, H * D]) as tf.Tensor3D;
  });
}

/** Additive mask [T, L]: 0 where key j <= offset + i, -1e9 after (a large finite value avoids NaN). */
function causalMask(T: number, L: number, offset: number): tf.Tensor2D {
  const mask = new Float32Array(T * L);
  for (let i = 0; i < T; i++) for (let j = offset + i + 1; j < L; j++) mask[i * L + j] = -1e9;
  return tf.tensor2d(mask, [T, L]);
}
