/**
 * dropout and causalAttention's dropout through the Forge kernels, on every backend that registers
 * them: gradients against tfjs ops given the kernel's own mask (recovered from the output), and the
 * seed deciding the mask. Legend: B batch, T time, C channels, H heads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForgeCausalAttention, ForgeDropout } from '@llm-forge/tfjs-backend-native';
import { dropout } from './dropout';
import { causalAttention, splitHeads } from './causal-attention';
import { hasFusedKernel } from './fused-kernels';
import { testBackends, useBackend } from '../test-utils/backends';
import { maxAbsDiff } from '../test-utils/compare';

/** Deterministic values in [-1, 1), none of them zero. */
function values(n: number, salt: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((i * 7919 + salt * 104729) % 1999) + 0.5) / 1000 - 1);
}

describe.each(testBackends())('dropout on the %s backend', (backend) => {
  let available = false;
  beforeAll(async () => {
    available = (await useBackend(backend)) && hasFusedKernel(ForgeDropout);
  });

  it('is the identity at rate 0 and repeats its mask for a seed', () => {
    if (!available) return;
    tf.tidy(() => {
      const x = tf.tensor(values(600, 1), [4, 150]);
      expect(dropout(x, 0, 3)).toBe(x);
      const a = dropout(x, 0.3, 3).dataSync();
      expect(dropout(x, 0.3, 3).dataSync()).toEqual(a);
      expect(dropout(x, 0.3, 4).dataSync()).not.toEqual(a);
    });
  });

  it('has the gradient dy * mask / (1 - rate), the mask being where y != 0', () => {
    if (!available) return;
    tf.tidy(() => {
      const rate = 0.25;
      const x = tf.tensor(values(3 * 5 * 40, 2), [3, 5, 40]);
      const dy = tf.tensor(values(3 * 5 * 40, 3), [3, 5, 40]);
      const y = dropout(x, rate, 11);
      const mask = tf.cast(tf.notEqual(y, 0), 'float32');
      const kept = mask.sum().dataSync()[0] / mask.size;
      expect(Math.abs(kept - (1 - rate))).toBeLessThan(0.1);
      expect(maxAbsDiff(y.dataSync(), tf.div(tf.mul(x, mask), 1 - rate).dataSync())).toBeLessThan(1e-6);
      const dx = tf.grad((t: tf.Tensor) => dropout(t, rate, 11))(x, dy);
      expect(maxAbsDiff(dx.dataSync(), tf.div(tf.mul(dy, mask), 1 - rate).dataSync())).toBeLessThan(1e-6);
    });
  });

  it('gives attention with dropout the gradient of tfjs ops with the kernel’s mask', () => {
    if (!available || !hasFusedKernel(ForgeCausalAttention)) return;
    tf.tidy(() => {
      const [B, T, C, H, rate, seed] = [2, 9, 12, 3, 0.2, 42];
      const qkv = tf.tensor3d(values(B * T * 3 * C, 4), [B, T, 3 * C]);
      const dy = tf.tensor3d(values(B * T * C, 5), [B, T, C]);
      // The kernel's mask, by the same kernel on ones (attention indexes probs [B, H, T, T] flat).
      const mask = tf
        .engine()
        .runKernel(ForgeDropout, { x: tf.ones([B, H, T, T]) }, { rate, seed }) as tf.Tensor;
      const reference = (t: tf.Tensor) => {
        const { q, k, v } = splitHeads(t as tf.Tensor3D, H); // (B, H, T, D)
        const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(C / H)); // (B, H, T, T)
        const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
        const probs = tf.softmax(tf.add(scores, tf.mul(tf.sub(1, causal), -1e9)));
        const y = tf.matMul(tf.mul(probs, mask), v); // (B, H, T, D)
        return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B, T, C]);
      };
      const fused = (t: tf.Tensor) => causalAttention(t as tf.Tensor3D, H, { dropRate: rate, seed });
      expect(maxAbsDiff(fused(qkv).dataSync(), reference(qkv).dataSync())).toBeLessThan(1e-5);
      const got = tf.grad(fused)(qkv, dy).dataSync();
      expect(maxAbsDiff(got, tf.grad(reference)(qkv, dy).dataSync())).toBeLessThan(1e-5);
    });
  });
});
