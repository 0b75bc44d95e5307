/**
 * Fixes to the wasm backend's BatchMatMul and _FusedMatMul:
 * - they are fast only without transposes (a transposed operand takes a path 10-25x slower, and
 *   every matMul gradient transposes one), so transposed operands are transposed explicitly with
 *   the wasm Transpose kernel and the original kernel runs untransposed;
 * - _FusedMatMul misapplies the bias to batched (rank > 2) products, so those run as BatchMatMul,
 *   Add and the activation's own kernel.
 * Temporaries are freed before returning.
 */
import {
  Add,
  BatchMatMul,
  Elu,
  LeakyRelu,
  Prelu,
  Relu,
  Relu6,
  Sigmoid,
  Transpose,
  _FusedMatMul,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
}

const ACTIVATION_KERNELS: Record<string, string> = {
  relu: Relu,
  relu6: Relu6,
  elu: Elu,
  sigmoid: Sigmoid,
  leakyrelu: LeakyRelu,
  prelu: Prelu,
};

/** Runs the wasm kernel `name`, which must exist. */
function wasmKernel(name: string): KernelFunc {
  const config = getKernel(name, 'wasm');
  if (!config) throw new Error(`wasm backend: kernel ${name} is not registered`);
  return config.kernelFunc;
}

/** Configs wrapping the wasm kernels registered now; empty when they are missing. */
export function wasmMatMulConfigs(): KernelConfig[] {
  const batchMatMul = getKernel(BatchMatMul, 'wasm');
  const fusedMatMul = getKernel(_FusedMatMul, 'wasm');
  if (!batchMatMul || !fusedMatMul || !getKernel(Transpose, 'wasm')) return [];

  /** Calls `original` with transposed operands made explicit; `temps` collects what to free. */
  const untransposed = (
    original: KernelFunc,
    inputs: NamedTensorInfoMap,
    attrs: NamedAttrMap,
    backend: unknown,
    temps: TensorInfo[],
  ): TensorInfo => {
    const swapLast = (t: TensorInfo): TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      const out = wasmKernel(Transpose)({
        inputs: { x: t },
        attrs: { perm },
        backend: backend as object,
      }) as TensorInfo;
      temps.push(out);
      return out;
    };
    const ins = { ...inputs };
    if (attrs.transposeA) ins.a = swapLast(ins.a as TensorInfo);
    if (attrs.transposeB) ins.b = swapLast(ins.b as TensorInfo);
    return original({
      inputs: ins,
      attrs: { ...attrs, transposeA: false, transposeB: false },
      backend: backend as object,
    }) as TensorInfo;
  };

  const withTemps = (backend: unknown, run: (temps: TensorInfo[]) => TensorInfo): TensorInfo => {
    const temps: TensorInfo[] = [];
    try {
      return run(temps);
    } finally {
      temps.forEach((t) => (backend as WasmBackendLike).disposeData(t.dataId, true));
    }
  };

  const batched: KernelFunc = ({ inputs, attrs = {}, backend }) => {
    if (!attrs.transposeA && !attrs.transposeB) return batchMatMul.kernelFunc({ inputs, attrs, backend });
    return withTemps(backend, (temps) => untransposed(batchMatMul.kernelFunc, inputs, attrs, backend, temps));
  };

  const fused: KernelFunc = ({ inputs, attrs = {}, backend }) => {
    const { a, bias, preluActivationWeights } = inputs as {
      a: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    if (a.shape.length <= 2 || !bias) {
      if (!attrs.transposeA && !attrs.transposeB) return fusedMatMul.kernelFunc({ inputs, attrs, backend });
      return withTemps(backend, (temps) =>
        untransposed(fusedMatMul.kernelFunc, inputs, attrs, backend, temps),
      );
    }
    return withTemps(backend, (temps) => {
      let y = untransposed(batchMatMul.kernelFunc, { a: inputs.a, b: inputs.b }, attrs, backend, temps);
      temps.push(y);
      y = wasmKernel(Add)({ inputs: { a: y, b: bias }, backend: backend as object }) as TensorInfo;
      const kernel = ACTIVATION_KERNELS[activation];
      if (!kernel) return y;
      temps.push(y);
      const actInputs: NamedTensorInfoMap =
        activation === 'prelu' ? { x: y, alpha: preluActivationWeights as TensorInfo } : { x: y };
      return wasmKernel(kernel)({
        inputs: actInputs,
        attrs: { alpha: attrs.leakyreluAlpha ?? 0.2 },
        backend: backend as object,
      }) as TensorInfo;
    });
  };

  return [
    { ...batchMatMul, kernelFunc: batched },
    { ...fusedMatMul, kernelFunc: fused },
  ];
}
