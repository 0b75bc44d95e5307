/** Dropout: zero each element with probability `rate` and scale the rest by 1 / (1 - rate). */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeDropout } from '@llm-forge/tfjs-backend-native';
import { hasFusedKernel, registerFusedGradients, runKernel } from './fused-kernels';

/**
 * Inverted dropout of x with a mask fixed by `seed`: the `ForgeDropout` kernel (a counter-based
 * mask, one pass, the gradient drawing the mask again) when the active backend registers it,
 * otherwise `tf.dropout` (tfjs's own generator: another mask for the same seed). Rate 0 returns x.
 */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate === 0) return x;
  if (hasFusedKernel(ForgeDropout)) {
    registerFusedGradients();
    return runKernel(ForgeDropout, { x }, { rate, seed })[0];
  }
  return tf.dropout(x, rate, undefined, seed);
}
