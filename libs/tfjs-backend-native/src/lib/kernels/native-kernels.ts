/**
 * Kernels the native backend overrides with the addon: BatchMatMul, _FusedMatMul (bias and
 * linear/relu/relu6/elu/sigmoid/leakyrelu; anything else goes to the cpu kernel), Softmax over
 * the last axis, Transpose of 4-byte dtypes (sharing the input's data when only size-1 axes move). Each falls back to the cpu kernel it replaces for
 * cases it does not cover.
 */
import {
  BatchMatMul,
  _FusedMatMul,
  Softmax,
  Transpose,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../native/native-addon';
import { cpuIO, sizeOf, type KernelIO } from './kernel-io';
import { anyInput } from './kernel-checks';
import { planMatMul } from './matmul-plan';

const ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu']);

/** Applies a fused activation in place. */
function activate(c: Float32Array, activation: string, alpha: number): void {
  const n = c.length;
  if (activation === 'relu') for (let i = 0; i < n; i++) c[i] = c[i] < 0 ? 0 : c[i];
  else if (activation === 'relu6') for (let i = 0; i < n; i++) c[i] = c[i] < 0 ? 0 : c[i] > 6 ? 6 : c[i];
  else if (activation === 'elu') for (let i = 0; i < n; i++) c[i] = c[i] < 0 ? Math.exp(c[i]) - 1 : c[i];
  else if (activation === 'sigmoid') for (let i = 0; i < n; i++) c[i] = 1 / (1 + Math.exp(-c[i]));
  else if (activation === 'leakyrelu') for (let i = 0; i < n; i++) c[i] = c[i] < 0 ? alpha * c[i] : c[i];
}

/** Whether a bias broadcasts as one row of N (or a scalar) over the [.., M, N] output of rank outRank. */
function isRowBias(bias: TensorInfo, N: number, outRank: number): boolean {
  if (bias.shape.length > outRank) return false;
  const size = sizeOf(bias.shape);
  if (size === 1) return true;
  return size === N && bias.shape[bias.shape.length - 1] === N;
}

/** a @ b (+ bias row) into a new output tensor. */
function matMul(
  addon: NativeAddon,
  t: KernelIO,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias?: TensorInfo,
): TensorInfo {
  const plan = planMatMul(a.shape, b.shape, transposeA, transposeB);
  const out = t.alloc(plan.outShape, 'float32');
  const c = t.writeF32(out);
  let beta = 0;
  if (bias) {
    const row = t.readF32(bias);
    if (row.length === 1) c.fill(row[0]);
    else for (let o = 0; o < c.length; o += plan.N) c.set(row, o);
    beta = 1;
  }
  if (plan.K === 0) {
    // An empty sum: the bias, or zeros (outputs are not zero-filled when allocated).
    if (!bias) c.fill(0);
    return out;
  }
  addon.gemmBatch(
    transposeA,
    transposeB,
    plan.M,
    plan.N,
    plan.K,
    1,
    t.readF32(a),
    plan.lda,
    t.readF32(b),
    plan.ldb,
    beta,
    c,
    plan.ldc,
    plan.offsets,
  );
  return out;
}

/** The native overrides, given the cpu kernels to fall back to. */
export function nativeKernelConfigs(
  addon: NativeAddon,
  cpuKernel: (name: string) => KernelFunc,
): KernelConfig[] {
  const batchMatMul: KernelFunc = (params) => {
    const [a, b] = [anyInput(BatchMatMul, params.inputs, 'a'), anyInput(BatchMatMul, params.inputs, 'b')];
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpuKernel(BatchMatMul)(params);
    const { transposeA, transposeB } = params.attrs as { transposeA: boolean; transposeB: boolean };
    return matMul(addon, cpuIO(params.backend), a, b, !!transposeA, !!transposeB);
  };

  const fusedMatMul: KernelFunc = (params) => {
    const [a, b] = [anyInput(_FusedMatMul, params.inputs, 'a'), anyInput(_FusedMatMul, params.inputs, 'b')];
    const { bias, preluActivationWeights } = params.inputs;
    const { transposeA, transposeB, activation, leakyreluAlpha } = params.attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation: string;
      leakyreluAlpha?: number;
    };
    const N = b.shape[b.shape.length - (transposeB ? 2 : 1)];
    const supported =
      a.dtype === 'float32' &&
      b.dtype === 'float32' &&
      !preluActivationWeights &&
      ACTIVATIONS.has(activation ?? 'linear') &&
      (!bias || (bias.dtype === 'float32' && isRowBias(bias, N, Math.max(a.shape.length, b.shape.length))));
    if (!supported) return cpuKernel(_FusedMatMul)(params);
    const t = cpuIO(params.backend);
    const out = matMul(addon, t, a, b, !!transposeA, !!transposeB, bias);
    activate(t.writeF32(out), activation ?? 'linear', leakyreluAlpha ?? 0.2);
    return out;
  };

  const softmax: KernelFunc = (params) => {
    const logits = anyInput(Softmax, params.inputs, 'logits');
    const dim = (params.attrs as { dim: number }).dim;
    const rank = logits.shape.length;
    if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1))
      return cpuKernel(Softmax)(params);
    const t = cpuIO(params.backend);
    const out = t.alloc(logits.shape, 'float32');
    const cols = logits.shape[rank - 1];
    addon.softmaxRows(t.readF32(logits), t.writeF32(out), cols === 0 ? 0 : sizeOf(logits.shape) / cols, cols);
    return out;
  };

  const transpose: KernelFunc = (params) => {
    const x = anyInput(Transpose, params.inputs, 'x');
    const { perm } = params.attrs as { perm: number[] };
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return cpuKernel(Transpose)(params);
    const t = cpuIO(params.backend);
    const outShape = perm.map((p) => x.shape[p]);
    const kept = perm.filter((p) => x.shape[p] !== 1);
    if (kept.every((p, i) => i === 0 || kept[i - 1] < p)) {
      // Only size-1 axes move: the data is unchanged, so share it (as Reshape does).
      (params.backend as MathBackendCPU).incRef(x.dataId);
      return { dataId: x.dataId, shape: outShape, dtype: x.dtype };
    }
    const out = t.alloc(outShape, x.dtype);
    const [src, dst] =
      x.dtype === 'int32' ? [t.readI32(x), t.writeI32(out)] : [t.readF32(x), t.writeF32(out)];
    addon.transpose(src, dst, Int32Array.from(x.shape), Int32Array.from(perm));
    return out;
  };

  const kernels: Array<[string, KernelFunc]> = [
    [BatchMatMul, batchMatMul],
    [_FusedMatMul, fusedMatMul],
    [Softmax, softmax],
    [Transpose, transpose],
  ];
  return kernels.map(([kernelName, kernelFunc]) => ({ kernelName, backendName: 'native', kernelFunc }));
}
