/** Test helpers: which backends to test, switching between them, and typed-array results. */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeAddonStatus } from '../../index';

let warned = false;

/** Backends under test: native (when the addon is built), wasm and cpu, each with its kernels. */
export function testedBackends(): string[] {
  const status = nativeAddonStatus();
  if (!status.loaded && !warned) {
    warned = true;
    console.warn(`native addon not loaded, native tests are skipped: ${status.error}`);
  }
  return status.loaded ? ['native', 'wasm', 'cpu'] : ['wasm', 'cpu'];
}

/** Whether the native backend can be tested here. */
export function nativeAvailable(): boolean {
  return testedBackends().includes('native');
}

/** Makes `name` the active backend (starting it, and registering its kernels, on first use). */
export async function useBackend(name: string): Promise<void> {
  if (tf.getBackend() === name) return;
  await initBackend(name);
}

/** Runs fn on backend `name` inside tidy; returns copies of the outputs' values. */
export async function valuesOn(name: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(name);
  return tf.tidy(() => {
    const out = fn();
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
  });
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n approximately normal values with standard deviation `scale`. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const rand = seeded(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rand(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

/** A float32 tensor of the given shape filled with seeded standard normal values. */
export function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    randn(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}

/**
 * Expects max |actual - expected| <= tol * max(max |expected|, 1e-6): agreement relative to the
 * size of the result.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let maxErr = 0;
  let maxRef = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
    if (Number.isNaN(actual[i]) !== Number.isNaN(expected[i]))
      throw new Error(`NaN mismatch at ${i}: ${actual[i]} vs ${expected[i]}`);
  }
  if (!(maxErr <= tol * maxRef)) {
    throw new Error(
      `max error ${maxErr.toExponential(3)} exceeds ${tol} x max |expected| ${maxRef.toExponential(3)}`,
    );
  }
}
