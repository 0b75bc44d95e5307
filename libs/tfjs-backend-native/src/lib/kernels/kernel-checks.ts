/** Input and attribute validation shared by the kernels; messages name the kernel and the input. */
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { seedWords } from '../math/dropout-js';

/** The tensor input `name`, required to exist. */
export function anyInput(kernel: string, inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`${kernel}: missing input ${name}`);
  return t;
}

/** The tensor input `name`, required to exist and to have the dtype. */
export function input(
  kernel: string,
  inputs: NamedTensorInfoMap,
  name: string,
  dtype: 'float32' | 'int32' = 'float32',
): TensorInfo {
  const t = anyInput(kernel, inputs, name);
  if (t.dtype !== dtype) throw new Error(`${kernel}: input ${name} must be ${dtype}, got ${t.dtype}`);
  return t;
}

/** The numeric attribute `name`, required to be finite (and an integer > 0 when `positiveInt`). */
export function numberAttr(
  kernel: string,
  attrs: NamedAttrMap | undefined,
  name: string,
  positiveInt = false,
): number {
  const v = attrs?.[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || (positiveInt && (!Number.isInteger(v) || v < 1))) {
    throw new Error(
      `${kernel}: attribute ${name} must be ${positiveInt ? 'a positive integer' : 'a finite number'}, got ${String(v)}`,
    );
  }
  return v;
}

/** Throws unless `shape` equals `expected`. */
export function expectShape(
  kernel: string,
  name: string,
  shape: readonly number[],
  expected: readonly number[],
): void {
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${kernel}: ${name} must have shape [${expected.join(', ')}], got [${shape.join(', ')}]`);
  }
}

/** The last dimension of a shape of rank >= 1. */
export function lastDim(kernel: string, name: string, shape: readonly number[]): number {
  if (shape.length < 1) throw new Error(`${kernel}: ${name} must have rank >= 1, got a scalar`);
  return shape[shape.length - 1];
}

/**
 * A dropout's rate (attribute `rateName`, in [0, 1)) and its `seed` attribute as two 32-bit words.
 * An absent rate is 0 when `optional`, and the seed is then read only when the rate is not 0.
 */
export function dropoutAttrs(
  kernel: string,
  attrs: NamedAttrMap | undefined,
  rateName: string,
  optional = false,
): { rate: number; seedLo: number; seedHi: number } {
  const rate = optional && attrs?.[rateName] === undefined ? 0 : numberAttr(kernel, attrs, rateName);
  if (!(rate >= 0 && rate < 1))
    throw new Error(`${kernel}: attribute ${rateName} must be in [0, 1), got ${rate}`);
  if (rate === 0 && optional) return { rate, seedLo: 0, seedHi: 0 };
  const seed = attrs?.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new Error(`${kernel}: attribute seed must be a safe integer, got ${String(seed)}`);
  }
  const [seedLo, seedHi] = seedWords(seed);
  return { rate, seedLo, seedHi };
}
