/**
 * UnsortedSegmentSum (native, and the JS kernel on wasm and cpu) against a direct loop, and the
 * gradient of gather (an embedding lookup) that it computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expectClose, randn, testedBackends, useBackend, valuesOn } from '../test-utils/backends';
import { expectNoLeak } from '../test-utils/run-kernel';

/** out[ids[i], :] += x[i, :] in float64. */
function segmentSumLoop(
  x: Float32Array,
  ids: Int32Array,
  rowSize: number,
  numSegments: number,
): Float64Array {
  const out = new Float64Array(numSegments * rowSize);
  ids.forEach((s, i) => {
    for (let j = 0; j < rowSize; j++) out[s * rowSize + j] += x[i * rowSize + j];
  });
  return out;
}

describe.each(testedBackends())('UnsortedSegmentSum on %s', (backend) => {
  it('matches a direct loop, with repeated and absent segments', async () => {
    const [n, rowSize, numSegments] = [40, 6, 11];
    const x = randn(n * rowSize, 21);
    const ids = Int32Array.from({ length: n }, (_, i) => (i * 7) % 9); // segments 9, 10 stay empty
    const [got] = await valuesOn(backend, () =>
      tf.unsortedSegmentSum(tf.tensor2d(x, [n, rowSize]), tf.tensor1d(ids, 'int32'), numSegments),
    );
    expectClose(got, segmentSumLoop(x, ids, rowSize, numSegments), 1e-6);
  });

  it('sums int32 values', async () => {
    const [got] = await valuesOn(backend, () =>
      tf.cast(
        tf.unsortedSegmentSum(
          tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'),
          tf.tensor1d([1, 0, 1], 'int32'),
          2,
        ),
        'float32',
      ),
    );
    expect(Array.from(got)).toEqual([3, 4, 6, 8]);
  });

  it('is the gradient of an embedding lookup (gather with 2-D ids)', async () => {
    const [V, C] = [50, 8];
    const table = randn(V * C, 22);
    const ids = Int32Array.from([3, 7, 3, 49, 0, 3], (v) => v);
    const weights = randn(ids.length * C, 23);
    const [grad] = await valuesOn(backend, () => {
      const w = tf.tensor3d(weights, [2, 3, C]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor2d(ids, [2, 3], 'int32')), w)))(
        tf.tensor2d(table, [V, C]),
      );
    });
    expectClose(grad, segmentSumLoop(weights, ids, C, V), 1e-6);
  });

  it('leaks no tensors', async () => {
    await useBackend(backend);
    expectNoLeak(() =>
      tf.dispose(
        tf.tidy(() => tf.unsortedSegmentSum(tf.ones([4, 3]), tf.tensor1d([0, 1, 0, 2], 'int32'), 3)),
      ),
    );
  });
});
