/**
 * Gradient of BatchMatMul that also handles broadcast batch dimensions (tfjs-core 4.22's returns
 * a gradient of the broadcast shape, which the tape rejects, e.g. for x [B, T, C] @ w [C, N]).
 * For a batched a against a 2-D b it computes db as one GEMM over the folded batch.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Sums g over the axes along which `shape` was broadcast to g's shape, then reshapes to `shape`. */
function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const axes = tf.broadcast_util.getReductionAxes(shape, g.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
}

/** BatchMatMul's gradient config, broadcast-aware. */
export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dyOrList, saved, attrs) => {
    const dy = Array.isArray(dyOrList) ? dyOrList[0] : dyOrList;
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const m = tf.matMul;
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) [da, db] = [() => m(dy, b, false, true), () => m(a, dy, true, false)];
    else if (!transposeA && transposeB)
      [da, db] = [() => m(dy, b, false, false), () => m(dy, a, true, false)];
    else if (transposeA && !transposeB)
      [da, db] = [() => m(b, dy, false, true), () => m(a, dy, false, false)];
    else [da, db] = [() => m(b, dy, true, true), () => m(dy, a, true, true)];
    if (b.rank === 2 && a.rank > 2 && !transposeA) {
      // b is shared by every batch: fold the batch into the rows, db is one GEMM.
      const K = a.shape[a.rank - 1];
      const N = dy.shape[dy.rank - 1];
      db = () => {
        const [a2, dy2] = [tf.reshape(a, [-1, K]), tf.reshape(dy, [-1, N])]; // (batch*M, K), (batch*M, N)
        return transposeB ? m(dy2, a2, true, false) : m(a2, dy2, true, false);
      };
    }
    return { a: () => reduceTo(da(), a.shape), b: () => reduceTo(db(), b.shape) };
  },
};
