/** LayerNorm over the last axis (scale and shift, biased variance). Legend: N rows, C channels. */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeLayerNorm } from '@llm-forge/tfjs-backend-native';
import { hasFusedKernel, registerFusedGradients, runKernel } from './fused-kernels';

/** Normalises `x` [..., C] over its last axis: gamma * (x - mean) / sqrt(var + eps) + beta. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): tf.Tensor {
  const C = x.shape[x.rank - 1];
  if (hasFusedKernel(ForgeLayerNorm)) {
    registerFusedGradients();
    const [y] = runKernel(ForgeLayerNorm, { x: tf.reshape(x, [-1, C]), gamma, beta }, { epsilon }); // (N, C)
    return tf.reshape(y, x.shape);
  }
  return layerNormComposite(x, gamma, beta, epsilon);
}

/** LayerNorm from tfjs-core ops (reference and fallback). */
export function layerNormComposite(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
    return tf.add(tf.mul(normed, gamma), beta);
  });
}
