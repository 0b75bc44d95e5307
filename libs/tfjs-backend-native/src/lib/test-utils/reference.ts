/**
 * Reference maths of the Forge kernels composed from tfjs-core ops, run on the plain cpu backend.
 * Legend: N = rows, C = channels, B = batch, T = time, H = heads, D = C / H, V = vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';

const GELU_S = Math.sqrt(2 / Math.PI);

/** LayerNorm over the last axis with biased variance. */
export function layerNormRef(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))), gamma), beta);
}

/** GELU, tanh approximation. */
export function geluRef(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(GELU_S, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/** Causal attention over qkv [B, T, 3C]: [y [B, T, C], probs [B, H, T, T]]. */
export function attentionRef(qkv: tf.Tensor3D, H: number, dropMask?: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const D = C / H;
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, D]), [0, 2, 1, 3]); // (B, H, T, D)
  const [q, k, v] = tf.split(qkv, 3, 2).map(heads);
  const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)); // (B, H, T, T)
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
  const masked = tf.add(tf.mul(scores, mask), tf.mul(tf.sub(1, mask), -1e9));
  const probs = tf.softmax(masked);
  const weights = dropMask ? tf.mul(probs, dropMask) : probs; // dropMask: 0 or 1 / (1 - rate)
  const y = tf.reshape(tf.transpose(tf.matMul(weights, v), [0, 2, 1, 3]), [B, T, C]); // (B, T, C)
  return [y, probs];
}

/** Per-row cross-entropy losses [N] of logits [N, V] (0 where labels == ignoreIndex). */
export function crossEntropyRef(logits: tf.Tensor2D, labels: tf.Tensor1D, ignoreIndex: number): tf.Tensor {
  const V = logits.shape[1];
  const lse = tf.logSumExp(logits, 1);
  const picked = tf.sum(tf.mul(logits, tf.oneHot(labels, V)), 1);
  const keep = tf.cast(tf.notEqual(labels, ignoreIndex), 'float32');
  return tf.mul(tf.sub(lse, picked), keep);
}
