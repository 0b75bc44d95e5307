/**
 * The `wasm` backend (tfjs-backend-wasm, SIMD, one thread in Node) with the JavaScript fixes:
 * UnsortedSegmentSum, which it lacks, the Forge kernels as typed-array loops over its heap, and
 * matMul with transposed operands routed through its fast untransposed kernel.
 * The package is loaded only when wasm is asked for, since importing it registers a backend
 * whose asynchronous start would otherwise break synchronous tfjs code that never chose one.
 */
import * as path from 'path';
import { wasmIO } from '../kernels/kernel-io';
import { fusedKernelConfigs } from '../kernels/fused-kernels';
import { registerKernelConfigs } from '../kernels/register-kernels';
import { segmentSumKernelConfig } from '../kernels/segment-sum-kernel';
import { wasmMatMulConfigs } from '../kernels/wasm-matmul-kernels';
import { jsFusedMath } from '../math/js-fused-math';

/** Name of the backend in tfjs's registry. */
export const WASM_BACKEND = 'wasm';

let prepared: Promise<void> | undefined;

async function prepare(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (typeof process !== 'undefined' && process.versions?.node) {
    // In Node the .wasm binaries are read from the package's dist/ directory on disk.
    const dist = path.join(
      path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    wasm.setWasmPaths(dist + path.sep);
  }
  registerKernelConfigs([
    segmentSumKernelConfig(WASM_BACKEND, wasmIO, jsFusedMath),
    ...fusedKernelConfigs(WASM_BACKEND, wasmIO, jsFusedMath),
    ...wasmMatMulConfigs(),
  ]);
}

/**
 * Loads tfjs-backend-wasm, points it at its binaries and registers the JS kernels for it (once).
 * tf.setBackend('wasm') can follow.
 */
export function prepareWasmBackend(): Promise<void> {
  prepared ??= prepare().catch((error: unknown) => {
    prepared = undefined;
    throw error;
  });
  return prepared;
}
