/** tfjs-core's gradients and chained ops, registered from its dist files by completeTfjsCore. */
import * as tf from '@tensorflow/tfjs-core';
import { completeTfjsCore, initBackend } from '../../index';
import { expectClose, randn } from '../test-utils/backends';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('completeTfjsCore', () => {
  it('registered the gradients of the built-in kernels once', () => {
    for (const kernel of [
      tf.Multiply,
      tf.Add,
      tf.BatchMatMul,
      tf.GatherV2,
      tf.Softmax,
      tf.Sum,
      tf.Reshape,
      tf.Transpose,
      tf.Tanh,
      tf.Conv2D,
    ]) {
      expect(tf.getGradient(kernel)).toBeDefined();
    }
    expect(completeTfjsCore()).toEqual({ gradients: 0, chainedOps: 0 }); // idempotent
  });

  it('added the chained ops', () => {
    const x = tf.tensor([1, 2, 3, 4]);
    expect(x.reshape([2, 2]).transpose().mul(2).sum().dataSync()[0]).toBe(20);
    tf.dispose(x);
  });

  it('gives correct gradients for a composite of tfjs ops', () => {
    const xv = randn(12, 51);
    const [got] = tf.tidy(() => [
      tf
        .grad((x: tf.Tensor) => tf.sum(tf.mul(tf.tanh(x), tf.exp(tf.div(x, 2)))))(tf.tensor(xv))
        .dataSync(),
    ]);
    const expected = Array.from(
      xv,
      (x) => (1 - Math.tanh(x) ** 2) * Math.exp(x / 2) + Math.tanh(x) * 0.5 * Math.exp(x / 2),
    );
    expectClose(got, expected, 1e-5);
  });

  it('reduces broadcast batch dims in the BatchMatMul gradient', () => {
    const [a, b] = [randn(24, 52), randn(20, 53)];
    const [da, db] = tf.tidy(() =>
      tf
        .grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([
          tf.tensor(a, [2, 3, 4]),
          tf.tensor(b, [4, 5]),
        ])
        .map((g) => ({
          shape: g.shape,
          values: g.dataSync(),
        })),
    );
    expect([da.shape, db.shape]).toEqual([
      [2, 3, 4],
      [4, 5],
    ]);
    // d/da sum(a b) = rowsum(b) per k; d/db = column sums of a over batch and rows.
    const rowSumB = [0, 1, 2, 3].map((k) => b.subarray(k * 5, k * 5 + 5).reduce((s, v) => s + v, 0));
    expectClose(
      da.values,
      Array.from({ length: 24 }, (_, i) => rowSumB[i % 4]),
      1e-6,
    );
    const colSumA = [0, 1, 2, 3].map((k) => a.filter((_, i) => i % 4 === k).reduce((s, v) => s + v, 0));
    expectClose(
      db.values,
      Array.from({ length: 20 }, (_, i) => colSumA[Math.floor(i / 5)]),
      1e-6,
    );
  });
});
