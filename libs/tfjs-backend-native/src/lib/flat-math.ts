/**
 * Optimizer and reduction arithmetic on flat Float32Arrays (parameters, gradients and Adam
 * moments laid out once, see `ParameterLayout` in @llm-forge/gpt). The native addon provides
 * these when it loads; otherwise the JavaScript versions here run. Both compute in the same
 * order so results agree to float32 rounding.
 */
import { BackendError } from './errors/backend-error';
import { getNativeAddon, nativeAddonStatus } from './native/native-addon';

/** Hyperparameters of one AdamW update (PyTorch semantics: decoupled weight decay). */
export interface AdamWStep {
  /** Learning rate for this step. */
  lr: number;
  /** First-moment decay. @defaultValue 0.9 in callers */
  beta1: number;
  /** Second-moment decay. @defaultValue 0.999 in callers */
  beta2: number;
  /** Denominator epsilon. @defaultValue 1e-8 in callers */
  eps: number;
  /** Decoupled weight decay coefficient (0 disables it for this range). */
  weightDecay: number;
  /** 1-based step count, used for bias correction. */
  step: number;
}

/** [offset, offset + length) checked against each array's length. */
function checkRange(fn: string, offset: number, length: number, arrays: Array<[string, Float32Array]>): void {
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0) {
    throw new RangeError(
      `${fn}: offset and length must be non-negative integers, got ${offset} and ${length}`,
    );
  }
  for (const [name, a] of arrays) {
    if (offset + length > a.length) {
      throw new RangeError(
        `${fn}: ${name} has ${a.length} elements, fewer than offset + length = ${offset + length}`,
      );
    }
  }
}

/**
 * One AdamW update in place over [offset, offset + length) of flat buffers, PyTorch semantics:
 * p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * Element maths in float64, rounded to float32 on store (natively and in JavaScript alike).
 *
 * @param params - parameters, updated in place.
 * @param grads - gradients (read only).
 * @param m - first moments, updated in place.
 * @param v - second moments, updated in place.
 * @param hyper - learning rate, betas, eps, weight decay and the 1-based step.
 * @param offset - first element to update. @defaultValue 0
 * @param length - number of elements to update. @defaultValue params.length - offset
 */
export function adamwStep(
  params: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  hyper: AdamWStep,
  offset = 0,
  length: number = params.length - offset,
): void {
  checkRange('adamwStep', offset, length, [
    ['params', params],
    ['grads', grads],
    ['m', m],
    ['v', v],
  ]);
  const { lr, beta1, beta2, eps, weightDecay, step } = hyper;
  if (!(step >= 1)) throw new RangeError(`adamwStep: step must be >= 1 (1-based), got ${step}`);
  const addon = getNativeAddon();
  if (addon) {
    addon.adamw(params, grads, m, v, offset, length, lr, beta1, beta2, eps, weightDecay, step);
    return;
  }
  const decay = 1 - lr * weightDecay;
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  for (let i = offset, end = offset + length; i < end; i++) {
    const g = grads[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    const p = Math.fround(params[i] * decay);
    params[i] = p - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}

/**
 * Sum of squares of x[offset .. offset + length), accumulated in float64 (for gradient norms).
 *
 * @param offset - first element. @defaultValue 0
 * @param length - number of elements. @defaultValue x.length - offset
 */
export function sumOfSquares(x: Float32Array, offset = 0, length: number = x.length - offset): number {
  checkRange('sumOfSquares', offset, length, [['x', x]]);
  const addon = getNativeAddon();
  if (addon) return addon.sumOfSquares(x, offset, length);
  let s = 0;
  for (let i = offset, end = offset + length; i < end; i++) s += x[i] * x[i];
  return s;
}

/**
 * Multiplies x[offset .. offset + length) by s in place.
 *
 * @param offset - first element. @defaultValue 0
 * @param length - number of elements. @defaultValue x.length - offset
 */
export function scale(x: Float32Array, s: number, offset = 0, length: number = x.length - offset): void {
  checkRange('scale', offset, length, [['x', x]]);
  const addon = getNativeAddon();
  if (addon) {
    addon.scale(x, s, offset, length);
    return;
  }
  for (let i = offset, end = offset + length; i < end; i++) x[i] *= s;
}

/**
 * dst += alpha * src over [offset, offset + length) (axpy), in place; e.g. accumulating the
 * gradients of micro-batches.
 *
 * @param alpha - multiplier of src. @defaultValue 1
 * @param offset - first element. @defaultValue 0
 * @param length - number of elements. @defaultValue dst.length - offset
 */
export function addInto(
  dst: Float32Array,
  src: Float32Array,
  alpha = 1,
  offset = 0,
  length: number = dst.length - offset,
): void {
  checkRange('addInto', offset, length, [
    ['dst', dst],
    ['src', src],
  ]);
  const addon = getNativeAddon();
  if (addon) {
    addon.axpy(dst, src, alpha, offset, length);
    return;
  }
  for (let i = offset, end = offset + length; i < end; i++) dst[i] += alpha * src[i];
}

/** A RangeError naming `fn` unless `source` and `target` have equal lengths. */
function requireSameLength(fn: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new RangeError(`${fn}: source has ${a.length} elements, target ${b.length}; pass equal lengths`);
  }
}

/**
 * target += source element-wise (equal lengths) on the calling thread: the reduction kernel of
 * the ring all-reduce (`sumInto` of @llm-forge/collective). Vectorised in the native addon,
 * about 15x the JavaScript loop; the JavaScript loop when the addon is not loaded. Single-threaded
 * on purpose: chunks are a few MB, and the other cores are busy with the peers' streams.
 */
export function sumIntoSerial(target: Float32Array, source: Float32Array): void {
  requireSameLength('sumIntoSerial', source, target);
  const addon = getNativeAddon();
  if (addon) {
    addon.axpy(target, source, 1, 0, target.length, false);
    return;
  }
  for (let i = 0; i < target.length; i++) target[i] += source[i];
}

/**
 * values /= divisor element-wise, in place, on the calling thread: the averaging kernel of the ring
 * all-reduce (`divideInPlace` of @llm-forge/collective). Vectorised in the native addon; IEEE f32
 * division either way, so the same bits as the JavaScript loop (`Math.fround(x / divisor)`).
 */
export function divideSerial(values: Float32Array, divisor: number): void {
  const addon = getNativeAddon();
  if (addon) {
    addon.divide(values, divisor, 0, values.length);
    return;
  }
  for (let i = 0; i < values.length; i++) values[i] /= divisor;
}

/** The addon, or a BackendError naming `fn` and why the addon is missing. */
function requireAddon(fn: string): NonNullable<ReturnType<typeof getNativeAddon>> {
  const addon = getNativeAddon();
  if (!addon) {
    throw new BackendError(
      `${fn} needs the native addon: ${nativeAddonStatus().error ?? 'it did not load'}`,
      "use @llm-forge/collective's JavaScript bf16 codec (the ring's default) instead",
    );
  }
  return addon;
}

/**
 * target = the bf16 encoding of source (round to nearest even; a NaN stays a quiet NaN), on the
 * calling thread, vectorised: the encoder of the ring all-reduce's bf16 wire format (`bf16Encode`
 * of @llm-forge/collective), the same bits as its JavaScript codec at a fraction of the time. Needs
 * the native addon (throws a BackendError without it).
 */
export function bf16EncodeSerial(source: Float32Array, target: Uint16Array): void {
  requireSameLength('bf16EncodeSerial', source, target);
  requireAddon('bf16EncodeSerial').bf16Encode(source, target, 0, source.length);
}

/** target = the f32 values of the bf16 bits source (exact); the decoder of {@link bf16EncodeSerial}. */
export function bf16DecodeSerial(source: Uint16Array, target: Float32Array): void {
  requireSameLength('bf16DecodeSerial', source, target);
  requireAddon('bf16DecodeSerial').bf16Decode(source, target, 0, source.length);
}

/** Rounds every element of values to its nearest bf16 (as {@link bf16EncodeSerial}), in place. */
export function bf16RoundSerial(values: Float32Array): void {
  requireAddon('bf16RoundSerial').bf16Round(values, 0, values.length);
}

/**
 * This module's kernels for the ring all-reduce of @llm-forge/collective, by the ring option each
 * one fills: the same bits as the ring's JavaScript defaults (IEEE f32 add and divide, bf16 round to
 * nearest even), vectorised, on the calling thread. Export names, so that a ring on its own thread
 * can load them from this module without loading TensorFlow.js.
 */
export const RING_KERNEL_EXPORTS = {
  sumInto: 'sumIntoSerial',
  divideInPlace: 'divideSerial',
  bf16Encode: 'bf16EncodeSerial',
  bf16Decode: 'bf16DecodeSerial',
  bf16Round: 'bf16RoundSerial',
} as const;

/**
 * The resolved path of this module, from which a ring on its own thread loads the functions that
 * {@link RING_KERNEL_EXPORTS} names (it loads the native addon but not TensorFlow.js). In a build
 * this is `dist/lib/flat-math.js`; under ts-jest it is the TypeScript source, which a plain worker
 * thread cannot load — threaded rings run from builds only.
 */
export const RING_KERNEL_MODULE: string = __filename;

const SERIAL_KERNELS = { sumIntoSerial, divideSerial, bf16EncodeSerial, bf16DecodeSerial, bf16RoundSerial };

/** The functions of {@link RING_KERNEL_EXPORTS}, by ring option. */
export type RingKernels = {
  [Option in keyof typeof RING_KERNEL_EXPORTS]: (typeof SERIAL_KERNELS)[(typeof RING_KERNEL_EXPORTS)[Option]];
};

/** {@link RING_KERNEL_EXPORTS} as functions, for a ring on the calling thread. */
export function ringKernels(): RingKernels {
  const entries = Object.entries(RING_KERNEL_EXPORTS).map(([option, name]) => [option, SERIAL_KERNELS[name]]);
  return Object.fromEntries(entries) as RingKernels;
}
