/**
 * The GEMM calls of a (batched, broadcast, transposed) tfjs matMul: a [...batchA, M, K] (or
 * [..., K, M] transposed) times b [...batchB, K, N] (or [..., N, K]) -> [...batch, M, N], batch
 * dims broadcast numpy-style. Row-major throughout.
 */
import { broadcast_util } from '@tensorflow/tfjs-core';
import { sizeOf } from './kernel-io';

/** One or more products C_i = op(A_i) op(B_i) sharing M, N, K and leading dimensions. */
export interface MatMulPlan {
  M: number;
  N: number;
  K: number;
  lda: number;
  ldb: number;
  ldc: number;
  /** Element offsets (a, b, c) of each product, three per product. */
  offsets: Int32Array;
  /** Shape of the output tensor. */
  outShape: number[];
}

/**
 * Plans the products. When b has no batch (or all-1 batch dims) and a is not transposed, the batch
 * of a folds into M: one large GEMM instead of many small ones.
 */
export function planMatMul(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatMulPlan {
  if (aShape.length < 2 || bShape.length < 2)
    throw new Error(`BatchMatMul: inputs must have rank >= 2, got ${aShape.length} and ${bShape.length}`);
  const [a0, a1] = aShape.slice(-2);
  const [b0, b1] = bShape.slice(-2);
  const [M, K] = transposeA ? [a1, a0] : [a0, a1];
  const [K2, N] = transposeB ? [b1, b0] : [b0, b1];
  if (K !== K2)
    throw new Error(
      `BatchMatMul: inner dimensions ${K} and ${K2} of [${aShape.join(', ')}] and [${bShape.join(', ')}] differ`,
    );
  const batchA = aShape.slice(0, -2);
  const batchB = bShape.slice(0, -2);
  const outBatch = broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const outShape = [...outBatch, M, N];
  const lda = transposeA ? M : K;
  const ldb = transposeB ? K : N;
  const count = sizeOf(outBatch);
  if (sizeOf(batchB) === 1 && !transposeA && sizeOf(batchA) === count) {
    return { M: M * count, N, K, lda, ldb, ldc: N, offsets: new Int32Array([0, 0, 0]), outShape };
  }
  // Strides of a's and b's batch dims aligned right to outBatch; 0 where broadcast.
  const batchStrides = (batch: readonly number[], matrixSize: number): number[] => {
    const strides = new Array<number>(outBatch.length).fill(0);
    let stride = matrixSize;
    for (let i = batch.length - 1, o = outBatch.length - 1; i >= 0; i--, o--) {
      strides[o] = batch[i] === 1 ? 0 : stride;
      stride *= batch[i];
    }
    return strides;
  };
  const sa = batchStrides(batchA, M * K);
  const sb = batchStrides(batchB, K * N);
  const offsets = new Int32Array(3 * count);
  for (let i = 0; i < count; i++) {
    let rest = i;
    let oa = 0;
    let ob = 0;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      const idx = rest % outBatch[d];
      rest = Math.floor(rest / outBatch[d]);
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    offsets[3 * i] = oa;
    offsets[3 * i + 1] = ob;
    offsets[3 * i + 2] = i * M * N;
  }
  return { M, N, K, lda, ldb, ldc: N, offsets, outShape };
}
