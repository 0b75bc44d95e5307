/** GELU, tanh approximation (GPT-2's `gelu_new`). */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeGelu } from '@llm-forge/tfjs-backend-native';
import { hasFusedKernel, registerFusedGradients, runKernel } from './fused-kernels';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), element-wise. */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (hasFusedKernel(ForgeGelu)) {
    registerFusedGradients();
    return runKernel(ForgeGelu, { x })[0];
  }
  return geluComposite(x);
}

/** GELU from tfjs-core ops (reference and fallback). */
export function geluComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}
