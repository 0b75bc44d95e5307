/**
 * The native backend's overrides of tfjs kernels (BatchMatMul, _FusedMatMul, Softmax, Transpose)
 * against the plain cpu backend. Skipped, with a message, when the addon is not built.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expectClose, nativeAvailable, randomTensor, useBackend, valuesOn } from '../test-utils/backends';
import { expectNoLeak } from '../test-utils/run-kernel';
import { getNativeAddon } from '../native/native-addon';

const describeNative = nativeAvailable() ? describe : describe.skip;

/** Runs fn on cpu and on native with the same inputs, and compares. */
async function compare(fn: () => tf.Tensor | tf.Tensor[], tol = 1e-5): Promise<void> {
  const ref = await valuesOn('cpu', fn);
  const got = await valuesOn('native', fn);
  got.forEach((values, i) => expectClose(values, ref[i], tol));
}

const t = randomTensor;

describeNative('native backend kernels', () => {
  it.each([
    [[13, 7], [7, 5], false, false],
    [[7, 13], [7, 5], true, false],
    [[13, 7], [5, 7], false, true],
    [[7, 13], [5, 7], true, true],
    [[4, 13, 7], [4, 7, 5], false, false], // batched 3-D
    [[4, 7, 13], [4, 5, 7], true, true],
    [[4, 13, 7], [7, 5], false, false], // batch folded into M
    [[4, 13, 7], [1, 5, 7], false, true],
    [[64, 130], [130, 90], false, false],
  ] as Array<[number[], number[], boolean, boolean]>)(
    'matMul %j x %j transposeA=%s transposeB=%s',
    async (aShape, bShape, ta, tb) => {
      await compare(() => tf.matMul(t(aShape, 1), t(bShape, 2), ta, tb));
    },
  );

  // Products large enough to be cut into column blocks (N >= M) or row blocks (M > N) that the
  // threads take in turn, and single rows, which run as matrix-vector products. Block edges depend on the shape and thread count only, so a run repeats
  // bit for bit; against one thread OpenBLAS's edge kernels may round the last bit differently.
  it.each([
    [[300, 64], [64, 520], false, false],
    [[600, 64], [64, 300], false, false],
    [[64, 600], [300, 64], true, true],
    [[64, 300], [64, 520], true, false],
    [[600, 64], [300, 64], false, true],
    [[1, 64], [64, 520], false, false], // one row (a decoding step): a matrix-vector product
    [[1, 700], [520, 700], false, true],
    [[700, 1], [700, 520], true, false],
  ] as Array<[number[], number[], boolean, boolean]>)(
    'matMul %j x %j (transposeA=%s transposeB=%s) split over the threads: exact, repeatable',
    async (aShape, bShape, ta, tb) => {
      const product = () => tf.matMul(t(aShape, 1), t(bShape, 2), ta, tb);
      await compare(product, 1e-5);
      const addon = getNativeAddon();
      if (!addon) throw new Error('native addon not loaded');
      const threads = addon.getNumThreads();
      const [split] = await valuesOn('native', product);
      const [again] = await valuesOn('native', product);
      expect(Buffer.from(again.buffer).equals(Buffer.from(split.buffer))).toBe(true);
      addon.setNumThreads(1);
      try {
        const [serial] = await valuesOn('native', product);
        expectClose(split, serial, 1e-6);
      } finally {
        addon.setNumThreads(threads);
      }
    },
  );

  it.each([
    [[2, 1, 13, 7], [3, 7, 5], false, false, [2, 3, 13, 7], [2, 3, 7, 5]], // [2, 1] x [3] -> [2, 3]
    [[3, 7, 13], [2, 1, 7, 5], true, false, [2, 3, 7, 13], [2, 3, 7, 5]],
  ])('matMul broadcasts batch dims %j x %j numpy-style', async (aShape, bShape, ta, tb, aFull, bFull) => {
    // tfjs's cpu kernel mishandles [2, 1] x [3]; the reference broadcasts explicitly.
    const ref = await valuesOn('cpu', () =>
      tf.matMul(tf.broadcastTo(t(aShape, 1), aFull), tf.broadcastTo(t(bShape, 2), bFull), ta, tb),
    );
    const [got] = await valuesOn('native', () => tf.matMul(t(aShape, 1), t(bShape, 2), ta, tb));
    expectClose(got, ref[0]);
  });

  it('fused matMul with bias and relu, and falls back for prelu', async () => {
    await compare(() => [
      tf.fused.matMul({ a: t([9, 6], 3), b: t([6, 4], 4), bias: t([4], 5), activation: 'relu' }),
      tf.fused.matMul({
        a: t([2, 9, 6], 3),
        b: t([2, 4, 6], 4),
        transposeB: true,
        bias: t([1, 4], 5),
        activation: 'linear',
      }),
      tf.fused.matMul({ a: t([9, 6], 3), b: t([6, 4], 4), bias: t([9, 4], 6) }), // full bias: cpu fallback
      tf.fused.matMul({
        a: t([9, 6], 3),
        b: t([6, 4], 4),
        activation: 'prelu',
        preluActivationWeights: t([4], 7),
      }),
      tf.fused.matMul({ a: t([9, 6], 3), b: t([6, 4], 4), bias: tf.scalar(0.5), activation: 'sigmoid' }),
    ]);
  });

  it('an empty inner dimension gives zeros, or the bias', async () => {
    const empty = () => [tf.zeros([5, 0]), tf.zeros([0, 3])];
    const [zeros] = await valuesOn('native', () => tf.matMul(...(empty() as [tf.Tensor2D, tf.Tensor2D])));
    expect(Array.from(zeros)).toEqual(new Array(15).fill(0));
    const [biased] = await valuesOn('native', () => {
      const [a, b] = empty() as [tf.Tensor2D, tf.Tensor2D];
      return tf.fused.matMul({ a, b, bias: tf.tensor1d([1, 2, 3]) });
    });
    expect(Array.from(biased)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });

  it('matMul gradients through the native kernels, broadcast batch included', async () => {
    await compare(() => {
      const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y)));
      const lossT = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, false, true)));
      return [
        ...tf.grads(loss)([t([3, 5, 4], 8), t([4, 6], 9)]),
        ...tf.grads(lossT)([t([3, 5, 4], 8), t([6, 4], 9)]),
        ...tf.grads(loss)([t([2, 5, 4], 8), t([2, 4, 6], 9)]),
      ];
    }, 1e-5);
  });

  it('softmax over the last axis', async () => {
    await compare(() => [tf.softmax(tf.mul(t([3, 7, 50], 10), 10)), tf.softmax(t([5], 11))]);
  });

  it.each([
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4],
      [1, 0, 2],
    ],
    [
      [2, 3, 4],
      [2, 1, 0],
    ],
    [
      [2, 3, 4],
      [1, 2, 0],
    ],
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [3, 37, 5, 41],
      [0, 2, 1, 3],
    ], // (B, T, H, D) -> (B, H, T, D)
    [
      [3, 5, 37, 41],
      [0, 1, 3, 2],
    ],
    [
      [3, 5, 37, 41],
      [3, 2, 1, 0],
    ],
    [
      [3, 5, 37, 41],
      [0, 2, 3, 1],
    ],
    [
      [1, 5, 1, 3],
      [2, 3, 0, 1],
    ],
    [
      [70, 90],
      [1, 0],
    ],
  ])('transpose %j by %j, float32 and int32', async (shape, perm) => {
    await compare(() => {
      const x = t(shape, 12);
      return [
        tf.transpose(x, perm),
        tf.cast(tf.transpose(tf.cast(tf.mul(x, 100), 'int32'), perm), 'float32'),
      ];
    }, 0);
  });

  it.each([
    [
      [4, 5],
      [4, 5],
    ],
    [[4, 5], [5]],
    [
      [4, 5],
      [4, 1],
    ],
    [[], [2, 3, 4]],
    [
      [1, 3, 1],
      [2, 3, 4],
    ],
    [
      [2, 1, 4],
      [2, 3, 4],
    ], // not covered: the cpu kernel
    [
      [4, 1],
      [1, 5],
    ],
  ])('add, sub, mul and div of %j and %j', async (aShape, bShape) => {
    await compare(() => {
      const [a, b] = [t(aShape, 13), tf.add(tf.abs(t(bShape, 14)), 0.5)];
      return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.div(a, b), tf.sub(b, a), tf.div(b, a)];
    }, 1e-6);
  });

  it.each([
    [[3, 4, 5], [0]],
    [
      [3, 4, 5],
      [0, 1],
    ],
    [[3, 4, 5], [1]],
    [[3, 4, 5], [2]],
    [
      [3, 4, 5],
      [1, 2],
    ],
    [
      [3, 4, 5],
      [0, 2],
    ], // not one block: the cpu kernel
    [
      [1, 1024, 70],
      [0, 1],
    ],
    [[3, 130, 5], [1]], // rows summed in parts of 64, the last one short, for each of 3 outer
    [
      [2, 200, 33],
      [0, 1],
    ],
    [[7], [0]],
  ])('sum of %j over axes %j, with and without keepDims', async (shape, axes) => {
    await compare(() => [tf.sum(t(shape, 15), axes), tf.sum(t(shape, 15), axes, true)], 1e-6);
  });

  it('gathers rows along any axis, int32 too, and rejects out-of-range indices', async () => {
    await compare(() => {
      const x = t([6, 4, 3], 16);
      const ids = tf.tensor2d(
        [
          [5, 0],
          [2, 2],
        ],
        [2, 2],
        'int32',
      );
      const ids2 = tf.tensor2d(
        [
          [1, 0],
          [2, 2],
        ],
        [2, 2],
        'int32',
      );
      return [
        tf.gather(x, ids),
        tf.gather(x, tf.tensor1d([3, 1, 3], 'int32'), 1),
        tf.cast(tf.gather(tf.cast(x, 'int32'), ids2, 2), 'float32'),
      ];
    }, 0);
    await useBackend('native');
    expect(() => tf.tidy(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([3], 'int32')))).toThrow(
      /index value 3 is not in \[0, 2\]/,
    );
  });

  it('shares the data when a transpose only moves size-1 axes', async () => {
    await useBackend('native');
    expectNoLeak(() => {
      const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]);
      const y = tf.transpose(x, [1, 0, 2]);
      expect(y.shape).toEqual([2, 1, 3]);
      x.dispose();
      expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
      y.dispose();
    });
  });

  it('leaks no tensors in matMul, fused matMul, softmax and transpose', async () => {
    await useBackend('native');
    expectNoLeak(() => {
      tf.tidy(() => {
        tf.matMul(t([2, 3, 4], 1), t([4, 5], 2), false, false);
        tf.fused.matMul({ a: t([3, 4], 1), b: t([4, 5], 2), bias: t([5], 3), activation: 'relu' });
        tf.softmax(t([3, 4], 1));
        tf.transpose(t([2, 3, 4], 1), [2, 0, 1]);
        tf.add(t([3, 4], 1), t([4], 2));
        tf.sum(t([3, 4], 1), 0);
        tf.gather(t([3, 4], 1), tf.tensor1d([2], 'int32'));
      });
    });
  });
});
