/**
 * Every Forge kernel on every available backend (native, wasm + JS, cpu + JS) against the same
 * maths composed from tfjs-core ops on the plain cpu backend, forward and gradient (tf.grad of
 * the composite). Legend: N = rows, C = channels, B = batch, T = time, H = heads, V = vocab.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ForgeCausalAttention,
  ForgeCausalAttentionGrad,
  ForgeGelu,
  ForgeGeluGrad,
  ForgeLayerNorm,
  ForgeLayerNormGrad,
  ForgeSoftmaxCrossEntropy,
  ForgeSoftmaxCrossEntropyGrad,
} from '../kernel-names';
import { expectClose, randn, testedBackends, useBackend, valuesOn } from '../test-utils/backends';
import { attentionRef, crossEntropyRef, geluRef, layerNormRef } from '../test-utils/reference';
import { expectNoLeak, runKernel } from '../test-utils/run-kernel';

describe.each(testedBackends())('Forge kernels on %s', (backend) => {
  it('LayerNorm forward and gradient match the composite', async () => {
    const [N, C, epsilon] = [37, 48, 1e-5];
    const x = randn(N * C, 1, 3).map((v, i) => v + (i % C) * 0.1);
    const [gamma, beta, dy] = [randn(C, 2), randn(C, 3), randn(N * C, 4)];
    const ref = await valuesOn('cpu', () => {
      const [xt, g, b] = [tf.tensor2d(x, [N, C]), tf.tensor1d(gamma), tf.tensor1d(beta)];
      const { mean, variance } = tf.moments(xt, -1);
      const rstd = tf.rsqrt(tf.add(variance, epsilon));
      const grads = tf.grads((a, c, d) => layerNormRef(a, c, d, epsilon))(
        [xt, g, b],
        tf.tensor2d(dy, [N, C]),
      );
      return [layerNormRef(xt, g, b, epsilon), mean, rstd, ...grads];
    });
    const got = await valuesOn(backend, () => {
      const [xt, g, b] = [tf.tensor2d(x, [N, C]), tf.tensor1d(gamma), tf.tensor1d(beta)];
      const [y, mean, rstd] = runKernel(ForgeLayerNorm, { x: xt, gamma: g, beta: b }, { epsilon });
      expect(mean.shape).toEqual([N]);
      const grads = runKernel(ForgeLayerNormGrad, {
        dy: tf.tensor2d(dy, [N, C]),
        x: xt,
        gamma: g,
        mean,
        rstd,
      });
      expect(grads.map((t) => t.shape)).toEqual([[N, C], [C], [C]]);
      return [y, mean, rstd, ...grads];
    });
    got.forEach((values, i) => expectClose(values, ref[i], 1e-5));
  });

  it('GELU forward and gradient match the composite, tails included', async () => {
    const shape = [10, 7, 3];
    const x = randn(210, 5, 4);
    x[0] = 12;
    x[1] = -12;
    x[2] = 0;
    const dy = randn(210, 6);
    const ref = await valuesOn('cpu', () => {
      const xt = tf.tensor(x, shape);
      return [geluRef(xt), tf.grad(geluRef)(xt, tf.tensor(dy, shape))];
    });
    const got = await valuesOn(backend, () => {
      const xt = tf.tensor(x, shape);
      const [y] = runKernel(ForgeGelu, { x: xt });
      expect(y.shape).toEqual(shape);
      return [y, ...runKernel(ForgeGeluGrad, { dy: tf.tensor(dy, shape), x: xt })];
    });
    expectClose(got[0], ref[0], 1e-5);
    expectClose(got[1], ref[1], 1e-5);
  });

  it.each([
    [2, 1, 12, 3], // T = 1
    [2, 7, 12, 3],
    [1, 67, 16, 2], // crosses the native row block of 64
    [2, 130, 24, 2],
  ])('causal attention B=%i T=%i C=%i H=%i matches the composite', async (B, T, C, H) => {
    const qkv = randn(B * T * 3 * C, 7 + T);
    const dy = randn(B * T * C, 8 + T);
    const ref = await valuesOn('cpu', () => {
      const q = tf.tensor3d(qkv, [B, T, 3 * C]);
      const [y, probs] = attentionRef(q, H);
      return [
        y,
        probs,
        tf.grad((t: tf.Tensor) => attentionRef(t as tf.Tensor3D, H)[0])(q, tf.tensor3d(dy, [B, T, C])),
      ];
    });
    const got = await valuesOn(backend, () => {
      const q = tf.tensor3d(qkv, [B, T, 3 * C]);
      const [y, probs] = runKernel(ForgeCausalAttention, { qkv: q }, { numHeads: H });
      expect([y.shape, probs.shape]).toEqual([
        [B, T, C],
        [B, H, T, T],
      ]);
      const [dqkv] = runKernel(
        ForgeCausalAttentionGrad,
        { dy: tf.tensor3d(dy, [B, T, C]), qkv: q, probs },
        { numHeads: H },
      );
      return [y, probs, dqkv];
    });
    expectClose(got[0], ref[0], 1e-5);
    expectClose(got[1], ref[1], 1e-5);
    expectClose(got[2], ref[2], 1e-5);
  });

  it.each([
    [9, 300, 3],
    [3, 50257, 1],
  ])('softmax cross-entropy N=%i V=%i matches the composite, ignoreIndex rows zero', async (N, V, scale) => {
    const logits = randn(N * V, 11, scale);
    logits[5] = 40; // a dominant logit
    const labels = Int32Array.from({ length: N }, (_, i) => (i % 3 === 1 ? -100 : (i * 7919) % V));
    const dlosses = randn(N, 12);
    const ref = await valuesOn('cpu', () => {
      const [lt, lb] = [tf.tensor2d(logits, [N, V]), tf.tensor1d(labels, 'int32')];
      const grad = tf.grad((t: tf.Tensor) => crossEntropyRef(t as tf.Tensor2D, lb, -100))(
        lt,
        tf.tensor1d(dlosses),
      );
      return [crossEntropyRef(lt, lb, -100), tf.logSumExp(lt, 1), grad];
    });
    const got = await valuesOn(backend, () => {
      const [lt, lb] = [tf.tensor2d(logits, [N, V]), tf.tensor1d(labels, 'int32')];
      const [losses, logsumexp] = runKernel(
        ForgeSoftmaxCrossEntropy,
        { logits: lt, labels: lb },
        { ignoreIndex: -100 },
      );
      const inputs = { dlosses: tf.tensor1d(dlosses), logits: lt, labels: lb, logsumexp };
      return [losses, logsumexp, ...runKernel(ForgeSoftmaxCrossEntropyGrad, inputs, { ignoreIndex: -100 })];
    });
    got.forEach((values, i) => expectClose(values, ref[i], 1e-5));
    expect(got[0][1]).toBe(0);
    expect(got[2].subarray(V, 2 * V).every((v) => v === 0)).toBe(true);
  });

  it('rejects a label outside [0, V) that is not ignoreIndex', async () => {
    await useBackend(backend);
    expectNoLeak(() =>
      expect(() =>
        tf.tidy(() =>
          runKernel(
            ForgeSoftmaxCrossEntropy,
            { logits: tf.zeros([2, 5]), labels: tf.tensor1d([1, 5], 'int32') },
            { ignoreIndex: -100 },
          ),
        ),
      ).toThrow(/label 5 at row 1/),
    );
  });

  it('rejects malformed inputs with the kernel name', async () => {
    await useBackend(backend);
    expect(() =>
      tf.tidy(() => runKernel(ForgeCausalAttention, { qkv: tf.zeros([1, 2, 12]) }, { numHeads: 5 })),
    ).toThrow(/ForgeCausalAttention: numHeads 5 must divide C = 4/);
    expect(() =>
      tf.tidy(() =>
        runKernel(
          ForgeLayerNorm,
          { x: tf.zeros([2, 3]), gamma: tf.zeros([4]), beta: tf.zeros([3]) },
          { epsilon: 1e-5 },
        ),
      ),
    ).toThrow(/ForgeLayerNorm: gamma must have shape \[3\]/);
  });

  it('leaks no tensors', async () => {
    await useBackend(backend);
    expectNoLeak(() => {
      const qkv = tf.randomNormal([1, 5, 24]);
      const [y, probs] = runKernel(ForgeCausalAttention, { qkv }, { numHeads: 2 });
      const [dqkv] = runKernel(ForgeCausalAttentionGrad, { dy: y, qkv, probs }, { numHeads: 2 });
      const [x, gamma, beta] = [tf.randomNormal([5, 8]), tf.ones([8]), tf.zeros([8])];
      const ln = runKernel(ForgeLayerNorm, { x, gamma, beta }, { epsilon: 1e-5 });
      tf.dispose([qkv, y, probs, dqkv, x, gamma, beta, ...ln]);
      tf.dispose(tf.tidy(() => runKernel(ForgeGeluGrad, { dy: tf.ones([4]), x: tf.ones([4]) })));
    });
  });
});
