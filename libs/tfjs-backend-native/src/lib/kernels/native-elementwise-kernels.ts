/**
 * More native-backend overrides for what a training step spends its time on besides GEMM:
 * Add / Sub / Multiply / RealDiv (float32, see broadcast-plan.ts), Sum over a contiguous block of
 * axes, and GatherV2 along one axis (embedding lookups) as row copies. Other cases go to the cpu
 * kernel.
 */
import {
  Add,
  GatherV2,
  Multiply,
  RealDiv,
  Sub,
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native/native-addon';
import { anyInput } from './kernel-checks';
import { cpuIO, sizeOf } from './kernel-io';
import { planBinary } from './broadcast-plan';

const BINARY_OPS: ReadonlyArray<[string, number]> = [
  [Add, 0],
  [Sub, 1],
  [Multiply, 2],
  [RealDiv, 3],
];

/** [outer, reduce, inner] of reducing `axes` of `shape`, or null when they are not one block. */
function reductionBlock(shape: readonly number[], axes: readonly number[]): [number, number, number] | null {
  const reduced = shape.map((d, k) => axes.includes(k) && d !== 1);
  const first = reduced.indexOf(true);
  if (first < 0) return [sizeOf(shape), 1, 1];
  const last = reduced.lastIndexOf(true);
  if (shape.slice(first, last + 1).some((d, k) => d !== 1 && !reduced[first + k])) return null;
  return [sizeOf(shape.slice(0, first)), sizeOf(shape.slice(first, last + 1)), sizeOf(shape.slice(last + 1))];
}

/** The element-wise, reduction and gather overrides, given the cpu kernels to fall back to. */
export function nativeElementwiseConfigs(
  addon: NativeAddon,
  cpuKernel: (name: string) => KernelFunc,
): KernelConfig[] {
  const binary =
    (name: string, op: number): KernelFunc =>
    (params) => {
      const [a, b] = [anyInput(name, params.inputs, 'a'), anyInput(name, params.inputs, 'b')];
      const plan = a.dtype === 'float32' && b.dtype === 'float32' ? planBinary(a.shape, b.shape) : null;
      if (!plan) return cpuKernel(name)(params);
      const t = cpuIO(params.backend);
      const out = t.alloc(plan.outShape, 'float32');
      const [full, other] = plan.full === 'a' ? [a, b] : [b, a];
      addon.binary(
        op,
        t.readF32(full),
        t.readF32(other),
        t.writeF32(out),
        sizeOf(plan.outShape),
        plan.period,
        plan.repeat,
        plan.full === 'b',
      );
      return out;
    };

  const sum: KernelFunc = (params) => {
    const x = anyInput(Sum, params.inputs, 'x');
    const { axis, keepDims } = params.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = util.parseAxisParam(axis, x.shape);
    const block = x.dtype === 'float32' ? reductionBlock(x.shape, axes) : null;
    if (!block) return cpuKernel(Sum)(params);
    const outShape = keepDims
      ? x.shape.map((d, k) => (axes.includes(k) ? 1 : d))
      : x.shape.filter((_, k) => !axes.includes(k));
    const t = cpuIO(params.backend);
    const out = t.alloc(outShape, 'float32');
    addon.reduceSum(t.readF32(x), t.writeF32(out), ...block);
    return out;
  };

  const gather: KernelFunc = (params) => {
    const [x, indices] = [
      anyInput(GatherV2, params.inputs, 'x'),
      anyInput(GatherV2, params.inputs, 'indices'),
    ];
    const { axis, batchDims } = params.attrs as { axis: number; batchDims: number };
    if (
      (x.dtype !== 'float32' && x.dtype !== 'int32') ||
      indices.dtype !== 'int32' ||
      (batchDims ?? 0) !== 0
    ) {
      return cpuKernel(GatherV2)(params);
    }
    const ax = util.parseAxisParam(axis, x.shape)[0];
    const [outer, size, inner] = [sizeOf(x.shape.slice(0, ax)), x.shape[ax], sizeOf(x.shape.slice(ax + 1))];
    const t = cpuIO(params.backend);
    const ids = t.readI32(indices);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= size)
        throw new Error(`GatherV2: the index value ${ids[i]} is not in [0, ${size - 1}]`);
    }
    const out = t.alloc([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
    const [src, dst] =
      x.dtype === 'int32' ? [t.readI32(x), t.writeI32(out)] : [t.readF32(x), t.writeF32(out)];
    for (let o = 0, d = 0; o < outer; o++) {
      for (let i = 0; i < ids.length; i++, d += inner) {
        const s = (o * size + ids[i]) * inner;
        dst.set(src.subarray(s, s + inner), d);
      }
    }
    return out;
  };

  const kernels: Array<[string, KernelFunc]> = [
    ...BINARY_OPS.map(([name, op]): [string, KernelFunc] => [name, binary(name, op)]),
    [Sum, sum],
    [GatherV2, gather],
  ];
  return kernels.map(([kernelName, kernelFunc]) => ({ kernelName, backendName: 'native', kernelFunc }));
}
