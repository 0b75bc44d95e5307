/**
 * Softmax cross-entropy with integer targets (never one-hot) and an ignore index.
 * Legend: N rows (B*T), V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeSoftmaxCrossEntropy } from '@llm-forge/tfjs-backend-native';
import { hasFusedKernel, registerFusedGradients, runKernel } from './fused-kernels';

/** PyTorch's default ignore index: targets equal to it contribute no loss and no gradient. */
export const IGNORE_INDEX = -100;

/**
 * Per-row losses [N] = logsumexp(logits[n]) - logits[n, target[n]], 0 where target is ignored.
 * `logits` is [N, V]; `targets` is int32 [N].
 */
export function crossEntropyPerRow(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  ignoreIndex = IGNORE_INDEX,
): tf.Tensor1D {
  if (hasFusedKernel(ForgeSoftmaxCrossEntropy)) {
    registerFusedGradients();
    return runKernel(
      ForgeSoftmaxCrossEntropy,
      { logits, labels: targets },
      { ignoreIndex },
    )[0] as tf.Tensor1D;
  }
  return crossEntropyPerRowComposite(logits, targets, ignoreIndex);
}

/** Cross-entropy from tfjs-core ops (reference and fallback); gathers, never one-hot. */
export function crossEntropyPerRowComposite(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  ignoreIndex = IGNORE_INDEX,
): tf.Tensor1D {
  return tf.tidy(() => {
    const [N, V] = logits.shape;
    const keep = tf.notEqual(targets, ignoreIndex);
    const safeTargets = tf.where(keep, targets, tf.zerosLike(targets));
    const flatIndex = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), V), safeTargets);
    const picked = tf.gather(tf.reshape(logits, [-1]), flatIndex); // (N)
    const losses = tf.sub(tf.logSumExp(logits, -1), picked);
    return tf.mul(losses, tf.cast(keep, 'float32')) as tf.Tensor1D;
  });
}

/**
 * Mean cross-entropy over the rows whose target is not ignored (PyTorch's `reduction='mean'`).
 * `logits` [..., V] and `targets` [...] int32 are flattened to rows. Returns a scalar; NaN when
 * every target is ignored, as in PyTorch.
 */
export function crossEntropy(logits: tf.Tensor, targets: tf.Tensor, ignoreIndex = IGNORE_INDEX): tf.Scalar {
  return tf.tidy(() => {
    const V = logits.shape[logits.rank - 1];
    const flatTargets = tf.reshape(targets, [-1]) as tf.Tensor1D;
    const losses = crossEntropyPerRow(tf.reshape(logits, [-1, V]) as tf.Tensor2D, flatTargets, ignoreIndex);
    const count = tf.sum(tf.cast(tf.notEqual(flatTargets, ignoreIndex), 'float32'));
    return tf.div(tf.sum(losses), count) as tf.Scalar;
  });
}
